import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createControlClient } from "../../dev/emulator/core/control.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("npm run emulator", () => {
  it("starts the emulator alone with the demo seed and stops on SIGTERM", async () => {
    const certPath = join(tmpdir(), `pgflex-emulator-main-test-${process.pid}.pem`);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "dev/emulator/main.ts", "--port", "0", "--cert-path", certPath],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    try {
      const output = await new Promise<string>((resolve, reject) => {
        let text = "";
        child.stdout.on("data", (chunk: Buffer) => {
          text += chunk.toString("utf8");
          if (text.includes("state:")) resolve(text);
        });
        child.on("exit", (code) => reject(new Error(`exited with ${String(code)}: ${text}`)));
      });
      const url = /listening on (https:\/\/127\.0\.0\.1:\d+)/u.exec(output)?.[1] ?? "";
      // The demo seed grows over time: assert what it must cover, not its exact size.
      const [, subscriptions, servers] = /state: (\d+) subscriptions, (\d+) servers/u.exec(output) ?? [];
      expect(Number(subscriptions)).toBeGreaterThanOrEqual(2);
      expect(Number(servers)).toBeGreaterThanOrEqual(3);
      const control = createControlClient(url, readFileSync(certPath, "utf8"));
      const state = await control.exportState();
      expect(new Set(state.servers?.map((s) => s.location)).size).toBeGreaterThanOrEqual(3);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });
});
