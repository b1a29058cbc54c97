/**
 * A local stand-in for the Anthropic Messages API (`POST /v1/messages`), for
 * driving the Claude Agent SDK's bundled CLI without a network. It speaks the
 * documented protocol: a JSON message, or with `stream: true` the server-sent
 * event sequence message_start → (content_block_start → content_block_delta →
 * content_block_stop)* → message_delta → message_stop. What the model answers
 * is scripted per request by `reply`, which sees every request the CLI makes
 * (the main loop's and any side call's), so a test can assert what the model
 * was shown.
 */
import { createServer, type Server } from 'node:http';

export type ContentBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface MessagesRequest {
  model: string;
  stream?: boolean;
  system?: unknown;
  tools?: { name: string }[];
  messages: { role: 'user' | 'assistant'; content: string | ({ type: string } & Record<string, unknown>)[] }[];
}

export interface FakeAnthropic {
  url: string;
  requests: MessagesRequest[];
  close(): Promise<void>;
}

export async function startFakeAnthropic(reply: (req: MessagesRequest) => ContentBlock[]): Promise<FakeAnthropic> {
  const requests: MessagesRequest[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'POST' || !path?.endsWith('/v1/messages')) {
        // count_tokens and anything else: a plain answer keeps the CLI going without a real service.
        res.writeHead(path?.endsWith('/count_tokens') ? 200 : 404, { 'content-type': 'application/json' });
        res.end(JSON.stringify(path?.endsWith('/count_tokens') ? { input_tokens: 10 } : { type: 'error', error: { type: 'not_found_error', message: 'not here' } }));
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as MessagesRequest;
      requests.push(body);
      const content = reply(body);
      const stop = content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
      const message = { id: `msg_fake_${++n}`, type: 'message', role: 'assistant', model: body.model, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 10 } };
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...message, content, stop_reason: stop }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...(data as object) })}\n\n`);
      send('message_start', { message: { ...message, content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } });
      content.forEach((block, index) => {
        if (block.type === 'text') {
          send('content_block_start', { index, content_block: { type: 'text', text: '' } });
          send('content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
        } else {
          send('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
          send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
        }
        send('content_block_stop', { index });
      });
      send('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 10 } });
      send('message_stop', {});
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** The tool results the model was shown in a request, by tool_use id: their text and whether they are errors. */
export function toolResults(req: MessagesRequest): { id: string; text: string; isError: boolean }[] {
  return req.messages.flatMap((m) =>
    typeof m.content === 'string'
      ? []
      : m.content
          .filter((b) => b.type === 'tool_result')
          .map((b) => {
            const c = b['content'];
            const text = typeof c === 'string' ? c : Array.isArray(c) ? c.map((x: { text?: string }) => x.text ?? '').join('') : '';
            return { id: String(b['tool_use_id']), text, isError: b['is_error'] === true };
          }),
  );
}
