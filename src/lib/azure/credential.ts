import type { AccessToken, TokenCredential } from "@azure/core-auth";
import type { Config } from "../config/index.js";

/**
 * The one credential the app uses for ARM (and Storage/Event Grid in Azure). `@azure/identity` is
 * imported lazily so functions that never call Azure do not pay for it at cold start.
 */
export async function createCredential(config: Config): Promise<TokenCredential> {
  switch (config.armCredential) {
    case "emulator":
      return emulatorCredential;
    case "default": {
      const { DefaultAzureCredential } = await import("@azure/identity");
      return new DefaultAzureCredential(
        config.azureClientId ? { managedIdentityClientId: config.azureClientId } : undefined,
      );
    }
    case "managedIdentity": {
      const { ManagedIdentityCredential } = await import("@azure/identity");
      return config.azureClientId
        ? new ManagedIdentityCredential({ clientId: config.azureClientId })
        : new ManagedIdentityCredential();
    }
  }
}

/** A fixed token for the local ARM emulator, which checks only that a bearer token is present. */
const emulatorCredential: TokenCredential = {
  async getToken(): Promise<AccessToken> {
    return { token: "emulator-token", expiresOnTimestamp: Date.now() + 60 * 60 * 1000 };
  },
};
