import { describe, expect, it } from 'vitest';
import { CountersignError } from '../core/errors.ts';
import { parseConfig } from './load.ts';

function problems(text: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(text, 'countersign.yaml', env);
  } catch (e) {
    expect((e as CountersignError).code).toBe('CONFIG_INVALID');
    return (e as CountersignError).message;
  }
  throw new Error('expected the config to be refused');
}

describe('tracing config', () => {
  it('is off by default, with a local collector, every new trace sampled and the service named countersign', () => {
    expect(parseConfig('{}', 'countersign.yaml', {}).tracing).toEqual({
      enabled: false,
      otlp: { url: 'http://127.0.0.1:4318/v1/traces', headers: {}, timeoutMs: 10_000 },
      sampleRatio: 1,
      serviceName: 'countersign',
    });
  });

  it('takes the collector’s headers from the environment', () => {
    const c = parseConfig('tracing: { enabled: true, sampleRatio: 0.25, otlp: { url: "https://otel.example.com/v1/traces", headers: { authorization: "Bearer ${OTLP_TOKEN}" } } }', 'countersign.yaml', { OTLP_TOKEN: 'abc' });
    expect(c.tracing).toMatchObject({ enabled: true, sampleRatio: 0.25, otlp: { url: 'https://otel.example.com/v1/traces', headers: { authorization: 'Bearer abc' } } });
  });

  it('refuses a ratio outside 0..1, a URL that is not http(s), and a header value that would start another header line', () => {
    expect(problems('tracing: { sampleRatio: 1.5 }')).toContain('tracing.sampleRatio');
    expect(problems('tracing: { otlp: { url: "file:///tmp/x" } }')).toContain('tracing.otlp.url');
    expect(problems('tracing: { otlp: { headers: { x-key: "${KEY}" } } }', { KEY: 'a\r\nx-injected: 1' })).toContain('tracing.otlp.headers.x-key');
    expect(problems('tracing: { endpoint: "http://x" }')).toContain('endpoint');
  });
});
