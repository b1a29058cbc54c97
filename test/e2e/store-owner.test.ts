/**
 * A store and its audit keys belong to the config file that made them. The
 * demo (`npm start` with no config) keeps its own directory, so a first real
 * config started in the same place gets a store, audit chain and keys of its
 * own; a config that names another config's store or keys is refused, saying
 * which config made them, until it adopts them (recorded in the audit log).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { eventually } from '../support/gateway.ts';

const BIN = resolve('bin/countersign.js');
const dir = mkdtempSync(join(tmpdir(), 'cs-owner-'));
const env = { ...process.env, PORT: '0', COUNTERSIGN_DEMO_API_PORT: '0', COUNTERSIGN_URL: '', COUNTERSIGN_KEY: '', BILLING_TOKEN: 'billing-secret' };

function cli(args: string[], extra: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...env, ...extra } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

const running: ChildProcess[] = [];

/**
 * Each start is a `countersign start` child process: on a loaded machine the demo's first start (its config, keys
 * and store made) took over 30 s, so waits are generous (they end as soon as what they wait for comes).
 */
const WAIT = 90_000;

/** `countersign start …`: its URL once it listens, or its exit code and output if it stops first. */
async function start(args: string[]): Promise<{ url: string; out: string } | { code: number; out: string }> {
  const p = spawn(process.execPath, [BIN, 'start', ...args], { cwd: dir, env });
  running.push(p);
  let out = '';
  let code: number | null = null;
  p.stdout.on('data', (d: Buffer) => (out += d));
  p.stderr.on('data', (d: Buffer) => (out += d));
  p.on('exit', (c) => (code = c ?? -1));
  return eventually(async () => {
    const url = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    if (url && /Stop with Ctrl-C|\(config /.test(out)) return { url, out };
    return code === null ? undefined : { code, out };
  }, WAIT);
}

async function stopAll(): Promise<void> {
  await Promise.all(
    running.splice(0).map((p) => {
      if (p.exitCode !== null || p.signalCode !== null) return undefined;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      return exited;
    }),
  );
}

const demoYaml = () => join(dir, '.countersign/demo/demo.yaml');
let demoKeys: Record<string, string> = {};
let heldId = '';

/** The example config, as a user copies it to ./countersign.yaml: its store and keys sections as shipped, one connection. */
function ownConfig(aliceKey: string, over: (c: Record<string, unknown>) => void = () => {}): string {
  const c = parse(readFileSync(resolve('examples/countersign.yaml'), 'utf8')) as Record<string, unknown>;
  // bob stays: the example's escalation ladder names him.
  c['principals'] = [{ id: 'alice', kind: 'human', groups: ['sre'], apiKeys: [`sha256:${createHash('sha256').update(aliceKey).digest('hex')}`] }, { id: 'bob', kind: 'human', groups: ['sre'] }];
  c['connections'] = (c['connections'] as { name: string }[]).filter((x) => x.name === 'billing-api');
  over(c);
  return stringify(c);
}

beforeAll(async () => {
  const demo = await start(['--demo-if-missing']);
  if (!('url' in demo)) throw new Error(`the demo did not start: ${demo.out}`);
  for (const m of demo.out.matchAll(/^ {2}(deploy-bot|alice|bob|carol)\s+(cs_[A-Za-z0-9_-]+)/gm)) demoKeys[m[1]!] = m[2]!;
  const agent = await cli(['demo', 'agent', '--no-wait'], { COUNTERSIGN_URL: demo.url, COUNTERSIGN_KEY: demoKeys['deploy-bot']! });
  heldId = /held for approval: (req_[a-z0-9]+)/.exec(agent.stdout)![1]!;
  await stopAll();
}, WAIT * 2);

afterEach(stopAll);

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('the demo and a config of one’s own, started in the same directory', () => {
  it('keep apart: the new config sees none of the demo’s requests and makes its own audit chain and keys', async () => {
    const aliceKey = `cs_${randomBytes(32).toString('base64url')}`;
    writeFileSync(join(dir, 'countersign.yaml'), ownConfig(aliceKey));
    const own = await start(['--demo-if-missing']); // what `npm start` runs, now that ./countersign.yaml exists
    expect('url' in own, own.out).toBe(true);
    if (!('url' in own)) return;
    const res = await fetch(`${own.url}/v1/requests?status=pending`, { headers: { authorization: `Bearer ${aliceKey}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { requests: { id: string }[] }).requests.map((r) => r.id)).not.toContain(heldId);
    expect(readFileSync(join(dir, '.countersign/keys/made-for'), 'utf8').trim()).toBe(join(dir, 'countersign.yaml'));
    expect(readFileSync(join(dir, '.countersign/demo/keys/made-for'), 'utf8').trim()).toBe(demoYaml());

    // Other processes of the same config (the path spelt another way) still open its store.
    // verify holds the log to a signed checkpoint, which a new gateway signs within its first 10 s.
    const verify = await eventually(async () => {
      const r = await cli(['audit', 'verify', '--config', 'countersign.yaml']);
      return r.code === 0 ? r : undefined;
    }, WAIT);
    expect(verify.stdout).toContain('signed checkpoints verified');
    const demoHeld = await cli(['audit', 'search', '--config', '.countersign/demo/demo.yaml', '--type', 'request.held']);
    expect(demoHeld.stdout).toContain(heldId);
  }, WAIT * 2);
});

describe('a config that names another config’s store or keys', () => {
  it('is refused at start, naming the config that made the store, until it adopts them', async () => {
    // The demo's config copied as a start for one's own: it names the demo's store and keys.
    writeFileSync(join(dir, 'copied.yaml'), readFileSync(demoYaml(), 'utf8'));
    const refused = await start(['--config', 'copied.yaml']);
    expect(refused).toMatchObject({ code: 2 });
    expect(refused.out).toContain(`was made for the configuration ${demoYaml()}, not for ${join(dir, 'copied.yaml')}`);
    expect(refused.out).toContain('countersign store adopt --config');

    // Reading commands of the other config are refused alike.
    const search = await cli(['audit', 'search', '--config', 'copied.yaml']);
    expect(search.code).toBe(2);
    expect(search.stderr).toContain(`made for the configuration ${demoYaml()}`);

    const adopt = await cli(['store', 'adopt', '--config', 'copied.yaml']);
    expect(adopt.code, adopt.stderr).toBe(0);
    const adopted = await start(['--config', 'copied.yaml']);
    expect('url' in adopted, adopted.out).toBe(true);
    await stopAll();
    const events = await cli(['audit', 'search', '--config', 'copied.yaml', '--type', 'store.adopted', '--json']);
    const event = JSON.parse(events.stdout.trim().split('\n').at(-1)!) as { data: { from: string; config: string } };
    expect(event.data).toEqual({ from: demoYaml(), config: join(dir, 'copied.yaml') });

    // And now the demo's config is the other one.
    const demoAgain = await start(['--config', '.countersign/demo/demo.yaml']);
    expect(demoAgain).toMatchObject({ code: 2 });
    expect(demoAgain.out).toContain(`was made for the configuration ${join(dir, 'copied.yaml')}`);
    // A process joining the store with the demo's config is refused alike, before it serves anything.
    const joining = await cli(['mcp', '--config', '.countersign/demo/demo.yaml'], { COUNTERSIGN_KEY: demoKeys['deploy-bot']! });
    expect(joining.code).toBe(2);
    expect(joining.stdout).toBe('');
    expect(joining.stderr).toContain(`was made for the configuration ${join(dir, 'copied.yaml')}, not for ${demoYaml()}`);
  }, WAIT * 3);

  it('refuses a signing key directory made for another config, even with a store of its own', async () => {
    const aliceKey = `cs_${randomBytes(32).toString('base64url')}`;
    writeFileSync(
      join(dir, 'keys-only.yaml'),
      ownConfig(aliceKey, (c) => {
        c['store'] = { sqlite: { path: './.countersign/keys-only.db' } };
        c['audit'] = { keyDir: './.countersign/keys' }; // the keys of ./countersign.yaml
      }),
    );
    const refused = await start(['--config', 'keys-only.yaml']);
    expect(refused).toMatchObject({ code: 2 });
    expect(refused.out).toContain(`the audit key directory at ${join(dir, '.countersign/keys')} was made for the configuration ${join(dir, 'countersign.yaml')}`);
  }, WAIT * 2);
});
