import { normalizeRegion } from "../domain/region.js";
import { ensureError } from "../errors.js";
import type { Alerter } from "../alerts/alerts.js";
import type { Logger } from "../logger.js";
import { silentLogger } from "../logger.js";
import type { AuditLog } from "../store/audit.js";
import type { ServerStore } from "../store/servers.js";
import { errorCode, statusOf } from "./armErrors.js";
import { createTtlCache } from "./cache.js";
import { continueInFlight, protect } from "./configure.js";
import { decideFromTags, unsupportedServer } from "./decide.js";
import * as guidance from "./guidance.js";
import { claim, LeaseLostError } from "./lease.js";
import { backupInstanceName } from "./naming.js";
import { recordGaveUp } from "./poison.js";
import type { DataProtectionPort, FlexibleServerInfo, RolesPort, ServersPort } from "./ports.js";
import type { ProtectionMessage, ProtectionQueue } from "./queueMessages.js";
import { reevaluateProtected } from "./reevaluate.js";
import { onRunError } from "./retries.js";
import type { ProcessOptions, ProcessOutcome, WorkerContext } from "./run.js";
import { Run } from "./run.js";
import type { ProtectionSettings } from "./settings.js";
import { removeNeverKnown, settle, waitForServer } from "./transitions.js";
import type { VaultResolver } from "./vaults.js";
import { createVaultResolver } from "./vaults.js";

export type { ProcessOptions, ProcessOutcome } from "./run.js";

export interface ProtectionWorkerDeps {
  servers: ServerStore;
  audit: AuditLog;
  /** Where retry-later messages go (`protect-requests`). */
  queue: ProtectionQueue;
  /** Where a `Configuring` instance's follow-ups go (`protect-checks`); default: `queue`. */
  checks?: ProtectionQueue;
  arm: { servers: ServersPort; roles: RolesPort; dataProtection: DataProtectionPort };
  settings: ProtectionSettings;
  /** Shared across invocations so caches survive; built from `arm.dataProtection` when absent. */
  vaults?: VaultResolver;
  now?: () => Date;
  logger?: Logger;
  /** Told when a server enters a state that needs someone (Failed, MissingPermissions, …); optional. */
  alerter?: Pick<Alerter, "raise">;
}

export interface ProtectionWorker {
  process(message: ProtectionMessage, options?: ProcessOptions): Promise<ProcessOutcome>;
  /** A message that reached the poison queue: leave the row visibly `Failed` with the reason. */
  recordPoison(message: ProtectionMessage, reason: string, dequeueCount?: number): Promise<void>;
}

/**
 * The protection worker: one message in, the server's row moved towards `Protected` or a stop with a
 * reason. Idempotent: it claims the server with an ETag-guarded lease, derives the instance name from
 * the server id, and looks the instance up before creating when resuming, so duplicates, reordering,
 * concurrency and crashes between steps never yield a second instance or a stuck row.
 */
export function createProtectionWorker(deps: ProtectionWorkerDeps): ProtectionWorker {
  const s = deps.settings;
  const now = deps.now ?? (() => new Date());
  const ctx: WorkerContext = {
    store: deps.servers,
    audit: deps.audit,
    queue: deps.queue,
    checks: deps.checks ?? deps.queue,
    arm: deps.arm,
    settings: s,
    vaults:
      deps.vaults ??
      createVaultResolver(deps.arm.dataProtection, {
        vaultMap: s.vaultMap,
        markerTag: s.vaultMarkerTag,
        scopes: s.scopes,
        cacheTtlInMs: s.cacheTtlInMs,
        now: () => now().getTime(),
      }),
    policies: createTtlCache<string>(s.cacheTtlInMs, () => now().getTime()),
    now,
    logger: deps.logger ?? silentLogger,
    ...(deps.alerter ? { alerter: deps.alerter } : {}),
  };

  return {
    recordPoison: (message, reason, dequeueCount = s.maxDequeueCount) =>
      recordGaveUp(ctx, message, new Error(reason), `${dequeueCount} deliveries`),
    async process(message, options = {}) {
      const run = new Run(ctx, message, options);
      try {
        return (await claim(run)) ?? (await evaluate(run));
      } catch (e) {
        if (e instanceof LeaseLostError) return { kind: "skipped", reason: e.message };
        return onRunError(run, ensureError(e));
      }
    },
  };
}

/** Reads the server and its tag, finds the region's vault, and takes the next step towards the tag's ask. */
async function evaluate(run: Run): Promise<ProcessOutcome> {
  const s = run.settings;
  if (run.message.action !== "delete") {
    const continued = await continueInFlight(run);
    if (continued) return continued;
  }
  const id = run.row.resourceId;
  let server: FlexibleServerInfo | undefined;
  try {
    server = await run.span("read_server", () =>
      run.ctx.arm.servers.getServer(id, { abortSignal: run.signal }),
    );
  } catch (e) {
    if (statusOf(e) !== 403) throw e;
    const code = errorCode(e) ?? "AuthorizationFailed";
    return settle(
      run,
      "Failed",
      guidance.appMayNotReadServer(code, ensureError(e).message, run.row.subscriptionId),
    );
  }
  if (!server) {
    // A row that never got past Pending is no server anyone knew: removed, not kept as history.
    return run.row.state === "Pending"
      ? removeNeverKnown(run)
      : settle(run, "Deleted", guidance.serverDeleted);
  }

  const region = normalizeRegion(server.location);
  const decision = decideFromTags(server.tags, s);
  const tagValue =
    decision.kind === "untagged" || decision.kind === "malformed" ? undefined : decision.tagValue;
  const seen = { region, tagValue };
  if (run.row.state === "Protected" || run.row.state === "ProtectedUntagged") {
    const reevaluated = await reevaluateProtected(run, server, decision, seen);
    if (reevaluated) return reevaluated;
  }
  switch (decision.kind) {
    case "untagged":
      return settle(run, "OptedOut", { ...seen, ...guidance.untagged(s.backupTag) });
    case "optOut":
      return settle(run, "OptedOut", { ...seen, ...guidance.optedOut(s.backupTag) });
    case "unknown":
      return settle(run, "UnknownPolicyTag", {
        ...seen,
        ...guidance.unknownTag(s.backupTag, decision.tagValue, decision.allowed),
      });
    case "malformed":
      return settle(run, "UnknownPolicyTag", {
        ...seen,
        ...guidance.malformedTag(s.backupTag, decision.problem, id),
      });
    case "protect":
      break;
  }

  const { policyName } = decision;
  const unsupported = unsupportedServer(server, s);
  if (unsupported) return settle(run, "Unsupported", { ...seen, policyName, ...unsupported });
  const vault = await run.ctx.vaults.resolve(region, run.row.subscriptionId, { abortSignal: run.signal });
  if (!vault) {
    return settle(run, "NoVaultForRegion", {
      ...seen,
      policyName,
      ...guidance.noVaultForRegion(region, s.vaultMarkerTag),
    });
  }
  const target = { ...seen, policyName, vaultId: vault.id, instanceName: backupInstanceName(id) };
  if (s.mode === "report") {
    return settle(run, "WouldProtect", {
      ...target,
      ...guidance.wouldProtect(policyName, vault.name, target.instanceName),
    });
  }
  if (server.state.toLowerCase() !== "ready") return waitForServer(run, server.state, target);
  return protect(run, server, vault, target);
}
