/**
 * `countersign mcp --config` as a process, the way an MCP client runs it:
 * JSON-RPC on its stdin and stdout, the log on stderr. It joins the gateway
 * serving the same config (store, audit key, policy) and refuses to serve
 * anything else; it ends when its client closes stdin, letting a call that
 * runs upstream finish and recording its outcome first.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configYaml, DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startMutableUpstream, type MutableUpstream } from '../support/mcp-upstream.ts';
import { readDb } from '../support/sqlite.ts';
import Database from 'better-sqlite3';

const BIN = resolve('bin/countersign.js');

const body = (greeterUrl: string, policy = 'default: allow') => `connections:
  - name: greeter
    kind: mcp
    url: ${greeterUrl}
policy:
  ${policy}
`;

interface Local {
  send(message: object): void;
  /** The JSON-RPC answer with this id, once it has come. */
  answer(id: number): Promise<any>;
  stdout(): string;
  stderr(): string;
  /** Closes its stdin, as a client that goes away does. */
  end(): void;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** Starts `countersign mcp --config` and, unless told not to, initializes the session. */
async function local(configFile: string, key: string, opts: { cwd?: string; initialize?: boolean } = {}): Promise<Local> {
  const p = spawn(process.execPath, [BIN, 'mcp', '--config', configFile], { cwd: opts.cwd ?? process.cwd(), env: { ...process.env, COUNTERSIGN_KEY: key } });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d));
  p.stderr.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((done) => p.on('exit', (code, signal) => done({ code, signal })));
  const messages = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { id?: number });
  const l: Local = {
    send: (m) => p.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...m })}\n`),
    answer: (id) => eventually(async () => messages().find((m) => m.id === id), WAIT),
    stdout: () => out,
    stderr: () => err,
    end: () => p.stdin.end(),
    exited,
  };
  if (opts.initialize !== false) {
    l.send({ id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    await l.answer(0);
    l.send({ method: 'notifications/initialized' });
  }
  return l;
}

/** The gateway's config as `--config` reads it, with the log at debug (so anything logged to stdout would show). */
function writeConfig(gw: TestGateway, name: string, edit: (yaml: string) => string = (y) => y): string {
  const file = join(gw.dir, name);
  writeFileSync(file, edit(gw.yaml.replace('log: { level: silent }', 'log: { level: debug }')));
  return file;
}

const requestsOf = (gw: TestGateway, name: string) =>
  readDb(gw.dbPath, (db) => db.prepare('SELECT id, status FROM requests WHERE record LIKE ?').all(`%"name":"${name}"%`) as { id: string; status: string }[]);

/**
 * Each case starts `countersign mcp` as a child process: on a loaded machine its start alone took over 15 s,
 * so waits are generous (they end as soon as what they wait for comes).
 */
const WAIT = 60_000;

let greeter: MutableUpstream;
let gw: TestGateway;

beforeAll(async () => {
  greeter = await startMutableUpstream();
  gw = await startTestGateway(body(greeter.url));
});

afterAll(async () => {
  await gw?.stop();
  await greeter?.close();
});

describe('countersign mcp --config', () => {
  it('serves tools on stdout and logs only to stderr; ends by itself, exit 0, when the client closes stdin', async () => {
    const p = await local(writeConfig(gw, 'plain.yaml'), gw.keys['deploy-bot']!);
    p.send({ id: 1, method: 'tools/call', params: { name: 'greeter__greet', arguments: { name: 'plain' } } });
    expect((await p.answer(1)).result.content[0].text).toBe('hello, plain');
    expect(requestsOf(gw, 'plain')).toEqual([expect.objectContaining({ status: 'succeeded' })]);
    p.end();
    expect(await p.exited).toEqual({ code: 0, signal: null });
    const lines = p.stdout().split('\n').filter(Boolean);
    expect(lines.every((l) => 'jsonrpc' in JSON.parse(l))).toBe(true);
    // The debug log did go somewhere: stderr.
    expect(p.stderr()).toContain('"service":"countersign"');
  }, WAIT * 2);

  it('closed while a call runs upstream, lets it finish and records its outcome before it exits', async () => {
    const p = await local(writeConfig(gw, 'slow.yaml'), gw.keys['deploy-bot']!);
    const calls = greeter.calls.length;
    p.send({ id: 1, method: 'tools/call', params: { name: 'greeter__greet', arguments: { name: 'slow:800' } } });
    await eventually(async () => (greeter.calls.length > calls ? true : undefined), WAIT);
    p.end();
    expect(await p.exited).toEqual({ code: 0, signal: null });
    const [row] = requestsOf(gw, 'slow:800');
    expect(row?.status).toBe('succeeded');
    const steps = readDb(gw.dbPath, (db) => db.prepare('SELECT type FROM audit_events WHERE request_id = ? ORDER BY seq').pluck().all(row!.id));
    expect(steps).toEqual(['request.submitted', 'request.succeeded']);
  }, WAIT * 2);

  it('reads relative paths from the config\'s own directory, whatever directory the client starts it in', async () => {
    const file = writeConfig(gw, 'relative.yaml', (y) => y.replace(JSON.stringify(gw.dbPath), './countersign.db').replace(JSON.stringify(join(gw.dir, 'keys')), './keys'));
    const elsewhere = mkdtempSync(join(tmpdir(), 'cs-elsewhere-'));
    try {
      const p = await local(file, gw.keys['deploy-bot']!, { cwd: elsewhere });
      p.send({ id: 1, method: 'tools/call', params: { name: 'greeter__greet', arguments: { name: 'relative' } } });
      expect((await p.answer(1)).result.content[0].text).toBe('hello, relative');
      p.end();
      expect(await p.exited).toEqual({ code: 0, signal: null });
      expect(requestsOf(gw, 'relative')).toEqual([expect.objectContaining({ status: 'succeeded' })]);
      expect(existsSync(join(elsewhere, 'countersign.db'))).toBe(false);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  }, WAIT * 2);

  it('refuses a config whose store no gateway made, and creates nothing', async () => {
    const file = writeConfig(gw, 'nostore.yaml', (y) => y.replace(JSON.stringify(gw.dbPath), './nowhere/countersign.db'));
    const p = await local(file, gw.keys['deploy-bot']!, { initialize: false });
    expect((await p.exited).code).not.toBe(0);
    expect(p.stderr()).toContain(`no store at ${join(gw.dir, 'nowhere', 'countersign.db')}`);
    expect(p.stderr()).toContain('start that gateway first');
    expect(p.stdout()).toBe('');
    expect(existsSync(join(gw.dir, 'nowhere'))).toBe(false);
  }, WAIT * 2);

  it('refuses a config whose policy is not the one the gateway runs', async () => {
    const file = writeConfig(gw, 'looser.yaml', (y) => y.replace('default: allow', 'default: allow\n  rules: [{ id: extra, when: "true", effect: allow }]'));
    const p = await local(file, gw.keys['deploy-bot']!, { initialize: false });
    expect((await p.exited).code).not.toBe(0);
    expect(p.stderr()).toContain('is not the one the gateway serving its store runs');
  }, WAIT * 2);

  it('with a key that matches no principal serves nothing, says why on stderr, and audits the refusal', async () => {
    const p = await local(writeConfig(gw, 'badkey.yaml'), 'cs_not-a-real-key', { initialize: false });
    expect((await p.exited).code).not.toBe(0);
    expect(p.stdout()).toBe('');
    expect(p.stderr()).toContain('the API key matches no principal');
    const refusals = readDb(gw.dbPath, (db) => db.prepare("SELECT body FROM audit_events WHERE type = 'auth.failed'").all() as { body: string }[]);
    expect(refusals.map((e) => JSON.parse(e.body).data)).toContainEqual(expect.objectContaining({ surface: 'mcp-stdio', reason: expect.stringMatching(/^key\./) }));
  }, WAIT * 2);
});

describe('countersign mcp --config, when the gateway changes its policy', () => {
  it('refuses the next call, until it runs the policy in force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-local-policy-'));
    const keys: Record<string, string> = {};
    const dbPath = join(dir, 'countersign.db');
    const yamlA = configYaml(DEFAULT_PRINCIPALS, keys, body(greeter.url), dbPath);
    let own = await startTestGateway(yamlA, { dir, keys });
    try {
      const p = await local(writeConfig(own, 'a.yaml'), keys['deploy-bot']!);
      p.send({ id: 1, method: 'tools/call', params: { name: 'greeter__greet', arguments: { name: 'before' } } });
      expect((await p.answer(1)).result.content[0].text).toBe('hello, before');

      await own.stop();
      own = await startTestGateway(yamlA.replace('default: allow', 'default: deny'), { dir, keys });
      p.send({ id: 2, method: 'tools/call', params: { name: 'greeter__greet', arguments: { name: 'after' } } });
      expect((await p.answer(2)).error).toMatchObject({ code: -32603, data: { code: 'POLICY_NOT_IN_FORCE' } });
      expect(requestsOf(own, 'after')).toEqual([]);
      p.end();
      await p.exited;
    } finally {
      await own.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, WAIT * 2);
});

describe('countersign mcp --config, when the gateway changes its principals', () => {
  it('refuses the next call of a key the gateway no longer takes, though the policy is the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-local-principals-'));
    const keys: Record<string, string> = {};
    const dbPath = join(dir, 'countersign.db');
    const yamlA = configYaml(DEFAULT_PRINCIPALS, keys, body(greeter.url), dbPath);
    let own = await startTestGateway(yamlA, { dir, keys });
    try {
      const p = await local(writeConfig(own, 'a.yaml'), keys['deploy-bot']!);
      p.send({ id: 1, method: 'tools/call', params: { name: 'greeter__greet', arguments: { name: 'before-revoked' } } });
      expect((await p.answer(1)).result.content[0].text).toBe('hello, before-revoked');

      // deploy-bot's key is revoked (another in its place): only the principals changed.
      const revoked = yamlA.replace(/(- id: deploy-bot\n(?:    .*\n)*?    apiKeys: \[)"[^"]+"/, `$1"${generateApiKey().hash}"`);
      expect(revoked).not.toBe(yamlA);
      await own.stop();
      own = await startTestGateway(revoked, { dir, keys });
      p.send({ id: 2, method: 'tools/call', params: { name: 'greeter__greet', arguments: { name: 'after-revoked' } } });
      expect((await p.answer(2)).error).toMatchObject({ code: -32603, data: { code: 'POLICY_NOT_IN_FORCE' } });
      expect(requestsOf(own, 'after-revoked')).toEqual([]);
      p.end();
      await p.exited;
    } finally {
      await own.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, WAIT * 2);
});

describe('countersign mcp --config, when the tool pins cannot be read', () => {
  it('logs why with its stack, and holds calls of the tools it can no longer tell were accepted', async () => {
    const p = await local(writeConfig(gw, 'pins.yaml'), gw.keys['deploy-bot']!);
    p.send({ id: 1, method: 'tools/call', params: { name: 'greeter__greet', arguments: { name: 'pins-ok' } } });
    expect((await p.answer(1)).result.content[0].text).toBe('hello, pins-ok');

    const db = new Database(gw.dbPath);
    const original = db.prepare("SELECT definition FROM tool_pins WHERE connection = 'greeter' AND tool = 'greet'").pluck().get() as string;
    db.prepare("UPDATE tool_pins SET definition = '{not json' WHERE connection = 'greeter' AND tool = 'greet'").run();
    try {
      // The next reload of the pins fails: said on stderr with the error's stack.
      const line = await eventually(async () => p.stderr().split('\n').find((l) => l.includes('the MCP tool pins could not be read')), WAIT);
      expect(JSON.parse(line)).toMatchObject({ level: 50, connection: 'greeter', err: { type: 'SyntaxError', stack: expect.stringMatching(/^SyntaxError: [^]*\n\s+at /) } });

      // The tool was accepted; with its pin unreadable it is not taken as accepted any more: the call is held for a human.
      p.send({ id: 2, method: 'tools/call', params: { name: 'greeter__greet', arguments: { name: 'pins-unreadable' } } });
      const held = await eventually(async () => requestsOf(gw, 'pins-unreadable')[0], 15_000);
      expect(held.status).toBe('pending');
      expect(greeter.calls.some((c) => JSON.stringify(c).includes('pins-unreadable'))).toBe(false);
    } finally {
      db.prepare("UPDATE tool_pins SET definition = ? WHERE connection = 'greeter' AND tool = 'greet'").run(original);
      db.close();
      p.end();
      await p.exited;
    }
  }, WAIT * 2);
});
