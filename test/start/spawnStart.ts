import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface StartedProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the output once `pattern` appears; rejects if the process exits first or after `timeoutInMs`. */
  waitFor(pattern: RegExp, timeoutInMs: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** `npm start` as a user runs it (`node --import tsx dev/start.ts`, which is what the script does), in a child process. */
export function spawnStart(args: readonly string[]): StartedProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: "0" };
  // The test runner's settings must not leak into the product under test.
  for (const name of Object.keys(env))
    if (name.startsWith("PGFLEX_") || name === "AzureWebJobsStorage") delete env[name];
  const child = spawn(process.execPath, ["--import", "tsx", "dev/start.ts", ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    text += chunk.toString("utf8");
    for (const l of listeners) l();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    output: () => text,
    exited,
    waitFor(pattern, timeoutInMs) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const match = pattern.exec(text);
          if (!match) return false;
          cleanup();
          resolve(match);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`npm start did not print ${String(pattern)} in ${timeoutInMs} ms. Output:\n${text}`),
          );
        }, timeoutInMs);
        const onExit = (): void => {
          if (check()) return;
          cleanup();
          reject(new Error(`npm start exited before printing ${String(pattern)}. Output:\n${text}`));
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(listener);
          child.off("exit", onExit);
        };
        const listener = (): void => void check();
        if (check()) return;
        listeners.add(listener);
        child.once("exit", onExit);
      });
    },
  };
}
