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
 *
 * The standing GET stream carries notifications for as long as the session
 * lasts, so its total is not bounded; one event of it is (MAX_EVENT_BYTES):
 * the SDK's SSE parser holds an event whole until a blank line ends it, and
 * an upstream that never sends one would fill the gateway's memory. Past the
 * bound the stream is cut, and that upstream's fetch answers every later GET
 * itself with 405, which the SDK reads as "no standing stream": it would
 * otherwise reconnect (as soon as the upstream's `retry:` says) and be sent
 * the same event again. Its calls go on; only its notifications stop.
 */
import { setMaxListeners } from 'node:events';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

/** The most of one POST's answer read, in bytes (the SDK's own bound on a stdio server's message). */
export const MAX_ANSWER_BYTES = 10 * 1024 * 1024;

/**
 * The most of one event of a GET stream read, in bytes: notifications are small, but a GET that resumes a call's
 * stream (Last-Event-ID) carries its answer, which may be as large as one read from a POST.
 */
export const MAX_EVENT_BYTES = 10 * 1024 * 1024;

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

/**
 * Counts the bytes of the SSE event being read, across chunks: a blank line (an empty line ended by CR, LF or CRLF,
 * per the WHATWG event-stream format) ends an event. The meter says whether every event in the chunk stayed within `max`.
 */
function eventMeter(max: number): (chunk: Uint8Array) => boolean {
  let event = 0;
  let line = 0;
  let afterCr = false;
  return (chunk) => {
    for (const b of chunk) {
      // Within the chunk: an event past the bound with its end in the same chunk is past it too.
      if (++event > max) return false;
      if (b === 0x0a && afterCr) {
        // The LF of a CRLF: the CR ended the line already.
        afterCr = false;
        continue;
      }
      afterCr = b === 0x0d;
      if (b === 0x0a || b === 0x0d) {
        if (line === 0) event = 0;
        line = 0;
      } else line++;
    }
    return true;
  };
}

/**
 * A fetch for one upstream: its own state says whether its standing stream was cut.
 *
 * @example
 * new StreamableHTTPClientTransport(new URL(url), { fetch: createIsolatingFetch() });
 */
export function createIsolatingFetch(): FetchLike {
  let standingRefused = false;
  return (url, init) => {
    const get = (init?.method ?? 'GET').toUpperCase() === 'GET';
    if (get && standingRefused) return Promise.resolve(new Response(null, { status: 405, statusText: 'standing stream refused by the gateway' }));
    return isolated(url, init, () => {
      standingRefused = true;
    });
  };
}

/** One fetch with its own signal; `onEventTooLarge`: a GET stream was cut for an event past the bound. */
async function isolated(url: string | URL, init: RequestInit | undefined, onEventTooLarge: () => void): Promise<Response> {
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
  const withinEvent = bounded ? undefined : eventMeter(MAX_EVENT_BYTES);
  // A stream (SSE) stays abortable until it ends; then the tie to the shared signal goes.
  const body = res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (withinEvent && !withinEvent(chunk)) {
          release();
          onEventTooLarge();
          // Cancels the rest of the upstream's stream: nothing more of it is read.
          controller.error(new Error(`an event of the MCP server's standing stream was larger than ${MAX_EVENT_BYTES} bytes, which the gateway does not read`));
          return;
        }
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
}

/** A fetch with no standing-stream state of its own (each upstream's transport takes createIsolatingFetch()). */
export const isolatingFetch: FetchLike = (url, init) => isolated(url, init, () => {});
