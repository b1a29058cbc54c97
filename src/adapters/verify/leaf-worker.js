// RFC 6962 §2.1 leaf hashes, SHA-256(0x00 || line), for a range of chunks of
// events.jsonl in shared memory. Plain JavaScript on purpose: a worker thread
// does not inherit the TypeScript loader of the thread that starts it. The
// result must equal core/merkle leafHash byte for byte; a test holds them together.
import { hash } from 'node:crypto';
import { workerData } from 'node:worker_threads';

const { body, base, length, out, done, chunks, first, step } = workerData;
const bytes = new Uint8Array(body, base, length);
const hashes = new Uint8Array(out);
const flags = new Int32Array(done);
let scratch = new Uint8Array(4096);

function hashChunk(c) {
  const [start, end, firstLine] = chunks[c];
  let index = firstLine;
  for (let at = start; at < end; ) {
    let nl = bytes.indexOf(10, at);
    if (nl === -1 || nl > end) nl = end;
    const length = nl - at + 1;
    if (scratch.length < length) scratch = new Uint8Array(length * 2);
    scratch[0] = 0;
    scratch.set(bytes.subarray(at, nl), 1);
    hashes.set(hash('sha256', scratch.subarray(0, length), 'buffer'), index * 32);
    index++;
    at = nl + 1;
  }
}

for (let c = first; c < chunks.length; c += step) {
  let state = 1;
  try {
    hashChunk(c);
  } catch {
    state = 2;
  }
  Atomics.store(flags, c, state);
  Atomics.notify(flags, c);
}
