import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { QueueServiceClient } from "@azure/storage-queue";
import { TableClient } from "@azure/data-tables";
import { describe, expect, it } from "vitest";
import { startAzurite } from "../../dev/azurite/index.js";
import { REPO_ROOT } from "../../dev/host/index.js";
import { waitFor } from "../support/localHost.js";

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });

describe("Azurite lifecycle", () => {
  it("starts on free loopback ports with working queues and tables, and stops cleanly", async () => {
    const azurite = await startAzurite();
    try {
      expect(new Set([azurite.blobPort, azurite.queuePort, azurite.tablePort]).size).toBe(3);
      const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(
        "lifecycle",
      );
      await queue.createIfNotExists();
      await queue.sendMessage("aGk=");
      expect((await queue.peekMessages()).peekedMessageItems[0]?.messageText).toBe("aGk=");
      const table = TableClient.fromConnectionString(azurite.connectionString, "lifecycle", {
        allowInsecureConnection: true,
      });
      await table.createTable();
      await table.createEntity({ partitionKey: "p", rowKey: "r", value: 1 });
      expect((await table.getEntity("p", "r")).value).toBe(1);
    } finally {
      await azurite.stop();
    }
    expect(await accepts(azurite.queuePort)).toBe(false);
  });

  it("keeps data in a temp folder when asked, and removes the folder on stop", async () => {
    const before = new Set(await readdir(tmpdir()));
    const azurite = await startAzurite({ inMemory: false });
    const created = (await readdir(tmpdir())).filter((n) => !before.has(n) && n.startsWith("azurite-"));
    try {
      expect(created).toHaveLength(1);
      const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(
        "on-disk",
      );
      await queue.createIfNotExists();
      expect(await queue.exists()).toBe(true);
    } finally {
      await azurite.stop();
    }
    expect(existsSync(join(tmpdir(), created[0] as string))).toBe(false);
  });

  it("runs two instances side by side without sharing data", async () => {
    const [a, b] = await Promise.all([startAzurite(), startAzurite()]);
    try {
      const qa = QueueServiceClient.fromConnectionString(a.connectionString).getQueueClient("only-in-a");
      await qa.createIfNotExists();
      const qb = QueueServiceClient.fromConnectionString(b.connectionString).getQueueClient("only-in-a");
      expect(await qb.exists()).toBe(false);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("dies with its parent even when the parent is killed outright", async () => {
    const script = [
      'import { startAzurite } from "./dev/azurite/index.ts";',
      "const a = await startAzurite();",
      "console.log(String(a.queuePort));",
      "setInterval(() => {}, 1000);",
    ].join("\n");
    const parent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    parent.stdout.on("data", (c: Buffer) => (out += c.toString()));
    const port = await waitFor(
      () => (/^(\d+)$/m.exec(out) ? Number(/^(\d+)$/m.exec(out)?.[1]) : undefined),
      "the port",
    );
    expect(await accepts(port)).toBe(true);
    parent.kill("SIGKILL");
    await waitFor(async () => ((await accepts(port)) ? undefined : true), "Azurite to exit after its parent");
  });
});
