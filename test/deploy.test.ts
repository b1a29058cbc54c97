/**
 * The container files, checked without a Docker engine (CI has none and does not
 * build the image): the Dockerfile and deploy/compose.yaml name only files that
 * exist and npm scripts that exist, agree with each other and with the sample
 * config, and the image's HEALTHCHECK command really reports a gateway ready;
 * the Grafana dashboard queries only metrics a real gateway exposes, and
 * every family of the gateway's own.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, normalize, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../src/config/load.ts';
import { parseExposition, type Family } from './support/exposition.ts';
import { startTestGateway, type TestGateway } from './support/gateway.ts';

const ROOT = resolve('.');
const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function dockerfile(): Instruction[] {
  const lines = readFileSync('Dockerfile', 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  let stage = -1;
  return lines.map((l) => {
    const [op, ...rest] = l.split(/\s+/);
    if (op!.toUpperCase() === 'FROM') stage++;
    return { op: op!.toUpperCase(), args: rest.join(' '), stage };
  });
}

/** COPY [--from=x] src... dest → its sources and destination. */
function copyOf(i: Instruction): { from?: string; sources: string[]; dest: string } {
  const words = i.args.split(/\s+/);
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
  const paths = words.filter((w) => !w.startsWith('--'));
  return { ...(from ? { from } : {}), sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

/** Whether .dockerignore (an allow-list: `*`, then `!path` lines) lets `path` into the build context. */
function inContext(path: string): boolean {
  const allowed = readFileSync('.dockerignore', 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1).replace(/\/$/, ''));
  return allowed.some((a) => path === a || path.startsWith(`${a}/`));
}

describe('the Dockerfile', () => {
  const ins = dockerfile();

  it('builds on node:20-slim and runs on node:20-slim, as a user that is not root', () => {
    expect(ins.filter((i) => i.op === 'FROM').map((i) => i.args.split(/\s+/)[0])).toEqual(['node:20-slim', 'node:20-slim']);
    const runtime = ins.filter((i) => i.stage === 1);
    const user = runtime.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime.find((i) => i.op === 'EXPOSE')?.args).toBe('8700');
  });

  it('copies into the build only files that exist and that .dockerignore lets through', () => {
    const copies = ins.filter((i) => i.op === 'COPY' && !copyOf(i).from);
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      for (const src of copyOf(c).sources) {
        expect(existsSync(join(ROOT, src)), src).toBe(true);
        expect(inContext(normalize(src)), `${src} is excluded by .dockerignore`).toBe(true);
      }
    }
    for (const line of readFileSync('.dockerignore', 'utf8').split('\n').filter((l) => l.startsWith('!'))) {
      expect(existsSync(join(ROOT, line.slice(1))), line).toBe(true);
    }
  });

  it('runs only npm commands and scripts that exist: npm ci, npm run build, npm prune --omit=dev', () => {
    const runs = ins.filter((i) => i.op === 'RUN').map((i) => i.args);
    const npm = runs.flatMap((r) => [...r.matchAll(/\bnpm\s+([a-z-]+)(?:\s+([\w:-]+))?/g)].map((m) => (m[1] === 'run' ? `run ${m[2]}` : m[1]!)));
    expect(npm).toEqual(['ci', 'run build', 'prune']);
    for (const s of npm.filter((n) => n.startsWith('run '))) expect(scripts[s.slice(4)], s).toBeDefined();
    expect(runs.find((r) => /npm prune/.test(r))).toMatch(/--omit=dev/);
  });

  it('ships to the runtime stage what the build stage made, and no dev dependency', () => {
    const built = new Set(['dist', 'node_modules']);
    for (const c of ins.filter((i) => i.stage === 0 && i.op === 'COPY')) for (const s of copyOf(c).sources) built.add(normalize(s).replace(/\/$/, ''));
    const shipped = ins.filter((i) => i.stage === 1 && i.op === 'COPY').map(copyOf);
    expect(shipped.every((c) => c.from === 'build')).toBe(true);
    const paths = shipped.flatMap((c) => c.sources.map((s) => s.replace(/^\/app\//, '')));
    for (const p of paths) expect(built.has(p), p).toBe(true);
    // What the package needs at run time (the omit-dev test installs from the same list).
    expect(paths.sort()).toEqual(['bin', 'dist', 'node_modules', 'package-lock.json', 'package.json']);
  });

  it('starts the CLI with the config compose mounts, and checks health with node against /readyz', () => {
    const cmd = JSON.parse(ins.find((i) => i.op === 'CMD')!.args) as string[];
    expect(cmd).toEqual(['node', 'bin/countersign.js', 'start', '--config', '/etc/countersign/countersign.yaml']);
    expect(existsSync(cmd[1]!)).toBe(true);
    const health = ins.find((i) => i.op === 'HEALTHCHECK')!.args;
    expect(health).not.toMatch(/curl|wget/);
    expect(health).toMatch(/\/readyz/);
  });
});

describe('the HEALTHCHECK command', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway('');
  });
  afterAll(async () => {
    await gw?.stop();
  });

  /** The gateway runs in this process: the check must not block its event loop. */
  const exitOf = (args: string[], port: string) =>
    new Promise<number | null>((done) => spawn(process.execPath, args, { env: { ...process.env, PORT: port }, stdio: 'ignore' }).on('exit', done));
  const healthcheck = () => {
    const args = dockerfile().find((i) => i.op === 'HEALTHCHECK')!.args;
    return JSON.parse(args.slice(args.indexOf('CMD') + 3)) as string[];
  };

  it('exits 0 against a ready gateway and 1 where none listens', async () => {
    const [bin, ...args] = healthcheck();
    expect(bin).toBe('node');
    const port = new URL(gw.url).port;
    expect(await exitOf(args, port)).toBe(0);
    const other = await startTestGateway('');
    const freed = new URL(other.url).port;
    await other.stop();
    expect(await exitOf(args, freed)).toBe(1);
  }, 60_000);
});

describe('deploy/compose.yaml', () => {
  const compose = parse(readFileSync('deploy/compose.yaml', 'utf8'), { merge: true }) as {
    services: Record<string, { image?: string; build?: { context: string; dockerfile: string }; environment?: Record<string, string>; volumes?: string[] }>;
    volumes: Record<string, unknown>;
  };
  const gateways = Object.entries(compose.services).filter(([, s]) => s.build);
  const volume = (v: string) => {
    const [source, target, mode] = v.split(':');
    return { source: source!, target: target!, mode };
  };

  it('runs PostgreSQL 16 and two gateway replicas built from the Dockerfile', () => {
    expect(compose.services['postgres']?.image).toBe('postgres:16');
    expect(gateways.map(([n]) => n).sort()).toEqual(['gateway-1', 'gateway-2']);
    for (const [, g] of gateways) {
      expect(existsSync(join('deploy', g.build!.context, g.build!.dockerfile))).toBe(true);
      expect(g.environment?.['DATABASE_URL']).toMatch(/^postgres:\/\/.*@postgres:5432\//);
    }
  });

  it('mounts only files that exist; every replica the same config read-only and the same audit key volume', () => {
    for (const s of Object.values(compose.services)) {
      for (const v of (s.volumes ?? []).map(volume)) {
        if (v.source.startsWith('.')) expect(existsSync(join('deploy', v.source)), v.source).toBe(true);
        else expect(compose.volumes, v.source).toHaveProperty(v.source);
      }
    }
    const config = parseConfig(readFileSync('deploy/countersign.yaml', 'utf8'), 'deploy/countersign.yaml', { DATABASE_URL: 'postgres://countersign:pw@postgres:5432/countersign' });
    for (const [name, g] of gateways) {
      const mounts = g.volumes!.map(volume);
      expect(mounts, name).toContainEqual({ source: './countersign.yaml', target: '/etc/countersign/countersign.yaml', mode: 'ro' });
      expect(mounts.find((m) => m.target === config.audit.keyDir)?.source, name).toBe('audit-keys');
    }
  });

  it('puts nginx in front of both replicas, unbuffered and with long read timeouts for long-polls and SSE', () => {
    const lb = Object.values(compose.services).find((s) => s.image?.startsWith('nginx'))!;
    const conf = volume(lb.volumes!.find((v) => v.includes('nginx.conf'))!);
    const nginx = readFileSync(join('deploy', conf.source), 'utf8');
    const upstreams = [...nginx.matchAll(/^\s*server\s+([\w-]+):8700\b/gm)].map((m) => m[1]);
    expect(upstreams.sort()).toEqual(gateways.map(([n]) => n).sort());
    expect(nginx).toMatch(/^\s*proxy_buffering off;/m);
    // The unauthenticated metrics stay off the public side: an exact-match location that answers 404.
    expect(nginx).toMatch(/location = \/metrics \{\s*return 404;\s*\}/);
    const read = Number(/^\s*proxy_read_timeout (\d+)s;/m.exec(nginx)?.[1]);
    expect(read).toBeGreaterThanOrEqual(600);
  });

  it('has a sample config on PostgreSQL from DATABASE_URL, listening beyond the container', () => {
    const config = parseConfig(readFileSync('deploy/countersign.yaml', 'utf8'), 'deploy/countersign.yaml', { DATABASE_URL: 'postgres://countersign:pw@postgres:5432/countersign' });
    expect(config.store.postgres?.url).toBe('postgres://countersign:pw@postgres:5432/countersign');
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.server.port).toBe(8700);
  });
});

/** The metric names a PromQL expression reads: identifiers left once ranges, label matchers, groupings, variables and functions are taken out. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ')
    .replace(/"[^"]*"/g, ' ');
  const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset']);
  return [...bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)].filter((m) => !m[2] && !KEYWORDS.has(m[1]!)).map((m) => m[1]!);
}

describe('deploy/grafana/countersign.json', () => {
  interface Panel {
    type: string;
    title: string;
    targets?: { expr: string }[];
  }
  const dashboard = JSON.parse(readFileSync('deploy/grafana/countersign.json', 'utf8')) as { uid: string; panels: Panel[] };
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  let families: Map<string, Family>;
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway('');
    families = parseExposition(await (await fetch(`${gw.url}/metrics`)).text());
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const SUFFIXES: Record<Family['type'], string[]> = { counter: [''], gauge: [''], untyped: [''], histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };
  /** The family a sample name belongs to, in the gateway's scrape. */
  const familyOf = (name: string) => [...families.values()].find((f) => SUFFIXES[f.type].some((s) => `${f.name}${s}` === name));

  it('reads metric names out of PromQL, leaving labels, ranges and functions aside', () => {
    expect(metricNames('histogram_quantile(0.9, sum by (le, decision) (rate(countersign_decision_seconds_bucket{job=~"$job"}[$__rate_interval])))')).toEqual([
      'countersign_decision_seconds_bucket',
    ]);
    expect(metricNames('max by (channel) (a_b{x="y"}) or c')).toEqual(['a_b', 'c']);
  });

  it('queries only metrics that a running gateway exposes', () => {
    const names = [...new Set(exprs.flatMap(metricNames))];
    expect(names.length).toBeGreaterThan(10);
    for (const n of names) expect(familyOf(n)?.name, n).toBeDefined();
  });

  it("has a panel for every family of the gateway's own", () => {
    const queried = new Set(exprs.flatMap(metricNames).map((n) => familyOf(n)?.name));
    const own = [...families.keys()].filter((n) => n.startsWith('countersign_'));
    expect(own.length).toBe(13);
    for (const f of own) expect(queried.has(f), f).toBe(true);
  });
});
