/**
 * Audit verify: walk the whole chain from the store, page by page, and name
 * the first event that does not hold.
 */
import { createChainVerifier } from '../core/audit.ts';
import type { Store } from '../core/ports.ts';

const PAGE = 5000;

export async function verifyAudit(store: Store): Promise<ReturnType<ReturnType<typeof createChainVerifier>['finish']>> {
  const verifier = createChainVerifier();
  let from = 1;
  for (;;) {
    const page = await store.readAuditRaw(from, PAGE);
    for (const e of page) {
      if (verifier.push(e)) return verifier.finish();
    }
    if (page.length < PAGE) return verifier.finish();
    from = page[page.length - 1]!.seq + 1;
  }
}
