/**
 * `countersign evidence report --from --to --framework soc2|iso27001|gdpr --out report.html [--json report.json]`:
 * reads the local store named by the config (or, with --url, asks the gateway as
 * an auditor) and writes the period's evidence as a self-contained HTML page and
 * as JSON (the same report, as data).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { createCheckpointSigner } from '../adapters/signer/checkpoint-signer.ts';
import { systemClock } from '../adapters/system.ts';
import { loadConfig } from '../config/load.ts';
import { CountersignError } from '../core/errors.ts';
import { parsePeriodBound } from '../core/period-bound.ts';
import { openStoreForCommand, storeAuditOrigin } from '../main-store.ts';
import { evidenceOfPeriod, FRAMEWORKS, type EvidenceReport, type Framework } from '../service/evidence/index.ts';
import { renderEvidenceHtml } from '../surfaces/evidence-html.ts';
import { safe } from './output.ts';
import { client } from './requests.ts';
import type { CliIo } from './io.ts';

export interface EvidenceReportOptions {
  readonly from: string;
  readonly to: string;
  readonly framework: Framework;
  readonly out: string;
  /** Where the JSON goes; default: `out` with its extension replaced by .json. */
  readonly json?: string;
  /** A gateway to ask instead of reading the store (as a human with the auditor or admin role). */
  readonly url?: string;
  /** Its credential (else COUNTERSIGN_KEY, else the token `countersign login` saved). */
  readonly key?: string;
}

/** The JSON path when none is given: `report.html` → `report.json`. */
export function defaultJsonPath(out: string): string {
  const ext = extname(out);
  return `${ext ? out.slice(0, -ext.length) : out}.json`;
}

function writeWhole(path: string, text: string): void {
  // Written beside and renamed, so a reader never sees half a report.
  const tmp = `${path}.${process.pid}.tmp`;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

function summaryLine(r: EvidenceReport, out: string, json: string): string {
  const s = r.summary;
  const c = r.coverage;
  const covering = c.covered ? c.checkpoints[c.checkpoints.length - 1] : undefined;
  const events = c.firstSeq === null ? 'no events in the period' : `events ${c.firstSeq}–${c.lastSeq}${covering ? `, covered by the signed checkpoint at size ${covering.size}` : ', not yet covered by a signed checkpoint'}`;
  return (
    `wrote ${out} and ${json}: ${r.frameworkTitle}, ${r.period.from} to ${r.period.to}: ` +
    `${s.privilegedActions} privileged actions (${s.succeeded} succeeded, ${s.failed} failed), ${r.sod.approvedRequests - r.sod.grantApprovedRequests} approved by humans, ${r.sod.grantApprovedRequests ? `${r.sod.grantApprovedRequests} by a scoped grant, ` : ''}` +
    `${r.sod.selfApprovals} self-approvals, ${s.deniedByPolicy + s.deniedByReview + s.deniedAtExecution} denied, ${s.expired} expired, ${s.cancelled} cancelled, ` +
    `${s.policyChanges} policy changes; ${events}\n`
  );
}

/**
 * @example
 * await evidenceReportCommand('countersign.yaml', { from: '2026-07-01', to: '2026-10-01', framework: 'soc2', out: 'q3.html' }); // 0
 */
export async function evidenceReportCommand(configPath: string, o: EvidenceReportOptions, io: CliIo): Promise<number> {
  const from = parsePeriodBound(o.from, '--from');
  const to = parsePeriodBound(o.to, '--to');
  if (from.getTime() >= to.getTime()) throw new CountersignError('INVALID_REQUEST', '--to must be after --from (from is inclusive, to exclusive)');
  if (!FRAMEWORKS.includes(o.framework)) throw new CountersignError('INVALID_REQUEST', `--framework: one of ${FRAMEWORKS.join(', ')}`);
  const json = o.json ?? defaultJsonPath(o.out);
  if (resolve(json) === resolve(o.out)) throw new CountersignError('INVALID_REQUEST', '--json and --out name the same file');

  const report = o.url ? await fromGateway({ url: o.url, ...(o.key ? { key: o.key } : {}) }, { from: o.from, to: o.to, framework: o.framework }, io.env) : await fromStore(configPath, { from, to, framework: o.framework }, io.env);
  writeWhole(o.out, renderEvidenceHtml(report));
  writeWhole(json, `${JSON.stringify(report, null, 2)}\n`);
  io.stdout.write(safe(summaryLine(report, o.out, json)));
  return 0;
}

async function fromStore(configPath: string, period: { from: Date; to: Date; framework: Framework }, env: NodeJS.ProcessEnv): Promise<EvidenceReport> {
  const config = loadConfig(configPath, env);
  const store = await openStoreForCommand(config, configPath);
  try {
    const signer = createCheckpointSigner(config.audit.keyDir, await storeAuditOrigin(config, store, { claim: false }));
    return await evidenceOfPeriod({ store, signer, clock: systemClock }, period);
  } finally {
    await store.close();
  }
}

/** The report the gateway computes (a human with the auditor or admin role), rendered here with the same page. */
async function fromGateway(remote: { url: string; key?: string }, period: { from: string; to: string; framework: Framework }, env: NodeJS.ProcessEnv): Promise<EvidenceReport> {
  const report = await client(remote, env).evidenceReport(period);
  if (report?.format !== 'countersign-evidence/1') throw new CountersignError('INVALID_REQUEST', 'the gateway did not answer with an evidence report (countersign-evidence/1)');
  return report as unknown as EvidenceReport;
}
