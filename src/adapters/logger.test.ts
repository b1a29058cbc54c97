import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions } from './logger.ts';

const PASSWORD = 'pg-Pw7Lq2Zx9Vn4';
const TOKEN = 'tok_live_8Hs3Kd0Qw5Rt';

function logged(fn: (log: pino.Logger) => void, secrets: readonly string[] = [PASSWORD, TOKEN]): string {
  const lines: string[] = [];
  fn(pino(loggerOptions('trace', secrets), { write: (l: string) => void lines.push(l) }));
  return lines.join('');
}

describe("the gateway's logger", () => {
  it('writes no secret the configuration holds, wherever a library error put it', () => {
    const out = logged((log) => {
      const refused = new TypeError(`Request cannot be constructed from a URL that includes credentials: http://svc:${PASSWORD}@db.internal/hook`);
      const client = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432', { cause: refused }), { config: { connectionString: `postgres://svc:${encodeURIComponent(PASSWORD)}@db.internal/app` } });
      log.error({ err: client }, 'the store did not answer');
      log.warn({ err: new Error(`upstream said: ${Buffer.from(`Bearer ${TOKEN}`).toString('base64')}`) }, 'listing failed');
      log.trace({ seen: { auth: `Bearer ${TOKEN}` } }, `at trace: ${TOKEN}`);
    });
    expect(out).toContain('the store did not answer');
    expect(out).toContain('ECONNREFUSED');
    expect(out).toContain('[redacted]');
    for (const s of [PASSWORD, encodeURIComponent(PASSWORD), TOKEN, Buffer.from(`Bearer ${TOKEN}`).toString('base64')]) expect(out).not.toContain(s);
    // Every line is still one JSON object.
    for (const line of out.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('leaves a line as it is when the configuration holds no secret', () => {
    expect(JSON.parse(logged((log) => log.info({ n: 1 }, 'plain'), []))).toMatchObject({ msg: 'plain', n: 1, service: 'countersign' });
  });
});
