import { describe, expect, it } from 'vitest';
import { controlsFor } from './controls.ts';
import { decisionTimes, inputSummary, isPersonalData } from './summary.ts';

describe('inputSummary', () => {
  it('names the statement kinds first when it shows only the first line, so a write on a later one is said', () => {
    const facts = { kind: 'postgres', sql: { statements: [{ type: 'select' }, { type: 'delete' }] } };
    expect(inputSummary({ sql: 'SELECT count(*) FROM orders -- read-only report\nDELETE FROM orders' }, facts)).toBe('(DELETE, SELECT) SELECT count(*) FROM orders -- read-only report …');
    expect(inputSummary({ sql: `SELECT 1; /* ${'x'.repeat(300)} */ DELETE FROM orders` }, facts)).toMatch(/^\(DELETE, SELECT\) SELECT 1; \/\* x+…$/);
    expect(inputSummary({ sql: 'SELECT 1' }, { kind: 'postgres', sql: { statements: [{ type: 'select' }] } })).toBe('SELECT 1');
  });

  it('gives the first non-empty line of SQL, marking that more follows', () => {
    expect(inputSummary({ sql: '\n  UPDATE orders SET status = $1\n WHERE id = $2' }, { kind: 'postgres' })).toBe('UPDATE orders SET status = $1 …');
    expect(inputSummary({ sql: 'select 1' }, {})).toBe('select 1');
  });

  it('gives METHOD path for HTTP, without headers or body', () => {
    expect(inputSummary({ method: 'post', path: '/refunds', headers: { 'x-api-key': '[redacted]' }, body: { a: 1 } }, {})).toBe('POST /refunds');
  });

  it('gives the tool and its arguments for an MCP call', () => {
    expect(inputSummary({ tool: 'write_file', arguments: { path: '/srv/a.txt', content: 'x' } }, { kind: 'mcp' })).toBe('write_file {"path":"/srv/a.txt","content":"x"}');
  });

  it('gives the argv the gateway ran for exec, quoting words with spaces', () => {
    expect(inputSummary({ args: ['rollout', 'restart', 'deploy/web app'] }, { exec: { argv: ['kubectl', 'rollout', 'restart', 'deploy/web app'] } })).toBe(
      'kubectl rollout restart "deploy/web app"',
    );
    expect(inputSummary({ args: ['get', 'pods'] }, {})).toBe('get pods');
  });

  it('keeps the line short', () => {
    expect(inputSummary({ sql: `select ${'x'.repeat(500)}` }, {}).length).toBe(160);
  });
});

describe('isPersonalData', () => {
  it('is true for data: pii or personal, or compliance naming gdpr', () => {
    expect(isPersonalData({ data: 'pii' })).toBe(true);
    expect(isPersonalData({ data: 'Personal' })).toBe(true);
    expect(isPersonalData({ compliance: ['soc2', 'gdpr'] })).toBe(true);
    expect(isPersonalData({ compliance: 'GDPR' })).toBe(true);
  });

  it('is false otherwise', () => {
    expect(isPersonalData({ env: 'prod', compliance: ['soc2'] })).toBe(false);
    expect(isPersonalData({ data: 'public' })).toBe(false);
    expect(isPersonalData({})).toBe(false);
  });
});

describe('decisionTimes', () => {
  it('takes the median of the middle two for an even count and p90 by nearest rank', () => {
    expect(decisionTimes([660_000, 100_000, 300_000, 120_000])).toEqual({ count: 4, medianMs: 210_000, p90Ms: 660_000, maxMs: 660_000 });
    expect(decisionTimes([5, 1, 3])).toEqual({ count: 3, medianMs: 3, p90Ms: 5, maxMs: 5 });
    const ten = Array.from({ length: 10 }, (_, i) => (i + 1) * 1000);
    expect(decisionTimes(ten).p90Ms).toBe(9000);
  });

  it('is empty without decisions', () => {
    expect(decisionTimes([])).toEqual({ count: 0, medianMs: null, p90Ms: null, maxMs: null });
  });
});

describe('controlsFor', () => {
  it('maps each framework to the controls the issue names', () => {
    expect(controlsFor('soc2').map((c) => c.control)).toEqual(['CC6.1', 'CC6.2', 'CC6.3', 'CC7.2', 'CC8.1']);
    expect(controlsFor('iso27001').map((c) => c.control)).toEqual(['A.5.15', 'A.5.18', 'A.8.2', 'A.8.15', 'A.8.32']);
    expect(controlsFor('gdpr').map((c) => c.control)).toEqual(['Art. 30', 'Art. 32']);
  });

  it('points change management at the policy changes and GDPR Art. 30 at the privileged actions', () => {
    expect(controlsFor('soc2').find((c) => c.control === 'CC8.1')?.sections).toEqual(['policy-changes']);
    expect(controlsFor('iso27001').find((c) => c.control === 'A.8.32')?.sections).toEqual(['policy-changes']);
    expect(controlsFor('gdpr').find((c) => c.control === 'Art. 30')?.sections).toEqual(['privileged-actions']);
  });
});
