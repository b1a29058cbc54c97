/**
 * What telemetry costs the hot path (issue 18's target: ≤ 5 % of allowed-action
 * throughput): one gateway per variant of the config (metrics on, the default,
 * and metrics off), all started side by side on the same store kind, each
 * warmed up, then short allowed-action runs alternating between them round
 * after round (A B, B A, …), so that drift in the machine's other load falls
 * on every variant alike. The figure per variant is the median over its
 * rounds; the cost is from the median of each round's paired ratio against
 * the first variant (the baseline), run next to it.
 *
 * A variant is a name and YAML put before the config (TELEMETRY_VARIANTS):
 * both off (the baseline), metrics on (the default), and metrics on with
 * tracing on at `sampleRatio: 0`, the issue's configuration.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '../../test/support/postgres.ts';
import type { LoadOptions } from './autocannon.ts';
import { startCompiledGateway, type CompiledGateway } from './compiled-gateway.ts';
import { benchConfigYaml, postgresStore, sqliteStore } from './gateway-config.ts';
import type { Phase, StoreName } from './gateway-report.ts';

export interface TelemetryVariant {
  readonly name: string;
  /** YAML put before the rest of the config. */
  readonly prefix: string;
}

/** The first is the baseline every other is compared with. */
export const TELEMETRY_VARIANTS: readonly TelemetryVariant[] = [
  { name: 'both off', prefix: 'metrics: { enabled: false }\ntracing: { enabled: false }\n' },
  { name: 'metrics on', prefix: 'tracing: { enabled: false }\n' },
  // What production pays for what it does not sample: the SDK, the context manager and a span per step, none
  // recorded or exported (nothing listens at the URL; an export attempt would show as errors in the log).
  { name: 'metrics on, tracing at 0', prefix: 'tracing: { enabled: true, sampleRatio: 0, otlp: { url: "http://127.0.0.1:9/v1/traces" } }\n' },
];

export interface TelemetryCost {
  readonly store: StoreName;
  readonly workers: number;
  readonly rounds: number;
  readonly seconds: number;
  readonly variants: readonly { name: string; okPerSecond: number[]; cpuPerActionUs: number[] }[];
}

export interface TelemetryCostOptions {
  readonly store: StoreName;
  readonly workers: number;
  readonly rounds: number;
  readonly seconds: number;
  readonly warmup: number;
  readonly connections: number;
  readonly upstreamUrl: string;
  readonly token: string;
  readonly keys: { agent: { key: string; hash: string }; human: { key: string; hash: string } };
  /** The allowed action's request body. */
  readonly body: string;
  readonly synchronous: 'normal' | 'full';
  /** One measured run (gateway.ts's, with the CPU of every process). */
  readonly run: (label: string, opts: LoadOptions, gw: CompiledGateway) => Promise<Phase>;
  readonly warm: (opts: LoadOptions) => Promise<void>;
  readonly log: (line: string) => void;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/**
 * @example
 * const cost = await measureTelemetryCost({ store: 'sqlite', workers: 1, rounds: 3, seconds: 5, … });
 * process.stdout.write(telemetryCostReport(cost));
 */
export async function measureTelemetryCost(o: TelemetryCostOptions): Promise<TelemetryCost> {
  const started: { variant: TelemetryVariant; gw: CompiledGateway; dir: string; drop?: () => Promise<void> }[] = [];
  try {
    for (const variant of TELEMETRY_VARIANTS) {
      const name = `${o.store}-w${o.workers} ${variant.name}`;
      const dir = mkdtempSync(join(tmpdir(), 'cs-bench-telemetry-'));
      let store: string;
      let drop: (() => Promise<void>) | undefined;
      if (o.store === 'postgres') {
        const db = await createTestDatabase();
        if (!db) throw new Error('PostgreSQL is not reachable (set DATABASE_URL)');
        store = postgresStore(db.url);
        drop = () => db.drop();
      } else {
        store = sqliteStore(join(dir, 'countersign.db'), o.synchronous);
      }
      const configFile = join(dir, 'countersign.yaml');
      const yaml = benchConfigYaml({ prefix: variant.prefix, store, keyDir: join(dir, 'keys'), upstreamUrl: o.upstreamUrl, agentKeyHash: o.keys.agent.hash, humanKeyHash: o.keys.human.hash, workers: o.workers });
      writeFileSync(configFile, yaml);
      const gw = await startCompiledGateway({ name, configFile, workers: o.workers, env: { UPSTREAM_TOKEN: o.token }, log: o.log });
      started.push({ variant, gw, dir, ...(drop ? { drop } : {}) });
      o.log(`bench: ${name}: gateway ${gw.url}, processes ${gw.pids.join(', ')}`);
    }
    const load = (gw: CompiledGateway, duration: number): LoadOptions => ({
      url: `${gw.url}/v1/actions`,
      connections: o.connections,
      duration,
      method: 'POST',
      headers: { authorization: `Bearer ${o.keys.agent.key}`, 'content-type': 'application/json' },
      body: o.body,
    });
    for (const s of started) if (o.warmup > 0) await o.warm(load(s.gw, o.warmup));
    const results = started.map((s) => ({ name: s.variant.name, okPerSecond: [] as number[], cpuPerActionUs: [] as number[] }));
    for (let i = 0; i < o.rounds; i++) {
      const order = started.map((_, k) => k);
      if (i % 2) order.reverse();
      for (const k of order) {
        const s = started[k]!;
        const p = await o.run(`${o.store}-w${o.workers} allowed, ${s.variant.name} (round ${i + 1}/${o.rounds})`, load(s.gw, o.seconds), s.gw);
        results[k]!.okPerSecond.push(p.okPerSecond);
        results[k]!.cpuPerActionUs.push(p.cpuPerActionUs);
      }
    }
    return { store: o.store, workers: o.workers, rounds: o.rounds, seconds: o.seconds, variants: results };
  } finally {
    for (const s of started) {
      await s.gw.stop().catch(() => undefined);
      await s.drop?.().catch(() => undefined);
      rmSync(s.dir, { recursive: true, force: true });
    }
  }
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');

/** The section of the report: each variant's median throughput and CPU per action, and its ratio to the baseline. */
export function telemetryCostReport(c: TelemetryCost): string {
  const [base] = c.variants;
  if (!base) return '';
  const baseOk = median(base.okPerSecond);
  const baseCpu = median(base.cpuPerActionUs);
  const lines = [
    '',
    `Telemetry cost: allowed actions on ${c.store}, ${c.workers} worker(s), median of ${c.rounds} alternating ${c.seconds} s runs per variant (noisy on a shared machine)`,
    `  ${'variant'.padEnd(26)} ${'2xx/s'.padStart(9)} ${'vs base'.padStart(8)} ${'CPU µs/action'.padStart(14)} ${'vs base'.padStart(8)}   rounds (2xx/s)`,
  ];
  for (const v of c.variants) {
    const ok = median(v.okPerSecond);
    const cpu = median(v.cpuPerActionUs);
    lines.push(
      `  ${v.name.padEnd(26)} ${fmt(ok).padStart(9)} ${fmt(ok / baseOk, 3).padStart(8)} ${fmt(cpu).padStart(14)} ${fmt(cpu / baseCpu, 3).padStart(8)}   ${v.okPerSecond.map((x) => fmt(x)).join(', ')}`,
    );
  }
  for (const v of c.variants.slice(1)) {
    // Each round's runs are back to back: their ratio is less exposed to the machine's drift than a ratio of medians.
    const paired = v.okPerSecond.map((ok, i) => ok / base.okPerSecond[i]!);
    const cost = 1 - median(paired);
    lines.push(
      `  ${v.name}: throughput ${fmt(median(paired), 3)} × ${base.name}'s, median of the rounds' paired ratios (${paired.map((r) => fmt(r, 3)).join(', ')}): cost ${fmt(cost * 100, 1)} % (target ≤ 5 %; negative: noise)`,
    );
  }
  return `${lines.join('\n')}\n`;
}
