/**
 * CPU per allowed (or held) action over consecutive runs on one gateway, from its start: how long the compiled
 * gateway takes to reach its steady cost (JIT tiers, heap growth, the store's first pages). bench:gateway measures
 * after a warm-up of BENCH_WARMUP_SECONDS; this says whether that warm-up is enough.
 *
 * Usage: STORE=sqlite|postgres MODE=allowed|held RUNS=10 SECONDS=2 CONNECTIONS=50 node bin/run-ts.js bench/micro/warmup-curve.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../../test/support/postgres.ts';
import { runLoad } from '../support/autocannon.ts';
import { buildIfStale, startCompiledGateway } from '../support/compiled-gateway.ts';
import { cpuOf, cpuWindow } from '../support/cpu.ts';
import { BENCH_CONNECTION, benchConfigYaml, benchKeys, postgresStore, sqliteStore } from '../support/gateway-config.ts';
import { killAllChildren, spawnTs } from '../support/procs.ts';

const store = process.env['STORE'] ?? 'sqlite';
const mode = process.env['MODE'] ?? 'allowed';
const runs = Number(process.env['RUNS'] ?? 10);
const seconds = Number(process.env['SECONDS'] ?? 2);
const connections = Number(process.env['CONNECTIONS'] ?? 50);
const log = (s: string) => process.stderr.write(`${s}\n`);

buildIfStale(log, { check: false });
const token = `tok_${randomBytes(16).toString('hex')}`;
const { agent, human } = benchKeys();
const dir = mkdtempSync(join(tmpdir(), 'cs-bench-warmup-'));
const db = store === 'postgres' ? await createTestDatabase() : undefined;
const upstream = await spawnTs<{ url: string }>('upstream', fileURLToPath(new URL('../support/upstream.ts', import.meta.url)), { UPSTREAM_TOKEN: token });
const configFile = join(dir, 'countersign.yaml');
const storeYaml = db ? postgresStore(db.url) : sqliteStore(join(dir, 'countersign.db'));
writeFileSync(configFile, benchConfigYaml({ store: storeYaml, keyDir: join(dir, 'keys'), upstreamUrl: upstream.ready.url, agentKeyHash: agent.hash, humanKeyHash: human.hash, workers: 1 }));
const gw = await startCompiledGateway({ name: 'warmup', configFile, workers: 1, env: { UPSTREAM_TOKEN: token }, log });
const body = JSON.stringify({ connection: BENCH_CONNECTION, input: mode === 'held' ? { method: 'POST', path: '/x', body: { n: 1 } } : { method: 'GET', path: '/x' }, reason: 'bench' });
try {
  for (let i = 1; i <= runs; i++) {
    const w = cpuWindow({ gateway: gw.pid });
    const r = await runLoad({ url: `${gw.url}/v1/actions`, connections, duration: seconds, method: 'POST', headers: { authorization: `Bearer ${agent.key}`, 'content-type': 'application/json' }, body });
    const cpu = cpuOf(w.end(), 'gateway');
    const ok = r.raw['2xx'];
    log(`run ${String(i).padStart(2)} (${(i - 1) * seconds}-${i * seconds} s): ${Math.round(ok / r.raw.duration)} ${mode}/s, ${Math.round((cpu / Math.max(1, ok)) * 1e6)} µs CPU per action, p50 ${r.p50} ms`);
  }
} finally {
  await gw.stop();
  await upstream.stop();
  killAllChildren();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
}
