/**
 * `npm run bench:store-actions`: the store's part of POST /v1/actions alone,
 * for A/B runs of the write path against another build. It drives the
 * compiled store of a tree (`BENCH_STORE_TREE`, default this one: its dist/
 * must be built) the way the gateway does: an allowed action is
 * insertRequest(executing, [request.submitted]) and then the outcome through
 * mutateRequest over the record the caller knows, with request.succeeded; a
 * held one is insertRequest(pending, [request.submitted, request.held]).
 * `BENCH_STORE_IN_FLIGHT` callers at once (50; a few gives the small batches
 * of a lightly loaded gateway). It prints this process's CPU per action
 * (process.cpuUsage) for each round after a warm-up, and on PostgreSQL the
 * statements sent per action. With `BENCH_STORE_TREE_B`, a second tree's
 * store runs in the same process, its rounds alternating with the first's
 * (A B, B A, …), so a busy machine weighs on both alike.
 *
 * Environment: BENCH_STORE_KIND (sqlite | postgres), BENCH_STORE_LOAD (allowed | held), BENCH_STORE_ACTIONS (3000),
 * BENCH_STORE_ROUNDS (3), BENCH_STORE_IN_FLIGHT (50), BENCH_STORE_TREE, BENCH_STORE_TREE_B; DATABASE_URL names the
 * PostgreSQL server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { AuditDraft } from '../src/core/audit.ts';
import type { Store } from '../src/core/ports.ts';
import type { RequestRecord } from '../src/core/request.ts';
import { envNumber } from './support/env.ts';

const KIND = process.env['BENCH_STORE_KIND'] ?? 'sqlite';
const LOAD = process.env['BENCH_STORE_LOAD'] ?? 'allowed';
const N = envNumber('BENCH_STORE_ACTIONS', 3000, { integer: true, min: 1 });
const ROUNDS = envNumber('BENCH_STORE_ROUNDS', 3, { integer: true, min: 1 });
const IN_FLIGHT = envNumber('BENCH_STORE_IN_FLIGHT', 50, { integer: true, min: 1 });
const TREES = [resolve(process.env['BENCH_STORE_TREE'] ?? '.'), ...(process.env['BENCH_STORE_TREE_B'] ? [resolve(process.env['BENCH_STORE_TREE_B'])] : [])];
const SERVER = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
if (!['sqlite', 'postgres'].includes(KIND) || !['allowed', 'held'].includes(LOAD)) throw new Error('BENCH_STORE_KIND is sqlite or postgres, BENCH_STORE_LOAD allowed or held');
const held = LOAD === 'held';

// Statements sent: the tree's pg resolves to this module too (one node_modules), so its clients are counted here.
let statements = 0;
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
(pg.Client.prototype as { query: unknown }).query = function (this: pg.Client, ...args: unknown[]) {
  statements++;
  return query.apply(this, args);
};

// The shapes of the bench gateway's actions (bench/support/gateway-config.ts): one agent, one http connection.
const connection = { name: 'upstream', kind: 'http' as const, tags: Object.freeze({ env: 'bench', compliance: Object.freeze(['soc2', 'gdpr']) }) };
const principal = { id: 'bench-agent', kind: 'agent' as const, actsFor: 'bench-human', groups: [], email: null };
const facts = { kind: 'http', writes: held, http: { method: held ? 'POST' : 'GET', path: '/x', query: {} } };
const context = { remoteAddress: '127.0.0.1', surface: 'rest', userAgent: 'autocannon' };
const decision = {
  approvers: held ? [{ count: 1, groups: ['sre'], principals: [], rule: 'writes' }] : [],
  effect: held ? ('approve' as const) : ('allow' as const),
  message: null,
  policyHash: `sha256:${'a'.repeat(64)}`,
  rules: [held ? 'writes' : 'reads'],
  ...(held ? { ttlSeconds: 3600 } : {}),
  errors: [],
};
const output = { status: 200, headers: { 'content-type': 'application/json' }, body: { ok: true, path: '/x', items: [1, 2, 3] } };

let counter = 0;
function action(): { r: RequestRecord; audit: AuditDraft[] } {
  const at = new Date().toISOString();
  const id = `req_${Date.now().toString(36)}${String(counter++).padStart(20, '0')}`;
  const input = held ? { method: 'POST', path: '/x', body: { amount: 4200, currency: 'EUR', note: 'refund' } } : { method: 'GET', path: '/x' };
  const expiresAt = held ? new Date(Date.parse(at) + 3_600_000).toISOString() : null;
  const r = {
    id,
    status: held ? 'pending' : 'executing',
    principal,
    action: { connection: connection.name, operation: 'http.request', input, reason: 'bench' },
    connection,
    facts,
    digest: `sha256:${'d'.repeat(64)}`,
    decision,
    createdAt: at,
    updatedAt: at,
    expiresAt,
    reviews: [],
    context,
    result: null,
    error: null,
    ...(held ? {} : { runDeadline: new Date(Date.parse(at) + 60_000).toISOString() }),
    version: 1,
  } as unknown as RequestRecord;
  const data = { connection, context, decision, digest: r.digest, facts, input, operation: 'http.request', principal: { actsFor: 'bench-human', groups: [], id: 'bench-agent', kind: 'agent' }, reason: 'bench' };
  const submitted: AuditDraft = { type: 'request.submitted', time: at, requestId: id, actor: principal.id, data };
  return { r, audit: held ? [submitted, { type: 'request.held', time: at, requestId: id, actor: null, data: { approvers: decision.approvers, expiresAt } }] : [submitted] };
}

async function open(tree: string): Promise<{ store: Store; done(): Promise<void> }> {
  if (KIND === 'sqlite') {
    const { createSqliteStore } = (await import(`${tree}/dist/adapters/store/sqlite/index.js`)) as typeof import('../src/adapters/store/sqlite/index.ts');
    const dir = mkdtempSync(join(tmpdir(), 'cs-store-actions-'));
    const store = createSqliteStore({ path: join(dir, 'countersign.db') });
    return { store, done: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
  }
  const { createPostgresStore } = (await import(`${tree}/dist/adapters/store/postgres/index.js`)) as typeof import('../src/adapters/store/postgres/index.ts');
  const name = `cs_store_actions_${process.pid}_${Date.now()}_${counter++}`;
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  const store = await createPostgresStore({ url: url.toString(), poolSize: 10 });
  return { store, done: async () => (await store.close(), await admin.query(`DROP DATABASE ${name} WITH (FORCE)`), await admin.end()) };
}

/** CPU µs of this process per action, and statements per action, for `n` actions by IN_FLIGHT callers. */
async function drive(store: Store, n: number): Promise<{ cpuUs: number; statements: number }> {
  let next = 0;
  statements = 0;
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let i = next++; i < n; i = next++) {
        const { r, audit } = action();
        await store.insertRequest(r, audit);
        if (held) continue;
        await store.mutateRequest(
          r.id,
          (current) => {
            const done: RequestRecord = { ...current, status: 'succeeded', result: output, version: current.version + 1 };
            return { next: done, result: done, audit: [{ type: 'request.succeeded', time: current.updatedAt, requestId: r.id, actor: null, data: { summary: { status: 200 } } }] };
          },
          r,
        );
      }
    }),
  );
  const used = process.cpuUsage(before);
  return { cpuUs: (used.user + used.system) / n, statements: statements / n };
}

const opened: { store: Store; done(): Promise<void> }[] = [];
try {
  for (const tree of TREES) opened.push(await open(tree));
  for (const { store } of opened) await drive(store, Math.min(N, 2000));
  const rounds = opened.map((): { cpuUs: number; statements: number }[] => []);
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? opened.map((_, k) => k) : opened.map((_, k) => opened.length - 1 - k);
    for (const k of order) rounds[k]!.push(await drive(opened[k]!.store, N));
  }
  TREES.forEach((tree, k) => {
    const mine = rounds[k]!;
    const median = [...mine].sort((a, b) => a.cpuUs - b.cpuUs)[Math.floor(mine.length / 2)]!.cpuUs;
    const sent = KIND === 'postgres' ? `; statements per action ${mine.map((x) => x.statements.toFixed(2)).join(' / ')}` : '';
    console.log(`store-actions ${KIND} ${LOAD}, ${IN_FLIGHT} in flight, ${N} actions per round, tree ${tree}: CPU µs per action ${mine.map((x) => x.cpuUs.toFixed(1)).join(' / ')} (median ${median.toFixed(1)})${sent}`);
  });
} finally {
  for (const { done } of opened) await done();
}
