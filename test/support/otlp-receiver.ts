/**
 * A real OTLP/HTTP traces receiver on 127.0.0.1, standing in for an
 * OpenTelemetry collector: it accepts POST /v1/traces in the OTLP/JSON
 * encoding (what @opentelemetry/exporter-trace-otlp-http sends; gzip or not),
 * answers as a collector does, and keeps every span it was sent, decoded.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';

export type AttributeValue = string | number | boolean;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, AttributeValue>;
  links: { traceId: string; spanId: string }[];
  /** 2: error. */
  status: number;
  /** The resource's attributes (service.name). */
  resource: Record<string, AttributeValue>;
}

export interface OtlpReceiver {
  /** The endpoint to configure as tracing.otlp.url. */
  url: string;
  spans: ReceivedSpan[];
  /** Headers of every export request, in order. */
  exports: IncomingHttpHeaders[];
  /** The body of every export request as received (decompressed): its events and status messages too. */
  bodies: string[];
  /** Waits until `check` holds for the spans received (or throws after `timeoutMs`). */
  waitFor<T>(check: (spans: ReceivedSpan[]) => T | undefined, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

type JsonValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type JsonAttribute = { key: string; value: JsonValue };

function attributes(list: JsonAttribute[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const a of list ?? []) {
    const v = a.value;
    out[a.key] = v.stringValue ?? v.boolValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? ''));
  }
  return out;
}

/** OTLP/JSON ids are hex; some encoders send base64: both come out as lower-case hex. */
function hex(id: string | undefined): string {
  if (!id) return '';
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

function decode(body: unknown): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of (body as { resourceSpans?: unknown[] }).resourceSpans ?? []) {
    const r = rs as { resource?: { attributes?: JsonAttribute[] }; scopeSpans?: { spans?: unknown[] }[] };
    const resource = attributes(r.resource?.attributes);
    for (const ss of r.scopeSpans ?? []) {
      for (const raw of ss.spans ?? []) {
        const s = raw as { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: JsonAttribute[]; links?: { traceId: string; spanId: string }[]; status?: { code?: number } };
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: s.kind,
          attributes: attributes(s.attributes),
          links: (s.links ?? []).map((l) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId) })),
          status: s.status?.code ?? 0,
          resource,
        });
      }
    }
  }
  return out;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const exports: IncomingHttpHeaders[] = [];
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).includes('json')) {
        res.writeHead(415, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      try {
        const raw = Buffer.concat(chunks);
        const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
        spans.push(...decode(JSON.parse(text)));
        bodies.push(text);
        exports.push(req.headers);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"partialSuccess":{}}');
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{}');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    exports,
    bodies,
    async waitFor(check, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const v = check(spans);
        if (v !== undefined && v !== false) return v;
        if (Date.now() > end) throw new Error(`the OTLP receiver did not get the spans expected (${spans.length} received: ${spans.map((s) => s.name).join(', ')})`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
