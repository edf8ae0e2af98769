#!/usr/bin/env node
// The API's Microsoft Entra app registration, for the azd hooks (scripts/preprovision.sh, postprovision.sh,
// predown.sh and their .ps1 twins call it; plain Node, no dependencies, so it runs before `npm ci`):
//
//   node scripts/app-registration.mjs preprovision   creates or updates the registration: the application ID URI
//     the API expects (PGFLEX_AUTH_AUDIENCE, default api://pgflex-autoprotect-<env>), the app roles, the
//     user_impersonation scope the dashboard's sign-in asks for, a service principal, and Backup.Operator for the
//     signed-in deployer; stores PGFLEX_AUTH_CLIENT_ID and PGFLEX_AUTH_AUDIENCE in the azd environment. A preset
//     PGFLEX_AUTH_CLIENT_ID is used as it is: nothing is created or changed.
//   node scripts/app-registration.mjs postprovision  lets Easy Auth sign users in: the app's sign-in callback as a
//     redirect URI and a federated credential trusting the app's identity (no client secret).
//   node scripts/app-registration.mjs predown        deletes the registration, only with
//     PGFLEX_DELETE_APP_REGISTRATION=true and only one this hook created.
//
// Idempotent: each step reads first and writes only what differs, so a second run changes nothing.
// Everything goes through the Azure CLI (`az ad …`, Microsoft Graph through `az rest`) and `azd env set`.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const GRAPH = "https://graph.microsoft.com/v1.0";
/** Marks a registration this hook created: predown deletes no other. */
const TAG = "pgflex-autoprotect";
/** Must match src/lib/auth/roles.ts (test/infra/signin.test.ts checks it). Ids are fixed: reruns keep them. */
const APP_ROLES = [
  {
    value: "Backup.Reader",
    id: "d3e1df73-de83-4349-84eb-d0710d40faad",
    displayName: "Backup reader",
    description: "Reads protection states, backup jobs, compliance sweeps, recovery points and restores.",
  },
  {
    value: "Backup.Operator",
    id: "1e172bf3-ff8b-47bb-bceb-b7fe9ddddd10",
    displayName: "Backup operator",
    description: "Starts on-demand backups and compliance sweeps, and reads everything a reader reads.",
  },
  {
    value: "Backup.Restore",
    id: "c076bef9-a34f-4fec-a39d-eaf2c86f0b27",
    displayName: "Backup restorer",
    description:
      "Starts restores of a server's backups to a storage container, and reads everything a reader reads.",
  },
];
const SCOPE = {
  value: "user_impersonation",
  id: "a68392da-315c-4eb9-8b30-9dd68f02ca92",
  adminConsentDisplayName: "Use pgflex-autoprotect as the signed-in user",
  adminConsentDescription: "Lets the dashboard call the pgflex-autoprotect API as the signed-in user.",
  userConsentDisplayName: "Use pgflex-autoprotect as you",
  userConsentDescription: "Lets the dashboard call the pgflex-autoprotect API as you.",
  type: "User",
  isEnabled: true,
};

class HookError extends Error {}

let prefix = "app-registration";
const say = (line) => console.log(`${prefix}: ${line}`);

/** Runs the Azure CLI (az.cmd on Windows, which only a shell starts); never throws. */
function run(command, args) {
  const windows = process.platform === "win32";
  const quote = (a) => (/^[\w@%+=:,./\\-]+$/.test(a) ? a : `"${a.replace(/"/g, '""')}"`);
  const result = windows
    ? spawnSync(`${command}.cmd`, args.map(quote), { encoding: "utf8", shell: true })
    : spawnSync(command, args, { encoding: "utf8" });
  if (result.error)
    throw new HookError(`${command} could not be started (${result.error.message}); install it.`);
  return { ok: result.status === 0, stdout: result.stdout ?? "", stderr: (result.stderr ?? "").trim() };
}

/** `az …`: the parsed JSON answer (or the text), or a HookError naming the command and Azure's answer. */
function az(args, what) {
  const result = run("az", args);
  if (!result.ok) throw new HookError(`${what} failed: ${result.stderr || "az exited with an error"}`);
  const text = result.stdout.trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A JSON body in a temporary file, as `@file` for az (no quoting trouble on any shell). */
function withBody(body, use) {
  const dir = mkdtempSync(join(tmpdir(), "pgflex-graph-"));
  const file = join(dir, "body.json");
  writeFileSync(file, JSON.stringify(body));
  try {
    return use(`@${file}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const graph = (method, path, body, what) =>
  body === undefined
    ? az(["rest", "--method", method, "--uri", `${GRAPH}${path}`], what)
    : withBody(body, (file) =>
        az(
          [
            "rest",
            "--method",
            method,
            "--uri",
            `${GRAPH}${path}`,
            "--headers",
            "Content-Type=application/json",
            "--body",
            file,
          ],
          what,
        ),
      );

function azdEnvSet(name, value) {
  if (process.env[name] === value) return;
  const result = run("azd", ["env", "set", name, value]);
  if (!result.ok)
    throw new HookError(`azd env set ${name} failed: ${result.stderr}. Run: azd env set ${name} ${value}`);
  say(`${name}=${value} stored in the azd environment`);
}

/**
 * What to PATCH on the registration so it has the audience, the roles and the scope (empty: nothing).
 * Roles and scopes that exist by value keep their ids and are never removed (Graph refuses removing an enabled
 * one, and people may have been assigned them).
 */
function registrationChanges(app, audience) {
  const changes = {};
  const uris = app.identifierUris ?? [];
  if (!uris.includes(audience)) changes.identifierUris = [...uris, audience];
  const roles = app.appRoles ?? [];
  const wanted = APP_ROLES.map((role) => {
    const existing = roles.find((r) => r.value === role.value);
    return {
      id: existing?.id ?? role.id,
      value: role.value,
      displayName: role.displayName,
      description: role.description,
      allowedMemberTypes: ["User", "Application"],
      isEnabled: true,
    };
  });
  const same = (a, b) =>
    a.displayName === b.displayName &&
    a.description === b.description &&
    a.isEnabled === b.isEnabled &&
    [...(a.allowedMemberTypes ?? [])].sort().join() === [...b.allowedMemberTypes].sort().join();
  if (wanted.some((w) => !roles.some((r) => r.id === w.id && same(r, w)))) {
    changes.appRoles = [...roles.filter((r) => !APP_ROLES.some((w) => w.value === r.value)), ...wanted];
  }
  const scopes = app.api?.oauth2PermissionScopes ?? [];
  if (!scopes.some((s) => s.value === SCOPE.value)) {
    changes.api = { ...app.api, oauth2PermissionScopes: [...scopes, SCOPE] };
  }
  return changes;
}

function preprovision() {
  prefix = "preprovision";
  const env = process.env.AZURE_ENV_NAME;
  if (!env)
    throw new HookError("AZURE_ENV_NAME is not set; run this hook through azd (azd provision or azd up).");
  const preset = process.env.PGFLEX_AUTH_CLIENT_ID;
  let app;
  let audience = process.env.PGFLEX_AUTH_AUDIENCE || `api://pgflex-autoprotect-${env}`;
  if (preset) {
    app = readPreset(preset);
    // Someone else's registration is used as it is; one this hook made is kept up to date like any other run.
    if (!(app.tags ?? []).includes(TAG)) return usePreset(preset, app);
    audience = process.env.PGFLEX_AUTH_AUDIENCE || app.identifierUris?.[0] || audience;
  } else {
    app = (az(
      ["ad", "app", "list", "--filter", `identifierUris/any(x:x eq '${audience}')`, "--output", "json"],
      `Looking up the app registration for ${audience}`,
    ) ?? [])[0];
  }

  let created = false;
  if (!app) {
    const result = run("az", [
      "ad",
      "app",
      "create",
      "--display-name",
      `pgflex-autoprotect-${env}`,
      "--sign-in-audience",
      "AzureADMyOrg",
      "--identifier-uris",
      audience,
      "--output",
      "json",
    ]);
    if (!result.ok) {
      if (/Insufficient privileges|Authorization_RequestDenied|Forbidden/i.test(result.stderr)) {
        throw new HookError(
          `you may not create app registrations in this tenant (Microsoft Entra ID answered: ${result.stderr.replace(/^ERROR:\s*/, "")}). ` +
            "Either get the Microsoft Entra role Application Developer (or Cloud Application Administrator) and run azd up again, " +
            `or have someone who holds it create the registration (application ID URI ${audience}; docs/access.md) and pass it: ` +
            "azd env set PGFLEX_AUTH_CLIENT_ID <its application (client) id>, then azd up.",
        );
      }
      if (/identifierUris|HostNameNotOnVerifiedDomain/i.test(result.stderr)) {
        throw new HookError(
          `Microsoft Entra ID refused the application ID URI ${audience} (${result.stderr.replace(/^ERROR:\s*/, "")}). ` +
            `Set one your tenant allows, e.g. azd env set PGFLEX_AUTH_AUDIENCE api://<verified domain>/pgflex-autoprotect-${env}, and run azd up again.`,
        );
      }
      throw new HookError(
        `Creating the app registration failed: ${result.stderr}. Fix what it names and run azd up again.`,
      );
    }
    created = true;
    app = JSON.parse(result.stdout);
    say(`created the app registration ${app.displayName} (client id ${app.appId}, ${audience})`);
  } else {
    say(`found the app registration ${app.displayName} (client id ${app.appId}, ${audience})`);
  }

  const changes = registrationChanges(app, audience);
  if (!(app.tags ?? []).includes(TAG) && created) changes.tags = [...(app.tags ?? []), TAG];
  if (Object.keys(changes).length) {
    graph("PATCH", `/applications/${app.id}`, changes, "Updating the app registration's roles and scope");
    say(`set ${Object.keys(changes).join(", ")} on the app registration`);
  }

  let sp = (az(
    ["ad", "sp", "list", "--filter", `appId eq '${app.appId}'`, "--output", "json"],
    "Looking up the service principal",
  ) ?? [])[0];
  if (!sp) {
    sp = az(["ad", "sp", "create", "--id", app.appId, "--output", "json"], "Creating the service principal");
    say(`created the service principal (enterprise application) ${sp.id}`);
  }

  const roles = changes.appRoles ?? app.appRoles ?? [];
  assignDeployer(sp, roles.find((r) => r.value === "Backup.Operator")?.id ?? "");
  azdEnvSet("PGFLEX_AUTH_CLIENT_ID", app.appId);
  azdEnvSet("PGFLEX_AUTH_AUDIENCE", audience);
}

function assignDeployer(sp, roleId) {
  const me = run("az", ["ad", "signed-in-user", "show", "--output", "json"]);
  if (!me.ok) {
    say(
      "the Azure CLI is not signed in as a user (a service principal?), so no one was given Backup.Operator; " +
        "grant roles as docs/access.md shows.",
    );
    return;
  }
  const user = JSON.parse(me.stdout);
  const assigned = graph(
    "GET",
    `/servicePrincipals/${sp.id}/appRoleAssignedTo`,
    undefined,
    "Reading role assignments",
  );
  if ((assigned?.value ?? []).some((a) => a.principalId === user.id && a.appRoleId === roleId)) return;
  try {
    graph(
      "POST",
      `/servicePrincipals/${sp.id}/appRoleAssignedTo`,
      { principalId: user.id, resourceId: sp.id, appRoleId: roleId },
      "Assigning Backup.Operator",
    );
    say(`assigned Backup.Operator to ${user.userPrincipalName ?? user.id} (you)`);
  } catch (e) {
    if (!(e instanceof HookError)) throw e;
    say(
      `could not assign Backup.Operator to you (${e.message}); ask an owner of the enterprise application ` +
        "to assign it (docs/access.md).",
    );
  }
}

function readPreset(clientId) {
  const app = run("az", ["ad", "app", "show", "--id", clientId, "--output", "json"]);
  if (!app.ok) {
    throw new HookError(
      `PGFLEX_AUTH_CLIENT_ID=${clientId} names no app registration this account can read (${app.stderr}). ` +
        "Set it to the registration's application (client) id (az ad app list --display-name <name> --query [].appId), " +
        "or remove it to have this hook create one: azd env set PGFLEX_AUTH_CLIENT_ID ''.",
    );
  }
  return JSON.parse(app.stdout);
}

function usePreset(clientId, registration) {
  const uris = registration.identifierUris ?? [];
  const audience = process.env.PGFLEX_AUTH_AUDIENCE || uris[0];
  if (!audience || (audience !== clientId && !uris.includes(audience))) {
    throw new HookError(
      `the app registration ${clientId} has ${uris.length ? `the application ID URIs ${uris.join(", ")}` : "no application ID URI"}, ` +
        `not ${audience ?? "the audience the API needs"}. Add one (az ad app update --id ${clientId} --identifier-uris api://pgflex-autoprotect-${process.env.AZURE_ENV_NAME}) ` +
        "and set PGFLEX_AUTH_AUDIENCE to it.",
    );
  }
  say(
    `using the existing app registration ${clientId} (PGFLEX_AUTH_CLIENT_ID, ${audience}); nothing created.`,
  );
  azdEnvSet("PGFLEX_AUTH_AUDIENCE", audience);
}

function postprovision() {
  prefix = "postprovision";
  const clientId = process.env.PGFLEX_AUTH_CLIENT_ID;
  if (!clientId) {
    say("no app registration (PGFLEX_AUTH_CLIENT_ID); the app has no Microsoft sign-in.");
    return;
  }
  for (const name of ["APP_URL", "APP_PRINCIPAL_ID", "AZURE_TENANT_ID"]) {
    if (!process.env[name]) throw new HookError(`${name} is not set; run 'azd provision' first.`);
  }
  const callback = `${process.env.APP_URL}/.auth/login/aad/callback`;
  const issuer = `https://login.microsoftonline.com/${process.env.AZURE_TENANT_ID}/v2.0`;
  const subject = process.env.APP_PRINCIPAL_ID;
  const manual =
    `: add the redirect URI ${callback} (web) with ID tokens, and a federated credential (issuer ${issuer}, ` +
    `subject ${subject}, audience api://AzureADTokenExchange) to the app registration ${clientId}; docs/access.md.`;
  try {
    const app = az(
      ["ad", "app", "show", "--id", clientId, "--output", "json"],
      "Reading the app registration",
    );
    const web = app.web ?? {};
    if (!(web.redirectUris ?? []).includes(callback) || !web.implicitGrantSettings?.enableIdTokenIssuance) {
      graph(
        "PATCH",
        `/applications/${app.id}`,
        {
          web: {
            redirectUris: [...new Set([...(web.redirectUris ?? []), callback])],
            implicitGrantSettings: { ...web.implicitGrantSettings, enableIdTokenIssuance: true },
          },
        },
        "Adding the sign-in redirect URI",
      );
      say(`added the sign-in redirect URI ${callback}`);
    }
    const credentials =
      az(
        ["ad", "app", "federated-credential", "list", "--id", clientId, "--output", "json"],
        "Reading federated credentials",
      ) ?? [];
    if (!credentials.some((c) => c.issuer === issuer && c.subject === subject)) {
      withBody(
        {
          name: `easy-auth-${process.env.AZURE_ENV_NAME ?? "app"}`,
          issuer,
          subject,
          audiences: ["api://AzureADTokenExchange"],
          description: "Easy Auth of the pgflex-autoprotect Function App signs in with the app's identity.",
        },
        (file) =>
          az(
            [
              "ad",
              "app",
              "federated-credential",
              "create",
              "--id",
              clientId,
              "--parameters",
              file,
              "--output",
              "json",
            ],
            "Adding the federated credential",
          ),
      );
      say(`added a federated credential for the app's identity ${subject}`);
    }
  } catch (e) {
    if (!(e instanceof HookError)) throw e;
    // The API and scripts work without it; only the dashboard's sign-in needs it.
    console.error(
      `${prefix}: ${e.message}. Dashboard sign-in will not work until someone with rights does it${manual}`,
    );
  }
}

function predown() {
  prefix = "predown";
  const clientId = process.env.PGFLEX_AUTH_CLIENT_ID;
  if (!clientId) return;
  if (process.env.PGFLEX_DELETE_APP_REGISTRATION !== "true") {
    say(
      `the app registration ${clientId} stays (set PGFLEX_DELETE_APP_REGISTRATION=true before azd down to delete it).`,
    );
    return;
  }
  const found = run("az", ["ad", "app", "show", "--id", clientId, "--output", "json"]);
  if (!found.ok) {
    say(`the app registration ${clientId} is already gone.`);
    return;
  }
  const app = JSON.parse(found.stdout);
  if (!(app.tags ?? []).includes(TAG)) {
    console.error(
      `${prefix}: the app registration ${clientId} was not created by azd up, so it stays; delete it yourself if no one ` +
        `else uses it: az ad app delete --id ${clientId}`,
    );
    return;
  }
  az(["ad", "app", "delete", "--id", clientId], "Deleting the app registration");
  // Deleted registrations keep their application ID URI for 30 days; delete it for good so azd up can reuse it.
  graph(
    "DELETE",
    `/directory/deletedItems/${app.id}`,
    undefined,
    "Permanently deleting the app registration",
  );
  say(`deleted the app registration ${clientId} (and its service principal and role assignments).`);
}

const steps = { preprovision, postprovision, predown };
const step = steps[process.argv[2] ?? ""];
if (!step) {
  console.error(`usage: node scripts/app-registration.mjs ${Object.keys(steps).join("|")}`);
  process.exit(2);
}
try {
  step();
} catch (e) {
  if (!(e instanceof HookError)) throw e;
  console.error(`${prefix}: ${e.message}`);
  process.exit(1);
}
