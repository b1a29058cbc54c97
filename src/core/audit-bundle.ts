/**
 * Offline verification of an audit bundle: nothing but its files. Every
 * checkpoint's signature is checked against pinned keys (or, proving less, the bundle's own), every
 * checkpoint root is recomputed (RFC 6962) from the exact event bytes, seq
 * numbers must run without gap, repeat or reorder, and the events must reach
 * the newest checkpoint. When a root does not match, the hash chain names
 * the event that changed.
 */
import { hash } from 'node:crypto';
import { z } from 'zod';
import { equalHash, Frontier, hashFromHex, leafHash, toHex } from './merkle/index.ts';
import { openCheckpoint, parseVerifierKey, type NoteVerifier } from './note.ts';

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
  /** events.jsonl: one event per line, each exactly the bytes of its Merkle leaf (bytes: a large log exceeds a string's limit). */
  readonly events: string | Uint8Array;
  /** The signed notes, by file name as the manifest lists them. */
  readonly notes: ReadonlyMap<string, string>;
  /** keys.txt: C2SP verifier keys, one per line. */
  readonly keys: string;
  /** A name the bundle's tar holds more than once: which copy a reader takes depends on the reader, so it fails. */
  readonly twice?: string;
}

export interface BundleReport {
  readonly ok: boolean;
  readonly origin: string | null;
  readonly events: number;
  readonly first: number | null;
  readonly last: number | null;
  /** Checkpoints whose signature and root both verified. */
  readonly verifiedCheckpoints: number[];
  /**
   * When the first and the last event were written (their signed `time`), on success: a bundle cut back to an
   * earlier checkpoint verifies for what it holds, and these show where it stops against the period asked for.
   */
  readonly written?: { readonly first: string | null; readonly last: string | null };
  /** The first problem, naming the event (seq) or checkpoint it concerns. */
  readonly problem: { readonly seq?: number; readonly checkpoint?: number; readonly message: string } | null;
}

const sha256 = (data: string | Buffer) => hash('sha256', data, 'hex');

function fail(partial: Partial<BundleReport>, problem: NonNullable<BundleReport['problem']>): BundleReport {
  return { ok: false, origin: null, events: 0, first: null, last: null, verifiedCheckpoints: [], ...partial, problem };
}

/** The lines of events.jsonl as views into its bytes, without copying or decoding the whole file. */
function* eachLine(buf: Buffer): Generator<Buffer> {
  for (let start = 0; start < buf.length; ) {
    const nl = buf.indexOf(10, start);
    const end = nl === -1 ? buf.length : nl;
    yield buf.subarray(start, end);
    start = end + 1;
  }
}

const SEQ = Buffer.from('"seq":');

/**
 * The top-level seq of a canonical event line, without parsing it: keys are
 * sorted (actor, data, prev, requestId, seq, time, type), so the last
 * `"seq":` is the event's own, after anything `data` holds.
 */
function seqOf(line: Buffer): number | undefined {
  const at = line.lastIndexOf(SEQ);
  if (at === -1) return undefined;
  let n = 0;
  let i = at + SEQ.length;
  const start = i;
  while (i < line.length && line[i]! >= 48 && line[i]! <= 57) n = n * 10 + (line[i++]! - 48);
  return i > start && line[i] === 44 ? n : undefined;
}

/**
 * Which event changed, when a root says one did. A change to an event's body
 * breaks the link from it to the next event; a change to its `prev` breaks
 * its own link and the next. The last event is referenced by no link, so the
 * manifest's hash of it stands in for one.
 */
function locateChange(buf: Buffer, first: number, prevHash: string, lastHash: string | null): number {
  let prev = prevHash;
  let lastLine: Buffer | undefined;
  const links: boolean[] = [];
  for (const line of eachLine(buf)) {
    let linked = false;
    try {
      linked = (JSON.parse(line.toString('utf8')) as { prev?: unknown }).prev === prev;
    } catch {
      /* an unreadable line breaks its link */
    }
    prev = sha256(line);
    links.push(linked);
    lastLine = line;
  }
  const lastChanged = lastHash !== null && lastLine !== undefined && sha256(lastLine) !== lastHash;
  const nextBroken = (i: number) => (i + 1 < links.length ? !links[i + 1] : lastChanged);
  // The roots cover the prefix as subtree hashes, never event first-1 itself, so a lone
  // break at the first link (an unsigned prevHash that is wrong) cannot explain a root.
  const broken = links.findIndex((linked, i) => !linked && (i > 0 || nextBroken(0)));
  if (broken === -1) return first + links.length - 1;
  return first + (nextBroken(broken) ? broken : broken - 1);
}

/** The `time` an event line says, parsed only for the first and last lines of a bundle that verified. */
function timeOf(line: Buffer | undefined): string | null {
  if (!line) return null;
  try {
    const time = (JSON.parse(line.toString('utf8')) as { time?: unknown }).time;
    return typeof time === 'string' ? time : null;
  } catch {
    return null;
  }
}

/** Why the line at `seq` has another seq: parsed only on this path, for the message. */
function seqMismatch(buf: Buffer, line: Buffer, seq: number, offsetAfter: number): string {
  let found: unknown;
  try {
    found = (JSON.parse(line.toString('utf8')) as { seq?: unknown }).seq;
  } catch {
    return `event ${seq} is not valid JSON (it was edited)`;
  }
  if (typeof found === 'number' && found < seq) return `at position ${seq}: event ${found} appears again or out of order`;
  const later = buf.indexOf(`"seq":${seq},`, offsetAfter) !== -1;
  return `at position ${seq}: ${later ? 'events are out of order' : `event ${seq} is missing (deleted)`}`;
}

export interface VerifyOptions {
  /**
   * The RFC 6962 leaf hash of line `index` (0-based) of events.jsonl, for a
   * caller that computes them elsewhere (in other threads): leaves are
   * independent, only the tree above them is sequential. Must equal
   * `leafHash(line)`; the default computes exactly that.
   */
  readonly leafHash?: (index: number, line: Uint8Array) => Uint8Array;
  /**
   * Pinned verifier keys: every checkpoint must be signed by one of them.
   * Without them the bundle's own keys.txt is used, which proves only that
   * the bundle is consistent: a log edited and re-signed with another key
   * (and that key put in keys.txt) verifies.
   */
  readonly verifiers?: readonly NoteVerifier[];
}

/**
 * @example
 * const report = verifyBundle(files); // report.ok, or report.problem.seq names the first bad event
 */
export function verifyBundle(files: BundleFiles, opts: VerifyOptions = {}): BundleReport {
  const leafOf = opts.leafHash ?? ((_: number, line: Uint8Array) => leafHash(line));
  if (files.twice !== undefined) return fail({}, { message: `the bundle holds ${files.twice} twice (\`tar -x\` keeps the last copy, other readers the first): not a bundle as exported` });
  let manifest: BundleManifest;
  try {
    manifest = manifestSchema.parse(JSON.parse(files.manifest));
  } catch (e) {
    return fail({}, { message: `manifest.json is not a ${BUNDLE_FORMAT} manifest: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` });
  }
  const base = { origin: manifest.origin };
  let verifiers: readonly NoteVerifier[];
  try {
    verifiers = opts.verifiers ?? files.keys.split('\n').filter((l) => l.trim()).map((l) => parseVerifierKey(l.trim()));
  } catch (e) {
    return fail(base, { message: `keys.txt: ${e instanceof Error ? e.message : String(e)}` });
  }

  // Checkpoints: signature first, then what they claim.
  const roots = new Map<number, Uint8Array>();
  for (const entry of manifest.checkpoints) {
    const text = files.notes.get(entry.file);
    if (text === undefined) return fail(base, { checkpoint: entry.size, message: `${entry.file} is listed in the manifest but missing` });
    try {
      const cp = openCheckpoint(text, verifiers);
      if (cp.origin !== manifest.origin) return fail(base, { checkpoint: entry.size, message: `${entry.file} is for origin ${cp.origin}, not ${manifest.origin}` });
      if (cp.size !== entry.size) return fail(base, { checkpoint: entry.size, message: `${entry.file} is for size ${cp.size}, the manifest says ${entry.size}` });
      // Both signed by the log's key: it signed two histories (a split view). Only one could be checked against the events.
      const had = roots.get(cp.size);
      if (had && !equalHash(had, cp.rootHash)) return fail(base, { checkpoint: entry.size, message: `two checkpoints signed for size ${cp.size} have different roots: the log's key signed two histories of it` });
      roots.set(cp.size, cp.rootHash);
    } catch (e) {
      return fail(base, { checkpoint: entry.size, message: `checkpoint ${entry.file}: signature or format invalid: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  const buf = typeof files.events === 'string' ? Buffer.from(files.events, 'utf8') : Buffer.from(files.events.buffer, files.events.byteOffset, files.events.byteLength);
  if (buf.length > 0 && buf[buf.length - 1] !== 10) return fail(base, { message: 'events.jsonl does not end with a newline (truncated?)' });
  const body = buf.subarray(0, Math.max(0, buf.length - 1));
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

  let count = 0;
  let offset = 0;
  let firstLine: Buffer | undefined;
  let lastLine: Buffer | undefined;
  for (const line of buf.length ? eachLine(body) : []) {
    firstLine ??= line;
    lastLine = line;
    const seq = first + count;
    offset += line.length + 1;
    if (seqOf(line) !== seq) return fail(progress, { seq, message: seqMismatch(body, line, seq, offset) });
    frontier.push(leafOf(count, line));
    count++;
    progress.events = count;
    progress.last = seq;
    const root = roots.get(seq);
    if (root) {
      if (!equalHash(frontier.root(), root)) {
        const bad = locateChange(body, first, manifest.prefix.prevHash, manifest.events.lastHash);
        return fail(progress, { seq: bad, message: `event ${bad} differs from what checkpoint ${seq} signed (root ${toHex(frontier.root()).slice(0, 16)}…)` });
      }
      verified.push(seq);
    }
  }

  const newest = Math.max(0, ...roots.keys());
  const last = first + count - 1;
  if (newest > last) return fail(progress, { seq: last + 1, message: `checkpoint ${newest} signs events up to ${newest}, but the bundle stops at ${last} (truncated or deleted tail)` });
  if (last > newest) return fail(progress, { seq: newest + 1, message: `events after ${newest} are covered by no checkpoint in the bundle` });
  if (manifest.events.last !== last || manifest.events.count !== count) {
    return fail(progress, { seq: Math.min(manifest.events.last, last) + 1, message: `the manifest lists events ${manifest.events.first}–${manifest.events.last}, the file has ${first}–${last}` });
  }
  if (verified.length === 0) return fail(progress, { message: 'no checkpoint in the bundle covers its events' });
  const written = { first: timeOf(firstLine), last: timeOf(lastLine) };
  return { ...progress, ok: true, verifiedCheckpoints: verified, problem: null, origin: manifest.origin, events: count, first, last, written };
}
