/**
 * The Metrics contract: every call of the port is taken as it comes — odd
 * durations (a clock stepped back, NaN) included — and never throws into a
 * use case; an adapter that exposes metrics moves each family by exactly
 * what it was told, as one valid group per family, and one that exposes
 * nothing (metrics off) answers no scrape.
 */
import { describe, expect, it } from 'vitest';
import type { Metrics } from '../../src/core/ports.ts';
import { parseExposition, valueOf, type Family } from '../support/exposition.ts';

export interface MetricsUnderTest {
  metrics: Metrics;
  /** The exposition as a scrape would get it; undefined when the adapter exposes nothing. */
  scrape(): Promise<string | undefined>;
}

/** `exposes`: the adapter answers scrapes (prom-client's does; the no-op one does not). */
export function metricsContract(name: string, make: () => MetricsUnderTest, opts: { exposes: boolean }): void {
  describe(`Metrics contract: ${name}`, () => {
    const read = async (sut: MetricsUnderTest): Promise<Map<string, Family>> => {
      const text = await sut.scrape();
      if (!opts.exposes) {
        expect(text).toBeUndefined();
        return new Map();
      }
      expect(typeof text).toBe('string');
      return parseExposition(text!);
    };

    it('takes every call, with durations a clock step made negative or not a number, without throwing', async () => {
      const { metrics } = make();
      for (const s of [0, 0.001, 3600, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => metrics.decided('approved', s)).not.toThrow();
        expect(() => metrics.upstream('http', 'billing-api', s, true)).not.toThrow();
        expect(() => metrics.auditAppend(s)).not.toThrow();
      }
      expect(() => metrics.requestSettled('billing-api', 'allow', 'succeeded')).not.toThrow();
      expect(() => metrics.policyError('broken')).not.toThrow();
      expect(() => metrics.authFailure('key.unknown', 'rest')).not.toThrow();
      expect(() => metrics.waitRefused('rest')).not.toThrow();
    });

    it('moves each family by exactly what it was told' + (opts.exposes ? '' : ' (here: exposes nothing)'), async () => {
      const sut = make();
      const before = await read(sut);
      const m = sut.metrics;
      m.requestSettled('billing-api', 'allow', 'succeeded');
      m.requestSettled('billing-api', 'allow', 'succeeded');
      m.requestSettled('billing-api', 'approve', 'expired');
      m.decided('approved', 90);
      m.decided('denied', 7200);
      m.upstream('http', 'billing-api', 0.2, true);
      m.upstream('http', 'billing-api', 3, false);
      m.policyError('broken');
      m.auditAppend(0.004);
      m.auditAppend(-1);
      m.authFailure('token.expired', 'mcp');
      m.waitRefused('rest');
      m.waitRefused('a surface no one knows');
      const after = await read(sut);
      if (!opts.exposes) return;
      const moved = (name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels) - valueOf(before, name, labels);
      expect(moved('countersign_requests_total', { connection: 'billing-api', effect: 'allow', status: 'succeeded' })).toBe(2);
      expect(moved('countersign_requests_total', { connection: 'billing-api', effect: 'approve', status: 'expired' })).toBe(1);
      expect(moved('countersign_decision_seconds_count', { decision: 'approved' })).toBe(1);
      expect(moved('countersign_decision_seconds_sum', { decision: 'approved' })).toBe(90);
      expect(moved('countersign_decision_seconds_bucket', { decision: 'approved', le: '60' })).toBe(0);
      expect(moved('countersign_decision_seconds_bucket', { decision: 'approved', le: '120' })).toBe(1);
      expect(moved('countersign_decision_seconds_sum', { decision: 'denied' })).toBe(7200);
      expect(moved('countersign_upstream_duration_seconds_count', { kind: 'http', connection: 'billing-api', outcome: 'ok' })).toBe(1);
      expect(moved('countersign_upstream_duration_seconds_sum', { kind: 'http', connection: 'billing-api', outcome: 'error' })).toBe(3);
      expect(moved('countersign_upstream_duration_seconds_bucket', { kind: 'http', connection: 'billing-api', outcome: 'ok', le: '0.25' })).toBe(1);
      expect(moved('countersign_policy_errors_total', { rule: 'broken' })).toBe(1);
      expect(moved('countersign_audit_append_duration_seconds_count')).toBe(2);
      // A negative duration counts as 0: in the first bucket, adding nothing to the sum.
      expect(moved('countersign_audit_append_duration_seconds_sum')).toBeCloseTo(0.004, 9);
      expect(moved('countersign_audit_append_duration_seconds_bucket', { le: '0.0005' })).toBe(1);
      expect(moved('countersign_auth_failures_total', { reason: 'token.expired', surface: 'mcp' })).toBe(1);
      expect(moved('countersign_waits_refused_total', { surface: 'rest' })).toBe(1);
      expect(moved('countersign_waits_refused_total', { surface: 'other' })).toBe(1);
    });
  });
}
