/**
 * Connections to the Postgres wire listener that have not authenticated yet
 * (anyone who can reach the port can open them) counted against
 * `maxSessions`: a few hundred idle sockets, renewed before
 * `authenticationSeconds` closed them, kept every agent out. They now have a
 * budget of their own (`maxUnauthenticated`): past it, the oldest one that has
 * waited on its client longest gives its place to the newcomer, and sessions
 * that authenticated count against `maxSessions` alone.
 */
import { connect, type Socket } from 'node:net';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY as POLICY, errors, Raw } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();
afterAll(async () => {
  await db?.drop();
});

describe.skipIf(!db)('connections that have not authenticated', () => {
  let gw: TestGateway;
  const idle: { socket: Socket; got: () => string; closed: Promise<void> }[] = [];

  beforeAll(async () => {
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, maxSessions: 2, maxUnauthenticated: 4, authenticationSeconds: 120 }' });
  });

  afterAll(async () => {
    for (const s of idle) s.socket.destroy();
    await gw?.stop();
  });

  /** A connection that sends half a startup packet, then nothing. */
  async function openIdle(): Promise<void> {
    const socket = connect(gw.postgresPort!, '127.0.0.1');
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(serialize.startup({ user: 'deploy-bot', database: 'app-db' }).subarray(0, 10));
    idle.push({ socket, got: () => got, closed });
  }

  const select = async (c: Raw) => {
    c.send(serialize.query('SELECT 1'));
    return errors(await c.until('readyForQuery'));
  };

  it('do not keep an agent out: past their budget the oldest idle one is closed (53300), and the agent connects', async () => {
    const first = await Raw.open(gw);
    for (let i = 0; i < 8; i++) {
      await openIdle();
      // Waited on past the grace an idle connection has before it can be made to give its place.
      await new Promise((r) => setTimeout(r, 600));
    }
    const second = await Raw.open(gw);
    expect(await select(second)).toEqual([]);
    // An authenticated session is never the one that makes room.
    expect(await select(first)).toEqual([]);
    // The oldest idle ones were closed well before authenticationSeconds (120 s), told why.
    await idle[0]!.closed;
    expect(idle[0]!.got()).toContain('53300');
    first.end();
    second.end();
  });

  it('sessions that authenticated still count against maxSessions alone', async () => {
    const [a, b] = [await Raw.open(gw), await Raw.open(gw)];
    await expect(Raw.open(gw)).rejects.toThrow(/too many clients|53300/);
    a.end();
    b.end();
  });
});
