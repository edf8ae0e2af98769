import { randomUUID } from "node:crypto";
import type { InvocationContext as InvocationContextType } from "@azure/functions";
import { InvocationContext } from "./functionsRuntime.js";
import type { FunctionDeclaration } from "../../src/functions/registry.js";
import type { Logger } from "../../src/lib/logger.js";
import { ensureError } from "../../src/lib/errors.js";

/** Binding type names as the host reports them in `context.options.trigger.type`. */
const triggerTypes: Record<FunctionDeclaration["kind"], string> = {
  http: "httpTrigger",
  timer: "timerTrigger",
  storageQueue: "queueTrigger",
  eventGrid: "eventGridTrigger",
};

export interface InvokeArgs {
  readonly declaration: FunctionDeclaration;
  /** The trigger value handed to the handler (request, timer, message, event). */
  readonly input: unknown;
  readonly triggerMetadata?: Record<string, unknown>;
  /** Why the host runs it, as in the host's "Executing" line: "This function was programmatically called via the host APIs.", "Timer fired at ..." */
  readonly reason: string;
}

/**
 * Runs handlers the way the real host does: a fresh {@link InvocationContext} each time, logs routed
 * through the host logger with the invocation id, "Executing"/"Executed" lines, and every invocation
 * tracked so that shutdown can wait for the ones in flight.
 */
export class Invoker {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly logger: Logger) {}

  /** Resolves with the handler's result; rejects with its error (already logged). */
  invoke(args: InvokeArgs): Promise<unknown> {
    const run = this.run(args);
    const tracked = run.catch(() => undefined);
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return run;
  }

  /** Resolves once nothing is running (including invocations started while waiting). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  get running(): number {
    return this.inFlight.size;
  }

  private async run({ declaration, input, triggerMetadata, reason }: InvokeArgs): Promise<unknown> {
    const invocationId = randomUUID();
    const name = declaration.name;
    const context = new InvocationContext({
      invocationId,
      functionName: name,
      triggerMetadata,
      options: {
        trigger: { type: triggerTypes[declaration.kind], name: triggerName(declaration.kind) },
        return: declaration.options.return,
        extraInputs: declaration.options.extraInputs ?? [],
        extraOutputs: declaration.options.extraOutputs ?? [],
      },
      logHandler: (level, ...args) => {
        const [first, ...rest] = args;
        const message = `[${name}] ${typeof first === "string" ? first : String(first)}`;
        if (level === "error" || level === "critical") this.logger.error(message, ...rest);
        else if (level === "warning") this.logger.warn(message, ...rest);
        else if (level === "trace" || level === "debug") this.logger.debug(message, ...rest);
        else this.logger.info(message, ...rest);
      },
    });
    const started = Date.now();
    this.logger.info(`Executing 'Functions.${name}' (Reason='${reason}', Id=${invocationId})`);
    try {
      // The handler type differs per trigger kind; the caller built the matching input.
      const handler = declaration.options.handler as (
        input: unknown,
        context: InvocationContextType,
      ) => unknown;
      const result = await handler(input, context);
      this.logger.info(
        `Executed 'Functions.${name}' (Succeeded, Id=${invocationId}, Duration=${Date.now() - started}ms)`,
      );
      return result;
    } catch (e) {
      const error = ensureError(e);
      this.logger.error(
        `Executed 'Functions.${name}' (Failed, Id=${invocationId}, Duration=${Date.now() - started}ms): ${error.name}: ${error.message}`,
      );
      throw error;
    }
  }
}

function triggerName(kind: FunctionDeclaration["kind"]): string {
  switch (kind) {
    case "http":
      return "request";
    case "timer":
      return "myTimer";
    case "storageQueue":
      return "queueItem";
    case "eventGrid":
      return "event";
  }
}
