/**
 * Every Metrics adapter against the contract: prom-client's (over a real
 * SQLite store for its scrape-time gauges) and the no-op one. Then what only
 * prom-client's does: the gauges it reads from the store when scraped.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { metricsContract } from '../../../test/contract/metrics.ts';
import { manualClock } from '../../../test/support/clock.ts';
import { parseExposition, valueOf } from '../../../test/support/exposition.ts';
import { auditDraft, at, FIXTURE_TIME, requestRecord } from '../../../test/support/fixtures.ts';
import { createSqliteStore } from '../store/sqlite/store.ts';
import type { RefusalReason } from '../../core/refusals.ts';
import { noopMetrics } from './noop.ts';
import { createPromMetrics } from './prom.ts';

const log = pino({ level: 'silent' });

metricsContract(
  'prom-client',
  () => {
    const metrics = createPromMetrics({ store: createSqliteStore({ path: ':memory:' }), clock: manualClock(), channels: [], log });
    return { metrics, scrape: async () => (await metrics.expose()).body };
  },
  { exposes: true },
);

metricsContract('no-op', () => ({ metrics: noopMetrics, scrape: async () => undefined }), { exposes: false });

describe('prom-client metrics, label values', () => {
  it('keeps a refusal reason or surface outside the known sets out of the labels, as other', async () => {
    const metrics = createPromMetrics({ store: createSqliteStore({ path: ':memory:' }), clock: manualClock(), channels: [], log });
    metrics.authFailure('key.unknown', 'rest');
    metrics.authFailure('x-agent-wrote-this' as RefusalReason, 'x-nor-this');
    const text = (await metrics.expose()).body;
    const m = parseExposition(text);
    expect(valueOf(m, 'countersign_auth_failures_total', { reason: 'key.unknown', surface: 'rest' })).toBe(1);
    expect(valueOf(m, 'countersign_auth_failures_total', { reason: 'other', surface: 'other' })).toBe(1);
    expect(text).not.toContain('x-agent-wrote-this');
    expect(text).not.toContain('x-nor-this');
  });
});

describe('prom-client metrics, at scrape time', () => {
  it('reads pending requests and the outbox from the store, per configured channel, and gives NaN (not 0) while the store fails', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    const clock = manualClock(FIXTURE_TIME.getTime());
    const metrics = createPromMetrics({ store, clock, channels: ['slack', 'teams'], log });
    const scrape = async () => parseExposition((await metrics.expose()).body);

    let m = await scrape();
    expect(valueOf(m, 'countersign_requests_pending')).toBe(0);
    expect(valueOf(m, 'countersign_channel_up', { channel: 'slack' })).toBe(1);
    expect(valueOf(m, 'countersign_outbox_pending', { channel: 'teams' })).toBe(0);

    await store.insertRequest(requestRecord({ createdAt: at(-45) }), [auditDraft('request.held', null)]);
    await store.insertRequest(requestRecord({ createdAt: at(-5) }), [auditDraft('request.held', null)]);
    m = await scrape();
    expect(valueOf(m, 'countersign_requests_pending')).toBe(2);
    expect(valueOf(m, 'countersign_requests_oldest_pending_seconds')).toBe(45);
    clock.advance(15_000);
    expect(valueOf(await scrape(), 'countersign_requests_oldest_pending_seconds')).toBe(60);

    await store.close();
    m = await scrape();
    expect(valueOf(m, 'countersign_requests_pending')).toBeNaN();
    expect(valueOf(m, 'countersign_requests_oldest_pending_seconds')).toBeNaN();
    expect(valueOf(m, 'countersign_channel_up', { channel: 'slack' })).toBeNaN();
    expect(valueOf(m, 'countersign_outbox_pending', { channel: 'teams' })).toBeNaN();
  });
});
