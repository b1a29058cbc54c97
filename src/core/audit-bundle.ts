/**
 * Offline verification of an audit bundle: nothing but its files. Every
 * checkpoint's signature is checked against the bundle's keys, every
 * checkpoint root is recomputed (RFC 6962) from the exact event bytes, seq
 * numbers must run without gap, repeat or reorder, and the events must reach
 * the newest checkpoint. When a root does not match, the hash chain names
 * the event that changed.
 */
import { hash } from 'node:crypto';
import { z } from 'zod';
import { equalHash, Frontier, hashFromHex, leafHash, toHex } from './merkle/index.ts';
import { openNote, parseCheckpoint, parseVerifierKey, type NoteVerifier } from './note.ts';

export const BUNDLE_FORMAT = 'countersign-audit-bundle/1';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
export const manifestSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  origin: z.string().min(1),
  createdAt: z.string(),
  events: z.object({ first: z.number().int().min(1), last: z.number().int().min(0), count: z.number().int().min(0), lastHash: hex64.nullable() }),
  prefix: z.object({ size: z.number().int().min(0), prevHash: hex64, nodes: z.array(z.object({ level: z.number().int().min(0), index: z.number().int().min(0), hash: hex64 })) }),
  checkpoints: z.array(z.object({ size: z.number().int().min(1), file: z.string() })),
});
export type BundleManifest = z.infer<typeof manifestSchema>;

export interface BundleFiles {
  readonly manifest: string;
  /** events.jsonl: one event per line, each exactly the bytes of its Merkle leaf. */
  readonly events: string;
  /** The signed notes, by file name as the manifest lists them. */
  readonly notes: ReadonlyMap<string, string>;
  /** keys.txt: C2SP verifier keys, one per line. */
  readonly keys: string;
}

export interface BundleReport {
  readonly ok: boolean;
  readonly origin: string | null;
  readonly events: number;
  readonly first: number | null;
  readonly last: number | null;
  /** Checkpoints whose signature and root both verified. */
  readonly verifiedCheckpoints: number[];
  /** The first problem, naming the event (seq) or checkpoint it concerns. */
  readonly problem: { readonly seq?: number; readonly checkpoint?: number; readonly message: string } | null;
}

const sha256 = (text: string) => hash('sha256', text, 'hex');

function fail(partial: Partial<BundleReport>, problem: NonNullable<BundleReport['problem']>): BundleReport {
  return { ok: false, origin: null, events: 0, first: null, last: null, verifiedCheckpoints: [], ...partial, problem };
}

/**
 * Which event changed, when a root says one did. A change to an event's body
 * breaks the link from it to the next event; a change to its `prev` breaks
 * its own link and the next. The last event is referenced by no link, so the
 * manifest's hash of it stands in for one.
 */
function locateChange(lines: readonly string[], first: number, prevHash: string, lastHash: string | null): number {
  let prev = prevHash;
  const links = lines.map((line) => {
    let linked = false;
    try {
      linked = (JSON.parse(line) as { prev?: unknown }).prev === prev;
    } catch {
      /* an unreadable line breaks its link */
    }
    prev = sha256(line);
    return linked;
  });
  const lastChanged = lastHash !== null && lines.length > 0 && sha256(lines[lines.length - 1]!) !== lastHash;
  const nextBroken = (i: number) => (i + 1 < links.length ? !links[i + 1] : lastChanged);
  // The roots cover the prefix as subtree hashes, never event first-1 itself, so a lone
  // break at the first link (an unsigned prevHash that is wrong) cannot explain a root.
  const broken = links.findIndex((linked, i) => !linked && (i > 0 || nextBroken(0)));
  if (broken === -1) return first + lines.length - 1;
  return first + (nextBroken(broken) ? broken : broken - 1);
}

/**
 * @example
 * const report = verifyBundle(files); // report.ok, or report.problem.seq names the first bad event
 */
export function verifyBundle(files: BundleFiles): BundleReport {
  let manifest: BundleManifest;
  try {
    manifest = manifestSchema.parse(JSON.parse(files.manifest));
  } catch (e) {
    return fail({}, { message: `manifest.json is not a ${BUNDLE_FORMAT} manifest: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` });
  }
  const base = { origin: manifest.origin };
  let verifiers: NoteVerifier[];
  try {
    verifiers = files.keys.split('\n').filter((l) => l.trim()).map((l) => parseVerifierKey(l.trim()));
  } catch (e) {
    return fail(base, { message: `keys.txt: ${e instanceof Error ? e.message : String(e)}` });
  }

  // Checkpoints: signature first, then what they claim.
  const roots = new Map<number, Uint8Array>();
  for (const entry of manifest.checkpoints) {
    const text = files.notes.get(entry.file);
    if (text === undefined) return fail(base, { checkpoint: entry.size, message: `${entry.file} is listed in the manifest but missing` });
    try {
      const cp = parseCheckpoint(openNote(text, verifiers).text);
      if (cp.origin !== manifest.origin) return fail(base, { checkpoint: entry.size, message: `${entry.file} is for origin ${cp.origin}, not ${manifest.origin}` });
      if (cp.size !== entry.size) return fail(base, { checkpoint: entry.size, message: `${entry.file} is for size ${cp.size}, the manifest says ${entry.size}` });
      roots.set(cp.size, cp.rootHash);
    } catch (e) {
      return fail(base, { checkpoint: entry.size, message: `checkpoint ${entry.file}: signature or format invalid: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  const text = files.events;
  if (text.length > 0 && !text.endsWith('\n')) return fail(base, { message: 'events.jsonl does not end with a newline (truncated?)' });
  const lines = text.length ? text.slice(0, -1).split('\n') : [];
  const first = manifest.prefix.size + 1;
  if (manifest.events.first !== first) return fail(base, { message: `the manifest's first event ${manifest.events.first} does not follow its prefix of ${manifest.prefix.size}` });
  let frontier: Frontier;
  try {
    frontier = Frontier.from({ size: manifest.prefix.size, nodes: manifest.prefix.nodes.map((n) => ({ ...n, hash: hashFromHex(n.hash) })) });
  } catch (e) {
    return fail(base, { message: `the manifest's prefix does not describe a tree of ${manifest.prefix.size}: ${String(e)}` });
  }
  const verified: number[] = [];
  const progress = { ...base, events: 0, first, last: first - 1 };

  for (let i = 0; i < lines.length; i++) {
    const seq = first + i;
    const line = lines[i]!;
    let found: unknown;
    try {
      found = (JSON.parse(line) as { seq?: unknown }).seq;
    } catch {
      return fail(progress, { seq, message: `event ${seq} is not valid JSON (it was edited)` });
    }
    if (found !== seq) {
      const later = lines.slice(i + 1).some((l) => l.includes(`"seq":${seq},`));
      const why = typeof found === 'number' && found < seq ? `event ${found} appears again or out of order` : later ? 'events are out of order' : `event ${seq} is missing (deleted)`;
      return fail(progress, { seq, message: `at position ${seq}: ${why}` });
    }
    frontier.append(leafHash(line));
    progress.events = i + 1;
    progress.last = seq;
    const root = roots.get(seq);
    if (root) {
      if (!equalHash(frontier.root(), root)) {
        const bad = locateChange(lines, first, manifest.prefix.prevHash, manifest.events.lastHash);
        return fail(progress, { seq: bad, message: `event ${bad} differs from what checkpoint ${seq} signed (root ${toHex(frontier.root()).slice(0, 16)}…)` });
      }
      verified.push(seq);
    }
  }

  const newest = Math.max(0, ...roots.keys());
  const last = first + lines.length - 1;
  if (newest > last) return fail(progress, { seq: last + 1, message: `checkpoint ${newest} signs events up to ${newest}, but the bundle stops at ${last} (truncated or deleted tail)` });
  if (last > newest) return fail(progress, { seq: newest + 1, message: `events after ${newest} are covered by no checkpoint in the bundle` });
  if (manifest.events.last !== last || manifest.events.count !== lines.length) {
    return fail(progress, { seq: Math.min(manifest.events.last, last) + 1, message: `the manifest lists events ${manifest.events.first}–${manifest.events.last}, the file has ${first}–${last}` });
  }
  if (verified.length === 0) return fail(progress, { message: 'no checkpoint in the bundle covers its events' });
  return { ...progress, ok: true, verifiedCheckpoints: verified, problem: null, origin: manifest.origin, events: lines.length, first, last };
}
