/** One run of the worker for one message: the state it carries and the outcomes it ends with. */
import type { ProtectionState } from "../domain/protectionStates.js";
import type { Alerter } from "../alerts/alerts.js";
import type { Logger } from "../logger.js";
import type { AuditLog } from "../store/audit.js";
import type { ServerRecord, ServerStore } from "../store/servers.js";
import type { TtlCache } from "./cache.js";
import type { DataProtectionPort, RolesPort, ServersPort } from "./ports.js";
import type { ProtectionMessage, ProtectionQueue } from "./queueMessages.js";
import { causeToString } from "./queueMessages.js";
import type { ProtectionSettings } from "./settings.js";
import type { VaultResolver } from "./vaults.js";
import type { OperationOptions } from "../util/options.js";
import { telemetry, type ProtectionSpanStep } from "../telemetry/index.js";

export interface ProcessOptions extends OperationOptions {
  /** Delivery count of the queue message (host `dequeueCount`); 1 on first delivery. */
  dequeueCount?: number;
  /** Invocation logger (overrides the worker's). */
  logger?: Logger;
}

export type ProcessOutcome =
  /**
   * The row reached `state` (a stop or `Protected`). `removed`: the server never existed for this app (ARM
   * answers 404 and the row never got past `Pending`), so no row is kept.
   */
  | { kind: "settled"; state: ProtectionState; removed?: true }
  /** Work continues in a later message (`WaitingForServer`, RBAC propagation, configuring). */
  | { kind: "requeued"; state: ProtectionState; delayInMs: number }
  /** Another request holds the server, or this exact cause was already handled: nothing to do. */
  | { kind: "skipped"; reason: string };

export type Settled = Extract<ProcessOutcome, { kind: "settled" }>;
export type Requeued = Extract<ProcessOutcome, { kind: "requeued" }>;
/** How a step that ran to its end left the row: stopped there, or to be continued by a later message. */
export type StepOutcome = Settled | Requeued;

/** The worker's dependencies, resolved once per worker and shared by every run. */
export interface WorkerContext {
  store: ServerStore;
  audit: AuditLog;
  /** New requests and follow-ups that may write to ARM (`protect-requests`). */
  queue: ProtectionQueue;
  /** Follow-ups of a `Configuring` instance (`protect-checks`); see `followUpQueue`. */
  checks: ProtectionQueue;
  arm: { servers: ServersPort; roles: RolesPort; dataProtection: DataProtectionPort };
  settings: ProtectionSettings;
  vaults: VaultResolver;
  /** Policy ids by `vault id|policy name`, shared so concurrent runs look a policy up once. */
  policies: TtlCache<string>;
  now: () => Date;
  logger: Logger;
  alerter?: Pick<Alerter, "raise">;
}

/** Where the server is and what its tag asks for, as read on the server. */
export interface SeenOnServer {
  region: string;
  tagValue: string | undefined;
}

/** What a run protects towards, once the tag and the region's vault are known. */
export interface ProtectTarget extends SeenOnServer {
  policyName: string;
  vaultId: string;
  instanceName: string;
}

export class Run {
  /** The latest stored version of the server's row this run knows (set by the claim). */
  row!: ServerRecord;
  /** The stored version the last successful write replaced (what other requests had noted on it). */
  replaced: ServerRecord | undefined;
  readonly cause: string;
  /** What the run is protecting towards, once known (read when validation finds an existing instance). */
  target: ProtectTarget | undefined;

  constructor(
    readonly ctx: WorkerContext,
    readonly message: ProtectionMessage,
    readonly options: ProcessOptions,
  ) {
    this.cause = causeToString(message.cause);
  }

  get signal(): AbortSignal | undefined {
    return this.options.abortSignal;
  }

  get log(): Logger {
    return this.options.logger ?? this.ctx.logger;
  }

  get settings(): ProtectionSettings {
    return this.ctx.settings;
  }

  /** Runs one protection step (`read_server`, `validate`, …) in its span `protection.<step>`. */
  span<T>(step: ProtectionSpanStep, fn: () => Promise<T>): Promise<T> {
    const attributes = { server: this.message.resourceId, request_id: this.message.requestId };
    return telemetry().span(`protection.${step}`, attributes, fn);
  }

  nowIso(): string {
    return this.ctx.now().toISOString();
  }

  /** Appends one audit row for an action this run took on `target`. */
  async audit(action: string, target: string, serverId: string, detail: string): Promise<void> {
    await this.ctx.audit.append(
      { action, target, serverId, cause: this.cause, mode: this.settings.mode, result: "succeeded", detail },
      { abortSignal: this.signal },
    );
  }
}
