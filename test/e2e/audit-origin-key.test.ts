/**
 * A pinned verifier key names a log: its name is the origin the log's
 * checkpoints are signed under. A signed note signs only its text, so where
 * one private key signs a second log (a key directory copied to set up a
 * staging gateway, an origin renamed), that log's checkpoints can be relabelled
 * with the pinned key's name and ID and still verify. A bundle of the other
 * log must not then pass for the pinned one's.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliHere, writeGatewayConfig, type GatewayConfigFile } from '../support/audit-gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const PROD = 'countersign.test/e2e-prod';
const STAGING = 'countersign.test/e2e-staging';
const SLOW = 60_000;
let upstream: Upstream;
let prod: GatewayConfigFile;
let staging: GatewayConfigFile;
/** The prod log's verifier key, as handed to its auditors. */
let prodKey = '';

async function run(cfg: GatewayConfigFile, path: string): Promise<void> {
  const gw = await cfg.start();
  expect((await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'GET', path }, reason: 'x' } })).status).toBe(200);
  await gw.stop(); // signs a checkpoint
}

beforeAll(async () => {
  upstream = await startUpstream();
  const body = `connections:\n  - { name: api, kind: http, url: "${upstream.url}" }\npolicy:\n  rules:\n    - { id: all, when: "true", effect: allow }\n`;
  prod = await writeGatewayConfig(body, { origin: PROD });
  await run(prod, '/prod');
  const pubs = readdirSync(join(prod.keyDir, 'keys')).filter((f) => f.endsWith('.pub'));
  expect(pubs).toHaveLength(1);
  prodKey = readFileSync(join(prod.keyDir, 'keys', pubs[0]!), 'utf8').trim();
  // Staging set up with a copy of prod's key directory: the same private key, under staging's own name.
  staging = await writeGatewayConfig(body, { origin: STAGING });
  mkdirSync(staging.keyDir, { recursive: true, mode: 0o700 });
  copyFileSync(join(prod.keyDir, 'current.key'), join(staging.keyDir, 'current.key'));
  await run(staging, '/staging');
}, SLOW);

afterAll(async () => {
  await upstream?.close();
  await prod?.remove();
  await staging?.remove();
});

/** Rewrites each signature line of the bundle's checkpoints as if made by the prod key: same signature, prod's name and key ID. */
function relabel(bundle: string): void {
  const [name, id] = prodKey.split('+') as [string, string];
  const dir = join(bundle, 'checkpoints');
  for (const f of readdirSync(dir)) {
    const note = readFileSync(join(dir, f), 'utf8');
    const out = note.replace(/^\u2014 (\S+) (\S+)$/gm, (_, __: string, b64: string) => `\u2014 ${name} ${Buffer.concat([Buffer.from(id, 'hex'), Buffer.from(b64, 'base64').subarray(4)]).toString('base64')}`);
    expect(out).not.toBe(note);
    writeFileSync(join(dir, f), out);
  }
}

describe('a bundle verified with a pinned key', () => {
  it('the prod bundle verifies with the prod key', async () => {
    const out = join(prod.dir, 'prod-bundle');
    expect((await runCliHere(['audit', 'export', '--config', prod.configPath, '--out', out])).code).toBe(0);
    const r = await runCliHere(['audit', 'verify', out, '--verifier-key', prodKey]);
    expect(r.stdout).toContain(`bundle OK: events 1–`);
    expect(r.code).toBe(0);
  }, SLOW);

  it('another log signed by the same private key, its signatures relabelled with the prod key, is refused', async () => {
    const out = join(staging.dir, 'staging-bundle');
    expect((await runCliHere(['audit', 'export', '--config', staging.configPath, '--out', out])).code).toBe(0);
    relabel(out);
    const r = await runCliHere(['audit', 'verify', out, '--verifier-key', prodKey]);
    expect(r.stdout).not.toContain('bundle OK');
    expect(r.stdout).toContain(`bundle FAILED at checkpoint`);
    expect(r.stdout).toContain(`is for origin ${STAGING}, but no key of that name signed it`);
    expect(r.code).toBe(1);
  }, SLOW);
});
