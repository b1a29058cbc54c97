/**
 * Audit logs and bundles built in memory, with no store: a chain of events
 * made by `chainEvent`, checkpoints signed by a fresh Ed25519 key, and the
 * bundle files exactly as `planBundle` lays them out, so `verifyBundle` can be
 * tested on bundles of any shape.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chainEvent, GENESIS_HASH, type AuditEvent } from '../../src/core/audit.ts';
import { BUNDLE_FORMAT, type BundleFiles, type BundleManifest } from '../../src/core/audit-bundle.ts';
import { leafHash, memorySource, rightEdge, rootAt, toHex } from '../../src/core/merkle/index.ts';
import { ed25519PublicKey, formatCheckpoint, signNote, verifierKey } from '../../src/core/note.ts';

/** A checkpoint signer for one origin, with a key made for the test. */
export interface TestLogKey {
  readonly origin: string;
  readonly privateKey: KeyObject;
  /** C2SP verifier key line. */
  readonly verifier: string;
}

export function newLogKey(origin = 'countersign.test/log'): TestLogKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { origin, privateKey, verifier: verifierKey(origin, ed25519PublicKey(privateKey)) };
}

/** A chain of events, one per `data`, starting at seq 1. */
export function makeLog(datas: readonly Record<string, unknown>[]): AuditEvent[] {
  const events: AuditEvent[] = [];
  datas.forEach((data, i) => {
    const draft = { type: i % 3 === 0 ? 'request.submitted' : 'review.recorded', time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), requestId: `req_${i}`, actor: i % 2 ? 'alice' : null, data };
    events.push(chainEvent(events.at(-1) ?? null, draft));
  });
  return events;
}

/** The signed checkpoint of the first `size` events of `events`, by `key` for `origin`. */
export function signCheckpointAt(events: readonly AuditEvent[], size: number, key: TestLogKey, origin = key.origin): string {
  const root = rootAt(memorySource(events.map((e) => leafHash(e.body))), size);
  return signNote(formatCheckpoint({ origin, size, rootHash: root }), [{ name: key.origin, privateKey: key.privateKey }]);
}

const noteFile = (size: number) => `checkpoints/${String(size).padStart(12, '0')}.note`;

/**
 * The bundle of events `first`–`last` of `events`, with signed checkpoints at
 * `sizes` (each within first..last; `last` is always added).
 */
export function makeBundle(events: readonly AuditEvent[], key: TestLogKey, range: { first?: number; last?: number; sizes?: readonly number[] } = {}): BundleFiles {
  const first = range.first ?? 1;
  const last = range.last ?? events.length;
  const sizes = [...new Set([...(range.sizes ?? []), last])].filter((s) => s >= first && s <= last).sort((a, b) => a - b);
  const src = memorySource(events.map((e) => leafHash(e.body)));
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    origin: key.origin,
    createdAt: '2026-02-01T00:00:00.000Z',
    events: { first, last, count: last - first + 1, lastHash: events[last - 1]?.hash ?? null },
    prefix: {
      size: first - 1,
      prevHash: first > 1 ? events[first - 2]!.hash : GENESIS_HASH,
      nodes: rightEdge(first - 1).map(({ level, index }) => ({ level, index, hash: toHex(src.perfect(level, index)) })),
    },
    checkpoints: sizes.map((size) => ({ size, file: noteFile(size) })),
  };
  return {
    manifest: JSON.stringify(manifest, null, 2),
    events: events.slice(first - 1, last).map((e) => `${e.body}\n`).join(''),
    notes: new Map(sizes.map((size) => [noteFile(size), signCheckpointAt(events, size, key)])),
    keys: `${key.verifier}\n`,
  };
}

/** The event lines of a bundle, without their newlines. */
export function eventLines(files: BundleFiles): string[] {
  const text = typeof files.events === 'string' ? files.events : Buffer.from(files.events).toString('utf8');
  return text === '' ? [] : text.slice(0, -1).split('\n');
}

/** The same bundle with other event lines. */
export function withLines(files: BundleFiles, lines: readonly string[]): BundleFiles {
  return { ...files, events: lines.map((l) => `${l}\n`).join('') };
}

/** The name the manifest gives the checkpoint of `size`. */
export { noteFile };
