/**
 * Leases of one process: a gateway alone on its store leads every job. Two
 * instances made on one table (tests, or several gateways in one process)
 * take turns the way replicas do: one holder at a time, the next takes over
 * when it closes.
 */
import type { Leases } from '../../core/ports.ts';

/** job → holder. */
export type MemoryLeaseTable = Map<string, symbol>;

/**
 * @example
 * const leases = createMemoryLeases(); await leases.tryLead('expiry'); // true
 */
export function createMemoryLeases(table: MemoryLeaseTable = new Map()): Leases {
  const me = Symbol('holder');
  let closed = false;
  return {
    async tryLead(job) {
      if (closed) return false;
      const holder = table.get(job);
      if (holder === undefined) table.set(job, me);
      return table.get(job) === me;
    },
    async close() {
      closed = true;
      for (const [job, holder] of table) if (holder === me) table.delete(job);
    },
  };
}
