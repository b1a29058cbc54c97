/**
 * The HTML page shows agent- and reviewer-supplied text as text: a reason, an
 * SQL statement, a comment or a tag that carries markup renders escaped, and
 * the page loads nothing from anywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../adapters/store/sqlite/index.ts';
import type { Store } from '../core/ports.ts';
import { buildEvidence, type EvidenceReport } from '../service/evidence/index.ts';
import { agent, at, requestRecord } from '../../test/support/fixtures.ts';
import { duration, esc, renderEvidenceHtml } from './evidence-html.ts';

const HOSTILE_REASON = '<script>alert(1)</script> \u202e fix';
let store: Store;
let report: EvidenceReport;

beforeAll(async () => {
  store = createSqliteStore({ path: ':memory:' });
  const p = agent('deploy-bot', 'alice');
  const conn = { name: 'orders-db', kind: 'postgres' as const, tags: { env: '<b>prod</b>', data: 'pii' } };
  const rec = requestRecord({ id: 'req_x', createdAt: at(10), connection: conn });
  const t = (s: number) => at(s);
  await store.insertRequest(rec, [
    {
      type: 'request.submitted',
      time: t(10),
      requestId: 'req_x',
      actor: p.id,
      data: {
        principal: { id: p.id, kind: 'agent', actsFor: 'alice', groups: [] },
        connection: conn,
        operation: 'sql.query',
        input: { sql: `select '</code><img src=x onerror=alert(1)>'` },
        reason: HOSTILE_REASON,
        facts: { kind: 'postgres', writes: true },
        digest: rec.digest,
        decision: { effect: 'approve', rules: ['prod"><script>x</script>'], policyHash: `sha256:${'a'.repeat(64)}`, approvers: [] },
      },
    },
    { type: 'request.held', time: t(10), requestId: 'req_x', actor: null, data: {} },
  ]);
  await store.appendAudit([
    { type: 'review.recorded', time: t(70), requestId: 'req_x', actor: 'bob', data: { reviewer: { id: 'bob', kind: 'human' }, verdict: 'deny', comment: '<script>steal()</script>' } },
    { type: 'request.denied', time: t(70), requestId: 'req_x', actor: 'bob', data: { by: 'review' } },
  ]);
  report = await buildEvidence(store, { from: new Date(at(0)), to: new Date(at(3600)), framework: 'soc2', clock: { now: () => new Date(at(4000)) } });
});

afterAll(async () => {
  await store.close();
});

describe('renderEvidenceHtml', () => {
  it('renders markup from agents and reviewers as text', () => {
    const html = renderEvidenceHtml(report);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;script&gt;steal()&lt;/script&gt;');
    expect(html).toContain('&lt;/code&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('env: &lt;b&gt;prod&lt;/b&gt;');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toContain('<b>');
  });

  it('heads the reason column as the agent’s unverified claim, not as a fact', () => {
    const html = renderEvidenceHtml(report);
    expect(html).toContain('<th>Agent&#39;s reason (unverified)</th>');
    expect(html).not.toContain('<th>Reason</th>');
  });

  it('shows a text-direction override as an escape, not as a reordering of what follows', () => {
    const html = renderEvidenceHtml(report);
    expect(html).not.toContain('\u202e');
    expect(html).toContain('\\u{202e} fix');
  });

  it('is self-contained: inline style, no scripts, nothing loaded from elsewhere', () => {
    const html = renderEvidenceHtml(report);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).toContain('@media print');
  });

  it('names the period, the framework, its controls and each section the controls point at', () => {
    const html = renderEvidenceHtml(report);
    expect(html).toContain(`${at(0)} to ${at(3600)}`);
    expect(html).toContain('SOC 2');
    expect(html).toContain(at(4000));
    for (const id of ['CC6.1', 'CC6.2', 'CC6.3', 'CC7.2', 'CC8.1']) expect(html).toContain(`<strong>${id}</strong>`);
    for (const id of ['privileged-actions', 'separation-of-duties', 'denied', 'expired', 'policy-changes', 'integrity']) {
      expect(html).toContain(`<section id="${id}">`);
      expect(html).toContain(`href="#${id}"`);
    }
  });
});

describe('esc and duration', () => {
  it('escapes the five HTML characters', () => {
    expect(esc(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(esc(null)).toBe('');
  });

  it('says durations the way people read them', () => {
    expect(duration(null)).toBe('—');
    expect(duration(850)).toBe('850 ms');
    expect(duration(42_000)).toBe('42 s');
    expect(duration(185_000)).toBe('3 min 05 s');
    expect(duration(2 * 3600_000 + 3 * 60_000)).toBe('2 h 03 min');
    expect(duration(26 * 3600_000)).toBe('1 d 02 h');
  });
});
