import type { TokenCredential } from "@azure/core-auth";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/lib/config/index.js";
import { createStorageConnection } from "../../src/lib/store/connection.js";

const credential: TokenCredential = { getToken: () => Promise.resolve(null) };
const identityBased = { AzureWebJobsStorage__accountName: "stpgflex001" };

describe("identity-based Storage endpoints", () => {
  it("uses the service URLs the deployment sets, so a sovereign cloud's storage suffix is reached", () => {
    const config = loadConfig({
      ...identityBased,
      AzureWebJobsStorage__tableServiceUri: "https://stpgflex001.table.core.usgovcloudapi.net/",
      AzureWebJobsStorage__queueServiceUri: "https://stpgflex001.queue.core.usgovcloudapi.net",
    });
    const storage = createStorageConnection(config, { credential });
    expect(storage.tableClient("servers").url).toBe("https://stpgflex001.table.core.usgovcloudapi.net");
    expect(storage.queueClient("protect-requests").url).toBe(
      "https://stpgflex001.queue.core.usgovcloudapi.net/protect-requests",
    );
  });

  it("falls back to the public cloud's endpoints from the account name alone, as the Functions host does", () => {
    const storage = createStorageConnection(loadConfig(identityBased), { credential });
    expect(storage.tableClient("servers").url).toBe("https://stpgflex001.table.core.windows.net");
    expect(storage.queueClient("sweep-scopes").url).toBe(
      "https://stpgflex001.queue.core.windows.net/sweep-scopes",
    );
  });

  it("refuses a service URL that is not https, naming the setting", () => {
    expect(() =>
      loadConfig({
        ...identityBased,
        AzureWebJobsStorage__tableServiceUri: "http://stpgflex001.table.example",
      }),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig({
        ...identityBased,
        AzureWebJobsStorage__tableServiceUri: "http://stpgflex001.table.example",
      }),
    ).toThrow(
      /AzureWebJobsStorage__tableServiceUri="http:\/\/stpgflex001.table.example": must be an https URL/,
    );
  });
});
