import { createProtectionMessage } from "../lib/protection/queueMessages.js";
import type { ServerRecord } from "../lib/store/servers.js";
import { SatisfiedStates } from "../lib/domain/protectionStates.js";
import type { OperationOptions } from "../lib/util/options.js";
import type { CliServices } from "./services.js";

export interface ProtectNowOptions extends OperationOptions {
  /** Give up (the work continues at the next event or sweep) after this long. Default 10 min. */
  timeoutInMs?: number;
  onProgress?: (state: string) => void;
  /** Follow a server that is not Ready yet (default true); a sweep leaves it to the next event or sweep. */
  followWaitingForServer?: boolean;
  /** Injected in tests. */
  sleep?: (ms: number) => Promise<void>;
}

export interface ProtectNowResult {
  state: string;
  row?: ServerRecord;
  timedOut: boolean;
}

/** The protect command's successful outcomes: row states that leave nothing for a person to do. */
export const SUCCESSFUL_PROTECT_OUTCOMES: ReadonlySet<string> = new Set(SatisfiedStates);

/**
 * Runs the app's protection worker for one server in this process, following its retry-later messages
 * (WaitingForServer, RBAC propagation, configuring) with their delays until the server settles.
 */
export async function protectNow(
  services: Pick<CliServices, "protectionWorker">,
  serverId: string,
  options: ProtectNowOptions = {},
): Promise<ProtectNowResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + (options.timeoutInMs ?? 10 * 60_000);
  const { worker, queued, row } = services.protectionWorker();
  let message = createProtectionMessage(serverId, { kind: "api", requestedBy: "cli" });
  for (;;) {
    options.abortSignal?.throwIfAborted();
    const outcome = await worker.process(message, {
      dequeueCount: 1,
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
    const current = await row(serverId);
    options.onProgress?.(current?.state ?? ("state" in outcome ? outcome.state : "Pending"));
    const next = outcome.kind === "requeued" ? queued.shift() : undefined;
    if (!next) {
      const state = current?.state ?? ("state" in outcome ? outcome.state : "Pending");
      return { state, ...(current ? { row: current } : {}), timedOut: false };
    }
    const waiting = current?.state === "WaitingForServer" && options.followWaitingForServer === false;
    if (waiting || Date.now() + next.delayInMs > deadline) {
      const state = current?.state ?? ("state" in outcome ? outcome.state : "Pending");
      return { state, ...(current ? { row: current } : {}), timedOut: true };
    }
    await sleep(next.delayInMs);
    message = next.message;
  }
}
