import type { RunningEmulator } from "../../dev/emulator/index.js";

export interface VaultSpec {
  subscriptionId: string;
  resourceGroupName: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
}

/** Adds a Backup vault through the emulator's control API; returns its identity's principal id. */
export async function addEmulatorVault(emulator: RunningEmulator, vault: VaultSpec): Promise<string> {
  const res = await fetch(new URL("/_emulator/dataprotection/vaults", emulator.url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(vault),
  });
  if (!res.ok) throw new Error(`addVault: HTTP ${res.status} ${await res.text()}`);
  const created = (await res.json()) as { identity?: { principalId?: string } };
  const id = created.identity?.principalId;
  if (!id) throw new Error("The emulator's vault has no identity.");
  return id;
}
