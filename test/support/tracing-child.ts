/**
 * One gateway in a process of its own, with tracing on or off (TRACING=on|off),
 * at sampleRatio 0, that runs three allowed HTTP actions, sent with a W3C
 * traceparent sampled, one not, and none, and prints one JSON line: the actions'
 * statuses, the traceparents their upstream received, and
 * the OpenTelemetry packages the process has loaded by then (all CommonJS, so
 * require.cache lists them). Started as `node bin/run-ts.js test/support/tracing-child.ts`.
 */
import { createRequire } from 'node:module';
import { startTestGateway } from './gateway.ts';
import { startUpstream } from './upstream.ts';

const on = process.env['TRACING'] === 'on';
const upstream = await startUpstream();
const gw = await startTestGateway(`tracing: { enabled: ${on}, sampleRatio: 0, otlp: { url: "http://127.0.0.1:9/v1/traces" } }
connections:
  - { name: api, kind: http, url: ${upstream.url} }
policy:
  default: deny
  rules:
    - { id: reads, when: 'facts.http.method == "GET"', effect: allow }
`);
try {
  const statuses: (string | undefined)[] = [];
  for (const flags of ['01', '00', null]) {
    const traceparent: Record<string, string> = flags === null ? {} : { traceparent: `00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-${flags}` };
    const res = await fetch(`${gw.url}/v1/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.keys['deploy-bot']}`, 'content-type': 'application/json', ...traceparent },
      body: JSON.stringify({ connection: 'api', input: { method: 'GET', path: '/x' }, reason: 'child' }),
    });
    statuses.push(((await res.json()) as { status?: string }).status);
  }
  const loaded = [...new Set(Object.keys(createRequire(import.meta.url).cache).flatMap((k) => /[\\/]node_modules[\\/](@opentelemetry[\\/][^\\/]+)/.exec(k)?.[1] ?? []))].sort();
  process.stdout.write(`${JSON.stringify({ statuses, upstreamTraceparents: upstream.calls.map((c) => c.headers['traceparent'] ?? null), loaded })}\n`);
} finally {
  await gw.stop();
  await upstream.close();
}
