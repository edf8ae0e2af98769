import { PostgreSQLManagementFlexibleServerClient } from "@azure/arm-postgresql-flexible";
import { describe, expect, it } from "vitest";
import { staticTokenCredential, trustEmulatorCertificate } from "../../dev/emulator/index.js";
import { useCoreEmulator, SUB_A, ALPHA_DB } from "./helpers.js";

// Its own file: trusting the certificate changes this worker process's TLS defaults.
describe("trusting the emulator certificate process-wide", () => {
  const emulator = useCoreEmulator({ seed: { servers: [ALPHA_DB] } });

  it("lets an SDK client built without TLS options call the emulator", async () => {
    const before = new PostgreSQLManagementFlexibleServerClient(staticTokenCredential(), SUB_A, {
      endpoint: emulator.url,
      retryOptions: { maxRetries: 0 },
    });
    await expect(before.servers.get("rg-one", "alpha-db")).rejects.toThrow(/certificate/iu);
    trustEmulatorCertificate(emulator.caCert);
    const after = new PostgreSQLManagementFlexibleServerClient(staticTokenCredential(), SUB_A, {
      endpoint: emulator.url,
    });
    expect((await after.servers.get("rg-one", "alpha-db")).name).toBe("alpha-db");
  });

  it("lets global fetch call the control API", async () => {
    trustEmulatorCertificate(emulator.caCert);
    const response = await fetch(`${emulator.url}/_emulator/health`);
    expect(await response.json()).toEqual({ status: "ok", url: emulator.url });
  });
});
