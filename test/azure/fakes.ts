import type { TokenCredential } from "@azure/core-auth";

/** A credential whose token is always valid for the next hour; for fake transports and local servers. */
export const fakeCredential: TokenCredential = {
  getToken: async () => ({ token: "t", expiresOnTimestamp: Date.now() + 3_600_000 }),
};
