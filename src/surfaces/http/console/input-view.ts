/**
 * The exact action, shown the way its kind reads best: SQL highlighted with
 * its parameters, an HTTP call, the argv the gateway will run, an MCP tool
 * and its arguments — and the facts the gateway derived from it. Header
 * values the agent sent are already `[redacted]` by the core.
 */
import { redactInput } from '../../../core/action.ts';
import type { Facts } from '../../../core/facts.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { mcpCall } from './format.ts';
import { html, json, type Html } from './html.ts';
import { highlightSql } from './sql-highlight.ts';

function pairs(rows: readonly [string, Html | string][], label: string): Html {
  if (rows.length === 0) return html``;
  return html`<dl class="pairs" aria-label="${label}">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

const list = (xs: readonly string[]) => (xs.length ? html`${xs.map((x, i) => html`${i ? ', ' : ''}<code>${x}</code>`)}` : html`<span class="none">none</span>`);
const yesNo = (b: boolean | null) => (b === null ? 'n/a' : b ? 'yes' : 'no');

/** The action's input, by kind. */
export function inputView(r: RequestRecord): Html {
  const input = redactInput(r.action.input);
  const mcp = mcpCall(r);
  if (mcp) {
    return html`<p>MCP tool <code class="tool">${mcp.tool}</code> (<code>${r.action.operation}</code>) with arguments:</p><pre class="code"><code>${json(mcp.args)}</code></pre>`;
  }
  if ('sql' in input) {
    const params = input.params ?? [];
    return html`<pre class="code sql"><code>${highlightSql(input.sql)}</code></pre>${
      params.length ? html`<h3>Parameters</h3>${pairs(params.map((p, i) => [`$${i + 1}`, html`<code>${JSON.stringify(p)}</code>`]), 'SQL parameters')}` : ''
    }`;
  }
  if ('method' in input) {
    const query = Object.entries(input.query ?? {}).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one): [string, Html] => [k, html`<code>${one}</code>`]));
    const headers = Object.entries(input.headers ?? {}).map(([k, v]): [string, Html] => [k, html`<code>${v}</code>`]);
    return html`<p class="http-line"><strong class="method">${input.method}</strong> <code class="path">${input.path}</code></p>
${query.length ? html`<h3>Query</h3>${pairs(query, 'query parameters')}` : ''}
${headers.length ? html`<h3>Headers</h3>${pairs(headers, 'headers')}` : ''}
${input.body !== undefined ? html`<h3>Body</h3><pre class="code"><code>${json(input.body)}</code></pre>` : ''}`;
  }
  if ('args' in input) {
    const argv = r.facts.exec.argv.length ? r.facts.exec.argv : input.args;
    return html`<p>Runs one allow-listed binary with this argv (never a shell):</p>
<ol class="argv" start="0">${argv.map((a) => html`<li><code>${a}</code></li>`)}</ol>`;
  }
  return html`<pre class="code"><code>${json(input)}</code></pre>`;
}

/** The facts of the action's kind (the others are neutral by construction), then all of them. */
export function factsView(facts: Facts): Html {
  let rows: [string, Html | string][] = [['writes', yesNo(facts.writes)]];
  if (facts.kind === 'postgres') {
    const s = facts.sql;
    rows = rows.concat([
      ['statements', html`${s.statements.map((st, i) => html`${i ? '; ' : ''}<code>${st.type}</code> ${list(st.tables)}${st.hasWhere === false ? ' (no WHERE)' : ''}`)}`],
      ['tables', list(s.tables)],
      ['read-only', yesNo(s.readOnly)],
      ['DDL', yesNo(s.ddl)],
      ['privileges', yesNo(s.privilege)],
      ['unbounded write', yesNo(s.unboundedWrite)],
      ['functions', list(s.functions)],
    ]);
  } else if (facts.kind === 'http') {
    rows = rows.concat([
      ['method', html`<code>${facts.http.method}</code>`],
      ['path', html`<code>${facts.http.path}</code>`],
      ['query', list(Object.entries(facts.http.query).map(([k, v]) => `${k}=${v.join(',')}`))],
    ]);
  } else if (facts.kind === 'exec') {
    rows = rows.concat([
      ['command', html`<code>${facts.exec.command}</code>`],
      ['subcommand', facts.exec.subcommand ? html`<code>${facts.exec.subcommand}</code>` : html`<span class="none">none knowable</span>`],
    ]);
  }
  return html`${pairs(rows, 'facts')}<details><summary>All facts as the policy saw them</summary><pre class="code"><code>${json(facts)}</code></pre></details>`;
}
