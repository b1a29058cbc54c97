/**
 * The policy as written in the config, after validation: ordered rules, each a
 * CEL condition and an effect. The config layer produces it; the core compiles it.
 */
import type { Effect } from './decision.ts';

export interface ApproverSpec {
  readonly groups?: readonly string[];
  readonly principals?: readonly string[];
  readonly count?: number;
}

/** One rung of a rule's escalation ladder: who is told (and may review) once a request waited `afterSeconds`. */
export interface EscalationSpec {
  readonly afterSeconds: number;
  readonly groups: readonly string[];
  readonly principals: readonly string[];
}

export interface RuleSpec {
  readonly id: string;
  readonly when: string;
  readonly effect: Effect;
  readonly approvers?: readonly ApproverSpec[];
  readonly ttlSeconds?: number;
  readonly message?: string;
  /** Rungs notified, in order of `afterSeconds`, while a request this rule holds is still pending (approve only). */
  readonly escalate?: readonly EscalationSpec[];
  /** Groups whose humans may run a request this rule holds at once, with a justification (approve only). */
  readonly breakGlass?: { readonly groups: readonly string[] };
  /** `false`: an action this rule allows or holds runs without an undo, when every matching rule of that effect says so. */
  readonly undo?: false;
  /** `webauthn`: an approval of a request this rule holds counts only with a passkey confirmation (approve only). */
  readonly stepUp?: 'webauthn';
  /** Scoped grants a reviewer may give on a request this rule holds (approve only; core/grant.ts). */
  readonly grant?: GrantTerms;
}

/** How far a scoped grant may reach: uses after the granted request, how long, and the input paths that may differ. */
export interface GrantTerms {
  readonly maxUses: number;
  readonly maxDurationSeconds: number;
  readonly vary: readonly string[];
}

export interface PolicySpec {
  readonly default: Effect;
  /** TTL of held requests when the matching rules name none. */
  readonly defaultTtlSeconds: number;
  readonly rules: readonly RuleSpec[];
}
