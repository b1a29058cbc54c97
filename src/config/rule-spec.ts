/** A validated config rule as the policy's RuleSpec: durations in seconds, escalation rungs flattened. */
import type { RuleSpec } from '../core/policy/spec.ts';
import type { PolicySection } from './schema.ts';

/**
 * @example
 * ruleSpecOf({ id: 'r', when: 'true', effect: 'approve', escalate: [{ after: 900, to: { groups: ['sre'], principals: [] } }], notify: [] });
 * // { id: 'r', when: 'true', effect: 'approve', escalate: [{ afterSeconds: 900, groups: ['sre'], principals: [] }] }
 */
export function ruleSpecOf(r: PolicySection['rules'][number]): RuleSpec {
  return {
    id: r.id,
    when: r.when,
    effect: r.effect,
    ...(r.approvers ? { approvers: r.approvers } : {}),
    ...(r.ttl !== undefined ? { ttlSeconds: r.ttl } : {}),
    ...(r.message !== undefined ? { message: r.message } : {}),
    ...(r.escalate ? { escalate: r.escalate.map((e) => ({ afterSeconds: e.after, groups: e.to.groups, principals: e.to.principals })) } : {}),
    ...(r.breakGlass ? { breakGlass: { groups: r.breakGlass.groups } } : {}),
    ...(r.undo === false ? { undo: false as const } : {}),
    ...(r.stepUp ? { stepUp: r.stepUp } : {}),
    ...(r.grant ? { grant: { maxUses: r.grant.maxUses, maxDurationSeconds: r.grant.maxDuration, vary: r.grant.vary } } : {}),
  };
}
