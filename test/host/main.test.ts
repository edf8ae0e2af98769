import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../dev/host/index.js";
import { waitFor } from "../support/localHost.js";

/** `npm run host` (dev/host/main.ts) on a free port with its own Azurite and timers off; all it prints. */
function startHostMain(...extra: string[]) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "dev/host/main.ts", "--port", "0", "--azurite", "--timers", "off", ...extra],
    {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PGFLEX_LOG_LEVEL: "warn" },
    },
  );
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

describe("npm run host", () => {
  it("serves the app with its own Azurite and exits cleanly on SIGTERM", async () => {
    const { child, output, exited } = startHostMain();
    try {
      const url = await waitFor(
        () => /Local Functions host listening on (http:\/\/\S+)/.exec(output())?.[1],
        `the host to listen; output so far: ${output()}`,
        { timeoutInMs: 45_000 },
      );
      expect(output()).toContain(`health: [GET] ${url}/api/health (function)`);
      const key = /Generated functionKey for this run: (\S+)/.exec(output())?.[1];
      expect(key, `the generated function key in: ${output()}`).toBeTruthy();
      expect((await fetch(`${url}/api/health`)).status).toBe(401);
      const res = await fetch(`${url}/api/health`, { headers: { "x-functions-key": key ?? "" } });
      expect(res.status).toBe(200);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(output()).toContain("SIGTERM: finishing running invocations");
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("--instances 2 serves through a front end over two host processes", async () => {
    const { child, output, exited } = startHostMain("--instances", "2");
    try {
      const url = await waitFor(
        () =>
          /Local Functions front end listening on (http:\/\/\S+) \(round robin over 2 instances\)/.exec(
            output(),
          )?.[1],
        `the front end to listen; output so far: ${output()}`,
        { timeoutInMs: 90_000 },
      );
      const pids = [...output().matchAll(/instance \d: \S+ \(pid (\d+)\)/g)].map((m) => m[1]);
      expect(new Set(pids).size, output()).toBe(2);
      const key = /Generated functionKey for this run: (\S+)/.exec(output())?.[1] ?? "";
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${url}/api/health`, { headers: { "x-functions-key": key } });
        expect(res.status).toBe(200);
      }
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  }, 120_000);
});
