/**
 * What the policy decided for one action, kept on the request so anyone can
 * see later which rules matched and under which policy version.
 */
import type { GrantTerms } from './spec.ts';

export type Effect = 'allow' | 'deny' | 'approve';

/** Approvals needed: `count` distinct humans, each in one of `groups` or named in `principals`. */
export interface ApproverRequirement {
  /** The rule that asked for it. */
  readonly rule: string;
  readonly groups: readonly string[];
  readonly principals: readonly string[];
  readonly count: number;
}

/** One rung of an escalation ladder, from the rule that asked for it; `key` (`<rule>#<n>`) names it in the audit log. */
export interface EscalationRung {
  readonly key: string;
  readonly rule: string;
  readonly afterSeconds: number;
  readonly groups: readonly string[];
  readonly principals: readonly string[];
}

export interface Decision {
  readonly effect: Effect;
  /** Ids of every rule whose condition matched, in policy order. */
  readonly rules: readonly string[];
  readonly approvers: readonly ApproverRequirement[];
  /** The deciding rule's message, if it has one. */
  readonly message: string | null;
  /** SHA-256 of the canonical policy; ties the decision to one policy version. */
  readonly policyHash: string;
  /** Time to live of a held request, in seconds (approve only). */
  readonly ttlSeconds: number | null;
  /** Escalation ladders of every matching approve rule, by delay (approve only; absent: none). */
  readonly escalations?: readonly EscalationRung[];
  /** Groups whose humans may break the glass on the request (approve only; absent: nobody). */
  readonly breakGlass?: readonly string[];
  /**
   * The matching rules of the deciding effect (allow or approve), when every one of them says `undo: false`: the
   * action runs without a before-image, and so without the row limit. Absent: the connection's undo applies.
   */
  readonly noUndo?: readonly string[];
  /** `webauthn`: every approval needs a passkey confirmation by its reviewer (approve only; absent: none). Set when any matching approve rule asks. */
  readonly stepUp?: 'webauthn';
  /** The scoped grants a reviewer may give: every holding approve rule's `grant`, intersected (approve only; absent: none). */
  readonly grant?: GrantTerms;
  /** Rules that failed to evaluate; any entry here makes the effect deny (fail closed). */
  readonly errors: readonly { readonly rule: string; readonly message: string }[];
}
