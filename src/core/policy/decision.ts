/**
 * What the policy decided for one action, kept on the request so anyone can
 * see later which rules matched and under which policy version.
 */

export type Effect = 'allow' | 'deny' | 'approve';

/** Approvals needed: `count` distinct humans, each in one of `groups` or named in `principals`. */
export interface ApproverRequirement {
  /** The rule that asked for it. */
  readonly rule: string;
  readonly groups: readonly string[];
  readonly principals: readonly string[];
  readonly count: number;
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
  /** Rules that failed to evaluate; any entry here makes the effect deny (fail closed). */
  readonly errors: readonly { readonly rule: string; readonly message: string }[];
}
