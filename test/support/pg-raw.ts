/**
 * A Postgres wire session driven message by message, for tests that send
 * what no driver would: frontend messages built with pg-protocol's
 * `serialize`, backend messages read with its Parser.
 */
import { connect, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { serialize } from 'pg-protocol';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { TestGateway } from './gateway.ts';

/** Reads allowed except of the secrets table; transaction control allowed; updates held; the rest denied. */
export const ATTACK_POLICY = `connections:
  - name: app-db
    kind: postgres
    url: \${APP_DB_URL}
policy:
  default: deny
  rules:
    - id: no-secrets
      when: facts.sql.tables.exists(t, t == "secrets")
      effect: deny
      message: the secrets table is not for agents
    - id: reads
      when: facts.sql.readOnly && !facts.sql.tables.exists(t, t == "secrets")
      effect: allow
    - id: transactions
      when: facts.sql.statements.all(s, s.type == "transaction")
      effect: allow
    - id: updates
      when: facts.sql.statements.all(s, s.type == "update")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`;

export type Msg = BackendMessage & { name: string; fields?: unknown[]; code?: string; message?: string; text?: string; status?: string };

/** A session driven message by message: what it sends is raw protocol, what it reads is parsed by pg-protocol. */
export class Raw {
  private readonly got: Msg[] = [];
  private wake: (() => void) | undefined;
  closed = false;
  /** The BackendKeyData of the session. */
  key = { pid: 0, secret: 0 };
  private constructor(readonly socket: Socket) {
    const parser = new Parser();
    socket.on('data', (d: Buffer) => {
      parser.parse(d, (m) => {
        this.got.push(m as Msg);
        this.wake?.();
      });
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => {});
  }

  /**
   * `localAddress`: another loopback address (127.0.0.2) to connect from, as a client elsewhere would look;
   * `password`: a credential other than `who`'s API key (a token); `database`: another connection's name.
   */
  static async open(gw: TestGateway, who = 'deploy-bot', localAddress?: string, password?: string, database = 'app-db'): Promise<Raw> {
    const socket = connect({ port: gw.postgresPort!, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    const raw = new Raw(socket);
    socket.write(serialize.startup({ user: who, database }));
    await raw.until('authenticationCleartextPassword');
    socket.write(serialize.password(password ?? gw.keys[who]!));
    const key = (await raw.until('readyForQuery')).find((m) => m.name === 'backendKeyData') as unknown as { processID: number; secretKey: number };
    raw.key = { pid: key.processID, secret: key.secretKey };
    return raw;
  }

  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages));
  }

  /** Messages up to and including the first named `name`. */
  async until(name: string): Promise<Msg[]> {
    for (;;) {
      const at = this.got.findIndex((m) => m.name === name);
      if (at >= 0) return this.got.splice(0, at + 1);
      if (this.closed) throw new Error(`connection closed before ${name}: ${JSON.stringify(this.got.map((m) => m.message ?? m.name))}`);
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }

  end(): void {
    this.socket.end(serialize.end());
  }
}

/** An address of this machine's that is not loopback, if it has one. */
export const outside = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

/** The SQLSTATEs of the ErrorResponses among `ms`. */
export const errors = (ms: Msg[]) => ms.filter((m) => m.name === 'error').map((m) => m.code);
/** The fields of the DataRows among `ms`. */
export const rowsOf = (ms: Msg[]) => ms.filter((m) => m.name === 'dataRow').map((m) => m.fields);

/** Sends a CancelRequest as libpq does: a new connection, the key the session was given. */
export function cancelRequest(port: number, pid: number, secret: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(serialize.cancel(pid, secret)));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

/**
 * One simple-protocol query on a new wire session as deploy-bot: the SQLSTATEs of its errors, and one text of
 * everything the client was sent back (rows, COPY data, error messages), for a test to search for a leak.
 */
export async function queryOnce(gw: TestGateway, sql: string): Promise<{ codes: (string | undefined)[]; text: string }> {
  const c = await Raw.open(gw);
  try {
    c.send(serialize.query(sql));
    const answer: Msg[] = await c.until('readyForQuery');
    const copied = answer.filter((m) => m.name === 'copyData').map((m) => String((m as unknown as { chunk: Buffer }).chunk));
    return { codes: errors(answer), text: JSON.stringify(rowsOf(answer)) + copied.join('') + JSON.stringify(answer.filter((m) => m.name === 'error').map((m) => m.message)) };
  } finally {
    c.end();
  }
}
