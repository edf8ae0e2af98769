import { describe, expect, it } from "vitest";
import { classifyProtectFailure } from "../../src/lib/protection/armErrors.js";
import type { VaultInfo } from "../../src/lib/protection/index.js";
import { TransientError } from "../../src/lib/errors.js";
import { anArmError, PRINCIPAL, VAULT_ID } from "./fakes.js";

const vault: VaultInfo = {
  id: VAULT_ID,
  name: "bv-weu",
  location: "westeurope",
  principalId: PRINCIPAL,
  tags: {},
};
const own = "pg-one-0000";

describe("classifyProtectFailure", () => {
  it("tells this app's own instance, another instance in the vault and another vault apart", () => {
    const already = (message: string) => anArmError(400, "UserErrorDppDatasourceAlreadyProtected", message);
    expect(classifyProtectFailure(already(`Protected by bv-weu as ${own}.`), vault, own)).toEqual({
      kind: "ownInstanceExists",
    });
    expect(classifyProtectFailure(already("Protected by bv-weu as other-1."), vault, own)).toEqual({
      kind: "otherInstanceInVault",
      message: "Protected by bv-weu as other-1.",
    });
    expect(classifyProtectFailure(already("Protected by bv-weu-2."), vault, own)).toEqual({
      kind: "otherVault",
      code: "UserErrorDppDatasourceAlreadyProtected",
      message: "Protected by bv-weu-2.",
    });
  });

  it("separates the vault identity's missing roles from the app's own 403", () => {
    expect(
      classifyProtectFailure(anArmError(400, "UserErrorMissingRequiredPermissions"), vault, own),
    ).toEqual({
      kind: "vaultIdentityLacksRoles",
      code: "UserErrorMissingRequiredPermissions",
      message: "UserErrorMissingRequiredPermissions",
    });
    expect(classifyProtectFailure(anArmError(403, "", "denied"), vault, own)).toEqual({
      kind: "appForbidden",
      code: "AuthorizationFailed",
      message: "denied",
    });
  });

  it("waits on a server that is not ready, reports other refusals and leaves transient errors to retries", () => {
    expect(classifyProtectFailure(anArmError(400, "UserErrorServerNotReady"), vault, own)).toEqual({
      kind: "serverNotReady",
      code: "UserErrorServerNotReady",
    });
    expect(classifyProtectFailure(anArmError(409, "", "conflict"), vault, own)).toEqual({
      kind: "rejected",
      code: "HTTP409",
      message: "conflict",
    });
    expect(classifyProtectFailure(anArmError(503, "ServiceUnavailable"), vault, own)).toEqual({
      kind: "unexpected",
    });
    expect(classifyProtectFailure(new TransientError("reset"), vault, own)).toEqual({ kind: "unexpected" });
    expect(classifyProtectFailure(new Error("bug"), vault, own)).toEqual({ kind: "unexpected" });
  });
});
