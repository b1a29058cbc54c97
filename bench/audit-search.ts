/**
 * `npm run bench:audit-search`: audit search on a large log. Builds a store of
 * BENCH_SEARCH_EVENTS events (default 1,000,000: requests submitted, held,
 * reviewed and approved across connections, principals and reviewers over a
 * quarter) through the real store API, then times each kind of query (median
 * of 5 runs) through the same path as GET /v1/audit/events.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '../src/adapters/store/sqlite/index.ts';
import type { ConnectionInfo } from '../src/core/connection.ts';
import type { AuditQuery } from '../src/core/ports.ts';
import { searchAudit } from '../src/service/audit-search.ts';
import { agent, approveDecision, requestRecord } from '../test/support/fixtures.ts';

const target = Number(process.env['BENCH_SEARCH_EVENTS'] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'cs-search-'));
const store = createSqliteStore({ path: join(dir, 'countersign.db') });
const start = Date.parse('2026-07-01T00:00:00Z');
const span = 92 * 86_400_000;
const connections: ConnectionInfo[] = Array.from({ length: 20 }, (_, i) => ({
  name: i === 0 ? 'billing-db' : `db-${i}`,
  kind: 'postgres' as const,
  tags: (i % 3 === 0 ? { env: 'prod', data: 'pii', compliance: ['soc2', 'gdpr'] } : { env: i % 2 ? 'prod' : 'staging' }) as ConnectionInfo['tags'],
}));
const reviewers = Array.from({ length: 10 }, (_, i) => `reviewer-${i}`);

try {
  const requests = Math.ceil(target / 4);
  const built = performance.now();
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < requests; i++) {
    const t = new Date(start + Math.floor((i / requests) * span)).toISOString();
    const c = connections[i % connections.length]!;
    const id = `r${i}`;
    const reviewer = reviewers[i % reviewers.length]!;
    const p = (async () => {
      await store.insertRequest(
        requestRecord({ id, principal: agent(`bot-${i % 50}`, `human-${i % 7}`), connection: c, action: { ...requestRecord().action, connection: c.name }, decision: approveDecision(), createdAt: t }),
        [
          { type: 'request.submitted', time: t, requestId: id, actor: `bot-${i % 50}`, data: { connection: c, reason: 'nightly export of invoices for the finance team', input: { sql: 'select * from invoices where month = $1', params: ['2026-07'] } } },
          { type: 'request.held', time: t, requestId: id, actor: null, data: { approvers: [{ groups: ['sre'], count: 1 }] } },
        ],
      );
      await store.mutateRequest(id, (cur) => ({
        result: null,
        next: { ...cur, status: 'approved', version: cur.version + 1 },
        review: { requestId: id, reviewer: { id: reviewer, kind: 'human', groups: ['sre'] }, verdict: 'approve', comment: '', digest: cur.digest, createdAt: t },
        audit: [
          { type: 'review.recorded', time: t, requestId: id, actor: reviewer, data: { verdict: 'approve', digest: cur.digest } },
          { type: 'request.approved', time: t, requestId: id, actor: null, data: { approvers: [reviewer] } },
        ],
      }));
    })();
    inFlight.push(p);
    if (inFlight.length >= 64) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  const head = await store.treeHead();
  const buildSeconds = (performance.now() - built) / 1000;

  const queries: [string, AuditQuery][] = [
    ['who approved on billing-db last quarter (all pages)', { connection: 'billing-db', types: ['request.approved'], from: '2026-07-01T00:00:00Z', to: '2026-10-01T00:00:00Z', limit: 10_000 }],
    ['one reviewer’s reviews in August (first page)', { reviewer: 'reviewer-3', from: '2026-08-01T00:00:00Z', to: '2026-09-01T00:00:00Z', limit: 100 }],
    ['tag data=pii, effect approve (first page)', { tag: 'data=pii', effect: 'approve', limit: 100 }],
    ['one agent acting for one human (first page)', { principal: 'bot-7', actsFor: 'human-0', limit: 100 }],
    ['a day of events, any kind (first page)', { from: '2026-08-15T00:00:00Z', to: '2026-08-16T00:00:00Z', limit: 100 }],
    ['rule and status (first page)', { rule: 'prod-writes', status: 'approved', limit: 100 }],
    ['one request’s events', { requestId: `r${Math.floor(requests / 2)}` }],
  ];
  const rows: string[] = [];
  for (const [name, q] of queries) {
    const times: number[] = [];
    let found = 0;
    for (let run = 0; run < 5; run++) {
      const t0 = performance.now();
      found = 0;
      let after: number | undefined;
      for (;;) {
        const page = await searchAudit(store, { ...q, ...(after !== undefined ? { afterSeq: after } : {}) });
        found += page.events.length;
        if (page.next === null || !name.includes('all pages')) break;
        after = page.next;
      }
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    rows.push(`  ${name.padEnd(54)} ${String(found).padStart(7)} events  ${times[2]!.toFixed(1).padStart(8)} ms`);
  }
  console.log(`Countersign audit search benchmark
  command   npm run bench:audit-search   (BENCH_SEARCH_EVENTS=${target})
  machine   ${cpus().length} cpus (${cpus()[0]?.model ?? '?'}), node ${process.version}
  log       ${head.size.toLocaleString('en')} events (${requests.toLocaleString('en')} requests) built in ${buildSeconds.toFixed(1)} s through the store API

  query (median of 5)                                          matches      time
${rows.join('\n')}`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
