/**
 * The listeners of one process, and what every notifier that spans processes
 * shares: a change announced elsewhere is read back from the store (never
 * trusted from the message) and handed to the local listeners.
 */
import type { Log, Notifier } from '../../core/ports.ts';
import type { RequestRecord } from '../../core/request.ts';

export interface LocalListeners extends Notifier {
  /** Whether anyone here listens for `requestId` (or for everything): otherwise a remote change is not read back. */
  wants(requestId: string): boolean;
  /** Ids with a listener of their own, for catching up after a lost connection. */
  ids(): string[];
}

/** A notifier whose processes may end: the connection or channel it holds. */
export interface ClosableNotifier extends Notifier {
  close(): Promise<void>;
}

/** Reads the request as it stands now; undefined/null when there is none. */
export type LoadRequest = (id: string) => Promise<RequestRecord | null | undefined>;

/** What another process announces: which request changed, and which process announced it (to skip its own echo). */
export interface ChangeMessage {
  readonly origin: string;
  readonly id: string;
  readonly version: number;
}

export function createLocalListeners(): LocalListeners {
  const listeners = new Map<string, Set<(r: RequestRecord) => void>>();
  const everything = new Set<(r: RequestRecord) => void>();
  return {
    publish(request) {
      for (const l of [...everything]) l(request);
      const set = listeners.get(request.id);
      if (!set) return;
      for (const l of [...set]) l(request);
    },
    subscribeAll(listener) {
      everything.add(listener);
      return () => everything.delete(listener);
    },
    subscribe(requestId, listener) {
      let set = listeners.get(requestId);
      if (!set) listeners.set(requestId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && listeners.get(requestId) === set) listeners.delete(requestId);
      };
    },
    wants: (requestId) => everything.size > 0 || listeners.has(requestId),
    ids: () => [...listeners.keys()],
  };
}

/**
 * Whether a change is worth announcing to other processes. A request the
 * policy allowed outright was never held: its id reaches its agent only with
 * the answer, so no one elsewhere waits on it (a reader who found it in a
 * list while it ran is answered by the waiters' slow poll), and no inbox
 * shows it. Announcing it anyway would cost every allowed action a NOTIFY,
 * sent by one replica and read by all the others.
 */
export function worthAnnouncing(request: RequestRecord): boolean {
  return !(request.decision.effect === 'allow' && request.expiresAt === null && request.reviews.length === 0);
}

/** Parses a change message; null for anything else (another program's message on the same channel). */
export function parseChange(value: unknown): ChangeMessage | null {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return null;
    }
  }
  if (typeof v !== 'object' || v === null) return null;
  const { origin, id, version } = v as Record<string, unknown>;
  if (typeof origin !== 'string' || typeof id !== 'string' || typeof version !== 'number') return null;
  return { origin, id, version };
}

/**
 * Hands a change announced by another process to the local listeners, with
 * the request read back from the store. Reads of one id are chained, so
 * listeners never see an older read after a newer one.
 */
export function createRemoteReceiver(local: LocalListeners, load: LoadRequest, origin: string, log?: Log): (message: ChangeMessage) => void {
  const reading = new Map<string, Promise<void>>();
  const readAndDispatch = async (id: string) => {
    if (!local.wants(id)) return;
    const r = await load(id);
    if (r) local.publish(r);
  };
  return (m) => {
    if (m.origin === origin) return;
    if (!local.wants(m.id)) return;
    const previous = reading.get(m.id) ?? Promise.resolve();
    const next = previous
      .then(() => readAndDispatch(m.id))
      .catch((e: unknown) => log?.warn({ requestId: m.id, err: e }, 'reading a request changed by another process failed; its waiters fall back to polling'))
      .finally(() => {
        if (reading.get(m.id) === next) reading.delete(m.id);
      });
    reading.set(m.id, next);
  };
}
