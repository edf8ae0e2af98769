import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { startBalancer, type Balancer } from "./balancer.js";
import { REPO_ROOT } from "./host.js";
import type { HostJson } from "./hostJson.js";
import type { InstanceConfig, InstanceMessage } from "./instance.js";
import { resolveKeys, type HostKeys } from "./keys.js";
import { freePort } from "../net.js";

export interface StartLocalHostsOptions {
  /** Number of instances (separate OS processes), at least 1. */
  count: number;
  /** App settings for every instance (on top of this process's environment), e.g. AzureWebJobsStorage. */
  env?: Record<string, string | undefined>;
  /** The front end's port (default 0: a free one; read `url`). Instances get free ports of their own. */
  port?: number;
  hostJson?: HostJson;
  /** Keys shared by every instance (as in Azure); any left out is generated once for all. */
  keys?: Partial<HostKeys>;
  queuePollIntervalInMs?: number;
  visibilityTimeoutInMs?: number;
  /** "on": timers fire on the first instance only (Azure holds a singleton lock per timer). Default "off". */
  timers?: "on" | "off";
  /** "inherit": instances log to this process's stdout/stderr; "quiet" (default): only a failed start's output. */
  output?: "inherit" | "quiet";
  /** How long an instance may take to start (default 60 s: tsx compiles the app in every process). */
  startTimeoutInMs?: number;
}

export interface HostInstance {
  readonly index: number;
  /** The instance's own URL (the front end's is `LocalHosts.url`). */
  readonly url: string;
  /** Process id of the running process; undefined while it is down. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Invocations ended in this instance's processes so far (across restarts), by function name. */
  readonly invocations: Readonly<Record<string, number>>;
  /** Times this instance was started (1 + restarts). */
  readonly starts: number;
  /** Sends `signal` (default SIGKILL) and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it gracefully when running, then starts a new process on the same port. */
  restart(): Promise<void>;
}

export interface LocalHosts {
  /** The front end: HTTP functions, the Event Grid webhook and the admin API, spread round robin. */
  readonly url: string;
  readonly port: number;
  readonly keys: HostKeys;
  readonly instances: readonly HostInstance[];
  /** Requests the front end handed to each instance, by instance index. */
  forwarded(): number[];
  /** Stops every instance gracefully (SIGKILL after 10 s) and the front end. Idempotent. */
  stop(): Promise<void>;
}

const INSTANCE_ENTRY = join(REPO_ROOT, "dev", "host", "instance.ts");
const STOP_GRACE_IN_MS = 10_000;

/**
 * N copies of the local host, each its own OS process with its own app, on the same Storage (queues,
 * tables) as Azure runs N instances on one storage account, behind a round-robin front end.
 */
export async function startLocalHosts(options: StartLocalHostsOptions): Promise<LocalHosts> {
  if (!Number.isInteger(options.count) || options.count < 1)
    throw new RangeError(`count must be a whole number of instances, 1 or more, not ${options.count}.`);
  const keys = resolveKeys(options.keys);
  const instances: Instance[] = [];
  let balancer: Balancer | undefined;
  const stop = async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await balancer?.close();
  };
  try {
    for (let index = 0; index < options.count; index++) {
      instances.push(new Instance(index, await freePort(), keys, options));
    }
    await Promise.all(instances.map((i) => i.start()));
    balancer = await startBalancer({
      ...(options.port !== undefined ? { port: options.port } : {}),
      targets: () => instances.filter((i) => i.running).map((i) => i.url),
    });
    const front = balancer;
    let stopped: Promise<void> | undefined;
    return {
      url: front.url,
      port: front.port,
      keys,
      instances,
      forwarded: () => instances.map((i) => front.forwarded.get(i.url) ?? 0),
      stop: () => (stopped ??= stop()),
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

class Instance implements HostInstance {
  readonly url: string;
  readonly invocations: Record<string, number> = {};
  starts = 0;
  private child: ChildProcess | undefined;

  constructor(
    readonly index: number,
    private readonly port: number,
    private readonly keys: HostKeys,
    private readonly options: StartLocalHostsOptions,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const config: InstanceConfig = {
      port: this.port,
      keys: this.keys,
      ...(this.options.hostJson ? { hostJson: this.options.hostJson } : {}),
      ...(this.options.queuePollIntervalInMs !== undefined
        ? { queuePollIntervalInMs: this.options.queuePollIntervalInMs }
        : {}),
      ...(this.options.visibilityTimeoutInMs !== undefined
        ? { visibilityTimeoutInMs: this.options.visibilityTimeoutInMs }
        : {}),
      timers: this.index === 0 ? (this.options.timers ?? "off") : "off",
      quiet: this.options.output !== "inherit",
    };
    const inherit = this.options.output === "inherit";
    const child = spawn(process.execPath, ["--import", "tsx", INSTANCE_ENTRY], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.options.env, PGFLEX_HOST_INSTANCE: JSON.stringify(config) },
      stdio: inherit ? ["ignore", "inherit", "inherit", "ipc"] : ["ignore", "pipe", "pipe", "ipc"],
    });
    this.child = child;
    this.starts++;
    let output = "";
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("message", (m: InstanceMessage) => {
      if (m.type === "invoked") this.invocations[m.name] = (this.invocations[m.name] ?? 0) + 1;
    });
    const timeoutInMs = this.options.startTimeoutInMs ?? 60_000;
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        reject(
          new Error(`Local host instance ${this.index} (port ${this.port}) ${why}. Its output:\n${output}`),
        );
      };
      const timer = setTimeout(() => fail(`did not start within ${timeoutInMs} ms`), timeoutInMs);
      child.on("message", (m: InstanceMessage) => {
        if (m.type !== "ready") return;
        clearTimeout(timer);
        resolve();
      });
      child.once("exit", (code, signal) => fail(`exited (${signal ?? `code ${code}`}) before it was ready`));
    });
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    await exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_IN_MS);
    await exited;
    clearTimeout(timer);
  }
}
