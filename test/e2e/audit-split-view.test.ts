/**
 * Two checkpoints the log's key signed for the same size with different roots
 * prove it signed two histories (a store replaced and signed over anew): a
 * split view. A bundle carrying both verified against whichever came last in
 * its manifest and said nothing of the other; it must fail instead.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckpointSigner } from '../../src/adapters/signer/checkpoint-signer.ts';
import { formatCheckpoint } from '../../src/core/note.ts';
import { runCliHere, writeGatewayConfig, type GatewayConfigFile } from '../support/audit-gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const ORIGIN = 'countersign.test/e2e-split-view';
const SLOW = 60_000;
let upstream: Upstream;
let cfg: GatewayConfigFile;
let bundle = '';
let verifierKey = '';

beforeAll(async () => {
  upstream = await startUpstream();
  cfg = await writeGatewayConfig(`connections:\n  - { name: api, kind: http, url: "${upstream.url}" }\npolicy:\n  rules:\n    - { id: all, when: "true", effect: allow }\n`, { origin: ORIGIN });
  const gw = await cfg.start();
  expect((await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'GET', path: '/a' }, reason: 'x' } })).status).toBe(200);
  await gw.stop(); // signs a checkpoint
  bundle = join(cfg.dir, 'bundle');
  expect((await runCliHere(['audit', 'export', '--config', cfg.configPath, '--out', bundle])).code).toBe(0);
  verifierKey = createCheckpointSigner(cfg.keyDir, ORIGIN).verifierKeys()[0]!;
}, SLOW);

afterAll(async () => {
  await upstream?.close();
  await cfg?.remove();
});

describe('a bundle with two signed checkpoints of one size', () => {
  it('verifies with one', async () => {
    const r = await runCliHere(['audit', 'verify', bundle, '--verifier-key', verifierKey]);
    expect(r.stdout).toContain('bundle OK');
    expect(r.code).toBe(0);
  }, SLOW);

  it('fails when the other, signed by the log key for another root, is listed too', async () => {
    const manifestPath = join(bundle, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { checkpoints: { size: number; file: string }[] };
    const [genuine] = manifest.checkpoints;
    expect(manifest.checkpoints).toHaveLength(1);
    // The key signing another history of as many events: what a store replaced and signed over again leaves.
    const fork = createCheckpointSigner(cfg.keyDir, ORIGIN).sign(formatCheckpoint({ origin: ORIGIN, size: genuine!.size, rootHash: new Uint8Array(32).fill(7) })).note;
    writeFileSync(join(bundle, 'checkpoints', 'fork.note'), fork);
    manifest.checkpoints = [{ size: genuine!.size, file: 'checkpoints/fork.note' }, genuine!];
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const r = await runCliHere(['audit', 'verify', bundle, '--verifier-key', verifierKey]);
    expect(r.stdout).not.toContain('bundle OK');
    expect(r.stdout).toContain(`bundle FAILED at checkpoint ${genuine!.size}: two checkpoints signed for size ${genuine!.size} have different roots`);
    expect(r.code).toBe(1);
  }, SLOW);
});
