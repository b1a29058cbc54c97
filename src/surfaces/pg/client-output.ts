/**
 * What the listener writes to one client: while a statement is handled, its
 * answers (row description, rows, command tag, errors) are held and leave in
 * one socket write with the ReadyForQuery that ends them, as a Postgres
 * backend buffers its output until it waits for the next command. A write
 * costs the gateway a system call and the client a wake-up; a statement's
 * answers in two writes (the rows as the upstream sent them, ReadyForQuery
 * once the outcome is recorded) cost both twice.
 *
 * What must not wait leaves at once, with everything held before it: a
 * NOTICE (a held statement's, or the upstream's: a client shows it while the
 * statement still runs), a CopyInResponse or CopyBothResponse (the client
 * sends its data only after it), the answer to a Flush, and anything held
 * when the session waits for the client's next message. Past HOLD_BYTES the
 * held bytes leave too, so a large result streams in bounded pieces; while
 * the client has not read them, the relay does not read the upstream.
 */

/** Bytes held before they are written anyway: a large result streams in pieces of about this size. */
export const HOLD_BYTES = 64 * 1024;

/**
 * @example
 * const out = new ClientOutput((b) => socket.write(b));
 * out.hold();
 * out.send(rows);
 * out.send(readyForQuery, true); // written: rows and ReadyForQuery in one write
 */
export class ClientOutput {
  private held: Uint8Array[] = [];
  private bytes = 0;
  private holding = false;

  /** `write` gives a promise back while the client has not read what it was sent (the socket's buffer is full). */
  constructor(
    private readonly write: (bytes: Uint8Array) => void | Promise<void>,
    private readonly bound = HOLD_BYTES,
  ) {}

  /**
   * Queues bytes for the client; `now`: they (and what was held) leave at once. A promise back: what was written
   * waits for the client to read it (the relay then stops reading the upstream until it resolves).
   */
  readonly send = (bytes: Uint8Array, now = false): void | Promise<void> => {
    if (!this.holding) {
      this.flush();
      return this.write(bytes);
    }
    this.held.push(bytes);
    this.bytes += bytes.length;
    if (now || this.bytes >= this.bound) return this.flush();
    return undefined;
  };

  /** From now on, what is sent is held until `flush`, `release` or the bound. */
  hold(): void {
    this.holding = true;
  }

  /** Writes what is held, in one write. */
  flush(): void | Promise<void> {
    if (this.held.length === 0) return undefined;
    const out = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.bytes);
    this.held = [];
    this.bytes = 0;
    return this.write(out);
  }

  /** Writes what is held and stops holding: what is sent from now on is written as it comes. */
  release(): void {
    this.holding = false;
    void this.flush();
  }
}
