/**
 * `server.heap` in the one process of `workers: 1`, as users run it: the
 * compiled CLI (`node bin/countersign.js start`, the bundle in dist/bundle/)
 * under allocation. The young generation's size is read from the gateway's own
 * metrics (prom-client's `nodejs_heap_space_size_total_bytes{space="new"}`),
 * and its scavenges counted, so that "it stayed small" is known to have been
 * under load. (src/cli/heap.test.ts checks the steering itself in processes
 * that start through the TypeScript loader, which leaves the young generation
 * at another size than the compiled CLI does by the time a config is read.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, valueOf } from '../support/exposition.ts';
import { eventually } from '../support/gateway.ts';
import { opsApiConfig } from '../support/policies.ts';
import { call, prepareSharedGateway, type SharedGateway } from '../support/shared-gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const BIN = resolve('bin/countersign.js');
const MB = 1024 * 1024;

interface Started {
  shared: SharedGateway;
  child: ChildProcess;
  exited: Promise<void>;
  url: string;
}

let upstream: Upstream;
const gateways: Started[] = [];

/** `countersign start` with `server.heap.maxSemiSpaceMb` set, in a directory and store of its own. */
async function startCli(maxSemiSpaceMb: number): Promise<Started> {
  const shared = prepareSharedGateway({ server: { heap: { maxSemiSpaceMb } } });
  const file = join(shared.dir, 'countersign.yaml');
  writeFileSync(file, shared.yaml(opsApiConfig(upstream.url)));
  const child = spawn(process.execPath, [BIN, 'start', '--config', file], { cwd: shared.dir, env: { ...process.env, PORT: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const started = { shared, child, exited, url: '' };
  gateways.push(started);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  started.url = await eventually(async () => /Countersign is running at (http:\/\/\S+)/.exec(stderr)?.[1], 30_000);
  return started;
}

async function heapNow(url: string): Promise<{ young: number; scavenges: number }> {
  const families = parseExposition(await (await fetch(`${url}/metrics`)).text());
  return { young: valueOf(families, 'nodejs_heap_space_size_total_bytes', { space: 'new' }), scavenges: valueOf(families, 'nodejs_gc_duration_seconds_count', { kind: 'minor' }) };
}

/** Allowed actions, forwarded upstream, 25 at a time; the largest young generation seen after each batch. */
async function load(gw: Started, rounds: number): Promise<number> {
  let largest = (await heapNow(gw.url)).young;
  for (let round = 0; round < rounds; round++) {
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, i) => call(gw.url, gw.shared.keys['deploy-bot'], '/v1/actions', { body: { connection: 'ops-api', input: { method: 'GET', path: `/items/${round}/${i}` }, reason: 'heap' } })),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    largest = Math.max(largest, (await heapNow(gw.url)).young);
  }
  return largest;
}

let small: Started;
let large: Started;

beforeAll(async () => {
  // A body worth allocating for: each forwarded answer is parsed, audited and sent on.
  const items = Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item-${i}`, tags: ['a', 'b', String(i)] }));
  upstream = await startUpstream(() => ({ status: 200, body: { items } }));
  [small, large] = await Promise.all([startCli(1), startCli(16)]);
}, 60_000);

afterAll(async () => {
  for (const g of gateways) {
    if (g.child.exitCode === null && g.child.signalCode === null) g.child.kill('SIGTERM');
    await g.exited;
    await g.shared.remove();
  }
  await upstream?.close();
});

describe('server.heap in the compiled CLI, one process', () => {
  it('runs the bundle, as bin/countersign.js does for users', () => {
    expect(existsSync(resolve('dist/bundle/cli.js'))).toBe(true);
  });

  it('keeps the young generation at maxSemiSpaceMb 1 (2 MB, both semi-spaces) from its start and under load', async () => {
    const before = await heapNow(small.url);
    expect(before.young, 'young generation once started').toBeLessThanOrEqual(2 * MB);
    const largest = await load(small, 8);
    const after = await heapNow(small.url);
    expect(after.scavenges - before.scavenges, 'scavenges during the load').toBeGreaterThan(20);
    expect(largest, 'largest young generation under load').toBeLessThanOrEqual(2 * MB);
  }, 30_000);

  it('lets it grow to a larger setting: the young generation is not held small for good', async () => {
    const largest = await load(large, 4);
    expect(largest).toBeGreaterThan(8 * MB);
    expect(largest).toBeLessThanOrEqual(32 * MB);
  }, 30_000);
});
