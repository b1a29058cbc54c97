/**
 * What the shadowed candidate would have changed: the `policy.shadow` events
 * since a time, grouped by transition and rule (core/policy/decision-diff.ts),
 * with the most recent differences. For `countersign policy shadow`,
 * `GET /v1/policy/shadow` and the console's shadow page.
 */
import type { AuditEvent } from '../core/audit.ts';
import { groupChanges, type ChangeGroup, type DecisionChange, type DecisionSide } from '../core/policy/decision-diff.ts';
import type { Store } from '../core/ports.ts';
import type { Principal } from '../core/principal.ts';
import { AUDIT_READERS, requireRole } from '../core/roles.ts';
import { parseSince } from '../core/since.ts';
import type { Deps } from './deps.ts';
import { SHADOW_EVENT } from './shadow.ts';

export interface ShadowSummary {
  readonly since: string;
  /** Actions the candidate would have decided otherwise. */
  readonly count: number;
  readonly groups: readonly ChangeGroup[];
  /** The newest differences first, at most `recent`. */
  readonly recent: readonly DecisionChange[];
  /** Hashes of the candidates the events were evaluated under (more than one when the candidate changed). */
  readonly candidates: readonly string[];
}

const PAGE = 1000;

function side(v: unknown): DecisionSide {
  const o = (v ?? {}) as Record<string, unknown>;
  return {
    effect: typeof o['effect'] === 'string' ? (o['effect'] as DecisionSide['effect']) : 'error',
    rules: Array.isArray(o['rules']) ? (o['rules'] as string[]) : [],
    approvers: Array.isArray(o['approvers']) ? (o['approvers'] as DecisionSide['approvers']) : [],
    policyHash: typeof o['policyHash'] === 'string' ? o['policyHash'] : '',
    ...(Array.isArray(o['errors']) && o['errors'].length ? { errors: o['errors'] as DecisionSide['errors'] } : {}),
  };
}

/** A `policy.shadow` event as a change. */
export function shadowChange(e: AuditEvent): DecisionChange {
  const d = e.data as Record<string, unknown>;
  return {
    requestId: e.requestId ?? String(d['requestId']),
    principal: String(d['principal']),
    connection: String(d['connection']),
    time: e.time,
    live: side(d['live']),
    candidate: side(d['candidate']),
  };
}

/**
 * @example
 * const s = await shadowSummary(store, { since: new Date(Date.now() - 7 * 86_400_000) });
 * s.groups[0]; // { transition: 'allow → deny', nowMatching: ['drop-tables-deny'], count: 12, … }
 */
export async function shadowSummary(store: Store, o: { since: Date; recent?: number; examples?: number }): Promise<ShadowSummary> {
  const since = o.since.toISOString();
  const changes: DecisionChange[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await store.searchAudit({ types: [SHADOW_EVENT], from: since, limit: PAGE, ...(after !== undefined ? { afterSeq: after } : {}) });
    changes.push(...page.map(shadowChange));
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.seq;
  }
  return {
    since,
    count: changes.length,
    groups: groupChanges(changes, o.examples ?? 3),
    recent: changes.slice(-(o.recent ?? 50)).reverse(),
    candidates: [...new Set(changes.map((c) => c.candidate.policyHash))],
  };
}

/**
 * The summary for a caller, who must hold an audit-reading role; `since` as `7d` or an ISO time (default 7d).
 * `candidate` is the hash of the candidate this gateway shadows now (null: none configured).
 *
 * @example
 * await shadowDecisions(deps, principal, { since: '24h' }); // { candidate: 'sha256:…', since, count, groups, recent, candidates }
 */
export async function shadowDecisions(
  deps: Pick<Deps, 'store' | 'identity' | 'clock' | 'candidate'>,
  caller: Principal,
  o: { since?: string; recent?: number },
): Promise<ShadowSummary & { candidate: string | null }> {
  requireRole(deps.identity.roles(caller), AUDIT_READERS, 'shadow decisions');
  const since = parseSince(o.since ?? '7d', deps.clock.now());
  return { candidate: deps.candidate?.hash ?? null, ...(await shadowSummary(deps.store, { since, ...(o.recent !== undefined ? { recent: o.recent } : {}) })) };
}
