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

export interface RuleSpec {
  readonly id: string;
  readonly when: string;
  readonly effect: Effect;
  readonly approvers?: readonly ApproverSpec[];
  readonly ttlSeconds?: number;
  readonly message?: string;
}

export interface PolicySpec {
  readonly default: Effect;
  /** TTL of held requests when the matching rules name none. */
  readonly defaultTtlSeconds: number;
  readonly rules: readonly RuleSpec[];
}
