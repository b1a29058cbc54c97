/**
 * The database goes away under load and comes back. Two replicas run on a
 * PostgreSQL server of this test's own (the shared one is never stopped).
 * While it is down every call that needs it is refused with a 503 and a
 * stable code, /readyz says why, and no action reaches the upstream without
 * its durable record; once it is back both replicas serve again by
 * themselves, without a restart.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { eventually } from '../support/gateway.ts';
import { postgresBinDir, startOwnPostgres, type OwnPostgres } from '../support/own-postgres.ts';
import { startReplica, type Replica } from '../support/replica.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const SLOW = 180_000;
const available = postgresBinDir() !== undefined;
if (!available && process.env['CI']) throw new Error('PostgreSQL server binaries are required under CI (/usr/lib/postgresql/<v>/bin)');

let server: OwnPostgres;
let dir: string;
let upstream: Upstream;
let a: Replica;
let b: Replica;
const agent = generateApiKey();
const human = generateApiKey();

beforeAll(async () => {
  if (!available) return;
  server = await startOwnPostgres();
  const admin = new pg.Client(server.url);
  await admin.connect();
  await admin.query('CREATE DATABASE countersign');
  await admin.end();
  dir = mkdtempSync(join(tmpdir(), 'cs-restart-'));
  upstream = await startUpstream();
  const url = server.url.replace(/\/postgres$/, '/countersign');
  const file = join(dir, 'countersign.yaml');
  writeFileSync(
    file,
    // The shortest run grace: an action that ran while the database went is settled 2 s + 5 s after its claim.
    `server: { port: 0, runGrace: 5s }
store: { postgres: { url: ${JSON.stringify(url)}, poolSize: 4, connectTimeout: 2 } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))} }
log: { level: silent }
principals:
  - { id: deploy-bot, kind: agent, apiKeys: ["${agent.hash}"] }
  - { id: alice, kind: human, groups: [sre], apiKeys: ["${human.hash}"] }
connections:
  - { name: ops-api, kind: http, url: ${JSON.stringify(upstream.url)}, timeoutMs: 2000 }
policy:
  default: deny
  rules:
    - { id: reads, when: 'facts.http.method == "GET"', effect: allow }
`,
  );
  a = await startReplica(file);
  b = await startReplica(file);
}, SLOW);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await upstream?.close();
  server?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, SLOW);

describe.skipIf(!available)('PostgreSQL restarted under load', () => {
  it('fails closed while it is down, runs nothing unrecorded, and recovers without a restart', async () => {
    let n = 0;
    let stop = false;
    const outcomes: { status: number; code?: string; path: string; requestId?: string; message?: string }[] = [];
    const loader = async (r: Replica) => {
      while (!stop) {
        const path = `/r/${++n}`;
        const res = await r.as(`${agent.key}`, '/v1/actions', { body: { connection: 'ops-api', input: { method: 'GET', path }, reason: 'load' } }).catch(() => undefined);
        if (res) outcomes.push({ status: res.status, code: res.body?.error?.code, path, requestId: res.body?.error?.requestId, message: res.body?.error?.message });
      }
    };
    const loaders = [loader(a), loader(a), loader(b), loader(b)];
    await eventually(async () => (outcomes.filter((o) => o.status === 200).length >= 20 ? true : undefined), 30_000);

    server.stop();
    const downFrom = outcomes.length;
    // Down: refusals with a stable code, and readiness saying why.
    await eventually(async () => (outcomes.slice(downFrom).filter((o) => o.status === 503).length >= 8 ? true : undefined), 60_000);
    for (const r of [a, b]) {
      const ready = await r.as(undefined, '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.ok).toBe(false);
      expect(['STORE_UNAVAILABLE', 'STORE_BUSY']).toContain(ready.body.store?.code);
    }
    // Refused before anything ran: 503 with a stable code. Or, for an action already running when the database
    // went, ran but not recorded as finished: 500 saying not to retry it, naming its request, settled later.
    const refused = outcomes.slice(downFrom).filter((o) => o.status !== 200);
    const ranUnfinished = refused.filter((o) => o.status === 500 && o.code === 'EXECUTION_INTERRUPTED' && /ran the action but could not record its outcome; do not retry/.test(o.message ?? ''));
    expect(refused.filter((o) => !ranUnfinished.includes(o) && !(o.status === 503 && ['STORE_UNAVAILABLE', 'STORE_BUSY'].includes(o.code ?? ''))).map((o) => `${o.status} ${o.code}`)).toEqual([]);
    expect(ranUnfinished.every((o) => typeof o.requestId === 'string')).toBe(true)

    server.start();
    // Back: both replicas serve again by themselves.
    for (const r of [a, b]) await eventually(async () => ((await r.as(undefined, '/readyz')).status === 200 ? true : undefined), 60_000);
    const backFrom = outcomes.length;
    await eventually(async () => (outcomes.slice(backFrom).filter((o) => o.status === 200).length >= 20 ? true : undefined), 60_000);
    stop = true;
    await Promise.all(loaders);

    // Every call the upstream saw has its durable record: a request that was recorded as executing before it ran.
    const client = new pg.Client(server.url.replace(/\/postgres$/, '/countersign'));
    await client.connect();
    try {
      const { rows } = await client.query<{ body: string }>(`SELECT body FROM audit_events WHERE type = 'request.submitted'`);
      const recorded = new Set(rows.map((r) => (JSON.parse(r.body) as { data: { input?: { path?: string } } }).data.input?.path));
      const seen = upstream.calls.map((c) => c.url);
      expect(seen.length).toBeGreaterThan(40);
      expect(seen.filter((p) => !recorded.has(p))).toEqual([]);
      // And each recorded action ran at most once.
      expect(new Set(seen).size).toBe(seen.length);
      // An action that ran while the database went is settled once it is back: failed as interrupted, never run again.
      for (const o of ranUnfinished) {
        const settled = await eventually(async () => {
          const r = await b.as(agent.key, `/v1/requests/${o.requestId}`);
          return r.body.status === 'failed' ? r.body : undefined;
        }, 60_000);
        expect(settled.error.code).toBe('EXECUTION_INTERRUPTED');
        expect(seen.filter((p) => p === o.path)).toHaveLength(1);
      }
    } finally {
      await client.end();
    }
  }, SLOW);
});
