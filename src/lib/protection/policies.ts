/** The backup policy a server is protected with, looked up in the vault (and created when allowed). */
import { pgFlexWeeklyPolicy } from "../azure/dataprotection/policies.js";
import type { VaultInfo } from "./ports.js";
import type { Run } from "./run.js";

/**
 * The policy's id, or undefined when the vault has no such policy and creating it is not allowed. Looked
 * up once per vault and name for concurrent runs; a missing policy is not remembered.
 */
export async function ensurePolicy(
  run: Run,
  vault: VaultInfo,
  policyName: string,
): Promise<string | undefined> {
  const { arm, policies } = run.ctx;
  const s = run.settings;
  const call = { abortSignal: run.signal };
  const key = `${vault.id.toLowerCase()}|${policyName.toLowerCase()}`;
  const policyId = await policies.getOrLoad(key, async () => {
    const found = await arm.dataProtection.getPolicy(vault.id, policyName, call);
    if (found || !s.createMissingPolicies) return found ?? "";
    const created = await arm.dataProtection.createPolicy(
      vault.id,
      policyName,
      pgFlexWeeklyPolicy({ retention: s.policyRetention }),
      call,
    );
    await run.audit("createPolicy", created, run.row.resourceId, `weekly, retention ${s.policyRetention}`);
    return created;
  });
  if (policyId) return policyId;
  policies.delete(key);
  return undefined;
}
