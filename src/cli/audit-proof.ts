/**
 * `countersign audit proof inclusion|consistency`: fetch RFC 9162 proofs from
 * a gateway and verify them here, against checkpoints whose signatures are
 * checked with a key you pin (--key) — the gateway is not trusted for any of it.
 */
import { hashFromHex, leafHash, verifyConsistency, verifyInclusion, equalHash } from '../core/merkle/index.ts';
import { openCheckpoint, parseVerifierKey, type NoteVerifier } from '../core/note.ts';
import { pinnedKeys } from './verifier-keys.ts';
import { CountersignError, ERROR_CODES, type ErrorCode } from '../core/errors.ts';
import { CountersignApiError } from '../surfaces/sdk/client.ts';
import { safe } from './output.ts';
import { bearerFor } from './credentials.ts';
import type { CliIo } from './io.ts';

interface Remote {
  url: string;
  key?: string;
  /** Verifier keys to trust; without them, the gateway's own are used (and that is said). */
  pin?: string[];
}

type Checkpoint = { size: number; root: string; note: string } | null;

async function get<T>(o: Remote, path: string, env: NodeJS.ProcessEnv): Promise<T> {
  const key = bearerFor(o.url, o.key, env);
  if (!key) throw new CountersignError('UNAUTHENTICATED', 'no credential: pass --key, set COUNTERSIGN_KEY, or run `countersign login`');
  const res = await fetch(`${o.url.replace(/\/$/, '')}${path}`, { headers: { authorization: `Bearer ${key}` } });
  const body = (await res.json()) as T & { error?: { code: string; message: string } };
  if (!res.ok) {
    const code = body.error?.code;
    // The gateway's own stable code (ROLE_REQUIRED, UNAUTHENTICATED, …), printed with its message, where it sent one the CLI knows.
    if (code !== undefined && Object.hasOwn(ERROR_CODES, code)) throw new CountersignApiError(res.status, code as ErrorCode, body.error?.message ?? 'request failed', body);
    throw new CountersignError('INVALID_REQUEST', `${code ?? res.status}: ${body.error?.message ?? 'request failed'}`);
  }
  return body;
}

async function verifiers(o: Remote, env: NodeJS.ProcessEnv): Promise<{ keys: NoteVerifier[]; pinned: boolean }> {
  if (o.pin?.length) return { keys: pinnedKeys(o.pin), pinned: true };
  const { keys } = await get<{ keys: string[] }>(o, '/v1/audit/keys', env);
  return { keys: keys.map(parseVerifierKey), pinned: false };
}

/** A checkpoint's signature against the trusted keys, and its root: the one anchor every check uses. */
function signedRoot(cp: Checkpoint, size: number, keys: NoteVerifier[]): Uint8Array {
  if (!cp) throw new CountersignError('INVALID_REQUEST', `no signed checkpoint at size ${size}; choose a checkpointed size (GET /v1/audit/checkpoints)`);
  const parsed = openCheckpoint(cp.note, keys);
  if (parsed.size !== size) throw new CountersignError('INVALID_REQUEST', `the checkpoint is for size ${parsed.size}, not ${size}`);
  return parsed.rootHash;
}

export async function proveInclusionCommand(o: Remote & { index: number; size?: number }, io: CliIo): Promise<number> {
  const trust = await verifiers(o, io.env);
  const size = o.size ?? (await get<{ checkpoints: { size: number }[] }>(o, '/v1/audit/checkpoints?latest=true', io.env)).checkpoints[0]?.size;
  if (!size) throw new CountersignError('INVALID_REQUEST', 'the log has no signed checkpoint yet');
  const p = await get<{ event: string; rootHash: string; proof: string[]; checkpoint: Checkpoint }>(o, `/v1/audit/proofs/inclusion?index=${o.index}&size=${size}`, io.env);
  const root = signedRoot(p.checkpoint, size, trust.keys);
  const ok = equalHash(root, hashFromHex(p.rootHash)) && verifyInclusion(leafHash(p.event), o.index, size, p.proof.map(hashFromHex), root);
  const e = JSON.parse(p.event) as { seq: number; time: string; type: string; requestId: string | null; actor: string | null };
  io.stdout.write(
    safe(ok
      ? `OK: event ${e.seq} (${e.type}, ${e.requestId ?? '-'}, ${e.actor ?? '-'}, ${e.time}) is in the log of ${size} events signed by ${trust.pinned ? 'the pinned key' : "the gateway's own key (pin one with --verifier-key)"}\n`
      : `FAILED: the proof for index ${o.index} does not lead to the signed root of size ${size}\n`),
  );
  return ok ? 0 : 1;
}

export async function proveConsistencyCommand(o: Remote & { from: number; to: number }, io: CliIo): Promise<number> {
  const trust = await verifiers(o, io.env);
  const p = await get<{ fromRoot: string; toRoot: string; proof: string[]; checkpoints: { from: Checkpoint; to: Checkpoint } }>(o, `/v1/audit/proofs/consistency?from=${o.from}&to=${o.to}`, io.env);
  const fromRoot = signedRoot(p.checkpoints.from, o.from, trust.keys);
  const toRoot = signedRoot(p.checkpoints.to, o.to, trust.keys);
  const ok = verifyConsistency(o.from, o.to, fromRoot, toRoot, p.proof.map(hashFromHex));
  io.stdout.write(
    ok
      ? `OK: the signed log of ${o.to} events extends the signed log of ${o.from} events (nothing before ${o.from} was changed or removed)\n`
      : `FAILED: the signed logs of ${o.from} and ${o.to} events are not consistent\n`,
  );
  return ok ? 0 : 1;
}
