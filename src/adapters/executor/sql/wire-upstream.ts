/**
 * Upstream connections for the wire listener's client sessions, one per
 * session, from a small pool of the connection's own (its URL and credentials
 * stay here). A session goes back to the pool only when nothing but reads ran
 * on it, it ended outside a transaction, and DISCARD ALL succeeded: anything
 * else a session may have left behind (a write's side effects on session
 * state, an open transaction) closes it.
 */
import type { WireUpstream } from '../../../core/ports.ts';
import { READ_ONLY_FUNCTIONS } from './read-only-functions.ts';
import { readSessionState } from './session-state.ts';
import { createUpstreamPool } from './upstream-pool.ts';
import { WireRelay } from './wire-relay.ts';
import { WireSession } from './wire-session.ts';

export interface WireSessionsConfig {
  readonly name: string;
  readonly url: string;
  readonly readOnlyFunctions: readonly string[];
  /** statement_timeout of every upstream session, in ms. */
  readonly statementTimeoutMs: number;
  /** Schema of the DDL counter (guard-cache.ts): the session check's verdict is cached behind it. Absent: no cache. */
  readonly epochSchema?: string | undefined;
}

/**
 * @example
 * const wire = createWireSessions({ name: 'orders', url, readOnlyFunctions: [], statementTimeoutMs: 30_000 });
 * const upstream = await wire.open((bytes) => socket.write(bytes));
 */
export function createWireSessions(config: WireSessionsConfig): { open(toClient: (bytes: Uint8Array, now?: boolean) => void | Promise<void>, owner?: string): Promise<WireUpstream>; close(): Promise<void> } {
  const pool = createUpstreamPool({ name: config.name, url: config.url, settings: { statement_timeout: String(config.statementTimeoutMs) } });
  return {
    async open(toClient, owner) {
      const upstream = await pool.acquire();
      const relay = new WireRelay(upstream, toClient);
      const session = new WireSession(relay, { readOnlyFunctions: config.readOnlyFunctions, builtIn: READ_ONLY_FUNCTIONS, epochSchema: config.epochSchema, cancel: () => upstream.cancel(), owner });
      let onlyReads = true;
      let released = false;
      return {
        parameters: upstream.parameters,
        status: () => relay.status,
        async run(input, plan) {
          if (!plan.readOnly) onlyReads = false;
          // Only this run's COPY may take its data; whatever it did not take is dropped with it.
          relay.copyData = plan.copyIn ? Buffer.from(plan.copyIn.buffer, plan.copyIn.byteOffset, plan.copyIn.byteLength) : undefined;
          try {
            return await session.run(input, plan);
          } finally {
            relay.copyData = undefined;
          }
        },
        sync: (parts) => session.sync(parts),
        fail: () => session.fail(),
        state: () => readSessionState(relay),
        onLost: (listener) => relay.onLost(() => listener()),
        async release() {
          if (released) return;
          released = true;
          // A cancel still on its way to the backend would land on whatever the pool runs there next.
          await relay.cancelsHandled();
          const reusable = onlyReads && !relay.lost && relay.status === 'I';
          relay.detach();
          await pool.release(upstream, { reusable });
        },
      };
    },
    close: () => pool.close(),
  };
}
