/**
 * fetch for the SDK's streamable HTTP client with one abort signal per
 * request. The transport passes one shared signal to every fetch, and Node's
 * fetch removes its abort listener from that signal only when the signal
 * aborts or is garbage-collected: a long-lived upstream connection gathers
 * thousands of listeners under load (MaxListenersExceededWarning). Each
 * request here gets its own signal, tied to the shared one until its body is
 * read to the end, so closing the transport still aborts what is in flight.
 */
import { setMaxListeners } from 'node:events';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

export const isolatingFetch: FetchLike = async (url, init) => {
  const shared = init?.signal;
  if (!shared) return fetch(url, init);
  // Now at most one listener per request in flight: many concurrent calls are not a leak.
  setMaxListeners(0, shared);
  const own = new AbortController();
  const onAbort = () => own.abort(shared.reason);
  if (shared.aborted) own.abort(shared.reason);
  else shared.addEventListener('abort', onAbort, { once: true });
  const release = () => shared.removeEventListener('abort', onAbort);
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
  // A stream (SSE) stays abortable until it ends; then the tie to the shared signal goes.
  const body = res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ flush: release }));
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
};
