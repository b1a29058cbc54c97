/** `countersign audit proof …` verifies a gateway's proofs locally, against checkpoints signed by a pinned key. */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ed25519PublicKey, verifierKey } from '../../src/core/note.ts';
import { startCliInProcess } from '../support/cli-in-process.ts';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

/** The CLI run in this process (cli-in-process.ts): its exit code, and stdout then stderr. */
async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const r = await startCliInProcess(args, { ...process.env, COUNTERSIGN_URL: gw.url, COUNTERSIGN_KEY: gw.keys['alice']! }).done;
  return { code: r.code, out: r.stdout + r.stderr };
}

async function act(path: string): Promise<void> {
  expect((await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'GET', path }, reason: 'x' } })).status).toBe(200);
}

async function checkpointAtLeast(size: number): Promise<number> {
  return eventually(async () => {
    const r = await gw.as('alice', '/v1/audit/checkpoints?latest=true');
    const s = r.body.checkpoints[0]?.size as number | undefined;
    return s !== undefined && s >= size ? s : undefined;
  }, 10_000);
}

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(`connections:\n  - { name: api, kind: http, url: "${upstream.url}" }\npolicy:\n  rules:\n    - { id: all, when: "true", effect: allow }\n`, {
    audit: 'checkpoint: { events: 1, seconds: 1 }',
    // alice reads the audit trail (auditor).
    principals: DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor' as const] } : p)),
  });
});
afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

it('proves inclusion and consistency against checkpoints signed by the pinned key, and refuses a stranger’s key', async () => {
  await act('/a');
  // The policy's loading, then the action's submission (it allowed outright) and its outcome.
  const first = await checkpointAtLeast(3);
  const pinned = ((await gw.as('alice', '/v1/audit/keys')).body.keys as string[])[0]!;

  const inclusion = await cli(['audit', 'proof', 'inclusion', '--index', '1', '--size', String(first), '--verifier-key', pinned]);
  expect(inclusion.out).toContain(`OK: event 2`);
  expect(inclusion.code).toBe(0);

  await act('/b');
  const second = await checkpointAtLeast(first + 1);
  const consistency = await cli(['audit', 'proof', 'consistency', '--from', String(first), '--to', String(second), '--verifier-key', pinned]);
  expect(consistency.out).toContain(`extends the signed log of ${first} events`);
  expect(consistency.code).toBe(0);

  const { privateKey } = generateKeyPairSync('ed25519');
  const stranger = verifierKey(pinned.split('+')[0]!, ed25519PublicKey(privateKey));
  const refused = await cli(['audit', 'proof', 'inclusion', '--index', '1', '--size', String(first), '--verifier-key', stranger]);
  expect(refused.code).not.toBe(0);
  expect(refused.out).not.toContain('OK:');
}, 60_000);
