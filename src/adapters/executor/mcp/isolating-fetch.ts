/**
 * fetch for the SDK's streamable HTTP client with one abort signal per
 * request. The transport passes one shared signal to every fetch, and Node's
 * fetch removes its abort listener from that signal only when the signal
 * aborts or is garbage-collected: a long-lived upstream connection gathers
 * thousands of listeners under load (MaxListenersExceededWarning). Each
 * request here gets its own signal, tied to the shared one until its body is
 * read to the end, so closing the transport still aborts what is in flight.
 *
 * The answer to a POST is read up to MAX_ANSWER_BYTES, as the SDK bounds a
 * stdio server's messages: the gateway keeps at most 1 MiB of a result, but
 * the SDK reads an answer whole first, so an agent steering a read tool's
 * output (a file, a query, a page) could make the gateway hold any amount.
 * Past the bound the rest is not read: a JSON answer fails, and a stream ends
 * with a JSON-RPC error for the request it answers, so the call fails at once.
 */
import { setMaxListeners } from 'node:events';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

/** The most of one POST's answer read, in bytes (the SDK's own bound on a stdio server's message). */
export const MAX_ANSWER_BYTES = 10 * 1024 * 1024;

const tooLarge = `the MCP server's answer was larger than ${MAX_ANSWER_BYTES} bytes, which the gateway does not read`;

/** The id of the one JSON-RPC request a POST carries (what its answer's stream must answer), if it carries one. */
function requestIdOf(body: unknown): string | number | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const m = JSON.parse(body) as { id?: unknown; method?: unknown } | null;
    return m && typeof m.method === 'string' && (typeof m.id === 'string' || typeof m.id === 'number') ? m.id : undefined;
  } catch {
    return undefined;
  }
}

/** What ends a stream past the bound: any event cut short is ended, then the request's error. */
function streamError(id: string | number): Uint8Array {
  const message = { jsonrpc: '2.0', id, error: { code: -32603, message: tooLarge } };
  return new TextEncoder().encode(`\n\nevent: message\ndata: ${JSON.stringify(message)}\n\n`);
}

export const isolatingFetch: FetchLike = async (url, init) => {
  const shared = init?.signal;
  const own = new AbortController();
  const onAbort = () => own.abort(shared?.reason);
  if (shared) {
    // Now at most one listener per request in flight: many concurrent calls are not a leak.
    setMaxListeners(0, shared);
    if (shared.aborted) own.abort(shared.reason);
    else shared.addEventListener('abort', onAbort, { once: true });
  }
  const release = () => shared?.removeEventListener('abort', onAbort);
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: own.signal });
  } catch (e) {
    release();
    throw e;
  }
  if (!res.body) {
    release();
    return res;
  }
  // Only a POST's answer is bounded: the standing GET stream carries notifications for as long as it is open.
  const bounded = (init?.method ?? 'GET').toUpperCase() === 'POST';
  const stream = (res.headers.get('content-type') ?? '').toLowerCase().includes('text/event-stream');
  let read = 0;
  // A stream (SSE) stays abortable until it ends; then the tie to the shared signal goes.
  const body = res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        read += chunk.byteLength;
        if (!bounded || read <= MAX_ANSWER_BYTES) {
          controller.enqueue(chunk);
          return;
        }
        release();
        // Read only now: the request's own text is no cost to a call whose answer fits.
        const id = stream ? requestIdOf(init?.body) : undefined;
        if (id === undefined) {
          controller.error(new Error(tooLarge));
          return;
        }
        controller.enqueue(streamError(id));
        // Ends what the SDK reads and cancels the rest of the upstream's answer.
        controller.terminate();
      },
      flush: release,
    }),
  );
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
};
