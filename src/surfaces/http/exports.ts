/**
 * What an auditor downloads through the gateway, for the REST API and the
 * console alike: the verifiable audit bundle of a period (the same tar
 * `countersign audit export --out x.tar` writes) and the evidence report (JSON
 * or the self-contained HTML page). Both read the store with the gateway's
 * own credentials; the caller's role is checked by the route, before this.
 *
 * The bundle is written to a temporary tar first (events page by page, as the
 * CLI does), then opened and unlinked, and streamed from the open file: a
 * large period never sits in memory, and nothing is left on disk whatever
 * happens to the download. `audit.maxExportEvents` bounds the work.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { CountersignError } from '../../core/errors.ts';
import { parseExportBound, parsePeriodBound } from '../../core/period-bound.ts';
import { planBundle } from '../../service/audit-bundle.ts';
import type { Deps } from '../../service/deps.ts';
import { evidenceOfPeriod, FRAMEWORKS, type EvidenceReport } from '../../service/evidence/index.ts';
import { writeBundle } from '../../adapters/audit-bundle-files.ts';
import { renderEvidenceHtml } from '../evidence-html.ts';

/** The page's own policy: its inline styles and nothing else (no script, no fetch, no framing, no form). */
export const EVIDENCE_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const bound = z.string().max(64);

/** Only the parameters named, each once: anything else is refused, not ignored (hono's `c.req.queries()`). */
function parse<S extends z.ZodType>(schema: S, queries: Record<string, string[]>): z.output<S> {
  const repeated = Object.keys(queries).filter((k) => (queries[k]?.length ?? 0) > 1);
  if (repeated.length) throw new CountersignError('INVALID_REQUEST', `give each parameter once (${repeated.join(', ').slice(0, 100)})`);
  const r = schema.safeParse(Object.fromEntries(Object.entries(queries).map(([k, v]) => [k, v[0]])));
  if (!r.success) throw new CountersignError('INVALID_REQUEST', r.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; '));
  return r.data;
}

const exportQuery = z.strictObject({ from: bound.optional(), to: bound.optional() });
const evidenceQuery = z.strictObject({ from: bound, to: bound, framework: z.enum(FRAMEWORKS), format: z.enum(['json', 'html']).default('json') });

/** `from` / `to` of a bundle: a seq number or a date / ISO time with its zone; both optional (the whole log). */
export function readExportQuery(q: Record<string, string[]>): { from?: number | Date; to?: number | Date } {
  const p = parse(exportQuery, q);
  return { ...(p.from ? { from: parseExportBound(p.from, 'from') } : {}), ...(p.to ? { to: parseExportBound(p.to, 'to') } : {}) };
}

/** `from`, `to` (dates or ISO times with their zone, to exclusive), `framework`, and `format` (json by default). */
export function readEvidenceQuery(q: Record<string, string[]>): { from: Date; to: Date; framework: (typeof FRAMEWORKS)[number]; format: 'json' | 'html' } {
  const p = parse(evidenceQuery, q);
  const from = parsePeriodBound(p.from, 'from');
  const to = parsePeriodBound(p.to, 'to');
  if (from.getTime() >= to.getTime()) throw new CountersignError('INVALID_REQUEST', 'to must be after from (from is inclusive, to exclusive)');
  return { from, to, framework: p.framework, format: p.format };
}

/**
 * Refuses HEAD of a download: hono answers it with the GET handler and drops the body unread, which would
 * build a whole bundle for nothing and leave its open file to the garbage collector.
 */
export function refuseHead(method: string): void {
  if (method === 'HEAD') throw new CountersignError('INVALID_REQUEST', 'a bundle is only sent to GET');
}

/**
 * The bundle of the period as a tar download.
 *
 * @example
 * return bundleResponse(deps, readExportQuery(c.req.queries()), c.get('exportLimit'));
 */
export async function bundleResponse(deps: Deps, period: { from?: number | Date; to?: number | Date }, maxEvents: number): Promise<Response> {
  const plan = await planBundle(deps, { ...period, maxEvents });
  const dir = await mkdtemp(join(tmpdir(), 'cs-export-'));
  let file;
  try {
    const path = join(dir, 'bundle.tar');
    await writeBundle(plan, path);
    file = await open(path, 'r');
  } finally {
    // Unlinked now: the open file is all that is left, and it goes when the download ends or is dropped.
    await rm(dir, { recursive: true, force: true });
  }
  const { size } = await file.stat();
  const m = plan.manifest;
  const body = Readable.toWeb(file.createReadStream()) as ReadableStream<Uint8Array>;
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'application/x-tar',
      'content-length': String(size),
      'content-disposition': `attachment; filename="countersign-audit-${m.events.first}-${m.events.last}.tar"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
}

/** The evidence report of the period; the caller renders it. */
export function evidenceFor(deps: Deps, q: { from: Date; to: Date; framework: (typeof FRAMEWORKS)[number] }, maxEvents: number): Promise<EvidenceReport> {
  return evidenceOfPeriod(deps, { from: q.from, to: q.to, framework: q.framework, maxEvents });
}

/** The report as a self-contained HTML page, under the page's own strict policy. */
export function evidenceHtmlResponse(report: EvidenceReport): Response {
  const stamp = `${report.framework}-${report.period.from.slice(0, 10)}-${report.period.to.slice(0, 10)}`;
  return new Response(renderEvidenceHtml(report), {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': EVIDENCE_PAGE_CSP,
      'content-disposition': `inline; filename="countersign-evidence-${stamp}.html"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    },
  });
}
