/** Audit export: every event, in order, as a stream the CLI writes as JSON lines or CSV. */
import type { AuditEvent } from '../core/audit.ts';
import type { Store } from '../core/ports.ts';

export async function* exportAudit(store: Store, pageSize = 5000): AsyncGenerator<AuditEvent> {
  let from = 1;
  for (;;) {
    const page = await store.readAudit(from, pageSize);
    yield* page;
    if (page.length < pageSize) return;
    from = page[page.length - 1]!.seq + 1;
  }
}
