/**
 * What an MCP call is judged as is what the upstream gets. A tool name that
 * differs from the listed one only in case, width or an invisible character
 * is no tool (an upstream that folds names would otherwise run the real one
 * under a name policy never saw); repeated argument keys are read once, the
 * way the upstream gets them, and keys equal in any case are refused (an
 * upstream on Go's encoding/json reads the last of them); several calls sent as one JSON-RPC batch are
 * each judged on their own. Sent as raw JSON-RPC over the gateway's /mcp, to
 * a real upstream that records its calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startMutableUpstream, type MutableUpstream } from '../support/mcp-upstream.ts';

let upstream: MutableUpstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startMutableUpstream();
  gw = await startTestGateway(`connections:
  - name: greeter
    kind: mcp
    url: ${upstream.url}
    waitSeconds: 1
policy:
  default: deny
  rules:
    - id: greet-ok-only
      when: facts.mcp.tool == "greet" && facts.mcp.arguments.name == "ok"
      effect: allow
`);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

/** One JSON-RPC POST to /mcp as deploy-bot, the body sent exactly as written. */
async function rpc(text: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.url}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.keys['deploy-bot']}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: text,
  });
  const raw = await res.text();
  let body: unknown = raw;
  try {
    body = JSON.parse(raw);
  } catch {
    /* a stream or nothing */
  }
  return { status: res.status, body };
}

const call = (id: number, name: string, args: string) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":${JSON.stringify(name)},"arguments":${args}}}`;

describe('a tool name that only looks like the listed one', () => {
  beforeAll(async () => {
    // The upstream is listed (tools/list lists every upstream again), so the real name is a tool.
    const listed = await rpc('{"jsonrpc":"2.0","id":0,"method":"tools/list","params":{}}');
    expect(listed.body.result.tools.map((t: { name: string }) => t.name)).toContain('greeter__greet');
  });

  it.each([
    ['another case', 'greeter__GREET'],
    ['a fullwidth letter', 'greeter__gr\uff45et'],
    ['a zero-width space', 'greeter__greet\u200b'],
    ['a trailing space', 'greeter__greet '],
    ['a composed accent', 'greeter__gre\u0301et'],
  ])('%s is no tool, and the upstream is not called', async (_what, name) => {
    const res = await rpc(call(1, name, '{"name":"ok"}'));
    expect(res.body.error).toMatchObject({ code: -32602, data: { code: 'UNKNOWN_TOOL' } });
    expect(upstream.calls).toEqual([]);
  });
});

describe('arguments as policy reads them are the arguments the upstream gets', () => {
  it('a repeated key counts once, as the upstream gets it, whichever copy a reader might prefer', async () => {
    const denied = await rpc(call(2, 'greeter__greet', '{"name":"ok","name":"mallory"}'));
    expect(denied.body.result._meta['countersign/status']).toBe('denied');
    const allowed = await rpc(call(3, 'greeter__greet', '{"name":"mallory","name":"ok"}'));
    expect(allowed.body.result._meta['countersign/status']).toBe('succeeded');
    expect(upstream.calls).toEqual([{ name: 'ok' }]);
  });

  it('keys equal in any case (Go\'s encoding/json, .NET, Jackson read the last of them) are refused, the upstream not called', async () => {
    const before = upstream.calls.length;
    // A key holding a NUL is the key before it to a reader that keeps keys as C strings (cJSON), which finds the first.
    for (const [n, args] of [[5, '{"name":"ok","NAME":"mallory"}'], [6, '{"name":"ok","na\u212Ae":"x","nake":"y"}'], [7, '{"name":"ok","opts":[{"mode":"a","Mode":"b"}]}'], [8, '{"name\\u0000x":"mallory","name":"ok"}']] as const) {
      const res = await rpc(call(n, 'greeter__greet', args));
      expect(res.body.error, args).toMatchObject({ data: { code: 'INPUT_UNPARSEABLE' } });
    }
    expect(upstream.calls.length).toBe(before);
  });

  it('a __proto__ key neither shows policy a value nor reaches the upstream', async () => {
    const res = await rpc(call(4, 'greeter__greet', '{"__proto__":{"name":"ok"}}'));
    expect(res.body.result?._meta?.['countersign/status'] ?? res.body.error?.data?.code).not.toBe('succeeded');
    expect(upstream.calls).toEqual([{ name: 'ok' }]);
  });
});

describe('a JSON-RPC batch', () => {
  it('never lets one call ride on the decision of another', async () => {
    const res = await rpc(`[${call(5, 'greeter__greet', '{"name":"ok"}')},${call(6, 'greeter__greet', '{"name":"mallory"}')}]`);
    // A batch may be refused whole (JSON-RPC batches left MCP in 2025-06-18); if it is answered, each call is judged alone.
    expect(upstream.calls.filter((c) => c.name === 'mallory')).toEqual([]);
    expect(res.status).toBeLessThan(500);
  });
});
