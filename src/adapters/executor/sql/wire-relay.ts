/**
 * The upstream half of a Postgres wire session: one upstream connection held
 * for one client session, relaying what the client may see and keeping what
 * the gateway sends for itself out of the client's stream.
 *
 * Every message sent upstream leaves an expectation in a queue, owned by the
 * client or by the gateway; each answer goes to the oldest expectation, so the
 * gateway's own statements (a transaction around a run, the session check)
 * can be interleaved with the client's without the client ever seeing them.
 * After an error in the extended protocol the server skips everything up to
 * the next Sync, and so does the queue.
 */
import { serialize } from 'pg-protocol';
import { BackendFramer, commandTag, readyStatus } from '../../../surfaces/pg/protocol.ts';

/** What a relay needs of an upstream connection (upstream-session.ts). */
export interface RelaySocket {
  write(bytes: Buffer): void;
  onData(listener: ((chunk: Buffer) => void) | undefined): void;
  onClose(listener: ((err?: Error) => void) | undefined): void;
  pause?(): void;
  resume?(): void;
}

type Kind = 'parse' | 'bind' | 'describe' | 'execute' | 'close' | 'sync' | 'query';

/** What one message sent upstream is answered with, and who sees the answer. */
interface Expectation {
  readonly kind: Kind;
  readonly owner: 'client' | 'gateway';
  /** The answers, for the gateway's own messages. */
  readonly messages: { type: string; body: Buffer }[];
  error?: Buffer;
  done: (outcome: 'answered' | 'skipped' | 'lost') => void;
}

/** Message types that end the answer to each kind (an ErrorResponse ends all but a query's and a sync's). */
const ENDS: Readonly<Record<Kind, string>> = {
  parse: '1',
  bind: '2',
  describe: 'Tn',
  execute: 'CIs',
  close: '3',
  sync: 'Z',
  query: 'Z',
};

/**
 * Messages the client must get without waiting for the statement's end: a NOTICE (shown while the statement runs),
 * CopyBothResponse (the client sends its data only after it). The rest may be held by the surface until its
 * ReadyForQuery. (A CopyInResponse never reaches the client: the listener sent its own before judging the COPY.)
 */
const URGENT = 'NGW';

/** The answer to one message: what arrived, and whether the server skipped it after an earlier error. */
export interface Answer {
  readonly outcome: 'answered' | 'skipped' | 'lost';
  readonly messages: readonly { type: string; body: Buffer }[];
  /** The ErrorResponse body, when the message failed. */
  readonly error?: Buffer;
}

/**
 * @example
 * const relay = new WireRelay(upstream, (bytes) => socket.write(bytes));
 * await relay.send(serialize.query('SELECT 1'), 'query', 'client');
 */
export class WireRelay {
  private readonly queue: Expectation[] = [];
  private readonly framer = new BackendFramer();
  /** Transaction status as of the last ReadyForQuery. */
  status: 'I' | 'T' | 'E' = 'I';
  /** The upstream entered COPY FROM STDIN (until its ReadyForQuery). */
  copyIn = false;
  /**
   * The COPY data (CopyData messages and CopyDone) judged with the statement that runs now: sent when the upstream
   * asks for it (CopyInResponse), which the client does not see (the gateway answered its own). Set by the run only.
   */
  copyData: Buffer | undefined;
  /** Command tags of the client's statements since the last `takeTags()`. */
  private tags: string[] = [];
  private errorFields: Buffer | undefined;
  lost: Error | undefined;
  private detached = false;
  private readonly lostListeners: ((err: Error) => void)[] = [];
  /** Messages for the upstream not yet written: what one turn of the event loop sends goes in one write. */
  private outgoing: Buffer[] = [];
  /** Messages for the client from one chunk of the upstream's: written together once the chunk is routed. */
  private incoming: Buffer[] | undefined;
  /** The upstream is not read until the client has read what was written to it (deliver). */
  private paused = false;
  /** The chunk being routed has a message the client must see at once (URGENT). */
  private urgent = false;
  /** A CancelRequest sent upstream and not yet handled there: nothing more is written until it is (see holdFor). */
  private gate: Promise<void> | undefined;

  constructor(
    private readonly upstream: RelaySocket,
    /** A promise back: the client is slow to read; the upstream is not read until it resolves. */
    private readonly toClient: (bytes: Buffer, now?: boolean) => void | Promise<void>,
  ) {
    upstream.onData((chunk) => this.receive(chunk));
    upstream.onClose((err) => this.close(err ?? new Error('the upstream connection closed')));
  }

  /** Sends one framed message upstream; resolves when its answer is complete (or skipped, or the upstream is lost). */
  send(bytes: Buffer, kind: Kind, owner: 'client' | 'gateway'): Promise<Answer> {
    if (this.lost) return Promise.resolve({ outcome: 'lost', messages: [] });
    return new Promise<Answer>((resolve) => {
      const e: Expectation = {
        kind,
        owner,
        messages: [],
        done: (outcome) => resolve({ outcome, messages: e.messages, ...(e.error ? { error: e.error } : {}) }),
      };
      this.queue.push(e);
      this.write(bytes);
    });
  }

  /** Sends bytes that expect no answer (Flush, CopyData, CopyDone, CopyFail, Terminate). */
  push(bytes: Buffer): void {
    if (!this.lost) this.write(bytes);
  }

  /**
   * Queues bytes for the upstream. A statement's flight (the gateway's Bind/Execute/Close, the client's Query, the
   * COMMIT, the Sync) is several messages sent in one synchronous turn: one socket write for all of them, not one each.
   */
  private write(bytes: Buffer): void {
    this.outgoing.push(bytes);
    if (this.outgoing.length === 1 && !this.gate) queueMicrotask(() => this.flushOutgoing());
  }

  /**
   * Holds every message written from now on until `cancel` (a CancelRequest sent for what runs now) was handled by
   * the server: a cancel acts on whatever its backend runs when it arrives, so one still on its way must not find the
   * next statement, or the gateway's own, running. Not confirmed (`false`: sent, but the server never said it was
   * done with it), it could still land at any time: the session is then closed, as if lost.
   */
  holdFor(cancel: Promise<boolean>): void {
    const before = this.gate;
    const gate: Promise<void> = Promise.all([before, cancel.catch(() => false)]).then(([, handled]) => {
      if (this.gate === gate) this.gate = undefined;
      if (!handled) this.close(new Error('a cancel sent upstream was not confirmed by the server'));
      this.flushOutgoing();
    });
    this.gate = gate;
  }

  /** Resolves once no cancel sent upstream is still on its way (see holdFor). */
  async cancelsHandled(): Promise<void> {
    while (this.gate) await this.gate;
  }

  private flushOutgoing(): void {
    if (this.gate) return; // written when the gate opens
    const out = this.outgoing;
    if (out.length === 0) return;
    this.outgoing = [];
    if (this.lost || this.detached) return;
    this.upstream.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  /** Resolves once every message sent so far is answered or skipped. */
  async settled(): Promise<void> {
    const last = this.queue.at(-1);
    if (!last) return;
    this.write(serialize.flush());
    await new Promise<void>((resolve) => {
      const done = last.done;
      last.done = (o) => {
        done(o);
        resolve();
      };
    });
  }

  onLost(listener: (err: Error) => void): void {
    this.lostListeners.push(listener);
  }

  /** The command tags and the error (if any) of the client's statements since the last call. */
  takeOutcome(): { tags: string[]; error: Buffer | undefined } {
    const out = { tags: this.tags, error: this.errorFields };
    this.tags = [];
    this.errorFields = undefined;
    return out;
  }

  /**
   * Gives the client an error the server answered to one of the gateway's statements, as the client's statement's
   * error: the COMMIT of the gateway's transaction failed (a deferred constraint), so what the client ran was not kept.
   */
  passError(body: Buffer): void {
    const head = Buffer.alloc(5);
    head.write('E', 0, 'latin1');
    head.writeInt32BE(body.length + 4, 1);
    this.toClient(Buffer.concat([head, body]));
    this.errorFields ??= body;
  }

  /** Stops reading the upstream (it goes back to its pool, which reads it from now on). */
  detach(): void {
    // What was sent before detaching is the upstream's to answer, wherever it goes next.
    this.flushOutgoing();
    this.detached = true;
    // Its next owner reads it.
    if (this.paused) {
      this.paused = false;
      this.upstream.resume?.();
    }
    this.upstream.onData(undefined);
    this.upstream.onClose(undefined);
  }

  private receive(chunk: Buffer): void {
    if (this.detached) return;
    let frames;
    try {
      frames = this.framer.push(chunk);
    } catch (e) {
      this.close(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    // Routing resolves answers, whose continuations run after this returns: the client's messages are written first.
    const incoming: Buffer[] = (this.incoming = []);
    this.urgent = false;
    try {
      for (const f of frames) this.route(f.type, f.raw, f.body);
    } finally {
      this.incoming = undefined;
      if (incoming.length > 0) this.deliver(incoming.length === 1 ? incoming[0]! : Buffer.concat(incoming), this.urgent);
    }
  }

  /**
   * Writes to the client; while it has not read what was written (the surface's promise), the upstream is not read:
   * a large result then waits in the server and in TCP's buffers, not in the gateway's memory.
   */
  private deliver(bytes: Buffer, now: boolean): void {
    const slow = this.toClient(bytes, now);
    if (!slow || this.paused) return;
    this.paused = true;
    this.upstream.pause?.();
    void slow.then(() => {
      if (!this.paused) return;
      this.paused = false;
      if (!this.detached) this.upstream.resume?.();
    });
  }

  /** A message for the client: batched while a chunk is routed, written at once otherwise. */
  private relayToClient(raw: Buffer, type: string): void {
    const now = URGENT.includes(type);
    if (this.incoming) {
      this.incoming.push(raw);
      if (now) this.urgent = true;
    } else this.deliver(raw, now);
  }

  private route(type: string, raw: Buffer, body: Buffer): void {
    const head = this.queue[0];
    // Asynchronous messages: a setting the server reports changed, a NOTIFY. The client's to see either way.
    if (type === 'S' || type === 'A') {
      this.relayToClient(raw, type);
      return;
    }
    if (!head) {
      // Nothing asked: a notice outside any exchange (a server shutting down says so) reaches the client; anything else is a protocol fault.
      if (type === 'N' || type === 'E') this.relayToClient(raw, type);
      return;
    }
    if (head.owner === 'client' && type === 'G') {
      // The client sent its data to the gateway before the statement was judged: it goes up now, once; without any
      // (a COPY that was not judged with its data), the COPY fails and loads nothing.
      this.copyIn = true;
      this.write(this.copyData ?? Buffer.from(serialize.copyFail('COPY data reaches the server only with the statement it was judged with')));
      this.copyData = undefined;
      return;
    }
    if (head.owner === 'client') {
      if (type !== 'Z') this.relayToClient(raw, type);
      if (type === 'C') this.tags.push(commandTag(body));
      if (type === 'E' && !this.errorFields) this.errorFields = body;
    } else if (type !== 'N') {
      head.messages.push({ type, body });
    }
    if (type === 'Z') {
      this.status = readyStatus(body);
      this.copyIn = false;
    }
    if (type === 'E') head.error ??= body;
    if (type === 'E' && head.kind !== 'query' && head.kind !== 'sync') {
      // Extended protocol: the server now skips every message up to the next Sync.
      this.queue.shift();
      head.done('answered');
      while (this.queue[0] && this.queue[0].kind !== 'sync') this.queue.shift()!.done('skipped');
      return;
    }
    if (ENDS[head.kind].includes(type)) {
      this.queue.shift();
      head.done('answered');
    }
  }

  close(err: Error): void {
    if (this.lost || this.detached) return;
    this.lost = err;
    for (const e of this.queue.splice(0)) e.done('lost');
    for (const l of this.lostListeners) l(err);
  }
}
