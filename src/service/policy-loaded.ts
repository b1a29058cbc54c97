/**
 * A policy change is itself evidence: when the gateway starts with a policy
 * whose hash differs from the last one it ran, the change is an audit event
 * (old and new hash, the rules, where it came from and who started it).
 */
import type { Deps } from './deps.ts';

export async function recordPolicyLoaded(deps: Pick<Deps, 'store' | 'policy' | 'clock'>, source: { file: string; loadedBy: string }): Promise<boolean> {
  const policy = deps.policy();
  const previous = await deps.store.getMeta('policy.hash');
  if (previous === policy.hash) return false;
  await deps.store.appendAudit(
    [
      {
        type: 'policy.loaded',
        time: deps.clock.now().toISOString(),
        requestId: null,
        actor: source.loadedBy,
        data: { old: previous ?? null, new: policy.hash, default: policy.spec.default, rules: policy.rules.map((r) => ({ id: r.spec.id, effect: r.spec.effect })), file: source.file },
      },
    ],
    { 'policy.hash': policy.hash },
  );
  return true;
}
