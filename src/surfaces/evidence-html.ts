/**
 * The evidence report as one self-contained HTML page (the CLI writes it, the
 * gateway serves it to auditors): inline CSS, no
 * scripts, no external assets, printable. Everything that came from an agent
 * or a reviewer (reasons, SQL, paths, comments, ids) is untrusted: it is
 * escaped for HTML, control characters are shown as \xNN, and the page's own
 * Content-Security-Policy forbids scripts should anything ever slip through.
 */
import type { CheckpointEntry, EvidenceReport, RequestEntry, SectionId } from '../service/evidence/index.ts';
import { replaceHidden } from '../core/visible-text.ts';

/** Hidden and control characters named (`\\x1b`, `\\u{202e}`), as the CLI prints them: the page shows what is there. */
function visible(text: string): string {
  return replaceHidden(text, (c) => {
    const n = c.codePointAt(0) ?? 0;
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * @example
 * esc('<script>'); // '&lt;script&gt;'
 */
export function esc(value: unknown): string {
  const s = value === null || value === undefined ? '' : typeof value === 'string' ? value : String(value);
  return visible(s).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

const SECTION_TITLES: Readonly<Record<SectionId, string>> = {
  'privileged-actions': 'Privileged actions',
  'separation-of-duties': 'Separation of duties',
  'break-glass': 'Break-glass runs',
  denied: 'Denied requests',
  expired: 'Expired and cancelled requests',
  'policy-changes': 'Policy changes',
  integrity: 'Log integrity and coverage',
};

/** A duration for people: 850 ms, 42 s, 3 min 05 s, 2 h 03 min, 1 d 02 h. */
export function duration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
  return `${Math.floor(s / 86_400)} d ${pad(Math.floor((s % 86_400) / 3600))} h`;
}

function short(hash: string | null): string {
  if (!hash) return '—';
  const m = /^(sha256:)?([0-9a-f]+)$/.exec(hash);
  return m && m[2]!.length > 16 ? `<span title="${esc(hash)}">${esc(`${m[1] ?? ''}${m[2]!.slice(0, 12)}…`)}</span>` : esc(hash);
}

function table(headers: readonly string[], rows: readonly (readonly string[])[], empty: string): string {
  if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')}</tbody></table>`;
}

/** A two-column table of labels and values (values already HTML). */
function kv(rows: readonly (readonly [string, string])[]): string {
  return `<table class="meta"><tbody>${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v}</td></tr>`).join('')}</tbody></table>`;
}

function tagsCell(tags: RequestEntry['tags']): string {
  const parts = Object.entries(tags).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`);
  return parts.map((p) => `<span class="tag">${esc(p)}</span>`).join(' ');
}

function who(e: RequestEntry): string {
  if (!e.requester) return '<em>unknown</em>';
  return `${esc(e.requester)}${e.requesterKind ? ` <span class="muted">(${esc(e.requesterKind)})</span>` : ''}`;
}

function list(ids: readonly string[]): string {
  return ids.length ? ids.map(esc).join(', ') : '—';
}

function actionCell(e: RequestEntry): string {
  return `<div class="muted">${esc(e.connection ?? '?')} · ${esc(e.operation ?? '?')}</div>${tagsCell(e.tags)}<code>${esc(e.summary)}</code>`;
}

function ruleCell(e: RequestEntry): string {
  const exec = e.executedUnder && e.executedUnder.policyHash !== e.policyHash ? `<div class="muted">executed under ${short(e.executedUnder.policyHash)}</div>` : '';
  return `${esc(e.effect ?? '?')}: ${list(e.rules)}<div class="muted">${short(e.policyHash)}</div>${exec}`;
}

function outcomeCell(e: RequestEntry): string {
  const detail = e.code && e.outcome !== 'succeeded' ? `<div class="muted">${esc(e.code)}${e.message ? `: ${esc(e.message)}` : ''}</div>` : '';
  return `<span class="outcome ${esc(e.outcome)}">${esc(e.outcome)}</span>${detail}`;
}

/** Who approved it; for a use of a scoped grant, which grant, who gave it on which request, and which use it was. */
function approversCell(e: RequestEntry): string {
  if (!e.grant) return list(e.approvers);
  const g = e.grant;
  const by = g.by.length ? ` given by ${list(g.by)}` : '';
  const on = g.grantedOn ? ` on <code>${esc(g.grantedOn)}</code>` : '';
  const use = g.use !== null && g.of !== null ? ` (use ${esc(g.use)} of ${esc(g.of)})` : '';
  return `grant <code>${esc(g.id ?? '?')}</code>${by}${on}${use}`;
}

function submitted(e: RequestEntry): string {
  return e.submittedAt ? `${esc(e.submittedAt)}${e.submittedInPeriod ? '' : '<div class="muted">before the period</div>'}` : '—';
}

function actionRows(entries: readonly RequestEntry[]): string[][] {
  return entries.map((e) => [
    `<code>${esc(e.id)}</code>`,
    who(e),
    esc(e.actsFor ?? '—'),
    actionCell(e),
    esc(e.reason),
    submitted(e),
    e.decidedAt ? `${esc(e.decidedAt)}<div class="muted">after ${esc(duration(e.timeToDecisionMs))}</div>` : '—',
    approversCell(e),
    ruleCell(e),
    outcomeCell(e),
  ]);
}

const ACTION_HEADERS = ['Request', 'Requester', 'Acting for', 'Action', "Agent's reason (unverified)", 'Submitted', 'Decided', 'Approvers', 'Policy rule / version', 'Outcome'];

function refusedRows(entries: readonly RequestEntry[], when: (e: RequestEntry) => string | null): string[][] {
  return entries.map((e) => [`<code>${esc(e.id)}</code>`, who(e), esc(e.actsFor ?? '—'), actionCell(e), esc(e.reason), submitted(e), esc(when(e) ?? '—'), list(e.rules), outcomeCell(e)]);
}

const REFUSED_HEADERS = ['Request', 'Requester', 'Acting for', 'Action', "Agent's reason (unverified)", 'Submitted', 'Ended', 'Rules', 'Outcome'];

function section(id: SectionId, body: string, intro = ''): string {
  return `<section id="${id}"><h2>${esc(SECTION_TITLES[id])}</h2>${intro ? `<p>${intro}</p>` : ''}${body}</section>`;
}

function stat(label: string, value: string | number, flag = false): string {
  return `<div class="stat${flag ? ' flag' : ''}"><div class="n">${esc(value)}</div><div>${esc(label)}</div></div>`;
}

function checkpointRows(cps: readonly CheckpointEntry[]): string[][] {
  const row = (c: CheckpointEntry) => [esc(c.size), `<code>${esc(c.root)}</code>`, esc(c.keyId), esc(c.createdAt)];
  if (cps.length <= 25) return cps.map(row);
  return [...cps.slice(0, 10).map(row), [`…`, esc(`${cps.length - 20} more in the JSON report`), '', ''], ...cps.slice(-10).map(row)];
}

const CSS = `
*{box-sizing:border-box}body{font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;margin:24px auto;max-width:1400px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:2px solid #1b1f24;padding-bottom:2px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}th,td{border:1px solid #c9ced6;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef1f5}code,pre{font:12px/1.35 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all}
pre{background:#f5f7fa;border:1px solid #c9ced6;padding:8px}.muted{color:#57606a;font-size:12px}.empty{color:#57606a;font-style:italic}
.tag{display:inline-block;border:1px solid #c9ced6;border-radius:3px;padding:0 4px;margin:1px 2px 1px 0;font-size:11px}
.stats{display:flex;flex-wrap:wrap;gap:8px}.stat{border:1px solid #c9ced6;padding:6px 10px;min-width:140px}.stat .n{font-size:20px;font-weight:600}
.stat.flag{border-color:#b42318;color:#b42318}.outcome{font-weight:600}.outcome.denied,.outcome.failed,.outcome.expired{color:#b42318}
.outcome.succeeded{color:#1a7f37}.meta td:first-child{width:220px;font-weight:600}.warn{border-left:4px solid #b42318;padding:4px 8px;background:#fff5f5}
@page{size:A4 landscape;margin:12mm}@media print{body{margin:0;max-width:none;font-size:10px}a{color:inherit;text-decoration:none}thead{display:table-header-group}tr{break-inside:avoid}h2{break-after:avoid}}
`;

/**
 * @example
 * writeFileSync('evidence.html', renderEvidenceHtml(await buildEvidence(store, { from, to, framework: 'soc2' })));
 */
export function renderEvidenceHtml(r: EvidenceReport): string {
  const s = r.summary;
  const c = r.coverage;
  const sod = r.sod;
  const title = `Evidence report — ${r.frameworkTitle}`;
  const meta = kv([
    ['Period', `${esc(r.period.from)} to ${esc(r.period.to)} <span class="muted">(from inclusive, to exclusive)</span>`],
    ['Framework', esc(r.frameworkTitle)],
    ['Generated', esc(r.generatedAt)],
    ['Audit events', c.firstSeq === null ? 'none in the period' : `${esc(c.firstSeq)}–${esc(c.lastSeq)} (${esc(c.events)} events)`],
    ['Scope', esc(r.scope)],
  ]);
  const findings = [
    ...(sod.selfApprovals > 0 ? [`${sod.selfApprovals} self-approval(s) recorded: ${sod.selfApprovalRequests.join(', ')}`] : []),
    ...(sod.nonHumanApprovals > 0 ? [`${sod.nonHumanApprovals} approval(s) recorded for a non-human principal`] : []),
    ...(s.breakGlassUnreviewed > 0 ? [`${s.breakGlassUnreviewed} break-glass run(s) without an after-the-fact review`] : []),
    ...(c.firstSeq !== null && !c.covered ? ['No signed checkpoint covers the last event of the period yet.'] : []),
  ];
  const summary = `<section id="summary"><h2>Summary</h2><div class="stats">${[
    stat('privileged actions', s.privilegedActions),
    stat('succeeded', s.succeeded),
    stat('failed', s.failed),
    stat('approved by humans', sod.approvedRequests - sod.grantApprovedRequests),
    ...(sod.grantApprovedRequests > 0 ? [stat('approved by a scoped grant', sod.grantApprovedRequests)] : []),
    stat('self-approvals', sod.selfApprovals, sod.selfApprovals > 0),
    stat('denied by policy', s.deniedByPolicy),
    stat('denied by reviewers', s.deniedByReview),
    stat('denied at execution', s.deniedAtExecution),
    stat('expired', s.expired),
    stat('cancelled', s.cancelled),
    stat('policy changes', s.policyChanges),
    stat('break-glass runs', s.breakGlass),
    stat('break-glass not reviewed', s.breakGlassUnreviewed, s.breakGlassUnreviewed > 0),
    stat('break-glass refused at run', s.breakGlassRefusedAtRun),
    stat('routine reads (not listed)', s.routineReads),
  ].join('')}</div>${findings.map((f) => `<p class="warn">${esc(f)}</p>`).join('')}</section>`;
  const controls = `<section id="controls"><h2>Control mapping</h2>${table(
    ['Control', 'Title', 'Evidence in this report', 'Why it is evidence'],
    r.controls.map((x) => [`<strong>${esc(x.control)}</strong>`, esc(x.title), x.sections.map((id) => `<a href="#${id}">${esc(SECTION_TITLES[id])}</a>`).join('<br>'), esc(x.rationale)]),
    'No controls.',
  )}</section>`;
  const tdd = sod.timeToDecision;
  const sodBody =
    table(
      ['Measure', 'Value'],
      [
        ['Requests held for approval', esc(sod.heldRequests)],
        ['Requests approved', `${esc(sod.approvedRequests)}${sod.grantApprovedRequests > 0 ? ` (${esc(sod.grantApprovedRequests)} by a scoped grant, without a review of their own)` : ''}`],
        ['Approving reviews / denying reviews', `${esc(sod.approvalReviews)} / ${esc(sod.denialReviews)}`],
        ['Self-approvals (requester or the human it acts for)', `<strong>${esc(sod.selfApprovals)}</strong>`],
        ['Self-approval attempts refused by the gateway', esc(sod.refusedSelfApprovals)],
        ['Approvals by non-human principals', esc(sod.nonHumanApprovals)],
        ['Reviews whose requester could not be checked', esc(sod.uncheckedReviews)],
        ['Requests approved by two or more distinct humans', esc(sod.multiApproverRequests)],
        ['Time to decision: median / p90 / max', `${esc(duration(tdd.medianMs))} / ${esc(duration(tdd.p90Ms))} / ${esc(duration(tdd.maxMs))} (${esc(tdd.count)} decisions)`],
      ],
      '',
    ) + table(['Approver', 'Requests approved'], sod.approvers.map((a) => [esc(a.id), esc(a.approvals)]), 'No approvals in the period.');
  const breakGlassBody = table(
    ['Request', 'At', 'By', 'Justification', 'Outcome', 'After-the-fact review'],
    r.breakGlass.map((b) => [
      `<code>${esc(b.id)}</code>`,
      esc(b.at),
      esc(b.by ?? '?'),
      esc(b.justification),
      esc(b.outcome),
      b.review ? `${esc(b.review.verdict === 'approve' ? 'warranted' : 'not warranted')} by ${esc(b.review.by ?? '?')} at ${esc(b.review.at)}${b.review.comment ? `: ${esc(b.review.comment)}` : ''}` : '<strong>not reviewed yet</strong>',
    ]),
    'Nobody broke the glass in the period.',
  ) +
    `<h3>Break-glass refused at run (${r.breakGlassRefusedAtRun.length})</h3><p class="muted">Refused by the check just before running, or expired first: nothing ran, so there is nothing to review after the fact.</p>` +
    table(
      ['Request', 'At', 'By', 'Justification', 'Refused', 'Why'],
      r.breakGlassRefusedAtRun.map((b) => [`<code>${esc(b.id)}</code>`, esc(b.at), esc(b.by ?? '?'), esc(b.justification), esc(b.refusedAt ?? '?'), `${esc(b.code ?? b.outcome)}${b.message ? `: ${esc(b.message)}` : ''}`]),
      'None.',
    );
  const d = r.denied;
  const deniedBody =
    `<h3>By policy (${d.byPolicy.length})</h3>${table(REFUSED_HEADERS, refusedRows(d.byPolicy, (e) => e.outcomeAt), 'None.')}` +
    `<h3>By reviewers (${d.byReview.length})</h3>${table([...REFUSED_HEADERS, 'Denied by'], refusedRows(d.byReview, (e) => e.outcomeAt).map((row, i) => [...row, list(d.byReview[i]!.deniers)]), 'None.')}` +
    `<h3>At execution, by the policy then in force (${d.atExecution.length})</h3>${table(REFUSED_HEADERS, refusedRows(d.atExecution, (e) => e.outcomeAt), 'None.')}`;
  const expiredBody =
    `<h3>Expired (${r.expired.length})</h3>${table(REFUSED_HEADERS, refusedRows(r.expired, (e) => e.outcomeAt), 'None.')}` +
    `<h3>Cancelled by the requester (${r.cancelled.length})</h3>${table(REFUSED_HEADERS, refusedRows(r.cancelled, (e) => e.outcomeAt), 'None.')}`;
  const policyBody = table(
    ['Seq', 'Time', 'Loaded by', 'From', 'To', 'Default', 'Rules', 'File'],
    r.policyChanges.map((p) => [esc(p.seq), esc(p.time), esc(p.actor ?? '—'), `<code>${esc(p.old ?? '(none)')}</code>`, `<code>${esc(p.new ?? '?')}</code>`, esc(p.default ?? '?'), p.rules.map((x) => `${esc(x.id)} <span class="muted">${esc(x.effect)}</span>`).join('<br>'), esc(p.file ?? '')]),
    'The policy did not change in the period.',
  );
  const covering = c.covered ? c.checkpoints[c.checkpoints.length - 1] : undefined;
  const integrityBody =
    kv([
      ['Events', c.firstSeq === null ? 'none' : `${esc(c.firstSeq)}–${esc(c.lastSeq)} (${esc(c.events)}), ${esc(c.firstTime)} to ${esc(c.lastTime)}`],
      ['Hash before the first event', `<code>${esc(c.prevHash ?? '(genesis)')}</code>`],
      ['Hash of the last event', `<code>${esc(c.lastHash ?? '—')}</code>`],
      ['Covered by a signed checkpoint', c.covered ? `yes, at size ${esc(covering?.size)}` : '<strong>no</strong>'],
    ]) +
    table(['Size', 'Merkle root', 'Key', 'Signed at'], checkpointRows(c.checkpoints), 'No signed checkpoint covers the period.') +
    (covering ? `<p>The checkpoint that covers the period, as signed:</p><pre>${esc(covering.note)}</pre>` : '') +
    `<p class="muted">Tie this report to the log: <code>countersign audit export --from ${esc(r.period.from)} --to ${esc(r.period.to)} --out bundle.tar</code>, then <code>countersign audit verify bundle.tar --verifier-key …</code> with the log's key; the bundle's events and checkpoints are those above.</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><header><h1>${esc(title)}</h1>${meta}</header>
${summary}
${controls}
${section('privileged-actions', table(ACTION_HEADERS, actionRows(r.actions), 'No privileged actions in the period.'))}
${section('separation-of-duties', sodBody, 'Counted from the review events themselves, not assumed from what the gateway enforces.')}
${section('break-glass', breakGlassBody, 'Requests run at once on one human\'s authority, without their approvals; each needs a review after the fact by another human.')}
${section('denied', deniedBody)}
${section('expired', expiredBody)}
${section('policy-changes', policyBody)}
${section('integrity', integrityBody)}
</body></html>
`;
}
