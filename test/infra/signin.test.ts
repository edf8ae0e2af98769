import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Roles } from "../../src/lib/auth/roles.js";
import { type PredictedResource, locateBicep, repoRoot, skipReason, snapshotMain } from "./bicep.js";

/** The fake tenant test/fixtures/fake-az/az answers from (Microsoft Graph shapes). */
interface Tenant {
  applications: Array<{
    id: string;
    appId: string;
    displayName: string;
    identifierUris: string[];
    tags: string[];
    appRoles: Array<{
      id: string;
      value: string;
      description: string;
      allowedMemberTypes: string[];
      isEnabled: boolean;
    }>;
    api: { oauth2PermissionScopes: Array<{ value: string; isEnabled: boolean }> };
    web: { redirectUris: string[]; implicitGrantSettings: { enableIdTokenIssuance: boolean } };
    federatedIdentityCredentials: Array<{ issuer: string; subject: string; audiences: string[] }>;
  }>;
  servicePrincipals: Array<{ id: string; appId: string }>;
  assignments: Array<{ principalId: string; resourceId: string; appRoleId: string }>;
  deleted: string[];
  purged?: string[];
  user?: { id: string; userPrincipalName: string };
  mayCreateApps?: boolean;
  azdEnv: Record<string, string>;
}

interface HookRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** One line per `az` (or `azd …`) call: its arguments joined by spaces. */
  calls: string[];
  tenant: Tenant;
}

const USER = { id: "5f0e8c1a-0000-4000-8000-00000000ad01", userPrincipalName: "ada@contoso.example" };
const fakeBin = join(repoRoot, "test/fixtures/fake-az");

function aTenant(overrides: Partial<Tenant> = {}): Tenant {
  return {
    applications: [],
    servicePrincipals: [],
    assignments: [],
    deleted: [],
    user: USER,
    azdEnv: {},
    ...overrides,
  };
}

/** Runs an azd hook script with the fake `az` and `azd` first on PATH, against `tenant`. */
function runHook(script: string, tenant: Tenant, env: Record<string, string> = {}): Promise<HookRun> {
  const dir = mkdtempSync(join(tmpdir(), "pgflex-signin-"));
  const state = join(dir, "tenant.json");
  const log = join(dir, "calls.log");
  writeFileSync(state, JSON.stringify(tenant));
  return new Promise((resolve) => {
    execFile(
      "sh",
      [join(repoRoot, script)],
      {
        cwd: repoRoot,
        env: {
          PATH: `${fakeBin}:${process.env.PATH ?? ""}`,
          HOME: dir,
          FAKE_AZ_STATE: state,
          FAKE_AZ_LOG: log,
          AZURE_ENV_NAME: "dev",
          ...env,
        },
      },
      (error, stdout, stderr) => {
        const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
        resolve({
          exitCode: error ? Number(error.code ?? 1) : 0,
          stdout,
          stderr,
          calls,
          tenant: JSON.parse(readFileSync(state, "utf8")) as Tenant,
        });
      },
    );
  });
}

/** Calls that change something in Entra ID or the azd environment. */
const writes = (calls: string[]) =>
  calls.filter((c) =>
    /^(ad \S+ create|ad app (federated-credential )?create|ad app delete|rest --method (POST|PATCH|DELETE|PUT)|azd )/.test(
      c,
    ),
  );

describe("preprovision hook: the API's app registration", () => {
  it("creates the registration with the API's audience, its roles and scope, a service principal and Backup.Operator for the deployer", async () => {
    const run = await runHook("scripts/preprovision.sh", aTenant());
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const [app, ...others] = run.tenant.applications;
    expect(others).toEqual([]);
    expect(app?.identifierUris).toEqual(["api://pgflex-autoprotect-dev"]);
    expect(app?.displayName).toBe("pgflex-autoprotect-dev");
    // The roles the API checks (src/lib/auth/roles.ts), each described and open to users, groups and apps.
    expect(app?.appRoles.map((r) => r.value).sort()).toEqual(Object.values(Roles).sort());
    for (const role of app?.appRoles ?? []) {
      expect(role.description.length).toBeGreaterThan(20);
      expect([...role.allowedMemberTypes].sort()).toEqual(["Application", "User"]);
      expect(role.isEnabled).toBe(true);
    }
    expect(app?.api.oauth2PermissionScopes.map((s) => s.value)).toEqual(["user_impersonation"]);
    const sp = run.tenant.servicePrincipals.find((s) => s.appId === app?.appId);
    expect(sp).toBeDefined();
    const operator = app?.appRoles.find((r) => r.value === Roles.operator);
    expect(run.tenant.assignments).toEqual([
      expect.objectContaining({ principalId: USER.id, resourceId: sp?.id, appRoleId: operator?.id }),
    ]);
    expect(run.tenant.azdEnv).toEqual({
      PGFLEX_AUTH_CLIENT_ID: app?.appId,
      PGFLEX_AUTH_AUDIENCE: "api://pgflex-autoprotect-dev",
    });
    expect(run.stdout).toContain("preprovision: assigned Backup.Operator to ada@contoso.example (you)");
  });

  it("changes nothing on a second run", async () => {
    const first = await runHook("scripts/preprovision.sh", aTenant());
    // azd hands the hook its environment, which now holds what the first run stored.
    const second = await runHook("scripts/preprovision.sh", first.tenant, first.tenant.azdEnv);
    expect(second.exitCode).toBe(0);
    expect(writes(second.calls)).toEqual([]);
    expect(second.tenant).toEqual(first.tenant);
  });

  it("brings a registration it made up to date on a later run, e.g. a role added since", async () => {
    const first = await runHook("scripts/preprovision.sh", aTenant());
    const older = structuredClone(first.tenant);
    const app = older.applications[0];
    if (app) app.appRoles = app.appRoles.filter((r) => r.value !== Roles.restore);
    const run = await runHook("scripts/preprovision.sh", older, first.tenant.azdEnv);
    expect(run.exitCode).toBe(0);
    expect(run.tenant.applications[0]?.appRoles.map((r) => r.value).sort()).toEqual(
      Object.values(Roles).sort(),
    );
    expect(run.calls[0]).toBe(`ad app show --id ${app?.appId} --output json`);
  });

  it("finds the registration by its application ID URI when the azd environment lost the client id", async () => {
    const first = await runHook("scripts/preprovision.sh", aTenant());
    const second = await runHook("scripts/preprovision.sh", { ...first.tenant, azdEnv: {} });
    expect(second.exitCode).toBe(0);
    expect(second.tenant.applications).toEqual(first.tenant.applications);
    expect(writes(second.calls)).toEqual([
      `azd env set PGFLEX_AUTH_CLIENT_ID ${first.tenant.applications[0]?.appId}`,
      "azd env set PGFLEX_AUTH_AUDIENCE api://pgflex-autoprotect-dev",
    ]);
  });

  it("completes a registration someone made by hand: keeps its role ids, adds what is missing, never tags it as ours", async () => {
    const handMade = {
      id: "0b0b0b0b-0000-4000-8000-000000000011",
      appId: "0a0a0a0a-0000-4000-8000-000000000012",
      displayName: "pgflex by hand",
      identifierUris: ["api://pgflex-autoprotect-dev"],
      tags: [],
      appRoles: [
        {
          id: "3c3c3c3c-0000-4000-8000-000000000013",
          value: "Backup.Reader",
          description: "read",
          allowedMemberTypes: ["User"],
          isEnabled: true,
        },
      ],
      api: { oauth2PermissionScopes: [] },
      web: { redirectUris: [], implicitGrantSettings: { enableIdTokenIssuance: false } },
      federatedIdentityCredentials: [],
    };
    const run = await runHook("scripts/preprovision.sh", aTenant({ applications: [handMade] }));
    expect(run.exitCode).toBe(0);
    const [app] = run.tenant.applications;
    expect(app?.appRoles.find((r) => r.value === Roles.reader)).toEqual(
      expect.objectContaining({
        id: "3c3c3c3c-0000-4000-8000-000000000013",
        allowedMemberTypes: ["User", "Application"],
      }),
    );
    expect(app?.appRoles.map((r) => r.value).sort()).toEqual(Object.values(Roles).sort());
    expect(app?.tags).toEqual([]);
    expect(run.calls.filter((c) => c.startsWith("ad app create"))).toEqual([]);
  });

  it("stops with the Entra role to ask for and how to pass an existing registration when the deployer may not create one", async () => {
    const run = await runHook("scripts/preprovision.sh", aTenant({ mayCreateApps: false }));
    expect(run.exitCode).toBe(1);
    expect(run.stderr.trim()).toBe(
      "preprovision: you may not create app registrations in this tenant (Microsoft Entra ID answered: Insufficient privileges to complete the operation.). " +
        "Either get the Microsoft Entra role Application Developer (or Cloud Application Administrator) and run azd up again, " +
        "or have someone who holds it create the registration (application ID URI api://pgflex-autoprotect-dev; docs/access.md) and pass it: " +
        "azd env set PGFLEX_AUTH_CLIENT_ID <its application (client) id>, then azd up.",
    );
    expect(run.tenant.applications).toEqual([]);
    expect(run.tenant.azdEnv).toEqual({});
  });

  it("uses a preset PGFLEX_AUTH_CLIENT_ID as it is and creates nothing", async () => {
    const existing = {
      id: "0b0b0b0b-0000-4000-8000-000000000001",
      appId: "0a0a0a0a-0000-4000-8000-000000000002",
      displayName: "platform-backup-api",
      identifierUris: ["api://platform-backup"],
      tags: [],
      appRoles: [],
      api: { oauth2PermissionScopes: [] },
      web: { redirectUris: [], implicitGrantSettings: { enableIdTokenIssuance: false } },
      federatedIdentityCredentials: [],
    };
    const tenant = aTenant({ applications: [existing], mayCreateApps: false });
    const run = await runHook("scripts/preprovision.sh", tenant, { PGFLEX_AUTH_CLIENT_ID: existing.appId });
    expect(run.exitCode).toBe(0);
    expect(run.calls).toEqual([
      `ad app show --id ${existing.appId} --output json`,
      "azd env set PGFLEX_AUTH_AUDIENCE api://platform-backup",
    ]);
    expect(run.tenant.applications).toEqual([existing]);
    expect(run.stdout).toContain(
      `preprovision: using the existing app registration ${existing.appId} (PGFLEX_AUTH_CLIENT_ID, api://platform-backup); nothing created.`,
    );
  });

  it("refuses a preset PGFLEX_AUTH_CLIENT_ID that names no registration, saying how to fix it", async () => {
    const run = await runHook("scripts/preprovision.sh", aTenant(), { PGFLEX_AUTH_CLIENT_ID: "not-an-app" });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("preprovision: PGFLEX_AUTH_CLIENT_ID=not-an-app names no app registration");
    expect(run.stderr).toContain("azd env set PGFLEX_AUTH_CLIENT_ID ''");
  });
});

describe("postprovision hook: sign-in with the registration", () => {
  const outputs = {
    APP_URL: "https://func-abc.azurewebsites.net",
    APP_PRINCIPAL_ID: "7c7c7c7c-0000-4000-8000-000000000003",
    AZURE_TENANT_ID: "72f988bf-0000-4000-8000-000000000004",
  };

  it("adds the app's sign-in callback and a federated credential for its identity, once", async () => {
    const pre = await runHook("scripts/preprovision.sh", aTenant());
    const env = { ...pre.tenant.azdEnv, ...outputs };
    const run = await runHook("scripts/postprovision.sh", pre.tenant, env);
    expect(run.exitCode).toBe(0);
    const app = run.tenant.applications[0];
    expect(app?.web.redirectUris).toEqual(["https://func-abc.azurewebsites.net/.auth/login/aad/callback"]);
    expect(app?.web.implicitGrantSettings.enableIdTokenIssuance).toBe(true);
    expect(app?.federatedIdentityCredentials).toEqual([
      expect.objectContaining({
        issuer: `https://login.microsoftonline.com/${outputs.AZURE_TENANT_ID}/v2.0`,
        subject: outputs.APP_PRINCIPAL_ID,
        audiences: ["api://AzureADTokenExchange"],
      }),
    ]);
    const again = await runHook("scripts/postprovision.sh", run.tenant, env);
    expect(writes(again.calls)).toEqual([]);
  });

  it("does nothing without a registration", async () => {
    const run = await runHook("scripts/postprovision.sh", aTenant(), outputs);
    expect(run.exitCode).toBe(0);
    expect(run.calls).toEqual([]);
  });
});

describe("predown hook: the app registration", () => {
  const provisioned = {
    EVENT_GRID_TOPICS: "[]",
    APP_PRINCIPAL_ID: "7c7c7c7c-0000-4000-8000-000000000003",
  };

  it("leaves the registration by default", async () => {
    const pre = await runHook("scripts/preprovision.sh", aTenant());
    const run = await runHook("scripts/predown.sh", pre.tenant, { ...pre.tenant.azdEnv, ...provisioned });
    expect(run.exitCode).toBe(0);
    expect(run.tenant.applications).toEqual(pre.tenant.applications);
    expect(run.calls.filter((c) => c.startsWith("ad ") || c.startsWith("rest "))).toEqual([]);
  });

  it("deletes the registration it created, for good, with PGFLEX_DELETE_APP_REGISTRATION=true", async () => {
    const pre = await runHook("scripts/preprovision.sh", aTenant());
    const app = pre.tenant.applications[0];
    const run = await runHook("scripts/predown.sh", pre.tenant, {
      ...pre.tenant.azdEnv,
      ...provisioned,
      PGFLEX_DELETE_APP_REGISTRATION: "true",
    });
    expect(run.exitCode).toBe(0);
    expect(run.tenant.applications).toEqual([]);
    expect(run.tenant.servicePrincipals).toEqual([]);
    expect(run.tenant.purged).toEqual([app?.id]);
  });

  it("keeps a registration it did not create even when asked to delete, saying how to delete it", async () => {
    const theirs = { ...(await runHook("scripts/preprovision.sh", aTenant())).tenant };
    const app = theirs.applications[0];
    if (app) app.tags = [];
    const run = await runHook("scripts/predown.sh", theirs, {
      PGFLEX_AUTH_CLIENT_ID: app?.appId ?? "",
      ...provisioned,
      PGFLEX_DELETE_APP_REGISTRATION: "true",
    });
    expect(run.exitCode).toBe(0);
    expect(run.tenant.applications).toHaveLength(1);
    expect(run.stderr).toContain(`az ad app delete --id ${app?.appId}`);
  });
});

describe("Windows hooks", () => {
  it("run the same step of scripts/app-registration.mjs as the sh hooks (PowerShell is not installed here: static check)", () => {
    for (const [hook, step] of [
      ["preprovision", "preprovision"],
      ["postprovision", "postprovision"],
      ["predown", "predown"],
    ]) {
      const sh = readFileSync(join(repoRoot, `scripts/${hook}.sh`), "utf8");
      const ps1 = readFileSync(join(repoRoot, `scripts/${hook}.ps1`), "utf8");
      expect(sh).toMatch(new RegExp(`app-registration\\.mjs"? ${step}\\b`));
      expect(ps1).toContain(`node (Join-Path $PSScriptRoot 'app-registration.mjs') ${step}`);
    }
  });
});

const bicep = locateBicep();
const reason = skipReason(bicep);

describe.skipIf(reason !== undefined)(
  `Microsoft sign-in in front of the app, as bicep snapshot predicts it${reason ? ` (skipped: ${reason})` : ""}`,
  () => {
    const SUB = "11111111-1111-1111-1111-111111111111";
    const CLIENT_ID = "0a0a0a0a-0000-4000-8000-000000000002";
    let withSignIn: PredictedResource[] = [];
    let without: PredictedResource[] = [];

    beforeAll(async () => {
      const base = { environmentName: "dev", location: "westeurope" };
      const [a, b] = await Promise.all([
        snapshotMain(bicep.found ? bicep.path : "", { ...base, authClientId: CLIENT_ID }, SUB),
        snapshotMain(bicep.found ? bicep.path : "", base, SUB),
      ]);
      if (!a.ok || !b.ok)
        throw new Error(`bicep snapshot failed:\n${a.ok ? "" : a.output}${b.ok ? "" : b.output}`);
      withSignIn = a.resources;
      without = b.resources;
    }, 240_000);

    const authSettings = (resources: PredictedResource[]) =>
      resources.filter((r) => r.type === "Microsoft.Web/sites/config" && r.name.endsWith("/authsettingsV2"));

    it("signs a browser in before the dashboard, with the registration, the token store and the API's scope", () => {
      const [auth] = authSettings(withSignIn);
      const p = auth?.properties as {
        platform: { enabled: boolean };
        globalValidation: {
          requireAuthentication: boolean;
          unauthenticatedClientAction: string;
          excludedPaths: string[];
        };
        identityProviders: {
          azureActiveDirectory: {
            registration: { clientId: string; clientSecretSettingName: string; openIdIssuer: string };
            login: { loginParameters: string[] };
            validation: { allowedAudiences: string[] };
          };
        };
        login: { tokenStore: { enabled: boolean } };
      };
      expect(p.platform.enabled).toBe(true);
      // Every path but the liveness probe needs a signed-in user or a bearer token: the dashboard and /api/*.
      expect(p.globalValidation.requireAuthentication).toBe(true);
      expect(p.globalValidation.unauthenticatedClientAction).toBe("RedirectToLoginPage");
      expect(p.globalValidation.excludedPaths).toEqual(["/api/health"]);
      const aad = p.identityProviders.azureActiveDirectory;
      expect(aad.registration.clientId).toBe(CLIENT_ID);
      // The tenant's v2.0 issuer in the deployment's cloud (snapshot leaves environment() and tenant() unevaluated).
      expect(aad.registration.openIdIssuer).toBe(
        "[format('{0}{1}/v2.0', environment().authentication.loginEndpoint, tenant().tenantId)]",
      );
      expect(p.login.tokenStore.enabled).toBe(true);
      expect(aad.login.loginParameters).toEqual([
        "scope=openid profile email offline_access api://pgflex-autoprotect-dev/user_impersonation",
      ]);
      // Scripts' bearer tokens for the API (either audience form) pass through to the app's own checks.
      expect(aad.validation.allowedAudiences).toEqual(["api://pgflex-autoprotect-dev", CLIENT_ID]);
      // No client secret: the named app setting holds the app identity's client id (a federated credential).
      expect(aad.registration.clientSecretSettingName).toBe("OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID");
      const settings = withSignIn.find((r) => r.name.endsWith("/appsettings"))?.properties ?? {};
      expect(settings).toHaveProperty("OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID");
      expect(settings.PGFLEX_AUTH_AUDIENCE).toBe("api://pgflex-autoprotect-dev");
    });

    it("puts no sign-in in front of the app without a registration", () => {
      expect(authSettings(without)).toEqual([]);
    });
  },
);
