import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorProvider } from "../../dev/emulator/core/provider.js";
import { startEmulator, type RunningEmulator } from "../../dev/emulator/index.js";
import { raw, SUB_A } from "./helpers.js";

interface WidgetSlice {
  widgets: Record<string, { name: string; state: string }>;
}

/** A provider written only against core/provider.ts, as the Data Protection and Resource Graph ones are. */
const widgets: EmulatorProvider = {
  name: "widgets",
  routes: (context) => {
    const slice = (): WidgetSlice => context.state.slice<WidgetSlice>("widgets", () => ({ widgets: {} }));
    const base =
      "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Contoso.Widgets/widgets";
    return [
      {
        method: "PUT",
        path: `${base}/{widgetName}`,
        apiVersions: ["2024-01-01"],
        operationName: "Widgets_Create",
        handler: (request) => {
          const name = request.params.widgetName ?? "";
          slice().widgets[name.toLowerCase()] = { name, state: "Creating" };
          const handle = context.lro.start({
            statusPathPrefix: `/subscriptions/${request.params.subscriptionId}/providers/Contoso.Widgets/operationStatus`,
            resultPathPrefix: `/subscriptions/${request.params.subscriptionId}/providers/Contoso.Widgets/operationResults`,
            apiVersion: request.apiVersion,
            durationInMs: 3_600_000,
            subscriptionId: request.params.subscriptionId ?? "",
            complete: () => {
              const widget = slice().widgets[name.toLowerCase()];
              if (widget) widget.state = "Ready";
              return { status: "Succeeded", result: { name, state: "Ready" } };
            },
          });
          return context.respond.json(202, undefined, handle.headers);
        },
      },
      {
        method: "GET",
        path: base,
        apiVersions: ["2024-01-01"],
        operationName: "Widgets_List",
        handler: (request) =>
          context.respond.json(
            200,
            context.pager.page(request, Object.values(slice().widgets), { pageSize: 1 }),
          ),
      },
    ];
  },
  controlRoutes: (context) => [
    {
      method: "POST",
      path: "/finish-all",
      apiVersions: [],
      operationName: "finishAll",
      handler: () => {
        const state = context.state.slice<WidgetSlice>("widgets", () => ({ widgets: {} }));
        for (const widget of Object.values(state.widgets)) widget.state = "Ready";
        return context.respond.json(200, { finished: Object.keys(state.widgets).length });
      },
    },
  ],
};

describe("the provider contract", () => {
  let emulator: RunningEmulator;
  const base = `/subscriptions/${SUB_A}/resourceGroups/rg/providers/Contoso.Widgets/widgets`;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, timeScale: 1, providers: [widgets] });
  });
  afterAll(async () => {
    await emulator.stop();
  });

  it("routes case-insensitively and serves the LRO URLs the provider was given", async () => {
    const created = await raw(
      emulator,
      "PUT",
      `${base.toUpperCase().replace(SUB_A.toUpperCase(), SUB_A)}/W1?api-version=2024-01-01`,
      {
        body: "{}",
      },
    );
    expect(created.status).toBe(202);
    const location = new URL(String(created.headers.location));
    expect(location.pathname).toMatch(/\/providers\/Contoso\.Widgets\/operationResults\/[A-Za-z0-9=]+$/u);
    const pending = await raw(emulator, "GET", `${location.pathname}${location.search}`);
    expect(pending.status).toBe(202);
    const counters = await emulator.control.getCounters();
    expect(counters.operations.Widgets_Create_OperationStatus?.count).toBe(1);
    await emulator.control.completeOperations();
    const done = await raw(emulator, "GET", `${location.pathname}${location.search}`);
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ name: "W1", state: "Ready" });
    expect(String(done.headers["azure-asyncoperation"])).toContain(
      "/providers/Contoso.Widgets/operationStatus/",
    );
  });

  it("pages a provider's list with nextLink", async () => {
    await raw(emulator, "PUT", `${base}/w2?api-version=2024-01-01`, { body: "{}" });
    const first = await raw(emulator, "GET", `${base}?api-version=2024-01-01`);
    const page = first.body as { value: unknown[]; nextLink?: string };
    expect(page.value).toHaveLength(1);
    const next = new URL(page.nextLink ?? "");
    expect(next.searchParams.get("api-version")).toBe("2024-01-01");
    const second = await raw(emulator, "GET", `${next.pathname}${next.search}`);
    expect((second.body as { value: unknown[]; nextLink?: string }).nextLink).toBeUndefined();
  });

  it("serves a provider's control routes under /_emulator/{name}/ and exports its slice", async () => {
    expect(await emulator.control.invoke("POST", "/widgets/finish-all")).toEqual({ finished: 2 });
    const exported = await emulator.control.exportState();
    expect(exported.providers?.widgets).toEqual({
      widgets: { w1: { name: "W1", state: "Ready" }, w2: { name: "w2", state: "Ready" } },
    });
    const requests = await emulator.control.getRequests();
    expect(requests.some((r) => r.path.startsWith("/_emulator"))).toBe(false);
  });

  it("loads a provider slice from a seed", async () => {
    await emulator.control.loadState({
      providers: { widgets: { widgets: { w9: { name: "w9", state: "Ready" } } } },
    });
    const list = await raw(emulator, "GET", `${base}?api-version=2024-01-01`);
    expect((list.body as { value: unknown[] }).value).toEqual([{ name: "w9", state: "Ready" }]);
  });

  it("rejects a seed whose subscription id is not a GUID", async () => {
    await expect(
      emulator.control.loadState({ subscriptions: [{ subscriptionId: "prod" }] }),
    ).rejects.toMatchObject({
      statusCode: 400,
      message: "Seed subscription id 'prod' is not a GUID.",
    });
  });
});
