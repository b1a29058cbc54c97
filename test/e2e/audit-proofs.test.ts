/**
 * Audit proofs over HTTP, checked the way an auditor would: with the keys the
 * gateway publishes, its signed checkpoints, and nothing but RFC 9162
 * verification. Every event is provably in the signed tree, an older signed
 * tree is provably a prefix of the newer one, bad sizes are refused, and
 * only auditors and admins read the audit trail: never an agent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashFromHex, leafHash, verifyConsistency, verifyInclusion } from '../../src/core/merkle/index.ts';
import { openNote, parseCheckpoint, parseVerifierKey, type Checkpoint } from '../../src/core/note.ts';
import { writeGatewayConfig, type GatewayConfigFile } from '../support/audit-gateway.ts';
import { eventually, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const ORIGIN = 'countersign.test/e2e-proofs';
let upstream: Upstream;
let cfg: GatewayConfigFile;
let gw: TestGateway;
/** The first and the newest checkpoint, as signed notes opened with the published keys. */
let older: Checkpoint;
let newest: Checkpoint;

const proofOf = (hex: string[]) => hex.map(hashFromHex);

async function logLength(): Promise<number> {
  return (await gw.deps.store.treeHead()).size;
}

/** Opens a signed note with the keys the gateway publishes; throws if they did not sign it. */
async function openCheckpoint(note: string): Promise<Checkpoint> {
  const published = await gw.as('alice', '/v1/audit/keys');
  return parseCheckpoint(openNote(note, (published.body.keys as string[]).map(parseVerifierKey)).text);
}

/** Waits for the gateway's timer to sign the head of the log as it stands. */
async function signedHead(): Promise<Checkpoint> {
  const size = await logLength();
  const note = await eventually(async () => {
    const r = await gw.as('bob', '/v1/audit/checkpoints?latest=true');
    const [cp] = r.body.checkpoints as { size: number; note: string }[];
    return cp && cp.size === size ? cp.note : undefined;
  }, 10_000);
  return openCheckpoint(note);
}

async function act(method: string, path: string) {
  return gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method, path }, reason: 'audit proofs' } });
}

beforeAll(async () => {
  upstream = await startUpstream();
  // alice, bob and carol (group sre) read the audit trail as auditors by their group.
  cfg = await writeGatewayConfig(
    `roles: { auditor: [sre] }
connections:
  - name: billing-api
    kind: http
    url: ${upstream.url}/api
policy:
  default: deny
  rules:
    - id: reads
      when: "!facts.writes"
      effect: allow
`,
    { origin: ORIGIN, checkpoint: { events: 1, seconds: 1 } },
  );
  gw = await cfg.start();
  for (const path of ['/a', '/b', '/c']) expect((await act('GET', path)).status).toBe(200);
  older = await signedHead();
  expect((await act('GET', '/d')).status).toBe(200);
  expect((await act('DELETE', '/e')).status).toBe(403);
  newest = await signedHead();
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  await cfg?.remove();
});

describe('the published keys and checkpoints', () => {
  it('name the log, and its signed checkpoints open with those keys alone', async () => {
    const keys = await gw.as('alice', '/v1/audit/keys');
    expect(keys.status).toBe(200);
    expect(keys.body.origin).toBe(ORIGIN);
    expect(keys.body.keys).toHaveLength(1);
    expect(keys.body.keys[0]).toMatch(new RegExp(`^${ORIGIN}\\+[0-9a-f]{8}\\+`));
    expect(newest.origin).toBe(ORIGIN);
    expect(older.size).toBeLessThan(newest.size);

    const all = await gw.as('alice', '/v1/audit/checkpoints?fromSize=0');
    const sizes = (all.body.checkpoints as { size: number }[]).map((c) => c.size);
    expect(sizes).toContain(older.size);
    expect(sizes.at(-1)).toBe(newest.size);
  });
});

describe('an inclusion proof', () => {
  it('proves every event is in the signed tree, leading to the signed root', async () => {
    for (let index = 0; index < newest.size; index++) {
      const r = await gw.as('carol', `/v1/audit/proofs/inclusion?index=${index}&size=${newest.size}`);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body.event).seq).toBe(index + 1);
      expect(hashFromHex(r.body.rootHash)).toEqual(newest.rootHash);
      expect(verifyInclusion(leafHash(r.body.event), index, newest.size, proofOf(r.body.proof), newest.rootHash)).toBe(true);
      expect(r.body.checkpoint.size).toBe(newest.size);
    }
  });

  it('proves an event against an older signed tree too, and not a changed event', async () => {
    const r = await gw.as('alice', `/v1/audit/proofs/inclusion?index=1&size=${older.size}`);
    expect(r.status).toBe(200);
    expect(verifyInclusion(leafHash(r.body.event), 1, older.size, proofOf(r.body.proof), older.rootHash)).toBe(true);
    expect(await openCheckpoint(r.body.checkpoint.note)).toEqual(older);

    const changed = (r.body.event as string).replace('"seq":2', '"seq":3');
    expect(verifyInclusion(leafHash(changed), 1, older.size, proofOf(r.body.proof), older.rootHash)).toBe(false);
    expect(verifyInclusion(leafHash(r.body.event), 1, older.size, proofOf(r.body.proof), newest.rootHash)).toBe(false);
  });

  it('is refused for an index at or past the size, or a size past the log', async () => {
    const atSize = await gw.as('alice', `/v1/audit/proofs/inclusion?index=${newest.size}&size=${newest.size}`);
    expect(atSize.status).toBe(400);
    expect(atSize.body.error.code).toBe('INVALID_REQUEST');

    const beyond = await gw.as('alice', `/v1/audit/proofs/inclusion?index=0&size=${(await logLength()) + 1}`);
    expect(beyond.status).toBe(400);
    expect(beyond.body.error.code).toBe('INVALID_REQUEST');

    const notANumber = await gw.as('alice', '/v1/audit/proofs/inclusion?index=first&size=2');
    expect(notANumber.status).toBe(400);
    expect(notANumber.body.error.code).toBe('INVALID_REQUEST');
  });
});

describe('a consistency proof', () => {
  it('proves the older signed tree is a prefix of the newest one', async () => {
    const r = await gw.as('alice', `/v1/audit/proofs/consistency?from=${older.size}&to=${newest.size}`);
    expect(r.status).toBe(200);
    expect(hashFromHex(r.body.fromRoot)).toEqual(older.rootHash);
    expect(hashFromHex(r.body.toRoot)).toEqual(newest.rootHash);
    expect(r.body.checkpoints.from.size).toBe(older.size);
    expect(r.body.checkpoints.to.size).toBe(newest.size);
    expect(verifyConsistency(older.size, newest.size, older.rootHash, newest.rootHash, proofOf(r.body.proof))).toBe(true);
    expect(verifyConsistency(older.size, newest.size, newest.rootHash, older.rootHash, proofOf(r.body.proof))).toBe(false);
  });

  it('proves every earlier size is a prefix of the signed tree', async () => {
    for (let from = 0; from <= newest.size; from++) {
      const r = await gw.as('bob', `/v1/audit/proofs/consistency?from=${from}&to=${newest.size}`);
      expect(r.status).toBe(200);
      expect(verifyConsistency(from, newest.size, hashFromHex(r.body.fromRoot), newest.rootHash, proofOf(r.body.proof))).toBe(true);
    }
  });

  it('is refused from a larger size to a smaller, or to a size past the log', async () => {
    const backwards = await gw.as('alice', `/v1/audit/proofs/consistency?from=${newest.size}&to=${older.size}`);
    expect(backwards.status).toBe(400);
    expect(backwards.body.error.code).toBe('INVALID_REQUEST');
    const beyond = await gw.as('alice', `/v1/audit/proofs/consistency?from=1&to=${(await logLength()) + 1}`);
    expect(beyond.status).toBe(400);
    expect(beyond.body.error.code).toBe('INVALID_REQUEST');
  });
});

describe('an agent', () => {
  it('may not read keys, checkpoints or proofs, not even acting for an auditor (deploy-bot acts for carol)', async () => {
    for (const path of ['/v1/audit/keys', '/v1/audit/checkpoints?latest=true', '/v1/audit/proofs/inclusion?index=0&size=1', '/v1/audit/proofs/consistency?from=0&to=1']) {
      const r = await gw.as('deploy-bot', path);
      expect(r.status, path).toBe(403);
      expect(r.body.error.code, path).toBe('ROLE_REQUIRED');
    }
  });
});

describe('a human without a role', () => {
  it('may not read keys, checkpoints or proofs', async () => {
    for (const path of ['/v1/audit/keys', '/v1/audit/checkpoints?latest=true', '/v1/audit/proofs/inclusion?index=0&size=1', '/v1/audit/proofs/consistency?from=0&to=1']) {
      const r = await gw.as('dave', path);
      expect(r.status, path).toBe(403);
      expect(r.body.error.code, path).toBe('ROLE_REQUIRED');
    }
  });
});
