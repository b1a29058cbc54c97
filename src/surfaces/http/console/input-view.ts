/**
 * The exact action, shown the way its kind reads best: SQL highlighted with
 * its parameters, an HTTP call, the argv the gateway will run, an MCP tool
 * and its arguments — and the facts the gateway derived from it. Header
 * values the agent sent are already `[redacted]` by the core. What is shown
 * is bounded (about RENDER_LIMIT characters of input, nesting past a fixed
 * depth compact): a larger input is cut, says so, and links to the exact
 * input as a download, so a page never grows with what an agent sent.
 */
import { boundedJson, cutText } from '../../../core/bounded-text.ts';
import { redactInput } from '../../../core/action.ts';
import type { Facts } from '../../../core/facts.ts';
import { oneLine } from '../../../core/line-comments.ts';
import { nameText } from '../../../core/name-text.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { SESSION_LABEL, sessionLines, sessionShown } from '../../../core/session-shown.ts';
import { mcpCall } from './format.ts';
import { html, type Html } from './html.ts';
import { highlightSql } from './sql-highlight.ts';

/** Characters of input text shown before it is cut. */
export const RENDER_LIMIT = 16_384;
/** Characters of any one short value (a path, a header, an argument). */
const VALUE_LIMIT = 1024;
/** Entries of a list (query pairs, headers, argv, statements) shown. */
const LIST_LIMIT = 100;

/** What was shown and whether anything was cut on the way. */
interface Shown {
  cut: boolean;
}

function pairs(rows: readonly [string, Html | string][], label: string): Html {
  if (rows.length === 0) return html``;
  return html`<dl class="pairs" aria-label="${label}">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

const list = (xs: readonly string[]) => (xs.length ? html`${xs.slice(0, LIST_LIMIT).map((x, i) => html`${i ? ', ' : ''}<code>${cutText(x, VALUE_LIMIT).text}</code>`)}${xs.length > LIST_LIMIT ? ` and ${xs.length - LIST_LIMIT} more` : ''}` : html`<span class="none">none</span>`);
/**
 * A derived name (a table, a function, a tool) on one line, quoted when it is more than an identifier's characters
 * and its breaks shown as ` ⏎ ` (core/name-text.ts), as the chat cards and the CLI show it: inline code joins a
 * name's lines into one, so `read_config` then the lines of a harmless call's arguments read as that call.
 */
const nameShown = (name: string) => oneLine(nameText(name));
const names = (xs: readonly string[]) => list(xs.map(nameShown));
const yesNo = (b: boolean | null) => (b === null ? 'n/a' : b ? 'yes' : 'no');

function short(s: Shown, text: string, max = VALUE_LIMIT): string {
  const c = cutText(text, max);
  if (c.cut) s.cut = true;
  return c.cut ? `${c.text}…` : c.text;
}

function some<T>(s: Shown, xs: readonly T[]): readonly T[] {
  if (xs.length > LIST_LIMIT) s.cut = true;
  return xs.slice(0, LIST_LIMIT);
}

function jsonBlock(s: Shown, value: unknown): Html {
  const j = boundedJson(value, RENDER_LIMIT);
  if (j.cut) s.cut = true;
  return html`<pre class="code"><code>${j.text}${j.cut ? '…' : ''}</code></pre>`;
}

/**
 * How the wire session a statement came from differs from a new one (core/session-shown.ts), for the page's head:
 * the same text means something else there. Nothing when it does not.
 */
export function sessionView(r: Pick<RequestRecord, 'context'>): Html {
  const shown = sessionShown(r);
  if (!shown) return html``;
  const s: Shown = { cut: false };
  const lines = some(s, sessionLines(shown));
  return html`<div class="session-state" role="note"><p><strong>${SESSION_LABEL}</strong> — the statement is read as these settings and objects make it:</p>
<ul>${lines.map((l) => html`<li><code>${short(s, l)}</code></li>`)}</ul>${s.cut ? html`<p class="small">More in the audit log (request.submitted, its context).</p>` : ''}</div>`;
}

/** The link to the whole input, shown when the page shows less than all of it. */
export function downloadLink(r: Pick<RequestRecord, 'id'>): Html {
  return html`<p class="notice truncated" role="note">Truncated — <a href="/requests/${r.id}/input.json" download>download the full input</a> (JSON).</p>`;
}

function inputBody(r: RequestRecord, s: Shown): Html {
  const input = redactInput(r.action.input);
  const mcp = mcpCall(r);
  if (mcp) {
    return html`<p>MCP tool <code class="tool">${short(s, nameShown(mcp.tool))}</code> (<code>${r.action.operation}</code>) with arguments:</p>${jsonBlock(s, mcp.args)}`;
  }
  if ('sql' in input) {
    const params = input.params ?? [];
    return html`<pre class="code sql"><code>${highlightSql(short(s, input.sql, RENDER_LIMIT))}</code></pre>${
      params.length ? html`<h3>Parameters</h3>${pairs(some(s, params).map((p, i) => [`$${i + 1}`, html`<code>${short(s, JSON.stringify(p) ?? 'null')}</code>`]), 'SQL parameters')}` : ''
    }${
      input.copy
        ? html`<h3>COPY data</h3>${pairs(
            [
              ['bytes', html`<code>${String(input.copy.bytes)}</code>`],
              ['lines', html`<code>${String(input.copy.lines)}</code>`],
              ['sha256', html`<code>${input.copy.sha256}</code>`],
            ],
            'COPY data',
          )}<p>It starts:</p><pre class="code"><code>${short(s, input.copy.preview, RENDER_LIMIT)}</code></pre>`
        : ''
    }`;
  }
  if ('method' in input) {
    const query = Object.entries(input.query ?? {}).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one): [string, Html] => [short(s, k), html`<code>${short(s, one)}</code>`]));
    const headers = Object.entries(input.headers ?? {}).map(([k, v]): [string, Html] => [short(s, k), html`<code>${short(s, v)}</code>`]);
    return html`<p class="http-line"><strong class="method">${short(s, input.method)}</strong> <code class="path">${short(s, input.path, 4 * VALUE_LIMIT)}</code></p>
${query.length ? html`<h3>Query</h3>${pairs(some(s, query), 'query parameters')}` : ''}
${headers.length ? html`<h3>Headers</h3>${pairs(some(s, headers), 'headers')}` : ''}
${input.body !== undefined ? html`<h3>Body</h3>${typeof input.body === 'string' ? html`<pre class="code"><code>${short(s, input.body, RENDER_LIMIT)}</code></pre>` : jsonBlock(s, input.body)}` : ''}`;
  }
  if ('args' in input) {
    const argv = r.facts.exec.argv.length ? r.facts.exec.argv : input.args;
    return html`<p>Runs one allow-listed binary with this argv (never a shell):</p>
<ol class="argv" start="0">${some(s, argv).map((a) => html`<li><code>${short(s, a)}</code></li>`)}</ol>`;
  }
  return jsonBlock(s, input);
}

/** The action's input, by kind, bounded; cut input ends with the download link. */
export function inputView(r: RequestRecord): Html {
  const s: Shown = { cut: false };
  const body = inputBody(r, s);
  return html`${body}${s.cut ? downloadLink(r) : ''}`;
}

/** The facts of the action's kind (the others are neutral by construction), then all of them (bounded). */
export function factsView(facts: Facts): Html {
  const s: Shown = { cut: false };
  let rows: [string, Html | string][] = [['writes', yesNo(facts.writes)]];
  if (facts.kind === 'postgres') {
    const q = facts.sql;
    rows = rows.concat([
      ['statements', html`${some(s, q.statements).map((st, i) => html`${i ? '; ' : ''}<code>${st.type}</code> ${names(st.tables)}${st.hasWhere === false ? ' (no WHERE)' : ''}`)}${q.statements.length > LIST_LIMIT ? ` and ${q.statements.length - LIST_LIMIT} more` : ''}`],
      ['tables', names(q.tables)],
      ['read-only', yesNo(q.readOnly)],
      ['DDL', yesNo(q.ddl)],
      ['privileges', yesNo(q.privilege)],
      ['unbounded write', yesNo(q.unboundedWrite)],
      ['functions', names(q.functions)],
    ]);
  } else if (facts.kind === 'http') {
    rows = rows.concat([
      ['method', html`<code>${short(s, facts.http.method)}</code>`],
      ['path', html`<code>${short(s, facts.http.path, 4 * VALUE_LIMIT)}</code>`],
      ['query', list(Object.entries(facts.http.query).map(([k, v]) => `${k}=${v.join(',')}`))],
    ]);
  } else if (facts.kind === 'exec') {
    rows = rows.concat([
      ['command', html`<code>${short(s, facts.exec.command)}</code>`],
      ['subcommand', facts.exec.subcommand ? html`<code>${short(s, facts.exec.subcommand)}</code>` : html`<span class="none">none knowable</span>`],
    ]);
  }
  const all = boundedJson(facts, RENDER_LIMIT);
  return html`${pairs(rows, 'facts')}<details><summary>All facts as the policy saw them</summary><pre class="code"><code>${all.text}${all.cut ? '…' : ''}</code></pre>${all.cut ? html`<p class="small">Cut at ${RENDER_LIMIT} characters.</p>` : ''}</details>`;
}
