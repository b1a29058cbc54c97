/**
 * A policy change is itself evidence: when the gateway starts with a policy
 * whose hash differs from the last one it ran, the change is an audit event
 * (old and new hash, the rules, where it came from and who started it). A
 * shadowed candidate is part of it: a new candidate (or none where there was
 * one) is recorded too, so the log says which candidate the `policy.shadow`
 * events that follow were evaluated under.
 */
import type { Deps } from './deps.ts';

export async function recordPolicyLoaded(
  deps: Pick<Deps, 'store' | 'policy' | 'clock' | 'candidate'>,
  source: { file: string; loadedBy: string; candidateFile?: string },
): Promise<boolean> {
  const policy = deps.policy();
  const previous = await deps.store.getMeta('policy.hash');
  const candidateHash = deps.candidate?.hash ?? '';
  const previousCandidate = (await deps.store.getMeta('policy.candidate.hash')) ?? '';
  if (previous === policy.hash && previousCandidate === candidateHash) return false;
  const candidate = deps.candidate ? { hash: deps.candidate.hash, file: source.candidateFile ?? null, rules: deps.candidate.rules.map((r) => ({ id: r.spec.id, effect: r.spec.effect })) } : null;
  await deps.store.appendAudit(
    [
      {
        type: 'policy.loaded',
        time: deps.clock.now().toISOString(),
        requestId: null,
        actor: source.loadedBy,
        data: {
          old: previous ?? null,
          new: policy.hash,
          default: policy.spec.default,
          rules: policy.rules.map((r) => ({ id: r.spec.id, effect: r.spec.effect })),
          file: source.file,
          ...(candidate || previousCandidate ? { candidate } : {}),
        },
      },
    ],
    { 'policy.hash': policy.hash, 'policy.candidate.hash': candidateHash },
  );
  return true;
}
