import { randomBytes } from "node:crypto";
import type { AlertInput, Alerter } from "../../src/lib/alerts/alerts.js";
import { bufferSource } from "../../src/lib/archive/source.js";
import type { BlobOperations } from "../../src/lib/azure/storage.js";
import { createRestoreTestService, type RestoreTestSettings } from "../../src/lib/restoreTests/service.js";
import { createRestoreStore } from "../../src/lib/store/restores.js";
import { createRestoreTestStore } from "../../src/lib/store/restoreTests.js";
import { createServerStore } from "../../src/lib/store/servers.js";
import { copyText, writeArchive, type WrittenEntry } from "../archive/writer.js";
import { aFakeAzure, aRestoreServiceOver, aServer, CONTAINER_ID, SUB } from "../restore/world.js";
import { privateTablesAt } from "../support/tables.js";

export { aServer, SUB };

/** A database's tables and rows, as the restored archive holds them. */
export type Tables = Record<string, number>;

/** A pg_dump custom archive of `tables` (`schema.name` → rows). */
export function anArchive(database: string, tables: Tables): Buffer {
  const entries: WrittenEntry[] = [];
  let id = 10;
  for (const [qualified, rows] of Object.entries(tables)) {
    const [namespace = "public", tag = qualified] = qualified.split(".");
    entries.push({ dumpId: id++, desc: "TABLE", tag, namespace });
    entries.push({ dumpId: id++, desc: "TABLE DATA", tag, namespace, data: copyText(rows) });
  }
  return writeArchive({ database, entries });
}

/** A recording alerter with the store's dedup: one alert per kind and key. */
export function aRecordingAlerter(): Alerter & { raised: AlertInput[] } {
  const keys = new Set<string>();
  const raised: AlertInput[] = [];
  return {
    raised,
    async raise(input) {
      const key = `${input.kind}|${input.dedupKey}`;
      if (keys.has(key)) return false;
      keys.add(key);
      raised.push(input);
      return true;
    },
    async retryPending() {
      return 0;
    },
  };
}

/**
 * Restore tests over Azurite tables (their own per world), the real restore service over a scripted Azure,
 * and a container whose blobs the test writes: each finished restore job "writes" the databases set in
 * `nextBackup` as real archives.
 */
export async function aRestoreTestWorld(
  connectionString: string,
  servers: string[] = ["pg-one"],
  settings: Partial<RestoreTestSettings> = {},
) {
  const connection = privateTablesAt(connectionString);
  const serverStore = createServerStore(connection);
  for (const name of servers) await serverStore.create(aServer(name));
  const restores = createRestoreStore(connection);
  const store = createRestoreTestStore(connection);
  const azure = aFakeAzure();
  let clock = new Date("2026-11-20T10:00:00.000Z");
  const now = () => clock;
  // The scripted job starts when it is asked to (the restore picks the files written since then).
  const startRestore = azure.operations.startRestore.bind(azure.operations);
  azure.operations.startRestore = async (instance, target, options) => {
    const started = await startRestore(instance, target, options);
    azure.state.jobs.set(started.jobId, { status: "InProgress", startTime: clock.toISOString() });
    return started;
  };
  const restore = aRestoreServiceOver({ servers: serverStore, restores }, azure, now);
  const data = new Map<string, Buffer>();
  const deleted: string[] = [];
  const blobs: BlobOperations = {
    async openBlob(_url, name) {
      const bytes = data.get(name);
      return bytes && bufferSource(bytes);
    },
    async deleteBlob(_url, name) {
      deleted.push(name);
      data.delete(name);
      azure.state.blobs = azure.state.blobs.filter((b) => b.name !== name);
    },
  };
  const alerter = aRecordingAlerter();
  const fullSettings: RestoreTestSettings = {
    targetContainerId: CONTAINER_ID,
    point: { kind: "latest" },
    everyDays: 7,
    concurrency: 2,
    rowsMaxBytes: 10 * 1024 ** 3,
    keepHours: 24,
    dropPercent: 50,
    ...settings,
  };
  const service = createRestoreTestService({
    store,
    servers: serverStore,
    restore,
    restores,
    blobs,
    alerter,
    settings: fullSettings,
    scopes: [SUB],
    now,
  });
  /** What the next restore job writes: database → tables (or raw bytes). */
  let nextBackup: Record<string, Tables | Buffer> = {
    orders: { "orders.customers": 3, "orders.orders": 4 },
    billing: { "billing.invoices": 2 },
  };
  let serverFiles = ["roles", "schema", "tablespaces"];
  return {
    service,
    store,
    restores,
    azure,
    alerter,
    deleted,
    data,
    settings: fullSettings,
    advance(ms: number) {
      clock = new Date(clock.getTime() + ms);
    },
    now,
    setBackup(databases: Record<string, Tables | Buffer>, files = ["roles", "schema", "tablespaces"]) {
      nextBackup = databases;
      serverFiles = files;
    },
    /** Ends every running Restore job: Completed with the files of `nextBackup`, or Failed. */
    finishJobs(status: "Completed" | "Failed" = "Completed") {
      for (const [jobId, job] of azure.state.jobs) {
        if (job.status !== "InProgress") continue;
        const guid = randomBytes(16)
          .toString("hex")
          .replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");
        azure.state.jobs.set(jobId, {
          ...job,
          status,
          endTime: new Date(clock.getTime()).toISOString(),
          ...(status === "Failed"
            ? { errorDetails: [{ code: "UserErrorRestoreFailed", message: "the vault could not restore" }] }
            : {}),
        });
        if (status === "Failed") continue;
        const createdOn = clock.toISOString();
        for (const [db, content] of Object.entries(nextBackup)) {
          const name = `${guid}_database_${db}.sql`;
          const bytes = Buffer.isBuffer(content) ? content : anArchive(db, content);
          data.set(name, bytes);
          azure.state.blobs.push({ name, sizeInBytes: bytes.length, createdOn });
        }
        for (const kind of serverFiles)
          azure.state.blobs.push({ name: `${guid}_${kind}.sql`, sizeInBytes: 10, createdOn });
      }
    },
  };
}
