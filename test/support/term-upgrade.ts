/**
 * For the tests of a store upgraded from the terms stored a row (SQLite) or
 * an array (PostgreSQL) per request to term sets: requests to search by
 * effect, rule and tag (list tags, a decision replaced at execution among
 * them), and the answers of every such search, to compare before and after.
 */
import type { ConnectionInfo } from '../../src/core/connection.ts';
import type { Store } from '../../src/core/ports.ts';
import { approveDecision, at, auditDraft, requestRecord } from './fixtures.ts';

const billing: ConnectionInfo = { name: 'billing-db', kind: 'postgres', tags: { data: 'pii', compliance: ['soc2', 'gdpr'] } };
const orders: ConnectionInfo = { name: 'orders-db', kind: 'postgres', tags: { env: 'prod' } };

/** Twelve requests over two connections and three decisions; the last one's decision is replaced (deny). */
export async function writeSearchable(store: Store): Promise<void> {
  for (let i = 0; i < 12; i++) {
    const c = i % 2 ? billing : orders;
    const decision = i % 3 === 0 ? { ...approveDecision(), effect: 'allow' as const, rules: ['reads'], approvers: [] } : approveDecision();
    const id = `r${i}`;
    await store.insertRequest(requestRecord({ id, connection: c, action: { ...requestRecord().action, connection: c.name }, decision, createdAt: at(i) }), [
      auditDraft('request.submitted', id, {}, at(i)),
    ]);
  }
  await store.mutateRequest('r11', (c) => ({
    result: null,
    next: { ...c, status: 'denied', version: c.version + 1, decision: { ...c.decision, effect: 'deny', rules: ['no-pii-exports'], approvers: [] } },
    audit: [auditDraft('request.denied', 'r11', {}, at(20))],
  }));
}

/** Every filter on terms, with what it finds: request ids (listing) and event seqs (audit search). */
export async function searchAnswers(store: Store): Promise<Record<string, unknown>> {
  const answers: Record<string, unknown> = {};
  for (const tag of ['data', 'data=pii', 'compliance', 'compliance=soc2', 'compliance=gdpr', 'env=prod', 'env=staging']) {
    answers[`list tag ${tag}`] = (await store.listRequests({ tag })).map((r) => r.id);
    answers[`audit tag ${tag}`] = (await store.searchAudit({ tag })).map((e) => e.seq);
  }
  for (const effect of ['allow', 'approve', 'deny'] as const) answers[`audit effect ${effect}`] = (await store.searchAudit({ effect })).map((e) => e.seq);
  for (const rule of ['reads', 'prod-writes', 'no-pii-exports']) answers[`audit rule ${rule}`] = (await store.searchAudit({ rule })).map((e) => e.seq);
  answers['audit tag+effect'] = (await store.searchAudit({ tag: 'compliance=gdpr', effect: 'approve' })).map((e) => e.seq);
  return answers;
}

const billingIds = ['r11', 'r9', 'r7', 'r5', 'r3', 'r1'];
const billingSeqs = [2, 4, 6, 8, 10, 12, 13];

/** What searchAnswers finds after writeSearchable, worked out by hand. */
export const EXPECTED_ANSWERS: Record<string, unknown> = {
  ...Object.fromEntries(['data', 'data=pii', 'compliance', 'compliance=soc2', 'compliance=gdpr'].flatMap((t) => [[`list tag ${t}`, billingIds], [`audit tag ${t}`, billingSeqs]])),
  'list tag env=prod': ['r10', 'r8', 'r6', 'r4', 'r2', 'r0'],
  'audit tag env=prod': [1, 3, 5, 7, 9, 11],
  'list tag env=staging': [],
  'audit tag env=staging': [],
  'audit effect allow': [1, 4, 7, 10],
  'audit effect approve': [2, 3, 5, 6, 8, 9, 11],
  'audit effect deny': [12, 13],
  'audit rule reads': [1, 4, 7, 10],
  'audit rule prod-writes': [2, 3, 5, 6, 8, 9, 11],
  'audit rule no-pii-exports': [12, 13],
  'audit tag+effect': [2, 6, 8],
};
