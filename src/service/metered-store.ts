/**
 * The store, as the use cases see it, reporting to the Metrics port what its
 * writes commit: a request reaching a final status, a human decision on a
 * held request, and how long each write carrying audit events took. Every
 * change of a request goes through insertRequest or mutateRequest, so none
 * is missed (submit, review, execute, expiry, cancel, recovery alike) and
 * none is counted twice: a mutation is reported once, as committed.
 */
import type { AuditDraft } from '../core/audit.ts';
import type { PinChange, ToolPin } from '../core/mcp/pins.ts';
import type { MetaCondition, Metrics, Mutation, Store } from '../core/ports.ts';
import { TERMINAL_STATUSES, type RequestRecord } from '../core/request.ts';

// A monotonic clock for durations: the Clock port gives domain time (frozen in tests), not elapsed time.
const elapsed = (start: number) => (performance.now() - start) / 1000;

/**
 * @example
 * const store = meteredStore(await openOwnedStore(config, file, opts), metrics);
 */
export function meteredStore(store: Store, metrics: Metrics): Store {
  const settled = (r: RequestRecord) => metrics.requestSettled(r.action.connection, r.decision.effect, r.status);
  const timed = async <T>(audit: () => readonly AuditDraft[], write: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    const result = await write();
    if (audit().length > 0) metrics.auditAppend(elapsed(start));
    return result;
  };
  return {
    ...store,
    async insertRequest(request, audit, onlyIf) {
      await timed(() => audit, () => store.insertRequest(request, audit, onlyIf));
      if (TERMINAL_STATUSES.has(request.status)) settled(request);
    },
    async mutateRequest<T>(id: string, fn: (current: RequestRecord) => Mutation<T>, known?: RequestRecord, onlyIf?: MetaCondition): Promise<T> {
      // A store may call `fn` more than once (on the record the caller knows, then on the stored one): the last call is what it wrote.
      let last: { current: RequestRecord; mutation: Mutation<T> } | undefined;
      const result = await timed(
        () => last?.mutation.audit ?? [],
        () =>
          store.mutateRequest(
            id,
            (current) => {
              const mutation = fn(current);
              last = { current, mutation };
              return mutation;
            },
            known,
            onlyIf,
          ),
      );
      const next = last?.mutation.next;
      if (last && next && next.status !== last.current.status) {
        if (TERMINAL_STATUSES.has(next.status)) settled(next);
        // A review that decided a held request: quorum approved it, or a reviewer denied it.
        if (last.mutation.review && last.current.status === 'pending' && (next.status === 'approved' || next.status === 'denied')) {
          metrics.decided(next.status, (Date.parse(next.updatedAt) - Date.parse(next.createdAt)) / 1000);
        }
      }
      return result;
    },
    appendAudit(audit, meta) {
      return timed(() => audit, () => store.appendAudit(audit, meta));
    },
    mutateToolPins<T>(connection: string, fn: (current: readonly ToolPin[]) => PinChange<T>): Promise<T> {
      let audit: readonly AuditDraft[] = [];
      return timed(
        () => audit,
        () =>
          store.mutateToolPins(connection, (current) => {
            const change = fn(current);
            audit = change.audit;
            return change;
          }),
      );
    },
    insertSession(session, audit) {
      return timed(() => audit, () => store.insertSession(session, audit));
    },
  };
}
