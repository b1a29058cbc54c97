/**
 * `countersign policy replay <candidate.yaml> [--since 7d] [--bundle path]`:
 * the recorded actions of the audit log (the store named by the config, or an
 * exported bundle, verified first) decided again under a candidate policy;
 * every decision that would change, grouped by rule and transition.
 */
import { readPolicyFile } from '../config/candidate.ts';
import { loadConfig } from '../config/load.ts';
import { CountersignError } from '../core/errors.ts';
import { parseSince } from '../core/since.ts';
import { verifyBundleInParallel } from '../adapters/verify/parallel-leaves.ts';
import { compileSection, createPolicyDeps } from '../main-policy.ts';
import { openStoreForCommand } from '../main-store.ts';
import { replayPolicy, storeSubmissions, type RecordedEvent, type ReplayReport } from '../service/policy-replay.ts';
import { readBundle } from '../adapters/audit-bundle-files.ts';
import { safe, safeJson } from './output.ts';
import { changeLines } from './policy-changes.ts';
import { pinnedKeys } from './verifier-keys.ts';
import { verdictLine } from './verdict-line.ts';
import type { CliIo } from './io.ts';

const SUBMITTED = Buffer.from('"type":"request.submitted"');

/** The `request.submitted` events of events.jsonl, a line at a time: a large log's file exceeds the longest string. */
function* submittedLines(buf: Buffer): Generator<RecordedEvent> {
  for (let start = 0; start < buf.length; ) {
    const nl = buf.indexOf(10, start);
    const end = nl === -1 ? buf.length : nl;
    const line = buf.subarray(start, end);
    if (line.includes(SUBMITTED)) {
      const e = JSON.parse(line.toString('utf8')) as RecordedEvent;
      if (e.type === 'request.submitted') yield e;
    }
    start = end + 1;
  }
}

/** The events of a bundle, after it verified; refused (exit 1) when it does not. */
async function bundleEvents(path: string, verifierKey: readonly string[] | undefined): Promise<{ events: RecordedEvent[]; note: string } | { problem: string }> {
  const files = await readBundle(path);
  const pinned = verifierKey?.length ? pinnedKeys(verifierKey) : undefined;
  const report = await verifyBundleInParallel(files, pinned ? { verifiers: pinned } : {});
  if (!report.ok) {
    const where = report.problem?.seq !== undefined ? `event ${report.problem.seq}` : report.problem?.checkpoint !== undefined ? `checkpoint ${report.problem.checkpoint}` : 'the bundle';
    return { problem: `bundle ${path} does not verify (at ${where}: ${report.problem?.message}); nothing was replayed` };
  }
  const events = [...submittedLines(typeof files.events === 'string' ? Buffer.from(files.events) : Buffer.from(files.events.buffer, files.events.byteOffset, files.events.byteLength))];
  const by = pinned ? 'the pinned key' : "the bundle's own keys only (UNPINNED: proves the bundle is consistent, not who signed it; pass --verifier-key)";
  return { events, note: `bundle ${path} verified: events ${report.first}–${report.last} of ${report.origin}, checkpoints checked with ${by}` };
}

function print(r: ReplayReport, source: string, io: CliIo): void {
  const out: string[] = [`${source}`, `replayed ${r.replayed} recorded action${r.replayed === 1 ? '' : 's'} since ${r.since}: ${r.changes.length} decision${r.changes.length === 1 ? '' : 's'} would change`];
  if (r.factsAsRecorded) out.push(`${r.factsAsRecorded} with the facts as recorded (the connection is gone, is mcp, or its stored input no longer parses)`);
  if (r.unreadable.length) out.push(`${r.unreadable.length} events could not be read as actions: ${r.unreadable.slice(0, 5).map((u) => `${u.requestId ?? '-'} (${u.why})`).join(', ')}`);
  io.stdout.write(safe(`${out.join('\n')}\n`));
  io.stdout.write(changeLines(r.groups, true));
}

export async function policyReplayCommand(candidateFile: string, configPath: string, o: { since?: string; bundle?: string; verifierKey?: string[]; json?: boolean }, io: CliIo): Promise<number> {
  const config = loadConfig(configPath, io.env);
  const humans = new Set(config.principals.filter((p) => p.kind === 'human').map((p) => p.id));
  const candidate = compileSection(config, readPolicyFile(candidateFile, humans));
  const since = parseSince(o.since ?? '7d', new Date());
  const deps = await createPolicyDeps(config);
  try {
    let report: ReplayReport;
    let source: string;
    if (o.bundle !== undefined) {
      const b = await bundleEvents(o.bundle, o.verifierKey);
      if ('problem' in b) {
        io.stdout.write(verdictLine(b.problem));
        return 1;
      }
      source = verdictLine(b.note).slice(0, -1);
      report = await replayPolicy(deps, candidate, b.events, { since });
    } else {
      if (o.verifierKey?.length) throw new CountersignError('INVALID_REQUEST', '--verifier-key goes with --bundle');
      const store = await openStoreForCommand(config, configPath);
      try {
        report = await replayPolicy(deps, candidate, storeSubmissions(store, since), { since });
      } finally {
        await store.close();
      }
      source = `the audit log of ${configPath} (${config.store.postgres ? 'PostgreSQL' : config.store.sqlite.path})`;
    }
    if (o.json) io.stdout.write(`${safeJson({ candidate: candidate.hash, ...report }, 0)}\n`);
    else print(report, `candidate ${candidate.hash} against ${source}`, io);
    return 0;
  } finally {
    await deps.connections.close();
  }
}
