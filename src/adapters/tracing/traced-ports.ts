/**
 * Spans around port calls, put in by the composition root when tracing is on
 * (off, the ports are used bare): `authenticate` around the identity check,
 * `store` around the writes of requests and audit events. Use cases stay as
 * they are; the spans nest under whatever step made the call.
 */
import type { Identity, Store } from '../../core/ports.ts';
import type { Tracing } from './index.ts';

/**
 * @example
 * const store = tracedStore(openedStore, tracing);
 */
export function tracedStore(store: Store, tracer: Tracing): Store {
  return {
    ...store,
    insertRequest: (request, audit, onlyIf) => tracer.span('store', { 'countersign.store.operation': 'insertRequest' }, () => store.insertRequest(request, audit, onlyIf)),
    // Group commit runs the callbacks of a batch in the context of whoever started it: each keeps its own caller's.
    mutateRequest: (id, fn, known, onlyIf) => tracer.span('store', { 'countersign.store.operation': 'mutateRequest' }, () => store.mutateRequest(id, tracer.bind(fn), known, onlyIf)),
    appendAudit: (audit, meta) => tracer.span('store', { 'countersign.store.operation': 'appendAudit', 'countersign.audit.events': audit.length }, () => store.appendAudit(audit, meta)),
  };
}

/** The outcome on the span: the principal, or the refusal's reason (never the credential). */
export function tracedIdentity(identity: Identity, tracer: Tracing): Identity {
  return {
    ...identity,
    authenticate: (bearer) =>
      tracer.span('authenticate', {}, async () => {
        const auth = await identity.authenticate(bearer);
        tracer.annotate(auth.ok ? { 'countersign.principal': auth.principal.id } : { 'countersign.auth.refused': auth.reason });
        return auth;
      }),
  };
}
