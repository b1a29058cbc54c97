/**
 * With tracing off, the OpenTelemetry SDK is never loaded: a gateway in a
 * process of its own (test/support/tracing-child.ts) runs three allowed
 * actions and lists the packages it loaded, beside one with tracing on at
 * sampleRatio 0 to show the check sees them when they are there.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const RUN_TS = fileURLToPath(new URL('../../bin/run-ts.js', import.meta.url));
const CHILD = fileURLToPath(new URL('../support/tracing-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('tracing off', () => {
  it('never loads the OpenTelemetry SDK (a gateway process of its own, with a tracing-on one to show the check sees it)', async () => {
    const run = (tracing: 'on' | 'off') =>
      new Promise<{ statuses: string[]; upstreamTraceparents: (string | null)[]; loaded: string[] }>((resolve, reject) => {
        const child = spawn(process.execPath, [RUN_TS, CHILD], { cwd: ROOT, env: { ...process.env, VITEST: '', TRACING: tracing }, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (b: Buffer) => (out += b.toString()));
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!)) : reject(new Error(`tracing child (${tracing}) exited ${code}: ${out}`))));
      });
    const [off, on] = await Promise.all([run('off'), run('on')]);
    // The API package alone may be there: prom-client loads it (for exemplars) whether tracing is on or not.
    expect({ ...off, loaded: off.loaded.filter((p) => p !== '@opentelemetry/api') }).toEqual({ statuses: ['succeeded', 'succeeded', 'succeeded'], upstreamTraceparents: [null, null, null], loaded: [] });
    expect(on.statuses).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(on.loaded).toEqual(expect.arrayContaining(['@opentelemetry/sdk-trace-base', '@opentelemetry/exporter-trace-otlp-http', '@opentelemetry/context-async-hooks']));
    // Sampled at 0, yet the agent's sampled trace is honoured (ParentBased) and handed on; its unsampled one is handed on unsampled.
    expect(on.upstreamTraceparents).toEqual([
      expect.stringMatching(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/),
      expect.stringMatching(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/),
      // No trace of the caller's to continue, and none of its own worth starting at ratio 0: nothing handed on.
      null,
    ]);
  }, 120_000);
});
