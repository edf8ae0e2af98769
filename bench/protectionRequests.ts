import { appView, callApi, settled } from "./lib/app.js";
import { median } from "./lib/stats.js";
import { compared, type Metric, type Runnable } from "./lib/types.js";
import { SERVER_RG, SUBSCRIPTION, startWorld } from "./lib/world.js";

/**
 * ARM requests per protection on the happy path (a tagged server's write event to `Protected`) and per
 * on-demand backup (POST /api/servers/.../backups), counted by the emulator, one at a time so every
 * request is attributed. The first protection of a vault also creates its policy: it is the warm-up and
 * reported apart.
 */
export const protectionRequests: Runnable = {
  name: "arm-requests",
  title: "ARM requests per protection and per on-demand backup",
  async run({ size, log }) {
    const protections = size === "tiny" ? 2 : 20;
    const backups = size === "tiny" ? 1 : 10;
    const world = await startWorld({ timeScale: 1000 });
    try {
      const host = world.host;
      if (!host) throw new Error("the world has no host");
      const { servers } = appView(world);
      const counters = world.emulator.control;
      const protectOne = async (name: string) => {
        await counters.resetCounters();
        const id = await world.addServer(name, { tags: { backup: "weekly" }, publishEvent: true });
        const row = await settled(servers, id);
        if (row.state !== "Protected")
          throw new Error(`${name} ended ${row.state}: ${row.lastErrorMessage ?? ""}`);
        return (await counters.getCounters()).totals;
      };
      const warmUp = await protectOne("pg-warmup");
      const totals = [];
      for (let i = 0; i < protections; i++) totals.push(await protectOne(`pg-happy-${i}`));
      log(`protected ${protections} servers one by one`);

      const operator = await world.tokens.mint({ roles: ["Backup.Operator"] });
      const backupTotals = [];
      for (let i = 0; i < backups; i++) {
        await counters.resetCounters();
        const res = await callApi(
          host,
          `servers/${SUBSCRIPTION}/${SERVER_RG}/pg-happy-${i % protections}/backups`,
          {
            method: "POST",
            token: operator,
            body: "{}",
          },
        );
        if (res.status !== 202 && res.status !== 200 && res.status !== 201) {
          throw new Error(`backup start answered ${res.status}: ${JSON.stringify(res.body)}`);
        }
        backupTotals.push((await counters.getCounters()).totals);
      }
      log(`started ${backups} on-demand backups`);
      const writes = median(totals.map((t) => t.writes));
      const all = median(totals.map((t) => t.count));
      const maxAll = Math.max(...totals.map((t) => t.count));
      const metrics: Metric[] = [
        compared(
          {
            name: "ARM writes per protection (median)",
            value: writes,
            unit: "requests",
            baseline: 2,
            baselineLabel: "target: validate + create",
            target: "2 writes",
          },
          { atMost: 1 },
        ),
        compared(
          {
            name: "ARM requests per protection (median)",
            value: all,
            unit: "requests",
            baseline: 8,
            baselineLabel: "target ceiling",
            target: "≤ 8 in all",
          },
          { atMost: 1 },
        ),
        {
          name: "ARM requests per protection (worst)",
          value: maxAll,
          unit: "requests",
          target: "≤ 8",
          met: maxAll <= 8,
        },
        {
          name: "First protection of a vault (creates the policy)",
          value: warmUp.count,
          unit: "requests",
          note: `${warmUp.writes} writes`,
        },
        compared({
          name: "ARM requests per on-demand backup start (median)",
          value: median(backupTotals.map((t) => t.count)),
          unit: "requests",
          baseline: 1,
          baselineLabel: "the adhoc-backup POST alone",
        }),
        {
          name: "ARM writes per on-demand backup start (median)",
          value: median(backupTotals.map((t) => t.writes)),
          unit: "requests",
        },
      ];
      return {
        outcome: "ok",
        metrics,
        parameters: { protections, backups, timeScale: world.timeScale },
        notes: [
          "Counted by the ARM emulator's counters around each protection (event → Protected) and each API call.",
        ],
      };
    } finally {
      await world.stop();
    }
  },
};
