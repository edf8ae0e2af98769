import type { AuditLog } from "../store/audit.js";
import type { ServerRecord, ServerStore } from "../store/servers.js";
import { InProgressStates, ProtectionStates, type ProtectionState } from "../domain/protectionStates.js";
import { parseServerId } from "../domain/serverId.js";
import { normalizeRegion } from "../config/settings.js";
import { ConflictError, ensureError, isRestError, isTransientStatus, TransientError } from "../errors.js";
import {
  ALREADY_PROTECTED,
  errorCode,
  MISSING_PERMISSIONS,
  namesVault,
  mentions,
  NOT_READY,
  statusOf,
} from "./armErrors.js";
import type { Logger } from "../logger.js";
import { silentLogger } from "../logger.js";
import { roleGuidOf, scopeCovers } from "../azure/roles.js";
import type {
  BackupInstanceInfo,
  BackupInstanceProperties,
  DataProtectionPort,
  FlexibleServerInfo,
  RolesPort,
  ServersPort,
  VaultInfo,
} from "./ports.js";
import type { ProtectionMessage, ProtectionQueue } from "./messages.js";
import { causeToString, createProtectionMessage, parseCause } from "./messages.js";
import { backupInstanceName } from "./naming.js";
import {
  backoffInMs,
  decideFromTags,
  missingRolesMessage,
  requiredRoles,
  unknownTagMessage,
  type RequiredRole,
} from "./decide.js";
import type { VaultResolver } from "./vaults.js";
import { createVaultResolver } from "./vaults.js";
import { createTtlCache } from "./cache.js";
import { pgFlexWeeklyPolicy } from "../azure/dataprotection/policies.js";
import type { ProtectionSettings } from "./settings.js";
import { protectionFailedAlert, type Alerter } from "../alerts/alerts.js";

export interface ProtectionWorkerDeps {
  servers: ServerStore;
  audit: AuditLog;
  /** Where retry-later messages go (`protect-requests`). */
  queue: ProtectionQueue;
  arm: { servers: ServersPort; roles: RolesPort; dataProtection: DataProtectionPort };
  settings: ProtectionSettings;
  /** Shared across invocations so caches survive; built from `arm.dataProtection` when absent. */
  vaults?: VaultResolver;
  now?: () => Date;
  logger?: Logger;
  /** Told when a server enters a state that needs someone (Failed, MissingPermissions, …); optional. */
  alerter?: Pick<Alerter, "raise">;
}

export interface ProcessOptions {
  /** Delivery count of the queue message (host `dequeueCount`); 1 on first delivery. */
  dequeueCount?: number;
  abortSignal?: AbortSignal;
  /** Invocation logger (overrides the worker's). */
  logger?: Logger;
}

export type ProcessOutcome =
  /** The row reached `state` (a stop or `Protected`). */
  | { kind: "settled"; state: ProtectionState }
  /** Work continues in a later message (`WaitingForServer`, RBAC propagation, configuring). */
  | { kind: "requeued"; state: ProtectionState; delayInMs: number }
  /** Another request holds the server, or this exact cause was already handled: nothing to do. */
  | { kind: "skipped"; reason: string };

export interface ProtectionWorker {
  process(message: ProtectionMessage, options?: ProcessOptions): Promise<ProcessOutcome>;
  /** A message that reached the poison queue: leave the row visibly `Failed` with the reason. */
  recordPoison(message: ProtectionMessage, reason: string, dequeueCount?: number): Promise<void>;
}

/** States after which a repeated delivery of the same cause has nothing left to do. */
const SETTLED: ReadonlySet<ProtectionState> = new Set<ProtectionState>(
  ProtectionStates.filter((state) => !InProgressStates.includes(state)),
);

/** Stops that only a person can resolve: entering one raises a `ProtectionFailed` alert. */
const NEEDS_ATTENTION: ReadonlySet<ProtectionState> = new Set<ProtectionState>([
  "Failed",
  "MissingPermissions",
  "NoVaultForRegion",
  "UnknownPolicyTag",
]);

/** "45 s" or "31 min", for messages people read. */
function durationText(ms: number): string {
  return ms < 120_000 ? `${Math.ceil(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

/** 5xx, 408, 429 or no response at all (a reset connection): worth trying again later. */
function isTransientFailure(e: Error): boolean {
  return e instanceof TransientError || (isRestError(e) && isTransientStatus(statusOf(e)));
}

/** The lease changed hands while this worker was writing: stop quietly, the owner carries on. */
class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
}

/** Thrown inside a run to stop it with a settled or requeued outcome. */
class Stop extends Error {
  constructor(readonly outcome: ProcessOutcome) {
    super(outcome.kind);
  }
}

interface ProtectTarget {
  region: string;
  tagValue: string | undefined;
  policyName: string;
  vaultId: string;
  instanceName: string;
}

/** Last segment of a policy id (`.../backupPolicies/<name>`); undefined when absent. */
function policyNameOf(policyId: string | undefined): string | undefined {
  return policyId?.split("/").filter(Boolean).pop() || undefined;
}

/** Policy names compare case-insensitively, as ARM names do. */
function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Body of validateForBackup and of the instance PUT for a PG Flexible server. */
function instanceProperties(server: FlexibleServerInfo, policyId: string): BackupInstanceProperties {
  return {
    friendlyName: server.name,
    objectType: "BackupInstance",
    dataSourceInfo: {
      objectType: "Datasource",
      datasourceType: "Microsoft.DBforPostgreSQL/flexibleServers",
      resourceID: server.id,
      resourceName: server.name,
      resourceType: "Microsoft.DBforPostgreSQL/flexibleServers",
      resourceLocation: server.location,
      resourceUri: "",
    },
    policyInfo: { policyId },
  };
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
  const baseLog = deps.logger ?? silentLogger;
  const { servers: store, audit } = deps;
  const arm = deps.arm;
  const vaults =
    deps.vaults ??
    createVaultResolver(arm.dataProtection, {
      vaultMap: s.vaultMap,
      markerTag: s.vaultMarkerTag,
      scopes: s.scopes,
      cacheTtlInMs: s.cacheTtlInMs,
      now: () => now().getTime(),
    });
  const policies = createTtlCache<string>(s.cacheTtlInMs, () => now().getTime());

  /** The row's lease has not run out (whoever holds it). */
  function leaseLive(row: ServerRecord): boolean {
    return !!row.leaseUntil && Date.parse(row.leaseUntil) > now().getTime();
  }

  /** `state|code` of a stop that needs someone; undefined for every other state. */
  function attentionKey(state: ProtectionState, code: string | undefined): string | undefined {
    return NEEDS_ATTENTION.has(state) ? `${state}|${code ?? state}` : undefined;
  }

  /** Raises the alert for a row that has just entered a stop; an alert never fails the run. */
  async function raiseAlert(row: ServerRecord, cause: string, log: Logger): Promise<void> {
    if (!deps.alerter) return;
    try {
      await deps.alerter.raise(protectionFailedAlert(row, cause));
    } catch (e) {
      log.warn(`${row.resourceId}: could not raise the alert: ${ensureError(e).message}`);
    }
  }

  /** One run for one message; `row` is always the latest stored version this run knows. */
  class Run {
    row!: ServerRecord;
    /** The stored version the last successful write replaced (what other requests had noted on it). */
    replaced: ServerRecord | undefined;
    readonly cause: string;
    /** What the run is protecting towards, once known (read when validation finds an existing instance). */
    target: ProtectTarget | undefined;
    constructor(
      readonly message: ProtectionMessage,
      readonly options: ProcessOptions,
    ) {
      this.cause = causeToString(message.cause);
    }

    get signal(): AbortSignal | undefined {
      return this.options.abortSignal;
    }

    leaseValidForOther(row: ServerRecord): boolean {
      return !!row.leaseOwner && row.leaseOwner !== this.message.requestId && leaseLive(row);
    }

    /** True while `row` (default: the latest this run knows) is leased to this run's request. */
    holdsLease(row: ServerRecord | undefined = this.row): boolean {
      return !!row && row.leaseOwner === this.message.requestId && leaseLive(row);
    }

    /**
     * One ETag-guarded write of `patch` onto the row, plus one audit row when the state or error changes.
     * On 412 it re-reads and re-applies the patch while this run still holds the lease.
     */
    async write(patch: Partial<ServerRecord>, detail?: string): Promise<ServerRecord> {
      for (let i = 0; ; i++) {
        const before = this.row;
        const next: ServerRecord = {
          ...before,
          ...patch,
          updatedAt: now().toISOString(),
          lastCause: this.cause,
        };
        for (const [k, v] of Object.entries(patch))
          if (v === undefined) delete (next as unknown as Record<string, unknown>)[k];
        try {
          this.row = await store.update(next, { abortSignal: this.signal });
          this.replaced = before;
        } catch (e) {
          if (!(e instanceof ConflictError) || i >= 4) throw e;
          const fresh = await store.get(before.resourceId, { abortSignal: this.signal });
          if (!fresh || this.leaseValidForOther(fresh))
            throw new LeaseLostError(`Lost the lease on ${before.resourceId}.`);
          this.row = fresh;
          continue;
        }
        if (before.state !== next.state || before.lastErrorCode !== next.lastErrorCode) {
          await audit.append(
            {
              action: "stateChange",
              target: next.resourceId,
              serverId: next.resourceId,
              cause: this.cause,
              mode: s.mode,
              result: "succeeded",
              detail: `${before.state} -> ${next.state}${next.lastErrorCode ? ` (${next.lastErrorCode})` : ""}${detail ? `: ${detail}` : ""}`,
            },
            { abortSignal: this.signal },
          );
        }
        return this.row;
      }
    }

    /** Ends the run in `state`, releasing the lease and the run's counters. */
    async settle(
      state: ProtectionState,
      extra: Partial<ServerRecord> & { lastErrorCode?: string; lastErrorMessage?: string; fix?: string } = {},
    ): Promise<never> {
      // The row remembers which stop it alerted for, so re-evaluations (a daily sweep) stay quiet.
      const alertedFor = attentionKey(state, extra.lastErrorCode);
      const alert = !!alertedFor && this.row.alertedFor !== alertedFor;
      await this.write({
        state,
        alertedFor,
        lastErrorCode: undefined,
        lastErrorMessage: undefined,
        fix: undefined,
        leaseOwner: undefined,
        leaseUntil: undefined,
        waitingSince: undefined,
        operationState: undefined,
        recheckCause: undefined,
        ...(SETTLED.has(state) ? { attempts: 0 } : {}),
        ...(state === "Protected" && !this.row.protectedAt ? { protectedAt: now().toISOString() } : {}),
        ...extra,
      });
      const log = this.options.logger ?? baseLog;
      log.info(`${this.row.resourceId}: ${state}${extra.lastErrorCode ? ` (${extra.lastErrorCode})` : ""}`);
      if (alert) await raiseAlert(this.row, this.cause, log);
      const recheck = this.replaced?.recheckCause;
      if (recheck) {
        const cause = parseCause(recheck);
        if (cause && recheck !== this.cause) {
          await deps.queue.send(createProtectionMessage(this.row.resourceId, cause, { now: now() }), {
            abortSignal: this.signal,
          });
        }
      }
      throw new Stop({ kind: "settled", state });
    }

    /** Keeps the lease and sends the same request again after a backoff. */
    async requeue(state: ProtectionState, patch: Partial<ServerRecord>, delayInMs: number): Promise<never> {
      await this.write({
        state,
        // A validation in flight is kept only when the caller passes it on.
        operationState: undefined,
        // The run got past the transient failure shown on the row.
        ...(this.message.transientFailures
          ? { lastErrorCode: undefined, lastErrorMessage: undefined, fix: undefined }
          : {}),
        ...patch,
        attempts: (this.row.attempts ?? 0) + 1,
        leaseOwner: this.message.requestId,
        leaseUntil: new Date(now().getTime() + delayInMs + s.leaseInMs).toISOString(),
      });
      const { transientFailures: _failures, retriedForInMs: _waited, ...next } = this.message;
      await deps.queue.send(
        { ...next, attempt: this.message.attempt + 1 },
        { visibilityTimeoutInMs: delayInMs, abortSignal: this.signal },
      );
      throw new Stop({ kind: "requeued", state, delayInMs });
    }

    /**
     * A transient Azure failure (5xx, 429 after the client's own retries, a reset connection): show it on the
     * row and try again in a fresh message after a backoff, so a flaky minute never spends the queue's few
     * deliveries. Only while `mayRetryTransient()`.
     */
    async retryTransient(error: Error): Promise<Extract<ProcessOutcome, { kind: "requeued" }>> {
      const failures = (this.message.transientFailures ?? 0) + 1;
      const waited = this.message.retriedForInMs ?? 0;
      const delayInMs = backoffInMs(failures - 1, s.transientRetryBaseInMs, s.transientRetryCapInMs);
      const left = s.transientRetryDeadlineInMs - waited;
      await this.write({
        lastErrorCode: errorCode(error) ?? (statusOf(error) ? `HTTP${statusOf(error)}` : error.name),
        lastErrorMessage: `Retrying in ${durationText(delayInMs)} after a transient failure (${failures} in a row): ${error.message}`,
        fix: `Nothing yet: the app keeps retrying for up to ${durationText(left)} more. If it keeps failing, check Azure's status and the subscription's throttling.`,
        leaseUntil: new Date(now().getTime() + delayInMs + s.leaseInMs).toISOString(),
      });
      await deps.queue.send(
        { ...this.message, transientFailures: failures, retriedForInMs: waited + delayInMs },
        { visibilityTimeoutInMs: delayInMs, abortSignal: this.signal },
      );
      return { kind: "requeued", state: this.row.state, delayInMs };
    }

    /** The retries of transient failures have not yet waited `transientRetryDeadlineInMs` in all. */
    mayRetryTransient(): boolean {
      return (this.message.retriedForInMs ?? 0) < s.transientRetryDeadlineInMs;
    }

    async claim(): Promise<ProcessOutcome | undefined> {
      const id = this.message.resourceId;
      const parts = parseServerId(id);
      if (!parts) return { kind: "skipped", reason: `"${id}" is not a server id` };
      for (let i = 0; i < 5; i++) {
        let row = await store.get(id, { abortSignal: this.signal });
        if (!row) {
          try {
            row = await store.create(
              {
                ...parts,
                state: "Pending",
                attempts: 0,
                updatedAt: now().toISOString(),
                lastCause: this.cause,
              },
              { abortSignal: this.signal },
            );
          } catch (e) {
            if (e instanceof ConflictError) continue;
            throw e;
          }
        }
        if (row.lastCause === this.cause && SETTLED.has(row.state) && !row.leaseOwner) {
          return { kind: "skipped", reason: `${this.cause} was already handled (${row.state})` };
        }
        if (this.leaseValidForOther(row)) {
          // A different cause (e.g. a tag change) while another request works: note it, so the holder
          // evaluates the server again when it finishes instead of losing the change.
          if (row.lastCause !== this.cause && row.recheckCause !== this.cause) {
            try {
              await store.update({ ...row, recheckCause: this.cause }, { abortSignal: this.signal });
            } catch (e) {
              if (e instanceof ConflictError) continue;
              throw e;
            }
          }
          return { kind: "skipped", reason: `another request holds ${id}` };
        }
        if (this.holdsLease(row)) {
          // A continuation of this request: the lease is still ours, no claim write needed.
          this.row = row;
          return undefined;
        }
        try {
          this.row = await store.update(
            {
              ...row,
              leaseOwner: this.message.requestId,
              leaseUntil: new Date(now().getTime() + s.leaseInMs).toISOString(),
            },
            { abortSignal: this.signal },
          );
          return undefined;
        } catch (e) {
          if (e instanceof ConflictError) continue;
          throw e;
        }
      }
      throw new TransientError(`Too much contention on the row of ${id}; retrying later.`);
    }

    async run(): Promise<ProcessOutcome> {
      const skipped = await this.claim();
      if (skipped) return skipped;
      const id = this.row.resourceId;
      if (this.message.action !== "delete") {
        const continued = await this.continueInFlight();
        if (continued) return continued;
      }
      let server: FlexibleServerInfo | undefined;
      try {
        server = await arm.servers.getServer(id, { abortSignal: this.signal });
      } catch (e) {
        if (statusOf(e) !== 403) throw e;
        return this.settle("Failed", {
          lastErrorCode: errorCode(e) ?? "AuthorizationFailed",
          lastErrorMessage: `This app may not read the server: ${ensureError(e).message}`,
          fix: `az role assignment create --assignee-object-id <app principal id> --assignee-principal-type ServicePrincipal --role "Reader" --scope /subscriptions/${this.row.subscriptionId}`,
        });
      }
      if (!server) {
        return this.settle("Deleted", {
          lastErrorMessage:
            "The server was deleted. Its backups, if any, are kept: this product never deletes them.",
        });
      }
      const region = normalizeRegion(server.location);
      const decision = decideFromTags(server.tags, s);
      const tagValue = decision.kind === "untagged" ? undefined : decision.tagValue;
      const seen = { region, tagValue };

      const protectedHere = this.row.state === "Protected" || this.row.state === "ProtectedUntagged";
      // Settles, or returns when the instance has gone and the tag still asks for protection.
      if (protectedHere) await this.alreadyProtected(server, decision, seen);

      switch (decision.kind) {
        case "untagged":
          return this.settle("OptedOut", {
            ...seen,
            lastErrorMessage: `The server has no "${s.backupTag}" tag; add it to ask for protection.`,
          });
        case "optOut":
          return this.settle("OptedOut", {
            ...seen,
            lastErrorMessage: `The "${s.backupTag}" tag opts the server out of protection.`,
          });
        case "unknown":
          return this.settle("UnknownPolicyTag", {
            ...seen,
            lastErrorCode: "UnknownPolicyTag",
            lastErrorMessage: unknownTagMessage(s.backupTag, decision.tagValue, decision.allowed),
            fix: `Set the "${s.backupTag}" tag to one of: ${decision.allowed.join(", ")}; or map the value in PGFLEX_POLICY_MAP.`,
          });
        case "protect":
          break;
      }

      const vault = await vaults.resolve(region, this.row.subscriptionId, { abortSignal: this.signal });
      if (!vault) {
        return this.settle("NoVaultForRegion", {
          ...seen,
          policyName: decision.policyName,
          lastErrorCode: "NoVaultForRegion",
          lastErrorMessage: `No Backup vault serves region "${region}".`,
          fix: `Add ${region}=<Backup vault resource id> to PGFLEX_VAULT_MAP${s.vaultMarkerTag ? `, or tag a Backup vault in ${region} with "${s.vaultMarkerTag}"` : ""}.`,
        });
      }
      const target = {
        ...seen,
        policyName: decision.policyName,
        vaultId: vault.id,
        instanceName: backupInstanceName(id),
      };

      if (s.mode === "report") {
        return this.settle("WouldProtect", {
          ...target,
          lastErrorMessage: `Would protect with policy "${decision.policyName}" in Backup vault "${vault.name}" as instance "${target.instanceName}".`,
        });
      }

      if (server.state.toLowerCase() !== "ready") return this.waitForServer(server, target);

      return this.protect(server, vault, target);
    }

    /**
     * A protected server was evaluated again. An opt-out or a removed tag keeps protection; a tag mapping to
     * another policy than the instance's moves the instance to it (a PUT of the same instance, never a stop).
     * Returns only when this product's instance has gone and the tag asks for protection: protect it again.
     */
    async alreadyProtected(
      server: FlexibleServerInfo,
      decision: ReturnType<typeof decideFromTags>,
      seen: { region: string; tagValue: string | undefined },
    ): Promise<void> {
      if (decision.kind !== "protect") {
        return this.settle("ProtectedUntagged", {
          ...seen,
          lastErrorMessage:
            decision.kind === "unknown"
              ? unknownTagMessage(s.backupTag, decision.tagValue, decision.allowed) +
                " Protection continues unchanged."
              : `The "${s.backupTag}" tag was removed or opts out; protection continues: this product never stops protection or deletes backups.`,
          fix: `To stop protection, stop it on backup instance "${this.row.instanceName}" in the vault yourself.`,
        });
      }
      const row = this.row;
      const wanted = decision.policyName;
      const sameAsRow = !row.policyName || sameName(wanted, row.policyName);
      // Only this product's own instance in the region's vault is changed; one made outside the app (another
      // name) or left in a vault that no longer serves the region is reported, not touched.
      // Once an instance made elsewhere was found, the codes below stay on the row and mark it as not ours.
      const foreign =
        row.lastErrorCode === "ProtectedByAnotherInstance" || row.lastErrorCode === "PolicyChangeNotApplied";
      const ours = !!row.vaultId && !!row.instanceName && !foreign;
      const vault = ours
        ? await vaults.resolve(seen.region, row.subscriptionId, { abortSignal: this.signal })
        : undefined;
      if (!vault || !row.instanceName || vault.id.toLowerCase() !== row.vaultId?.toLowerCase()) {
        if (sameAsRow && !foreign) return this.settle("Protected", seen);
        if (sameAsRow) {
          return this.settle("Protected", {
            ...seen,
            lastErrorCode: "ProtectedByAnotherInstance",
            lastErrorMessage: `The server is protected by a backup instance this app did not make; this app leaves it as it is.`,
          });
        }
        return this.settle("Protected", {
          ...seen,
          lastErrorCode: "PolicyChangeNotApplied",
          lastErrorMessage: `The "${s.backupTag}" tag now asks for policy "${wanted}"; the backup instance keeps policy "${row.policyName}": it is not this app's instance in the region's Backup vault.`,
          fix: `Change the policy of the server's backup instance in the vault, or set the tag back.`,
        });
      }
      const instance = await arm.dataProtection.getBackupInstance(vault.id, row.instanceName, {
        abortSignal: this.signal,
      });
      if (!instance) return;
      const current = policyNameOf(instance.policyId);
      if (!current || sameName(current, wanted)) {
        return this.settle("Protected", { ...seen, policyName: wanted, vaultId: vault.id });
      }
      return this.changePolicy(server, vault, instance, { from: current, to: wanted }, seen);
    }

    /** PUT of the same instance with the new policy, then the same non-blocking wait as creation. */
    async changePolicy(
      server: FlexibleServerInfo,
      vault: VaultInfo,
      instance: BackupInstanceInfo,
      change: { from: string; to: string },
      seen: { region: string; tagValue: string | undefined },
    ): Promise<never> {
      const { from, to } = change;
      const what = `the policy of backup instance "${instance.name}" in Backup vault "${vault.name}" from "${from}" to "${to}"`;
      if (s.mode === "report") {
        return this.settle("Protected", {
          ...seen,
          policyName: from,
          vaultId: vault.id,
          lastErrorCode: "WouldChangePolicy",
          lastErrorMessage: `Would change ${what}.`,
          fix: "Switch PGFLEX_MODE to enforce to apply it, or set the tag back.",
        });
      }
      const kept = { ...seen, policyName: from, vaultId: vault.id };
      const policyId = await this.ensurePolicy(vault, to, { state: "Protected", ...kept });
      try {
        await arm.dataProtection.createBackupInstance(
          vault.id,
          instance.name,
          instanceProperties(server, policyId),
          {
            abortSignal: this.signal,
          },
        );
      } catch (e) {
        if (isTransientStatus(statusOf(e)) && (isRestError(e) || e instanceof TransientError)) throw e;
        if (!isRestError(e) && !errorCode(e)) throw e;
        // The instance keeps its old policy and keeps protecting: the row stays Protected with the reason.
        const code = errorCode(e) ?? `HTTP${statusOf(e) ?? ""}`;
        return this.settle("Protected", {
          ...kept,
          lastErrorCode: code,
          lastErrorMessage: `Could not change ${what}: ${ensureError(e).message}`,
          fix:
            statusOf(e) === 403
              ? `az role assignment create --assignee-object-id <app principal id> --assignee-principal-type ServicePrincipal --role "Backup Contributor" --scope ${vault.id}`
              : "Fix the cause named above, then re-tag the server (or run `pgflex-autoprotect protect <server>`) to retry.",
        });
      }
      await audit.append(
        {
          action: "changeBackupInstancePolicy",
          target: instance.id || `${vault.id}/backupInstances/${instance.name}`,
          serverId: server.id.toLowerCase(),
          cause: this.cause,
          mode: s.mode,
          result: "succeeded",
          detail: `policy ${from} -> ${to}`,
        },
        { abortSignal: this.signal },
      );
      return this.continueLater(
        "Configuring",
        {
          ...seen,
          policyName: to,
          vaultId: vault.id,
          instanceName: instance.name,
          waitingSince: now().toISOString(),
          lastErrorCode: undefined,
          lastErrorMessage: `Changing ${what}.`,
          fix: undefined,
        },
        s.configureFirstPollInMs,
      );
    }

    async waitForServer(server: FlexibleServerInfo, target: Partial<ServerRecord>): Promise<never> {
      const since = this.row.waitingSince ?? now().toISOString();
      if (now().getTime() - Date.parse(since) >= s.waitForServerDeadlineInMs) {
        return this.settle("Failed", {
          ...target,
          lastErrorCode: "ServerNotReady",
          lastErrorMessage: `The server was not Ready within ${Math.round(s.waitForServerDeadlineInMs / 60_000)} minutes (state: ${server.state}).`,
          fix: "Bring the server to Ready (start it or wait for the operation to finish), then re-tag the server (or run `pgflex-autoprotect protect <server>`) to retry.",
        });
      }
      return this.requeue(
        "WaitingForServer",
        {
          ...target,
          waitingSince: since,
          lastErrorCode: undefined,
          lastErrorMessage: `Waiting for the server to be Ready (state: ${server.state}).`,
        },
        backoffInMs(this.message.attempt, s.retryBaseInMs, s.retryCapInMs),
      );
    }

    /**
     * A validation or configuration in flight continues from the row without reading the server again
     * (its answer is known): one status read of the validation, or one read of the instance.
     */
    async continueInFlight(): Promise<ProcessOutcome | undefined> {
      const row = this.row;
      const inFlight = (row.state === "Validating" && !!row.operationState) || row.state === "Configuring";
      if (!inFlight || !row.vaultId || !row.instanceName || !row.region || !row.policyName) return undefined;
      const vault = await vaults.resolve(row.region, row.subscriptionId, { abortSignal: this.signal });
      if (!vault || vault.id.toLowerCase() !== row.vaultId.toLowerCase()) return undefined;
      const server: FlexibleServerInfo = {
        id: row.resourceId,
        name: row.serverName,
        location: row.region,
        state: "Ready",
        tags: {},
      };
      const target = {
        region: row.region,
        tagValue: row.tagValue,
        policyName: row.policyName,
        vaultId: row.vaultId,
        instanceName: row.instanceName,
      };
      return this.protect(server, vault, target);
    }

    async protect(
      server: FlexibleServerInfo,
      vault: VaultInfo,
      target: {
        region: string;
        tagValue: string | undefined;
        policyName: string;
        vaultId: string;
        instanceName: string;
      },
    ): Promise<never> {
      this.target = target;
      const resuming =
        (this.row.state === "Validating" || this.row.state === "Configuring") &&
        this.row.instanceName === target.instanceName &&
        this.row.vaultId?.toLowerCase() === vault.id.toLowerCase();
      if (resuming && this.row.state === "Configuring") {
        // The PUT was accepted earlier: read the instance; put it again only if it has gone.
        const existing = await arm.dataProtection.getBackupInstance(vault.id, target.instanceName, {
          abortSignal: this.signal,
        });
        if (existing) return this.checkConfigured(vault, existing);
        return this.create(server, vault, target, await this.ensurePolicy(vault, target.policyName));
      }
      if (resuming && this.row.state === "Validating" && this.row.operationState) {
        let done: { done: boolean; operationState: string };
        try {
          done = await arm.dataProtection.pollValidateForBackup(vault.id, this.row.operationState, {
            abortSignal: this.signal,
          });
        } catch (e) {
          return this.onProtectError(e, server, vault, "validateForBackup");
        }
        if (!done.done) {
          return this.continueLater(
            "Validating",
            { operationState: done.operationState },
            s.validatePollInMs,
          );
        }
        if ((this.options.dequeueCount ?? 1) > 1 || this.message.transientFailures) {
          // Redelivered or retried: an earlier try may have died after its PUT. Look before creating.
          const existing = await arm.dataProtection.getBackupInstance(vault.id, target.instanceName, {
            abortSignal: this.signal,
          });
          if (existing) return this.checkConfigured(vault, existing);
        }
        return this.create(server, vault, target, await this.ensurePolicy(vault, target.policyName));
      }

      if (!vault.principalId) {
        return this.settle("MissingPermissions", {
          ...target,
          lastErrorCode: "VaultHasNoIdentity",
          lastErrorMessage: `Backup vault "${vault.name}" has no system-assigned identity.`,
          fix: `az resource update --ids ${vault.id} --set identity.type=SystemAssigned`,
        });
      }
      const policyId = await this.ensurePolicy(vault, target.policyName);
      // Roles are not read up front: validateForBackup checks them, and only its
      // UserErrorMissingRequiredPermissions costs role reads (see fixPermissions).
      let operationState: string;
      try {
        operationState = await arm.dataProtection.beginValidateForBackup(
          vault.id,
          instanceProperties(server, policyId),
          { abortSignal: this.signal },
        );
      } catch (e) {
        return this.onProtectError(e, server, vault, "validateForBackup");
      }
      // The service takes ~40 s: one write records the validation in flight, and the request checks back
      // later instead of holding a worker. (A crash before this write only repeats the validation.)
      return this.continueLater(
        "Validating",
        {
          ...target,
          operationState,
          waitingSince: resuming ? this.row.waitingSince : now().toISOString(),
          lastErrorCode: undefined,
          lastErrorMessage: undefined,
          fix: undefined,
        },
        s.validatePollInMs,
      );
    }

    /** PUT of the instance under its deterministic name (a repeat updates it), then a later read. */
    async create(
      server: FlexibleServerInfo,
      vault: VaultInfo,
      target: { policyName: string; instanceName: string },
      policyId: string,
    ): Promise<never> {
      let instance: BackupInstanceInfo | undefined;
      try {
        instance = await arm.dataProtection.createBackupInstance(
          vault.id,
          target.instanceName,
          instanceProperties(server, policyId),
          { abortSignal: this.signal },
        );
      } catch (e) {
        return this.onProtectError(e, server, vault, "createBackupInstance");
      }
      await audit.append(
        {
          action: "createBackupInstance",
          target: instance?.id || `${vault.id}/backupInstances/${target.instanceName}`,
          serverId: server.id.toLowerCase(),
          cause: this.cause,
          mode: s.mode,
          result: "succeeded",
          detail: `policy ${target.policyName}`,
        },
        { abortSignal: this.signal },
      );
      if (instance) return this.checkConfigured(vault, instance);
      return this.continueLater(
        "Configuring",
        { waitingSince: now().toISOString(), lastErrorCode: undefined, lastErrorMessage: undefined },
        s.configureFirstPollInMs,
      );
    }

    /** Keeps the lease and checks back after `delayInMs`, unless the run has taken longer than the deadline. */
    async continueLater(
      state: ProtectionState,
      patch: Partial<ServerRecord>,
      delayInMs: number,
    ): Promise<never> {
      const since = patch.waitingSince ?? this.row.waitingSince ?? now().toISOString();
      if (now().getTime() - Date.parse(since) >= s.waitForServerDeadlineInMs) {
        return this.settle("Failed", {
          lastErrorCode: state === "Configuring" ? "ProtectionNotConfigured" : "ValidationTimedOut",
          lastErrorMessage: `${state === "Configuring" ? "Protection was not configured" : "Validation did not finish"} within ${Math.round(s.waitForServerDeadlineInMs / 60_000)} minutes.`,
          fix: "See the Backup vault for the operation's state, then re-tag the server (or run `pgflex-autoprotect protect <server>`) to retry.",
        });
      }
      return this.requeue(state, { ...patch, waitingSince: since }, delayInMs);
    }

    /** The policy id; looked up (and created when allowed) once per vault and name for concurrent runs. */
    async ensurePolicy(
      vault: VaultInfo,
      policyName: string,
      onMissing: Partial<ServerRecord> & { state: ProtectionState } = { state: "Failed" },
    ): Promise<string> {
      const key = `${vault.id.toLowerCase()}|${policyName.toLowerCase()}`;
      const policyId = await policies.getOrLoad(key, async () => {
        const found = await arm.dataProtection.getPolicy(vault.id, policyName, { abortSignal: this.signal });
        if (found || !s.createMissingPolicies) return found ?? "";
        const created = await arm.dataProtection.createPolicy(
          vault.id,
          policyName,
          pgFlexWeeklyPolicy({ retention: s.policyRetention }),
          { abortSignal: this.signal },
        );
        await audit.append(
          {
            action: "createPolicy",
            target: created,
            serverId: this.row.resourceId,
            cause: this.cause,
            mode: s.mode,
            result: "succeeded",
            detail: `weekly, retention ${s.policyRetention}`,
          },
          { abortSignal: this.signal },
        );
        return created;
      });
      if (!policyId) {
        policies.delete(key);
        const { state, ...extra } = onMissing;
        return this.settle(state, {
          ...extra,
          lastErrorCode: "PolicyNotFound",
          lastErrorMessage: `Backup policy "${policyName}" does not exist in Backup vault "${vault.name}".`,
          fix: `Create policy "${policyName}" in ${vault.id}, or set PGFLEX_CREATE_MISSING_POLICIES=true.`,
        });
      }
      return policyId;
    }

    async missingRoles(serverId: string, principalId: string): Promise<RequiredRole[]> {
      const required = requiredRoles(serverId);
      const held: Array<{ guid: string; scope: string }> = [];
      for await (const a of arm.roles.listForPrincipal(serverId, principalId, { abortSignal: this.signal })) {
        held.push({ guid: a.roleDefinitionGuid || roleGuidOf(a.id), scope: a.scope });
      }
      return required.filter(
        (r) => !held.some((h) => h.guid === r.roleDefinitionGuid && scopeCovers(h.scope, r.scope)),
      );
    }

    /**
     * Validation said permissions are missing: read the vault identity's roles; grant the missing ones when
     * allowed, else stop with the exact commands. Nothing missing means RBAC is still propagating: retry.
     */
    async fixPermissions(
      server: FlexibleServerInfo,
      vault: VaultInfo,
      code: string,
      message: string,
      step: string,
    ): Promise<never> {
      const principalId = vault.principalId ?? "";
      const serverId = server.id.toLowerCase();
      const missing = await this.missingRoles(serverId, principalId);
      if (missing.length > 0) {
        if (!s.autoGrantRoles) {
          const m = missingRolesMessage(vault.name, principalId, missing);
          return this.settle("MissingPermissions", {
            lastErrorCode: "MissingPermissions",
            lastErrorMessage: m.message,
            fix: `${m.fix}\n(or set PGFLEX_AUTO_GRANT_ROLES=true to let this app grant them)`,
          });
        }
        const denied: RequiredRole[] = [];
        for (const role of missing) {
          try {
            await arm.roles.createAssignment(role.scope, role.roleDefinitionGuid, principalId, {
              abortSignal: this.signal,
            });
            await audit.append(
              {
                action: "grantRole",
                target: role.scope,
                serverId,
                cause: this.cause,
                mode: s.mode,
                result: "succeeded",
                detail: `${role.roleName} to ${principalId}`,
              },
              { abortSignal: this.signal },
            );
          } catch (e) {
            if (statusOf(e) !== 403) throw e;
            denied.push(role);
          }
        }
        if (denied.length > 0) {
          const m = missingRolesMessage(vault.name, principalId, denied);
          return this.settle("MissingPermissions", {
            lastErrorCode: "MissingPermissions",
            lastErrorMessage: `${m.message} This app is not permitted to grant ${denied.length === 1 ? "it" : "them"} (403).`,
            fix: m.fix,
          });
        }
        // Freshly granted roles take a while to propagate; validation retries meanwhile.
        return this.requeue(
          "Validating",
          {
            waitingSince: now().toISOString(),
            lastErrorCode: code,
            lastErrorMessage: `Granted ${missing.map((r) => `"${r.roleName}"`).join(" and ")} to the vault identity; validating again once the roles propagate.`,
          },
          backoffInMs(this.message.attempt, s.retryBaseInMs, s.retryCapInMs),
        );
      }
      const since = this.row.waitingSince ?? now().toISOString();
      if (now().getTime() - Date.parse(since) < s.rbacPropagationInMs) {
        return this.requeue(
          "Validating",
          {
            waitingSince: since,
            lastErrorCode: code,
            lastErrorMessage: `${step}: ${message} (retrying while roles propagate)`,
          },
          backoffInMs(this.message.attempt, s.retryBaseInMs, s.retryCapInMs),
        );
      }
      const m = missingRolesMessage(vault.name, principalId, requiredRoles(serverId));
      return this.settle("MissingPermissions", {
        lastErrorCode: code,
        lastErrorMessage: `${step} still reports missing permissions after ${Math.round(s.rbacPropagationInMs / 60_000)} minutes although the roles are assigned: ${message}`,
        fix: m.fix,
      });
    }

    async onProtectError(
      e: unknown,
      server: FlexibleServerInfo,
      vault: VaultInfo,
      step: string,
    ): Promise<never> {
      const code = errorCode(e) ?? "";
      const message = ensureError(e).message;
      if (ALREADY_PROTECTED.test(code) || ALREADY_PROTECTED.test(message)) {
        if (namesVault(message, vault)) {
          const instanceName = backupInstanceName(this.row.resourceId);
          if (mentions(message, instanceName)) return this.ownInstanceFound(server, vault, instanceName);
          return this.settle("Protected", {
            lastErrorCode: "ProtectedByAnotherInstance",
            lastErrorMessage: `The server is already protected in Backup vault "${vault.name}" by another backup instance: ${message}`,
          });
        }
        return this.settle("ProtectedElsewhere", {
          lastErrorCode: code || "UserErrorDppDatasourceAlreadyProtected",
          lastErrorMessage: `The server is already protected by another Backup vault: ${message}`,
          fix: "Nothing to do if that protection is intended; otherwise stop it there and re-tag the server.",
        });
      }
      if (MISSING_PERMISSIONS.test(code)) return this.fixPermissions(server, vault, code, message, step);
      if (statusOf(e) === 403) {
        // The app's own identity (not the vault's) is not allowed to act on the vault.
        return this.settle("Failed", {
          lastErrorCode: code || "AuthorizationFailed",
          lastErrorMessage: `${step}: this app may not act on Backup vault "${vault.name}": ${message}`,
          fix: `az role assignment create --assignee-object-id <app principal id> --assignee-principal-type ServicePrincipal --role "Backup Contributor" --scope ${vault.id}`,
        });
      }
      if (NOT_READY.test(code))
        return this.waitForServer({ ...server, state: `not ready for backup (${code})` }, {});
      if (isTransientStatus(statusOf(e)) && (isRestError(e) || e instanceof TransientError)) throw e;
      if (!isRestError(e) && !code) throw e;
      return this.settle("Failed", {
        lastErrorCode: code || `HTTP${statusOf(e) ?? ""}`,
        lastErrorMessage: `${step} failed: ${message}`,
        fix: "Fix the cause named above, then re-tag the server (or run `pgflex-autoprotect protect <server>`) to retry.",
      });
    }

    /**
     * Validation found this app's own deterministic instance (e.g. the row was lost): protected, and moved to
     * the tag's policy if it has another one.
     */
    async ownInstanceFound(
      server: FlexibleServerInfo,
      vault: VaultInfo,
      instanceName: string,
    ): Promise<never> {
      const target = this.target;
      if (target) {
        const existing = await arm.dataProtection.getBackupInstance(vault.id, instanceName, {
          abortSignal: this.signal,
        });
        const current = policyNameOf(existing?.policyId);
        if (existing && current && !sameName(current, target.policyName)) {
          const seen = { region: target.region, tagValue: target.tagValue };
          return this.changePolicy(server, vault, existing, { from: current, to: target.policyName }, seen);
        }
      }
      return this.settle("Protected", { ...target, instanceName, vaultId: vault.id });
    }

    /** One look at the instance: `Protected`, `Failed`, or check back later. */
    async checkConfigured(vault: VaultInfo, instance: BackupInstanceInfo): Promise<never> {
      const status = (instance.protectionStatus ?? instance.currentProtectionState ?? "").toLowerCase();
      const wanted = this.row.policyName;
      const policy = policyNameOf(instance.policyId);
      if (status === "protectionconfigured" && wanted && policy && !sameName(policy, wanted)) {
        // A policy change not yet visible on the instance: the PUT's operation is still running.
        return this.continueLater("Configuring", {}, s.configurePollInMs);
      }
      if (status === "protectionconfigured") {
        return this.settle("Protected", {
          instanceName: instance.name || this.row.instanceName,
          vaultId: vault.id,
        });
      }
      if (status.includes("error") || status.includes("failed")) {
        return this.settle("Failed", {
          lastErrorCode: "ProtectionError",
          lastErrorMessage: `Backup instance "${instance.name}" reports ${instance.protectionStatus ?? instance.currentProtectionState}.`,
          fix: "See the backup instance in the vault for details; fix it, then re-tag the server (or run `pgflex-autoprotect protect <server>`) to retry.",
        });
      }
      return this.continueLater("Configuring", {}, s.configurePollInMs);
    }
  }

  /** Leaves the row visibly `Failed` (a protected row keeps its state) with why the request gave up. */
  async function recordPoison(
    message: ProtectionMessage,
    error: Error,
    gaveUpAfter: string,
    log: Logger = baseLog,
  ): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const row = await store.get(message.resourceId);
      if (!row) return;
      try {
        // A protected server stays protected; the failure shows in its error fields.
        const keep =
          row.state === "Protected" ||
          row.state === "ProtectedUntagged" ||
          row.state === "ProtectedElsewhere";
        const state = keep ? row.state : "Failed";
        const code = errorCode(error) ?? error.name;
        const alertedFor = attentionKey(state, code);
        const written = await store.update({
          ...row,
          state,
          alertedFor: alertedFor ?? row.alertedFor,
          lastErrorCode: code,
          lastErrorMessage: `Gave up after ${gaveUpAfter}: ${error.message}`,
          fix: "Fix the cause named above, then re-tag the server (or run `pgflex-autoprotect protect <server>`) to retry.",
          leaseOwner: undefined,
          leaseUntil: undefined,
          attempts: 0,
          lastCause: causeToString(message.cause),
          updatedAt: now().toISOString(),
        });
        await audit.append({
          action: "stateChange",
          target: row.resourceId,
          serverId: row.resourceId,
          cause: causeToString(message.cause),
          mode: s.mode,
          result: "failed",
          detail: `${row.state} -> ${state} (poison)`,
        });
        if (alertedFor && row.alertedFor !== alertedFor)
          await raiseAlert(written, causeToString(message.cause), log);
        return;
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e;
      }
    }
  }

  return {
    recordPoison: (message, reason, dequeueCount = s.maxDequeueCount) =>
      recordPoison(message, new Error(reason), `${dequeueCount} deliveries`),
    async process(message, options = {}) {
      const log = options.logger ?? baseLog;
      const run = new Run(message, options);
      try {
        return await run.run();
      } catch (e) {
        if (e instanceof Stop) return e.outcome;
        if (e instanceof LeaseLostError) return { kind: "skipped", reason: e.message };
        const error = ensureError(e);
        if (isTransientFailure(error) && run.holdsLease() && !options.abortSignal?.aborted) {
          if (!run.mayRetryTransient()) {
            const failures = (message.transientFailures ?? 0) + 1;
            const waited = durationText(message.retriedForInMs ?? 0);
            log.error(
              `${message.resourceId}: giving up after ${failures} transient failures: ${error.message}`,
            );
            await recordPoison(message, error, `${failures} attempts over ${waited}`, log);
            return { kind: "settled", state: "Failed" };
          }
          try {
            const retried = await run.retryTransient(error);
            log.warn(
              `${message.resourceId}: transient failure, retrying in ${retried.delayInMs} ms: ${error.message}`,
            );
            return retried;
          } catch (writeError) {
            // Storage is failing too: leave the message to the queue's own redelivery.
            log.warn(`${message.resourceId}: could not schedule a retry: ${ensureError(writeError).message}`);
          }
        }
        const dequeueCount = options.dequeueCount ?? 1;
        if (dequeueCount >= s.maxDequeueCount) {
          log.error(`${message.resourceId}: giving up after ${dequeueCount} deliveries: ${error.message}`);
          await recordPoison(message, error, `${dequeueCount} deliveries`, log);
          return { kind: "settled", state: "Failed" };
        }
        log.warn(
          `${message.resourceId}: attempt ${dequeueCount} failed, the queue will retry: ${error.message}`,
        );
        throw error;
      }
    },
  };
}
