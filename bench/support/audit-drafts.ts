/**
 * Audit drafts shaped like the gateway's `request.submitted` event
 * (service/views.ts submittedAuditData): principal, connection, redacted
 * input, reason, the facts section of the action's kind, the digest, the
 * decision and the request context: about 760 bytes of data JSON each (the
 * digest and the policy hash take 135 of them); the chained body, with seq,
 * time, type, requestId, actor and prev, is about 990 bytes.
 *
 * Built from a few dozen variants so the text differs from event to event
 * (the request id, time and digest are unique), at a cost small enough not
 * to matter next to what is measured; the bench builds them all up front anyway.
 */
import { createHash } from 'node:crypto';
import type { AuditDraft } from '../../src/core/audit.ts';

const PRINCIPALS = [
  { id: 'agent-billing', kind: 'agent', actsFor: 'alice@example.com', groups: ['agents'] },
  { id: 'agent-support', kind: 'agent', actsFor: 'bob@example.com', groups: ['agents'] },
  { id: 'ci-deployer', kind: 'agent', actsFor: null, groups: ['automation'] },
  { id: 'agent-analytics', kind: 'agent', actsFor: 'carol@example.com', groups: ['agents'] },
] as const;

const CONNECTIONS = [
  { name: 'orders-api', kind: 'http', tags: { team: 'commerce' } },
  { name: 'crm-api', kind: 'http', tags: { team: 'support' } },
  { name: 'metrics-api', kind: 'http', tags: { team: 'platform' } },
] as const;

const INPUTS = [
  { method: 'POST', path: '/orders/84213/refund', headers: { 'x-api-key': '[redacted]' }, body: { amount: 4200, currency: 'EUR' } },
  { method: 'GET', path: '/tickets', query: { status: ['open'] } },
  { method: 'PATCH', path: '/customers/c71', body: { email: 'new@example.org' } },
  { method: 'DELETE', path: '/dashboards/d9', query: { force: ['1'] } },
] as const;

const REASONS = [
  'refund, ticket #48213',
  'weekly ticket review',
  'address change',
  'remove a duplicate',
];

const POLICY_HASH = createHash('sha256').update('bench policy').digest('hex');

function dataFor(v: number): Record<string, unknown> {
  const principal = PRINCIPALS[v % PRINCIPALS.length]!;
  const connection = CONNECTIONS[v % CONNECTIONS.length]!;
  const input = INPUTS[v % INPUTS.length]!;
  const writes = input.method !== 'GET';
  const held = writes && v % 3 !== 0;
  return {
    principal,
    connection,
    operation: 'http.request',
    input,
    reason: REASONS[v % REASONS.length]!,
    facts: { kind: 'http', writes, http: { method: input.method, path: input.path, query: 'query' in input ? input.query : {} } },
    digest: '', // per event
    decision: {
      effect: held ? 'approve' : 'allow',
      rules: held ? ['writes-need-approval'] : ['reads-allowed'],
      message: held ? 'writes need one approval' : null,
      policyHash: POLICY_HASH,
      approvers: held ? [{ group: connection.tags.team, count: 1 }] : [],
    },
    context: { surface: 'http', remoteAddress: `10.0.${v % 7}.${20 + (v % 30)}` },
  };
}

const VARIANTS = Array.from({ length: 48 }, (_, v) => dataFor(v));

/** A pool of distinct hex digests, reused round-robin (hashing one per event would be measured work of its own). */
const DIGESTS = Array.from({ length: 4096 }, (_, i) => `sha256:${createHash('sha256').update(String(i)).digest('hex')}`);

/**
 * The i-th draft of a run that started at `t0` (ms since the epoch).
 *
 * @example
 * const d = benchDraft(0, Date.now()); // { type: 'request.submitted', … }
 */
export function benchDraft(i: number, t0: number): AuditDraft {
  const base = VARIANTS[i % VARIANTS.length]!;
  const principal = base['principal'] as { id: string };
  return {
    type: 'request.submitted',
    time: new Date(t0 + Math.floor(i / 8)).toISOString(),
    requestId: `req_${(t0 + i).toString(36)}${(i * 2654435761 >>> 0).toString(16).padStart(8, '0')}${(i % 4096).toString(16).padStart(12, '0')}`,
    actor: principal.id,
    data: { ...base, digest: DIGESTS[i % DIGESTS.length]! },
  };
}
