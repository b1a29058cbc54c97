/**
 * Every Notifier adapter against the contract: memory (one process),
 * PostgreSQL (two instances, each with its own LISTEN connection, on a
 * throwaway database of the real server) and the cluster notifier (two
 * instances joined by a real message channel, as the primary's relay joins
 * workers; the relay itself runs in test/e2e/workers.test.ts).
 */
import { MessageChannel, type MessagePort as ThreadPort } from 'node:worker_threads';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { notifierContract } from '../../../test/contract/notifier.ts';
import { eventually } from '../../../test/support/gateway.ts';
import { requestRecord } from '../../../test/support/fixtures.ts';
import { createTestDatabase } from '../../../test/support/postgres.ts';
import { silentRelay } from '../../../test/support/silent-relay.ts';
import type { Notifier } from '../../core/ports.ts';
import type { RequestRecord } from '../../core/request.ts';
import { createClusterNotifier, type MessagePort } from './cluster.ts';
import { createMemoryNotifier } from './memory.ts';
import { createPostgresNotifier } from './postgres.ts';

notifierContract('memory', async () => ({ a: createMemoryNotifier(), save: () => {}, cleanup: async () => {} }), { spansProcesses: false });

function portOf(p: ThreadPort): MessagePort {
  return {
    send: (m) => p.postMessage(m),
    onMessage(listener) {
      p.on('message', listener);
      return () => p.off('message', listener);
    },
  };
}

notifierContract('cluster', async () => {
  const rows = new Map<string, RequestRecord>();
  const load = async (id: string) => rows.get(id);
  const { port1, port2 } = new MessageChannel();
  const a = createClusterNotifier({ load, port: portOf(port1) });
  const b = createClusterNotifier({ load, port: portOf(port2) });
  return {
    a,
    b,
    save: (r) => rows.set(r.id, r),
    async cleanup() {
      await a.close();
      await b.close();
      port1.close();
    },
  };
}, { spansProcesses: true });

/**
 * Publishes, on `a`, a request the policy allowed outright and then a held one; `b` listens to both. Announcements
 * keep their order, so once the held one is heard, an announced allowed one would have been heard first.
 */
async function expectOnlyHeldAnnounced(a: Notifier, b: Notifier, rows: Map<string, RequestRecord>): Promise<void> {
  const base = requestRecord({ status: 'succeeded' });
  const allowed: RequestRecord = { ...base, decision: { ...base.decision, effect: 'allow' }, expiresAt: null, reviews: [] };
  const held = requestRecord({ status: 'approved' });
  for (const r of [allowed, held]) rows.set(r.id, r);
  const heard: string[] = [];
  b.subscribe(allowed.id, (x) => heard.push(x.id));
  b.subscribe(held.id, (x) => heard.push(x.id));
  const local: string[] = [];
  a.subscribe(allowed.id, (x) => local.push(x.id));
  a.publish(allowed);
  a.publish(held);
  await eventually(async () => (heard.includes(held.id) ? true : undefined), 10_000);
  expect(heard).toEqual([held.id]);
  // This process's own listeners still hear it.
  expect(local).toEqual([allowed.id]);
}

describe('cluster notifier', () => {
  it('does not send a change to a request the policy allowed outright to the other workers, and sends the rest', async () => {
    const rows = new Map<string, RequestRecord>();
    const load = async (id: string) => rows.get(id);
    const { port1, port2 } = new MessageChannel();
    const a = createClusterNotifier({ load, port: portOf(port1) });
    const b = createClusterNotifier({ load, port: portOf(port2) });
    try {
      await expectOnlyHeldAnnounced(a, b, rows);
    } finally {
      await a.close();
      await b.close();
      port1.close();
    }
  });

  it('sends the changes of one turn in one message, and every one of them is heard', async () => {
    const rows = new Map<string, RequestRecord>();
    const load = async (id: string) => rows.get(id);
    const { port1, port2 } = new MessageChannel();
    let sent = 0;
    const counted: MessagePort = { ...portOf(port1), send: (m) => (sent++, port1.postMessage(m)) };
    const a = createClusterNotifier({ load, port: counted });
    const b = createClusterNotifier({ load, port: portOf(port2) });
    try {
      const held = Array.from({ length: 5 }, () => requestRecord({ status: 'pending' }));
      const heard = new Set<string>();
      for (const r of held) {
        rows.set(r.id, r);
        b.subscribe(r.id, (x) => heard.add(x.id));
      }
      for (const r of held) a.publish(r);
      await eventually(async () => (heard.size === held.length ? true : undefined), 10_000);
      expect([...heard].sort()).toEqual(held.map((r) => r.id).sort());
      expect(sent).toBe(1);
    } finally {
      await a.close();
      await b.close();
      port1.close();
    }
  });
});

const db = await createTestDatabase();
describe.skipIf(!db)('postgres notifier', () => {
  afterAll(() => db?.drop());

  notifierContract('postgres', async () => {
    const rows = new Map<string, RequestRecord>();
    const load = async (id: string) => rows.get(id);
    const a = await createPostgresNotifier({ url: db!.url, load });
    const b = await createPostgresNotifier({ url: db!.url, load });
    return {
      a,
      b,
      save: (r) => rows.set(r.id, r),
      async cleanup() {
        await a.close();
        await b.close();
      },
    };
  }, { spansProcesses: true });

  it('listens again after its connection drops, and catches up on the requests waited on', async () => {
    const rows = new Map<string, RequestRecord>();
    const load = async (id: string) => rows.get(id);
    const a = await createPostgresNotifier({ url: db!.url, load });
    const b = await createPostgresNotifier({ url: db!.url, load });
    const admin = new pg.Client({ connectionString: db!.url });
    await admin.connect();
    try {
      const r = requestRecord();
      rows.set(r.id, r);
      const heard: RequestRecord[] = [];
      b.subscribe(r.id, (x) => heard.push(x));
      // Every LISTEN session of this database is cut, as a server restart or a network drop would.
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'countersign-notify'`);
      // Changed while nobody listened: b reads it again once it is back.
      const changed = { ...r, status: 'approved' as const, version: r.version + 1 };
      rows.set(r.id, changed);
      await eventually(async () => (heard.some((x) => x.version === changed.version) ? true : undefined), 10_000);
      // And announcements flow again both ways.
      const later = { ...changed, status: 'executing' as const, version: changed.version + 1 };
      rows.set(r.id, later);
      await eventually(async () => {
        a.publish(later);
        return heard.some((x) => x.version === later.version) ? true : undefined;
      }, 10_000);
      expect(heard.at(-1)).toEqual(later);
    } finally {
      await admin.end();
      await a.close();
      await b.close();
    }
  });

  it('does not announce a change to a request the policy allowed outright (no one elsewhere waits on it), and announces the rest', async () => {
    const rows = new Map<string, RequestRecord>();
    const a = await createPostgresNotifier({ url: db!.url, load: async (id) => rows.get(id) });
    const b = await createPostgresNotifier({ url: db!.url, load: async (id) => rows.get(id) });
    try {
      await expectOnlyHeldAnnounced(a, b, rows);
    } finally {
      await a.close();
      await b.close();
    }
  });

  // A partition, or a NAT that forgot the connection: no RST comes, so an announcement may never be answered. Every
  // later one must not queue behind it (nor memory grow with them): the connection is taken as lost and opened again.
  it('announces again once the network is back after it went silent under an announcement', async () => {
    const relay = await silentRelay(db!.url);
    const rows = new Map<string, RequestRecord>();
    const load = async (id: string) => rows.get(id);
    const a = await createPostgresNotifier({ url: relay.url, load, connectTimeoutMs: 1000 });
    const b = await createPostgresNotifier({ url: db!.url, load });
    try {
      const r = requestRecord({ status: 'approved' });
      rows.set(r.id, r);
      const heard: RequestRecord[] = [];
      b.subscribe(r.id, (x) => heard.push(x));
      relay.freeze();
      a.publish(r);
      await eventually(async () => (relay.sentWhileFrozen() > 0 ? true : undefined), 10_000);
      relay.thaw();
      const later = { ...r, status: 'executing' as const, version: r.version + 1 };
      rows.set(r.id, later);
      await eventually(async () => {
        a.publish(later);
        return heard.some((x) => x.version === later.version) ? true : undefined;
      }, 15_000);
    } finally {
      await a.close();
      await b.close();
      await relay.close();
    }
  }, 30_000);

  it('names the database without its password when it cannot listen', async () => {
    const url = new URL(db!.url);
    url.password = 'hunter2-secret';
    url.port = '1';
    const failed = await createPostgresNotifier({ url: url.toString(), load: async () => undefined, connectTimeoutMs: 2000 }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(failed).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(failed!.message).toContain(`127.0.0.1:1${url.pathname}`);
    expect(failed!.message).not.toContain('hunter2');
  });
});
