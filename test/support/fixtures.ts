/**
 * Test fixtures for anything that stores or reasons about requests: a
 * complete, valid RequestRecord with every field overridable, a review by a
 * given human, and an audit draft. Shared by the store contract suite and the
 * core's unit tests so both speak about the same kind of record.
 */
import type { AuditDraft } from '../../src/core/audit.ts';
import type { ConnectionInfo } from '../../src/core/connection.ts';
import { makeFacts } from '../../src/core/facts.ts';
import type { Decision } from '../../src/core/policy/decision.ts';
import type { Principal } from '../../src/core/principal.ts';
import type { RequestRecord } from '../../src/core/request.ts';
import type { Review, Verdict } from '../../src/core/review.ts';

/** A fixed instant the fixtures count from, so records are reproducible. */
export const FIXTURE_TIME = new Date('2025-06-01T12:00:00.000Z');

let counter = 0;

/** A unique request id per call: `req_fixture_1`, `req_fixture_2`, … */
export function fixtureId(prefix = 'req_fixture'): string {
  counter += 1;
  return `${prefix}_${counter}`;
}

/** An ISO timestamp `seconds` after FIXTURE_TIME (negative for before). */
export function at(seconds: number): string {
  return new Date(FIXTURE_TIME.getTime() + seconds * 1000).toISOString();
}

/** An agent acting for a human, the usual requester. */
export function agent(id = 'deploy-bot', actsFor: string | null = 'alice', groups: readonly string[] = []): Principal {
  return { id, kind: 'agent', actsFor, groups, email: null };
}

/** A human principal. */
export function human(id: string, groups: readonly string[] = []): Principal {
  return { id, kind: 'human', actsFor: null, groups, email: `${id}@example.test` };
}

export const FIXTURE_CONNECTION: ConnectionInfo = { name: 'orders-db', kind: 'postgres', tags: { env: 'prod' } };

/** An approve decision needing `count` humans of `groups` (one sre by default). */
export function approveDecision(groups: readonly string[] = ['sre'], count = 1): Decision {
  return {
    effect: 'approve',
    rules: ['prod-writes'],
    approvers: [{ rule: 'prod-writes', groups, principals: [], count }],
    message: null,
    policyHash: `sha256:${'a'.repeat(64)}`,
    ttlSeconds: 3600,
    errors: [],
  };
}

/**
 * A pending request for an UPDATE on orders-db, held for one sre approval.
 *
 * @example
 * const r = requestRecord({ status: 'approved', principal: agent('bot', 'bob') });
 */
export function requestRecord(overrides: Partial<RequestRecord> = {}): RequestRecord {
  const id = overrides.id ?? fixtureId();
  return {
    id,
    status: 'pending',
    principal: agent(),
    action: {
      connection: FIXTURE_CONNECTION.name,
      operation: 'sql.query',
      input: { sql: 'UPDATE orders SET status = $1 WHERE id = $2', params: ['shipped', 42] },
      reason: 'ship order 42',
    },
    connection: FIXTURE_CONNECTION,
    facts: makeFacts('postgres', { writes: true }),
    digest: `sha256:${'d'.repeat(64)}`,
    decision: approveDecision(),
    createdAt: at(0),
    updatedAt: at(0),
    expiresAt: at(3600),
    reviews: [],
    result: null,
    error: null,
    version: 1,
    ...overrides,
  };
}

/**
 * A review of `request` by `reviewer`.
 *
 * @example
 * reviewOf(r, human('carol', ['sre'])); // carol approves r
 */
export function reviewOf(
  request: Pick<RequestRecord, 'id' | 'digest'>,
  reviewer: Pick<Principal, 'id' | 'groups'>,
  verdict: Verdict = 'approve',
  createdAt: string = at(60),
): Review {
  return {
    requestId: request.id,
    reviewer: { id: reviewer.id, kind: 'human', groups: [...reviewer.groups] },
    verdict,
    comment: `${verdict} by ${reviewer.id}`,
    digest: request.digest,
    createdAt,
  };
}

/** An audit draft about one request (or the gateway when requestId is null). */
export function auditDraft(type: string, requestId: string | null, data: Record<string, unknown> = {}, time: string = at(0)): AuditDraft {
  return { type, time, requestId, actor: requestId === null ? null : 'deploy-bot', data };
}
