/**
 * `countersign audit export --url <gateway> --out x.tar`: the same bundle the
 * store export writes, fetched from the gateway by an auditor (a human with
 * the auditor or admin role) who holds no database credential. The file is
 * written beside and renamed, so a refused or broken download leaves nothing
 * that could be mistaken for a bundle; verify it offline like any other.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { manifestSchema, type BundleManifest } from '../core/audit-bundle.ts';
import { CountersignError } from '../core/errors.ts';
import { parseExportBound } from '../core/period-bound.ts';
import { client } from './requests.ts';
import { safe } from './output.ts';
import type { CliIo } from './io.ts';

async function download(stream: ReadableStream<Uint8Array>, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await pipeline(Readable.fromWeb(stream as Parameters<typeof Readable.fromWeb>[0]), createWriteStream(path, { mode: 0o644 }));
}

async function manifestOf(file: string): Promise<BundleManifest> {
  let text = '';
  await tar.t({ file, filter: (p) => p.replace(/^\.\//, '') === 'manifest.json', onReadEntry: (e) => e.on('data', (c: Buffer) => (text += c.toString('utf8'))) });
  const parsed = manifestSchema.safeParse(JSON.parse(text || 'null'));
  if (!parsed.success) throw new CountersignError('INVALID_REQUEST', `${file}: the gateway sent no bundle manifest`);
  return parsed.data;
}

/**
 * @example
 * await auditBundleDownloadCommand({ url: 'https://countersign.example.com', out: 'q3.tar', from: '2026-07-01', to: '2026-10-01' }); // 0
 */
export async function auditBundleDownloadCommand(o: { url: string; key?: string; out: string; from?: string; to?: string }, io: CliIo): Promise<number> {
  // Read here as the store export reads them, so a typo is a usage error before anything is asked.
  if (o.from !== undefined) parseExportBound(o.from, '--from');
  if (o.to !== undefined) parseExportBound(o.to, '--to');
  const asTar = o.out.endsWith('.tar');
  if (!asTar && (await readdir(o.out).catch(() => [])).length) throw new CountersignError('INVALID_REQUEST', `${o.out} exists and is not empty`);
  const stream = await client(o, io.env).auditExportStream({ ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) });
  const file = `${o.out.replace(/\/$/, '')}.${process.pid}.part`;
  try {
    await download(stream, file);
    const m = await manifestOf(file);
    if (asTar) await rename(file, o.out);
    else {
      await mkdir(o.out, { recursive: true });
      await tar.x({ file, cwd: o.out, strict: true, filter: (p) => !p.split('/').includes('..') });
    }
    io.stdout.write(safe(`wrote ${o.out}: events ${m.events.first}–${m.events.last} (${m.events.count}), ${m.checkpoints.length} signed checkpoints, origin ${m.origin}, from ${new URL(o.url).origin}\nverify with: countersign audit verify ${o.out} --verifier-key <the log's key, received out of band>\n`));
    return 0;
  } finally {
    await rm(file, { force: true });
  }
}
