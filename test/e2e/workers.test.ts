/**
 * `countersign start --workers 2` on SQLite, through the CLI: two worker
 * processes serve one port, a long-poll in one worker is woken by a review
 * handled in the other (relayed by the primary, not found by polling: the
 * workers' poll is set to ten minutes), a scrape at either worker counts
 * both (gathered by the primary), a worker that dies is replaced, and
 * SIGTERM stops them all.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, valueOf, type Family } from '../support/exposition.ts';
import { eventually } from '../support/gateway.ts';
import { prepareSharedGateway, type SharedGateway } from '../support/shared-gateway.ts';
import { readDb } from '../support/sqlite.ts';
import { opsApiConfig } from '../support/policies.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const BIN = resolve('bin/countersign.js');
const CONFIGURED_PORT = 65_000;


interface Answer {
  status: number;
  worker: string | undefined;
  body: any;
}

/** One HTTP exchange on a connection of its own, so the cluster hands each to a worker afresh. */
function send(url: string, path: string, key: string | undefined, payload?: unknown, timeoutMs = 10_000): Promise<Answer> {
  return new Promise((done, fail) => {
    const req = request(`${url}${path}`, {
      method: payload === undefined ? 'GET' : 'POST',
      agent: false,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'application/json' },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        const w = res.headers['x-countersign-worker'];
        done({ status: res.statusCode ?? 0, worker: typeof w === 'string' ? w : undefined, body: parsed });
      });
    });
    req.on('error', fail);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer to ${path} within ${timeoutMs} ms`)));
    req.end(payload === undefined ? undefined : JSON.stringify(payload));
  });
}

let upstream: Upstream;
let shared: SharedGateway;
let primary: ChildProcess;
let exited: Promise<number | null>;
let stderr = '';
let url: string;

beforeAll(async () => {
  upstream = await startUpstream((call) => ({ status: 200, body: { url: call.url } }));
  shared = prepareSharedGateway({ server: { port: CONFIGURED_PORT, maxWaitSeconds: 300, heap: { maxSemiSpaceMb: 4, oldSpaceGrowthPercent: 25 } } });
  const file = join(shared.dir, 'countersign.yaml');
  writeFileSync(file, shared.yaml(opsApiConfig(upstream.url)));
  // Waiters read their request again only every ten minutes: within a test, only the notifier wakes them.
  primary = spawn(process.execPath, [BIN, 'start', '--config', file, '--workers', '2', '--port', '0'], {
    cwd: shared.dir,
    env: { ...process.env, PORT: '', COUNTERSIGN_WAIT_POLL_MS: '600000' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  primary.stderr!.on('data', (d: Buffer) => (stderr += d));
  exited = new Promise((r) => primary.once('exit', (code) => r(code)));
  url = await eventually(async () => /Countersign is running at (http:\/\/\S+) \(config .*, 2 workers\)/.exec(stderr)?.[1], 60_000);
}, 90_000);

afterAll(async () => {
  if (primary && primary.exitCode === null && primary.signalCode === null) {
    primary.kill('SIGTERM');
    await exited;
  }
  await upstream?.close();
  shared?.remove();
});

/** The primary's children that run the CLI (not its loader's esbuild service). */
const workerPids = () =>
  execFileSync('pgrep', ['-P', String(primary.pid), '-f', 'countersign.js start'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map(Number);

describe('countersign start --workers 2', () => {
  it('listens on the --port given over the config, with requests served by both workers', async () => {
    expect(new URL(url).port).not.toBe(String(CONFIGURED_PORT));
    expect(workerPids()).toHaveLength(2);
    const seen = new Set<string>();
    await eventually(async () => {
      const res = await send(url, '/healthz', undefined);
      expect(res.status).toBe(200);
      if (res.worker) seen.add(res.worker);
      return seen.size === 2 ? true : undefined;
    }, 20_000);
    expect([...seen].sort()).toEqual(['1', '2']);
  });

  it('starts its workers with server.heap as node flags, and the primary, which serves nothing, without them', () => {
    const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    for (const pid of workerPids()) expect(cmdline(pid)).toEqual(expect.arrayContaining(['--max-semi-space-size=4', '--heap-growing-percent=25']));
    expect(cmdline(primary.pid!)).not.toContain('--max-semi-space-size=4');
  });

  it('wakes a long-poll in one worker when the other handles the approval', async () => {
    const held = await send(url, '/v1/actions', shared.keys['deploy-bot'], { connection: 'ops-api', input: { method: 'POST', path: '/workers/wake' }, reason: 'across workers' });
    expect(held.status).toBe(202);
    const id = held.body.id as string;
    // Several waits, each on its own connection: the cluster spreads them over both workers.
    const waits: Promise<Answer>[] = [];
    for (let i = 0; i < 6; i++) waits.push(send(url, `/v1/requests/${id}?wait=300&from=pending`, shared.keys['deploy-bot'], undefined, 80_000));
    // Each wait has read the request and subscribed once a later read on its worker is answered; the test
    // waits for that observable instead: the request is pending, read through fresh connections to both workers.
    const readers = new Set<string>();
    await eventually(async () => {
      const r = await send(url, `/v1/requests/${id}`, shared.keys['deploy-bot']);
      if (r.body.status === 'pending' && r.worker) readers.add(r.worker);
      return readers.size === 2 ? true : undefined;
    }, 20_000);

    const approved = await send(url, `/v1/requests/${id}/reviews`, shared.keys['alice'], { verdict: 'approve' });
    expect(approved.status).toBe(200);
    // A wait is never answered by its deadline here (300 s, past this test's timeout): each answer is a wake-up.
    const answers = await Promise.all(waits);
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body.status).not.toBe('pending');
    }
    expect(new Set(answers.map((a) => a.worker)).size).toBe(2);
    expect(answers.some((a) => a.worker !== approved.worker)).toBe(true);
    await eventually(async () => ((await send(url, `/v1/requests/${id}`, shared.keys['deploy-bot'])).body.status === 'succeeded' ? true : undefined), 20_000);
    expect(upstream.calls.filter((c) => c.url === '/workers/wake')).toHaveLength(1);
  }, 90_000);

  it("answers a scrape at either worker with every worker's counts summed, and what both read from the store once", async () => {
    const scrapeAt = async (worker: string): Promise<Map<string, Family>> =>
      eventually(async () => {
        const res = await send(url, '/metrics', undefined);
        expect(res.status).toBe(200);
        return res.worker === worker ? parseExposition(res.body as string) : undefined;
      }, 20_000);
    const allowed = (m: Map<string, Family>) => valueOf(m, 'countersign_requests_total', { connection: 'ops-api', effect: 'allow', status: 'succeeded' });
    const before = await scrapeAt('1');
    expect(allowed(await scrapeAt('2'))).toBe(allowed(before));

    // Allowed actions until both workers have run some: each on a connection of its own.
    const ran = new Map<string, number>();
    await eventually(async () => {
      const r = await send(url, '/v1/actions', shared.keys['deploy-bot'], { connection: 'ops-api', input: { method: 'GET', path: '/workers/metrics' }, reason: 'count me' });
      expect(r.body.status).toBe('succeeded');
      ran.set(r.worker!, (ran.get(r.worker!) ?? 0) + 1);
      return ran.size === 2 ? true : undefined;
    }, 20_000);
    const count = [...ran.values()].reduce((a, b) => a + b, 0);
    const held = await send(url, '/v1/actions', shared.keys['deploy-bot'], { connection: 'ops-api', input: { method: 'POST', path: '/workers/metrics-held' }, reason: 'pending' });
    expect(held.status).toBe(202);

    for (const worker of ['1', '2']) {
      const m = await scrapeAt(worker);
      expect(allowed(m) - allowed(before)).toBe(count);
      // Each worker reads the one pending request from the store: kept once, not summed to 2.
      expect(valueOf(m, 'countersign_requests_pending')).toBe(1);
    }
  }, 90_000);

  it('replaces a worker that dies', async () => {
    const [victim] = workerPids();
    process.kill(victim!, 'SIGKILL');
    // Cluster worker ids count up: a third one answering is the replacement.
    await eventually(async () => ((await send(url, '/healthz', undefined).catch(() => undefined))?.worker === '3' ? true : undefined), 60_000).catch((e: unknown) => {
      throw new Error(`no third worker answered; the primary said:\n${stderr}`, { cause: e });
    });
    expect(workerPids()).toHaveLength(2);
    expect(workerPids()).not.toContain(victim);
  }, 90_000);

  it('stops every worker on SIGTERM, each signing its last checkpoint, and exits 0', async () => {
    const pids = workerPids();
    primary.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    const head = readDb(shared.dbPath, (db) => db.prepare('SELECT COALESCE(MAX(seq), 0) FROM audit_events').pluck().get() as number);
    const signed = readDb(shared.dbPath, (db) => db.prepare('SELECT MAX(size) FROM checkpoints').pluck().get() as number);
    expect(signed).toBe(head);
  }, 60_000);
});

describe('countersign start --workers 2 that cannot start', () => {
  it('exits non-zero with the worker error instead of restarting it forever', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    const other = prepareSharedGateway();
    try {
      const file = join(other.dir, 'countersign.yaml');
      writeFileSync(file, other.yaml(opsApiConfig('http://127.0.0.1:9')));
      const p = spawn(process.execPath, [BIN, 'start', '--config', file, '--workers', '2', '--port', String(port)], { cwd: other.dir, env: { ...process.env, PORT: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (d: Buffer) => (err += d));
      const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
      expect(code).not.toBe(0);
      expect(err).toContain('EADDRINUSE');
      expect(err).not.toContain('Countersign is running');
    } finally {
      blocker.close();
      other.remove();
    }
  }, 90_000);
});

describe('countersign start --workers 2 whose primary is killed', () => {
  it('has its workers stop too, leaving nothing on the port', async () => {
    const other = prepareSharedGateway();
    try {
      const file = join(other.dir, 'countersign.yaml');
      writeFileSync(file, other.yaml(opsApiConfig('http://127.0.0.1:9')));
      const p = spawn(process.execPath, [BIN, 'start', '--config', file, '--workers', '2', '--port', '0'], { cwd: other.dir, env: { ...process.env, PORT: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (d: Buffer) => (err += d));
      const at = await eventually(async () => /Countersign is running at (http:\/\/\S+)/.exec(err)?.[1], 60_000);
      const pids = execFileSync('pgrep', ['-P', String(p.pid), '-f', 'countersign.js start'], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
      expect(pids).toHaveLength(2);
      p.kill('SIGKILL');
      await eventually(async () => (pids.every((pid) => !alive(pid)) ? true : undefined), 30_000);
      await expect(send(at, '/healthz', undefined, undefined, 5000)).rejects.toThrow();
    } finally {
      other.remove();
    }
  }, 90_000);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
