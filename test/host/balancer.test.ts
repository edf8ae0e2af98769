import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startBalancer, type Balancer } from "../../dev/host/balancer.js";

/** The local front end before several host instances: round robin, dead instances skipped, bodies intact. */
describe("local front end (round robin over host instances)", () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function target(name: string): Promise<string> {
    const server: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ name, method: req.method, url: req.url, body }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function front(targets: () => readonly string[]): Promise<Balancer> {
    const balancer = await startBalancer({ targets });
    closers.push(() => balancer.close());
    return balancer;
  }

  it("hands requests to each instance in turn with method, path, query and body intact", async () => {
    const a = await target("a");
    const b = await target("b");
    const balancer = await front(() => [a, b]);
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${balancer.url}/runtime/webhooks/EventGrid?code=k${i}`, {
        method: "POST",
        body: `[{"n":${i}}]`,
      });
      answers.push((await res.json()) as { name: string; url: string; body: string; method: string });
    }
    expect(answers.map((x) => x.name)).toEqual(["a", "b", "a", "b"]);
    expect(answers[3]).toMatchObject({
      method: "POST",
      url: "/runtime/webhooks/EventGrid?code=k3",
      body: '[{"n":3}]',
    });
    expect(balancer.forwarded.get(a)).toBe(2);
  });

  it("skips an instance that refuses the connection and answers 503 when none is running", async () => {
    const live = await target("live");
    const dead = await target("dead");
    await closers.pop()?.(); // the "dead" instance is gone: its port refuses connections
    let targets: string[] = [dead, live];
    const balancer = await front(() => targets);
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${balancer.url}/api/health`);
      expect(((await res.json()) as { name: string }).name).toBe("live");
    }
    targets = [];
    const res = await fetch(`${balancer.url}/api/health`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/No local host instance is running/);
  });
});
