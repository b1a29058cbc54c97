/**
 * Writing and reading audit bundles: a directory, or the same files in a tar
 * (the CLI writes them from the store; the gateway writes one to serve it).
 * Reading needs nothing but the bundle: no config, no database, no network.
 * `tar` (about 1 MB of heap) loads with the first tar written or read, so a
 * gateway that never serves one does not hold it; a failed load fails that
 * export or read.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BundleFiles } from '../core/audit-bundle.ts';
import { CountersignError } from '../core/errors.ts';
import type { BundlePlan } from '../service/audit-bundle.ts';
import { lazyModule } from './lazy-module.ts';

const tarLibrary = lazyModule(() => import('tar'));

const README = `Countersign audit bundle

  manifest.json     what is here: origin, event range, the tree before the first event, checkpoints
  events.jsonl      one event per line, exactly the bytes of its RFC 6962 Merkle leaf
                    (leaf hash = SHA-256(0x00 || line without its newline))
  checkpoints/      C2SP tlog-checkpoint signed notes (origin, tree size, base64 root, Ed25519 signature)
  keys.txt          C2SP note verifier keys (name+keyid+base64(0x01 || Ed25519 public key))

Verify:  npx countersign audit verify <this bundle> --verifier-key <the log's verifier key, received out of band>
         (without a pinned key it exits 2: the keys in keys.txt vouch for nothing by themselves)
Or with any RFC 6962 and signed-note implementation: hash the lines as leaves (after the
manifest's prefix subtrees, if the bundle does not start at event 1) and compare the roots
with the signed checkpoints.
`;

async function writeEvents(path: string, lines: AsyncGenerator<string>): Promise<void> {
  const out = createWriteStream(path);
  const done = new Promise<void>((resolve, reject) => {
    out.once('finish', resolve);
    out.once('error', reject);
  });
  for await (const line of lines) if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  out.end();
  await done;
}

/** Writes the bundle to `out`: a new directory, or a tar file when it ends in .tar. */
export async function writeBundle(plan: BundlePlan, out: string): Promise<void> {
  const asTar = out.endsWith('.tar');
  const dir = asTar ? await mkdtemp(join(tmpdir(), 'cs-bundle-')) : out;
  try {
    if (!asTar) {
      const existing = await readdir(dir).catch(() => []);
      if (existing.length) throw new CountersignError('INVALID_REQUEST', `${out} exists and is not empty`);
    }
    await mkdir(join(dir, 'checkpoints'), { recursive: true });
    await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(plan.manifest, null, 2)}\n`);
    await writeFile(join(dir, 'keys.txt'), plan.keys);
    await writeFile(join(dir, 'README.txt'), README);
    for (const n of plan.notes) await writeFile(join(dir, n.file), n.text);
    await writeEvents(join(dir, 'events.jsonl'), plan.events());
    if (asTar) await (await tarLibrary()).c({ file: out, cwd: dir, portable: true }, ['manifest.json', 'events.jsonl', 'keys.txt', 'README.txt', 'checkpoints']);
  } finally {
    if (asTar) await rm(dir, { recursive: true, force: true });
  }
}

async function readTar(path: string): Promise<{ files: Map<string, Buffer>; twice: string | undefined }> {
  const files = new Map<string, Buffer>();
  const seen = new Set<string>();
  let twice: string | undefined;
  await (await tarLibrary()).t({
    file: path,
    onReadEntry: (entry) => {
      const name = entry.path.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
      // A tar may hold a name twice: `tar -x` keeps the last copy, `tar -xO`, a listing or a reader that stops at the
      // first match shows another. The bytes verified must be the only ones there, so such a bundle is refused.
      if (seen.has(name)) twice ??= name;
      seen.add(name);
      if (name === 'events.jsonl' && entry.type === 'File' && typeof entry.size === 'number') {
        // Straight into shared memory: the verifier's worker threads read it where it lies.
        const out = sharedBuffer(entry.size);
        let at = 0;
        entry.on('data', (c: Buffer) => {
          out.set(c.subarray(0, Math.max(0, out.length - at)), at);
          at += c.length;
        });
        entry.on('end', () => files.set(name, at === out.length ? out : out.subarray(0, Math.min(at, out.length))));
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        if (entry.type === 'File') files.set(name, Buffer.concat(chunks));
      });
    },
  });
  return { files, twice };
}

/** A Buffer over a SharedArrayBuffer, which worker threads can read without a copy. */
function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}

async function readShared(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const out = sharedBuffer((await fh.stat()).size);
    for (let at = 0; at < out.length; ) {
      const { bytesRead } = await fh.read(out, at, out.length - at, at);
      if (bytesRead === 0) return out.subarray(0, at);
      at += bytesRead;
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** Reads a bundle from a directory or a tar file. */
export async function readBundle(path: string): Promise<BundleFiles> {
  let files: Map<string, Buffer>;
  let twice: string | undefined;
  if ((await stat(path)).isDirectory()) {
    files = new Map();
    for (const name of ['manifest.json', 'keys.txt']) files.set(name, await readFile(join(path, name)).catch(() => Buffer.alloc(0)));
    files.set('events.jsonl', await readShared(join(path, 'events.jsonl')).catch(() => Buffer.alloc(0)));
    for (const name of await readdir(join(path, 'checkpoints')).catch(() => [] as string[])) files.set(`checkpoints/${name}`, await readFile(join(path, 'checkpoints', name)));
  } else {
    ({ files, twice } = await readTar(path));
  }
  const text = (name: string) => files.get(name)?.toString('utf8') ?? '';
  const notes = new Map([...files].filter(([k]) => k.startsWith('checkpoints/')).map(([k, v]) => [k, v.toString('utf8')] as const));
  // Bytes, not a string: a million events exceed the longest string Node allows (512 MiB).
  return { manifest: text('manifest.json'), events: files.get('events.jsonl') ?? Buffer.alloc(0), notes, keys: text('keys.txt'), ...(twice !== undefined ? { twice } : {}) };
}
