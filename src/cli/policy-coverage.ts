/**
 * `countersign policy coverage`: the coverage map of a config's policy — who
 * can do what, on which connection, with no human in the loop — read from the
 * config alone (no gateway, no store), so it runs in CI on the policy's own
 * repository. `--json` prints the map as GET /v1/policy/coverage answers it;
 * `--fail-on-unreviewed-prod` exits 1 when some write on an `env: prod`
 * connection can run without review.
 */
import { loadConfig } from '../config/load.ts';
import { coverageSubjects } from '../config/coverage-subjects.ts';
import type { CoverageCell, CoverageMap } from '../core/policy/coverage.ts';
import { cellSentences, cellText } from '../core/policy/coverage-text.ts';
import { createPolicyDeps } from '../main-policy.ts';
import { policyCoverage } from '../service/coverage.ts';
import { safe } from './output.ts';
import type { CliIo } from './io.ts';

/** The exit code when `--fail-on-unreviewed-prod` finds a cell (2 stays bad usage or configuration). */
export const UNREVIEWED_PROD_EXIT = 1;

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** The map as tables, one per connection, then the details of every uncertain or flagged cell. */
export function coverageText(map: CoverageMap): string {
  const out: string[] = [`Policy ${map.policyHash} (no match: ${map.default})`, 'Cells: allow, hold (approval), deny; a|b: depends on the action; ! = a write on env:prod that can run with no review', ''];
  for (const conn of map.connections) {
    const tags = Object.entries(conn.tags).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(' ');
    out.push(`${conn.name} (${conn.kind})${tags ? ` ${tags}` : ''}${conn.prod ? '  [PROD]' : ''}`);
    const labelWidth = Math.max(4, ...map.rows.map((r) => r.label.length)) + 2;
    const widths = conn.classes.map((c) => Math.max(c.id.length, ...map.cells.filter((x) => x.connection === conn.name && x.class === c.id).map((x) => cellText(x).length)) + 2);
    out.push(`  ${pad('', labelWidth)}${conn.classes.map((c, i) => pad(c.id, widths[i] ?? 0)).join('')}`.trimEnd());
    for (const row of map.rows) {
      const cells = conn.classes.map((c, i) => pad(cellText(map.cells.find((x) => x.row === row.key && x.connection === conn.name && x.class === c.id) as CoverageCell), widths[i] ?? 0));
      out.push(`  ${pad(row.label, labelWidth)}${cells.join('')}`.trimEnd());
    }
    out.push('');
  }
  const details = map.cells.filter((c) => c.possible.length > 1 || c.unreviewedProd || c.certain === 'approve');
  if (details.length) out.push('Details');
  for (const c of details) {
    const row = map.rows.find((r) => r.key === c.row);
    out.push(`  ${row?.label ?? c.row} · ${c.connection} · ${c.class}${c.unreviewedProd ? '  UNREVIEWED ON PROD' : ''}`);
    for (const line of cellSentences(c)) out.push(`    - ${line}`);
  }
  out.push('', map.unreviewedProd ? `${map.unreviewedProd} cell(s) can run a write on env:prod with no review` : 'No write on env:prod can run without review');
  return `${out.join('\n')}\n`;
}

export async function policyCoverageCommand(configPath: string, opts: { json?: boolean; failOnUnreviewedProd?: boolean }, io: CliIo): Promise<number> {
  const config = loadConfig(configPath, io.env);
  const deps = await createPolicyDeps(config);
  const map = policyCoverage(deps, coverageSubjects(config));
  io.stdout.write(opts.json ? `${JSON.stringify(map, null, 2)}\n` : safe(coverageText(map)));
  return opts.failOnUnreviewedProd && map.unreviewedProd > 0 ? UNREVIEWED_PROD_EXIT : 0;
}
