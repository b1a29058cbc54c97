import { describe, expect, it } from 'vitest';
import { tracingSchema } from '../../config/tracing-schema.ts';
import type { Log } from '../../core/ports.ts';
import { createTracing, logWithRequest } from './index.ts';

function logger(level: 'debug' | 'info') {
  const lines: Record<string, unknown>[] = [];
  const write = (obj: Record<string, unknown>) => void lines.push(obj);
  const log: Log & { isLevelEnabled: (l: string) => boolean } = {
    debug: write,
    info: write,
    warn: write,
    error: write,
    isLevelEnabled: (l) => (level === 'debug' ? true : l !== 'debug'),
  };
  return { log, lines };
}

describe('tracing off', () => {
  it('at debug, puts the request id of the work in progress on its log lines', async () => {
    const { log, lines } = logger('debug');
    const tracing = await createTracing(tracingSchema.parse({}), log);
    const withId = logWithRequest(log, tracing.currentRequest);
    await tracing.serve('call', {}, undefined, async () => {
      tracing.request('req_1');
      await Promise.resolve();
      withId.debug({ step: 'after await' }, 'x');
    });
    withId.debug({ step: 'outside' }, 'y');
    expect(lines).toEqual([{ requestId: 'req_1', step: 'after await' }, { step: 'outside' }]);
  });

  it('above debug, carries no request id, and lines that name their request keep it', async () => {
    const { log, lines } = logger('info');
    const tracing = await createTracing(tracingSchema.parse({}), log);
    const withId = logWithRequest(log, tracing.currentRequest);
    const answer = await tracing.serve('call', {}, undefined, async () => {
      tracing.request('req_2');
      withId.warn({ step: 'unnamed' }, 'x');
      withId.error({ requestId: 'req_2', step: 'named' }, 'y');
      return 42;
    });
    expect(answer).toBe(42);
    expect(tracing.currentRequest()).toBeUndefined();
    expect(lines).toEqual([{ step: 'unnamed' }, { requestId: 'req_2', step: 'named' }]);
  });
});
