/**
 * Evaluates a compiled policy. The most restrictive matching effect wins
 * (deny > approve > allow); the approver requirements of every matching
 * approve rule accumulate; no match gives the default. A rule that errors or
 * yields a non-boolean counts as a matching deny: the policy fails closed. So
 * does a rule whose evaluation exceeds the bounds (bounds.ts): too large an
 * action, too many steps, too long.
 */
import type { ApproverRequirement, Decision, Effect, EscalationRung } from './decision.ts';
import type { EvaluationLimits } from './bounds.ts';
import type { CompiledPolicy, PolicyVariables } from './compile.ts';
import type { GrantTerms } from './spec.ts';
import { intersectGrantTerms } from './grant-terms.ts';

const RANK: Readonly<Record<Effect, number>> = { allow: 0, approve: 1, deny: 2 };

/**
 * @example
 * evaluatePolicy(policy, { principal, action, facts, connection, context }).effect; // 'approve'
 */
export function evaluatePolicy(policy: CompiledPolicy, vars: PolicyVariables, limits?: EvaluationLimits): Decision {
  const matched: string[] = [];
  const approvers: ApproverRequirement[] = [];
  const errors: { rule: string; message: string }[] = [];
  const escalations: EscalationRung[] = [];
  // The groups every matching approve rule lets break the glass: one held by a rule that names none allows none.
  let breakGlass: Set<string> | undefined;
  let stepUp = false;
  // Likewise grants: undefined before the first approve rule, null once one permits none.
  let grant: GrantTerms | null | undefined;
  let effect: Effect | undefined;
  let message: string | null = null;
  let ttlSeconds: number | null = null;
  // Per effect, the matching rules and whether each lets the action run without an undo: one that does not keeps it.
  const undoBy: Record<'allow' | 'approve', { id: string; off: boolean }[]> = { allow: [], approve: [] };

  const evaluate = policy.session(vars, limits);
  for (const rule of policy.rules) {
    const outcome = evaluate(rule);
    let ruleEffect = rule.spec.effect;
    let ruleMessage = rule.spec.message ?? null;
    if (!outcome.ok || typeof outcome.value !== 'boolean') {
      const why = outcome.ok ? `yields ${typeof outcome.value}, not bool` : outcome.message;
      errors.push({ rule: rule.spec.id, message: why });
      ruleEffect = 'deny';
      ruleMessage = `rule ${rule.spec.id} could not be evaluated: ${why}`;
    } else if (!outcome.value) {
      continue;
    }
    matched.push(rule.spec.id);
    if (ruleEffect !== 'deny') undoBy[ruleEffect].push({ id: rule.spec.id, off: rule.spec.undo === false });
    if (ruleEffect === 'approve') {
      for (const a of rule.spec.approvers ?? [{}]) {
        approvers.push({ count: a.count ?? 1, groups: a.groups ?? [], principals: a.principals ?? [], rule: rule.spec.id });
      }
      (rule.spec.escalate ?? []).forEach((e, n) => escalations.push({ key: `${rule.spec.id}#${n + 1}`, rule: rule.spec.id, ...e }));
      const mine = new Set(rule.spec.breakGlass?.groups ?? []);
      breakGlass = breakGlass === undefined ? mine : new Set([...breakGlass].filter((g) => mine.has(g)));
      if (rule.spec.stepUp === 'webauthn') stepUp = true;
      grant = grant === undefined ? (rule.spec.grant ?? null) : intersectGrantTerms(grant, rule.spec.grant ?? null);
      const ttl = rule.spec.ttlSeconds ?? policy.spec.defaultTtlSeconds;
      ttlSeconds = ttlSeconds === null ? ttl : Math.min(ttlSeconds, ttl);
    }
    if (effect === undefined || RANK[ruleEffect] > RANK[effect]) {
      effect = ruleEffect;
      message = ruleMessage;
    } else if (RANK[ruleEffect] === RANK[effect] && message === null) {
      message = ruleMessage;
    }
  }

  const final = effect ?? policy.spec.default;
  if (final === 'approve' && approvers.length === 0) {
    // The default is 'approve' and no rule matched: one human, anyone but the requester.
    approvers.push({ count: 1, groups: [], principals: [], rule: '(default)' });
    ttlSeconds = policy.spec.defaultTtlSeconds;
  }
  const deciding = final === 'deny' || effect === undefined ? [] : undoBy[final];
  const noUndo = deciding.length > 0 && deciding.every((r) => r.off) ? deciding.map((r) => r.id) : undefined;
  return {
    effect: final,
    rules: matched,
    approvers: final === 'approve' ? approvers : [],
    message: effect === undefined ? (final === 'deny' ? 'no policy rule matched; the default is deny' : null) : message,
    policyHash: policy.hash,
    ttlSeconds: final === 'approve' ? ttlSeconds : null,
    errors,
    // Like approvers, the ladders of every matching approve rule accumulate; break-glass needs every such rule's leave.
    ...(final === 'approve' && escalations.length ? { escalations: escalations.sort((a, b) => a.afterSeconds - b.afterSeconds) } : {}),
    ...(final === 'approve' && breakGlass?.size ? { breakGlass: [...breakGlass].sort() } : {}),
    ...(noUndo ? { noUndo } : {}),
    // A step-up asked by any holding rule binds every approval: the restrictive one wins.
    ...(final === 'approve' && stepUp ? { stepUp: 'webauthn' as const } : {}),
    ...(final === 'approve' && grant ? { grant: { ...grant, vary: [...grant.vary].sort() } } : {}),
  };
}
