/**
 * Replicas on machines of their own, with no `audit.origin` configured: the
 * log they share is signed under one origin, the one its first gateway took
 * (kept in the store), so the checkpoints that each replica signs while it
 * leads are of one log, and `audit verify` run on yet another machine holds.
 * The default origin names the host: each replica named the log after its own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { runCliHere } from '../support/audit-gateway.ts';
import { eventually } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startReplica, type Replica } from '../support/replica.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const db = await createTestDatabase();
const SLOW = 120_000;

let dir: string;
let configFile: string;
let upstream: Upstream;
const replicas: Replica[] = [];
const bot = generateApiKey();

async function checkpointOrigins(): Promise<string[]> {
  const client = new pg.Client(db!.url);
  await client.connect();
  try {
    const { rows } = await client.query<{ note: string }>('SELECT note FROM checkpoints ORDER BY size');
    return rows.map((r) => r.note.split('\n')[0]!);
  } finally {
    await client.end();
  }
}

/** An allowed action on `r`, and a checkpoint over it (one is signed after every event). */
async function actAndSign(r: Replica, path: string): Promise<void> {
  const before = (await checkpointOrigins()).length;
  expect((await r.as(bot.key, '/v1/actions', { body: { connection: 'ops-api', input: { method: 'GET', path }, reason: 'origin' } })).status).toBe(200);
  await eventually(async () => ((await checkpointOrigins()).length > before ? true : undefined), 30_000);
}

beforeAll(async () => {
  if (!db) return;
  dir = mkdtempSync(join(tmpdir(), 'cs-origin-'));
  upstream = await startUpstream();
  configFile = join(dir, 'countersign.yaml');
  writeFileSync(
    configFile,
    `server: { port: 0 }
store: { postgres: { url: ${JSON.stringify(db.url)}, poolSize: 3 } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))}, checkpoint: { events: 1, seconds: 1 } }
log: { level: silent }
principals:
  - { id: deploy-bot, kind: agent, apiKeys: ["${bot.hash}"] }
connections:
  - { name: ops-api, kind: http, url: ${JSON.stringify(upstream.url)} }
policy:
  default: deny
  rules:
    - { id: reads, when: 'facts.http.method == "GET"', effect: allow }
`,
  );
}, SLOW);

afterAll(async () => {
  for (const r of replicas) await r.stop();
  await upstream?.close();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, SLOW);

describe.skipIf(!db)('replicas on two hosts without audit.origin', () => {
  it('sign one log under one origin, and audit verify on a third host holds', async () => {
    const a = await startReplica(configFile, {}, { host: 'replica-a' });
    replicas.push(a);
    const b = await startReplica(configFile, {}, { host: 'replica-b' });
    replicas.push(b);
    await actAndSign(a, '/one');
    // A stops (signing at shutdown); B leads the checkpoints from then on.
    await a.stop();
    await actAndSign(b, '/two');

    const origins = await checkpointOrigins();
    expect(origins.length).toBeGreaterThanOrEqual(2);
    expect(new Set(origins)).toEqual(new Set(['countersign/replica-a']));
    const r = await runCliHere(['audit', 'verify', '--config', configFile]);
    expect(r.stdout + r.stderr).toMatch(/signed checkpoints verified/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }, SLOW);
});
