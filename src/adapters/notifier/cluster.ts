/**
 * Wake-ups between the workers of `server.workers` on one machine: a worker
 * announces a change to its primary over the cluster's IPC channel, and the
 * primary relays it to the other workers, which read the request back from
 * the store (SQLite in WAL mode: a committed change is visible to every
 * process on the file) and wake their waiters. The changes of one turn of the
 * event loop go in one message: under load a group commit settles dozens of
 * held requests at once, and a message each cost the worker, the primary and
 * every other worker a serialisation and a pipe write or read per request.
 */
import { randomBytes } from 'node:crypto';
import type { Log } from '../../core/ports.ts';
import { createLocalListeners, createRemoteReceiver, parseChange, worthAnnouncing, type ChangeMessage, type ClosableNotifier, type LoadRequest } from './listeners.ts';

/** Tags this adapter's IPC messages among whatever else travels on the channel. */
const KIND = 'countersign.request-changed';

/** One request's change, as a batch lists it (the origin is the batch's). */
type Change = Pick<ChangeMessage, 'id' | 'version'>;

/** One change (`id`, `version`), or the changes of one turn (`changes`), from one origin. */
interface Envelope {
  readonly kind: typeof KIND;
  readonly origin: string;
  readonly id?: string;
  readonly version?: number;
  readonly changes?: readonly Change[];
}

/** A two-way message channel: a cluster worker's `process` by default. */
export interface MessagePort {
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): () => void;
}

const workerProcess: MessagePort = {
  send(message) {
    // The channel closes while the worker stops; a change then reaches others by their poll.
    if (process.connected) process.send?.(message, undefined, undefined, () => {});
  },
  onMessage(listener) {
    process.on('message', listener);
    return () => process.off('message', listener);
  },
};

export interface ClusterNotifierOptions {
  /** Reads a request from the store (main.ts passes store.getRequest). */
  readonly load: LoadRequest;
  readonly log?: Log;
  /** Where changes go and come from; the worker's IPC channel to its primary when absent. */
  readonly port?: MessagePort;
}

/**
 * @example
 * const notifier = createClusterNotifier({ load: (id) => store.getRequest(id) }); // in a cluster worker
 */
export function createClusterNotifier(options: ClusterNotifierOptions): ClosableNotifier {
  const port = options.port ?? workerProcess;
  const origin = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const local = createLocalListeners();
  const receive = createRemoteReceiver(local, options.load, origin, options.log);
  const stop = port.onMessage((message) => {
    if (!isEnvelope(message)) return;
    const batch = message.changes;
    if (!Array.isArray(batch)) {
      const change = parseChange(message);
      if (change) receive(change);
      return;
    }
    for (const c of batch as unknown[]) {
      const change = typeof c === 'object' && c !== null ? parseChange({ ...c, origin: message.origin }) : null;
      if (change) receive(change);
    }
  });
  /** Changes announced this turn, sent together at its check phase (in the order they were published). */
  let queued: Change[] = [];
  const send = () => {
    const changes = queued;
    queued = [];
    if (changes.length === 0) return;
    const envelope: Envelope = changes.length === 1 ? { kind: KIND, origin, ...changes[0]! } : { kind: KIND, origin, changes };
    port.send(envelope);
  };
  return {
    publish(request) {
      local.publish(request);
      // As on PostgreSQL: an action allowed outright would cost an IPC message to the primary and one to each other worker.
      if (!worthAnnouncing(request)) return;
      queued.push({ id: request.id, version: request.version });
      if (queued.length === 1) setImmediate(send);
    },
    subscribe: local.subscribe,
    subscribeAll: local.subscribeAll,
    async close() {
      send();
      stop();
    },
  };
}

function isEnvelope(message: unknown): message is Envelope {
  return typeof message === 'object' && message !== null && (message as { kind?: unknown }).kind === KIND;
}

/** A worker as the primary sees it. */
export interface RelayWorker {
  readonly id: number;
  send(message: unknown, callback?: (error: Error | null) => void): boolean;
  isConnected(): boolean;
}

/**
 * In the primary: relays each change a worker announces to every other
 * worker. Returns a function that stops relaying.
 *
 * @example
 * const stop = relayChanges(cluster);
 */
export function relayChanges(cluster: {
  on(event: 'message', listener: (worker: RelayWorker, message: unknown) => void): unknown;
  off(event: 'message', listener: (worker: RelayWorker, message: unknown) => void): unknown;
  readonly workers?: NodeJS.Dict<RelayWorker>;
}): () => void {
  const relay = (from: RelayWorker, message: unknown) => {
    if (!isEnvelope(message)) return;
    for (const w of Object.values(cluster.workers ?? {})) {
      if (!w || w.id === from.id || !w.isConnected()) continue;
      // A worker stopping right now has no waiter left to wake: a failed send is of no consequence.
      w.send(message, () => {});
    }
  };
  cluster.on('message', relay);
  return () => cluster.off('message', relay);
}
