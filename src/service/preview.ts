/**
 * Preview: after a SQL write is recorded as held, the connection runs it once
 * in a transaction that is always rolled back (core/preview.ts), and what it
 * would change is stored with the request and recorded as `request.previewed`
 * (counts and tables, never rows or values), which brings every channel's
 * card up to date. It runs after submit has answered, so the agent never
 * waits for it; a failure here is logged, and leaves the request as it was.
 */
import { previewAuditData, type PreviewOutcome, type RequestPreview } from '../core/preview.ts';
import type { RequestRecord } from '../core/request.ts';
import type { Deps } from './deps.ts';

/**
 * @example
 * void previewHeld(deps, pending); // later: (await deps.store.getRequest(pending.id)).preview
 */
export async function previewHeld(deps: Deps, request: RequestRecord): Promise<RequestRecord | undefined> {
  const handle = deps.connections.get(request.action.connection);
  if (!handle?.preview || request.facts.kind !== 'postgres' || !request.facts.writes || request.status !== 'pending') return undefined;
  // Such a statement runs on its client's own session (its temporary tables, its settings), which a pooled session is not.
  const outcome: PreviewOutcome =
    request.runsIn === 'session'
      ? { status: 'skipped', reason: "it runs in the client's own session, whose state a preview cannot see" }
      : await handle.preview(request.action.input);
  const at = deps.clock.now().toISOString();
  const preview: RequestPreview = { ...outcome, at };
  const r = await deps.store.mutateRequest(request.id, (current) => {
    // Once per request, and only while it waits: a run that has started writes the request itself.
    if (current.preview || (current.status !== 'pending' && current.status !== 'approved')) return { result: current, audit: [] };
    const next: RequestRecord = { ...current, preview, version: current.version + 1 };
    return {
      result: next,
      next,
      audit: [{ type: 'request.previewed', time: at, requestId: current.id, actor: null, data: previewAuditData(outcome) }],
    };
  });
  if (r.preview === preview) deps.notifier.publish(r);
  return r;
}

/** Starts the preview of a held request without waiting for it; what goes wrong is logged. */
export function startPreview(deps: Deps, request: RequestRecord): void {
  previewHeld(deps, request).catch((e: unknown) => {
    deps.log.warn({ requestId: request.id, err: e instanceof Error ? e.message : String(e) }, 'impact preview failed');
  });
}
