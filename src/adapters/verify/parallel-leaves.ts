/**
 * Leaf hashes of a bundle's events, computed in worker threads while the
 * verifier folds them into the tree on this one. Leaves are independent
 * (RFC 6962 §2.1 hashes each line alone), so they split across cores; only
 * the tree above them is sequential. On a CPU without SHA instructions the
 * leaf hashes are most of a verification's time.
 *
 * The events are copied once into shared memory and cut into chunks at line
 * ends; worker k hashes chunks k, k+n, k+2n, … in order and flags each one,
 * so the verifier can start on the first chunk while the rest are hashed.
 */
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { verifyBundle, type BundleFiles, type BundleReport } from '../../core/audit-bundle.ts';
import type { NoteVerifier } from '../../core/note.ts';

const HASH = 32;
/**
 * Below this many bytes, starting threads costs more than it saves: the
 * workers take ~0.2 s to start, about what one thread needs for 40,000
 * events (~40 MB); a 5 MB bundle verified 3× slower in parallel.
 */
export const PARALLEL_MIN_BYTES = 64 << 20;


export interface LeafHashes {
  /** The leaf hash of line `index`, waiting for its chunk if need be (a view: copy it to keep it). */
  leafHash(index: number, line: Uint8Array): Uint8Array;
  close(): Promise<void>;
}

/** [start, end, first line index] of each chunk; every chunk but the last ends just before a newline. */
function planChunks(body: Uint8Array, chunkBytes: number): { chunks: [number, number, number][]; lines: number } {
  const chunks: [number, number, number][] = [];
  let lines = 0;
  for (let start = 0; start < body.length || (start === 0 && chunks.length === 0); ) {
    let end = body.length;
    if (start + chunkBytes < body.length) {
      const nl = body.indexOf(10, start + chunkBytes);
      end = nl === -1 ? body.length : nl;
    }
    chunks.push([start, end, lines]);
    for (let at = start; ; ) {
      lines++;
      const nl = body.indexOf(10, at);
      if (nl === -1 || nl >= end) break;
      at = nl + 1;
    }
    start = end + 1;
  }
  return { chunks, lines };
}

/**
 * Starts hashing `body` (events.jsonl without its final newline) in
 * `threads` workers. Indexes are line numbers from 0, as the verifier counts.
 *
 * @example
 * const leaves = await hashLeavesInParallel(body, { threads: 2 });
 * try { report = verifyBundle(files, { leafHash: leaves.leafHash }); } finally { await leaves.close(); }
 */
export interface ParallelOptions {
  /** Worker threads (default: one per core). */
  readonly threads?: number;
  /** Bytes per chunk of work (default 1 MiB: ~1,000 events, a few ms of hashing). */
  readonly chunkBytes?: number;
  /** Smaller event files are verified on the calling thread alone (default 64 MiB). */
  readonly minBytes?: number;
}

export async function hashLeavesInParallel(body: Uint8Array, opts: ParallelOptions = {}): Promise<LeafHashes> {
  const threads = opts.threads ?? availableParallelism();
  // Events read into shared memory (readBundle does) are used where they lie; others are copied once.
  let shared: SharedArrayBuffer;
  let base = 0;
  if (body.buffer instanceof SharedArrayBuffer) {
    shared = body.buffer;
    base = body.byteOffset;
  } else {
    shared = new SharedArrayBuffer(body.length);
    new Uint8Array(shared).set(body);
  }
  const { chunks, lines } = planChunks(body, opts.chunkBytes ?? 1 << 20);
  const out = new SharedArrayBuffer(Math.max(1, lines) * HASH);
  const done = new SharedArrayBuffer(chunks.length * 4);
  const flags = new Int32Array(done);
  const hashes = new Uint8Array(out);
  const n = Math.max(1, Math.min(threads, chunks.length));
  // Beside this module in dist/ and in the CLI bundle too (bin/build.js makes it an entry point of its own).
  const workers = Array.from({ length: n }, (_, first) => new Worker(new URL('./leaf-worker.js', import.meta.url), { workerData: { body: shared, base, length: body.length, out, done, chunks, first, step: n } }));
  // Online before the verifier blocks this thread: an error event could not reach it later.
  try {
    await Promise.all(workers.map((w) => once(w, 'online')));
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  // Line index → chunk, by the chunks' first lines (ascending).
  let chunk = 0;
  return {
    leafHash(index) {
      if (index >= lines) throw new Error(`line ${index} is past the ${lines} lines that were hashed`);
      while (chunk + 1 < chunks.length && chunks[chunk + 1]![2] <= index) chunk++;
      while (chunk > 0 && chunks[chunk]![2] > index) chunk--;
      // A worker flags every chunk it was given, hashed (1) or failed (2); one that died unflagged times out.
      if (Atomics.wait(flags, chunk, 0, 60_000) === 'timed-out') throw new Error(`no worker thread hashed lines ${chunks[chunk]![2]}… within 60 s`);
      if (Atomics.load(flags, chunk) !== 1) throw new Error(`hashing lines ${chunks[chunk]![2]}… in a worker thread failed`);
      return hashes.subarray(index * HASH, index * HASH + HASH);
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * `verifyBundle` with the leaf hashes computed on every core; the same
 * report, bytes for bytes, as the single-threaded verifier. Small bundles
 * are verified on this thread alone.
 *
 * @example
 * const report = await verifyBundleInParallel(await readBundle('bundle.tar'));
 */
export async function verifyBundleInParallel(files: BundleFiles, opts: ParallelOptions & { readonly verifiers?: readonly NoteVerifier[] } = {}): Promise<BundleReport> {
  const events = files.events;
  const threads = opts.threads ?? availableParallelism();
  const pinned = opts.verifiers ? { verifiers: opts.verifiers } : {};
  if (typeof events === 'string' || events.length < (opts.minBytes ?? PARALLEL_MIN_BYTES) || threads < 2 || events[events.length - 1] !== 10) return verifyBundle(files, pinned);
  const leaves = await hashLeavesInParallel(events.subarray(0, events.length - 1), { ...opts, threads });
  try {
    return verifyBundle(files, { ...pinned, leafHash: leaves.leafHash });
  } finally {
    await leaves.close();
  }
}
