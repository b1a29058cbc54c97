/**
 * @countersign/client as a user gets it: `npm pack` of clients/typescript, the
 * tarball installed into an empty project (offline: it has no dependencies), and
 * imported by plain node, no TypeScript loader, against a real gateway: whoami,
 * an allowed action, and one held for approval that a human approves meanwhile;
 * and its framework adapters, imported from the packed tarball beside their frameworks.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const run = promisify(execFile);
const CLIENT_DIR = resolve('clients/typescript');
const dir = mkdtempSync(join(tmpdir(), 'cs-client-pkg-'));
let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream((call) => ({ body: { echo: `${call.method} ${call.url}` } }));
  gw = await startTestGateway(`connections:
  - name: billing-api
    kind: http
    url: ${upstream.url}/api
policy:
  default: deny
  rules:
    - id: reads
      when: connection.name == "billing-api" && !facts.writes
      effect: allow
    - id: writes
      when: connection.name == "billing-api" && facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('@countersign/client, packed and installed on its own', () => {
  it('is a package with no dependencies, at the gateway’s version', () => {
    const pkg = JSON.parse(readFileSync(join(CLIENT_DIR, 'package.json'), 'utf8'));
    const root = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(pkg.name).toBe('@countersign/client');
    expect(pkg.version).toBe(root.version);
    expect(pkg.dependencies ?? {}).toEqual({});
    // The framework adapters' packages are peers, each optional: installing the client brings none of them.
    const peers = Object.keys(pkg.peerDependencies ?? {});
    expect(peers.filter((p) => pkg.peerDependenciesMeta?.[p]?.optional !== true)).toEqual([]);
  });

  it('installs offline from its tarball and talks to a gateway from plain node', async () => {
    const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: CLIENT_DIR, maxBuffer: 8 << 20 });
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    const files = info!.files.map((f) => f.path);
    expect(files.filter((f) => !f.startsWith('dist/adapters/')).sort()).toEqual(['README.md', 'dist/client.d.ts', 'dist/client.js', 'package.json']);

    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(dir, info!.filename)], { cwd: app });
    // Nothing but the client came with it.
    expect(readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['@countersign']);

    writeFileSync(
      join(app, 'agent.mjs'),
      `import { createClient, CountersignApiError } from '@countersign/client';
const cs = createClient({ url: process.env.URL, key: process.env.KEY });
const me = await cs.whoami();
const read = await cs.run({ connection: 'billing-api', input: { method: 'GET', path: '/invoices' }, reason: 'list invoices' });
const held = await cs.submit({ connection: 'billing-api', input: { method: 'POST', path: '/refunds', body: { amount: 5 } }, reason: 'refund' });
process.stdout.write(JSON.stringify({ held: held.id }) + '\\n');
const done = await cs.settle(held.id, { timeoutMs: 60000 });
let refused;
try { await createClient({ url: process.env.URL, key: 'cs_wrong' }).whoami(); } catch (e) { refused = e instanceof CountersignApiError ? e.code : String(e); }
process.stdout.write(JSON.stringify({ me, read, held: held.status, done, refused }) + '\\n');
`,
    );
    const agent = execFile(process.execPath, ['agent.mjs'], { cwd: app, env: { PATH: process.env['PATH'], URL: gw.url, KEY: gw.keys['deploy-bot'] } });
    let out = '';
    agent.stdout!.on('data', (d: Buffer) => (out += d));
    let err = '';
    agent.stderr!.on('data', (d: Buffer) => (err += d));
    const exited = new Promise<number | null>((r) => agent.on('exit', r));

    // A human approves the held request while the client long-polls on it.
    const heldId = await new Promise<string>((ok, fail) => {
      const check = () => {
        const m = /\{"held":"([^"]+)"\}/.exec(out);
        if (m) return ok(m[1]!);
        if (agent.exitCode !== null) return fail(new Error(`agent exited: ${err}`));
        setTimeout(check, 20);
      };
      check();
    });
    const review = await gw.as('alice', `/v1/requests/${heldId}/reviews`, { body: { verdict: 'approve' } });
    expect(review.status).toBe(200);

    expect(await exited, err).toBe(0);
    const r = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(r.me).toMatchObject({ id: 'deploy-bot', kind: 'agent' });
    expect(r.read).toMatchObject({ status: 'succeeded', result: { status: 200, body: { echo: 'GET /api/invoices' } } });
    expect(r.held).toBe('pending');
    expect(r.done).toMatchObject({ id: heldId, status: 'succeeded', result: { status: 200, body: { echo: 'POST /api/refunds' } } });
    expect(r.refused).toBe('UNAUTHENTICATED');
    expect(upstream.calls.map((c) => `${c.method} ${c.url}`)).toEqual(['GET /api/invoices', 'POST /api/refunds']);
  }, 180_000);

  it('ships the LangChain and Claude Agent SDK adapters, whose compiled imports resolve once their framework is installed', async () => {
    const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: CLIENT_DIR, maxBuffer: 8 << 20 });
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    for (const name of ['langchain', 'claude-agent-sdk']) {
      expect(info!.files.map((f) => f.path)).toEqual(expect.arrayContaining([`dist/adapters/${name}.js`, `dist/adapters/${name}.d.ts`]));
    }
    const app = join(dir, 'adapters-app');
    mkdirSync(join(app, 'node_modules'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'adapters-app', private: true, type: 'module' }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(dir, info!.filename)], { cwd: app });
    // The user's own install of the frameworks (the gateway's dev dependencies stand in for it).
    for (const peer of ['@langchain', '@anthropic-ai', 'zod']) symlinkSync(resolve('node_modules', peer), join(app, 'node_modules', peer));
    writeFileSync(
      join(app, 'check.mjs'),
      `const lc = await import('@countersign/client/langchain');
const cl = await import('@countersign/client/claude-agent-sdk');
process.stdout.write(JSON.stringify({ langchain: Object.keys(lc).sort(), claude: Object.keys(cl).sort() }));
`,
    );
    const out = await run(process.execPath, ['check.mjs'], { cwd: app });
    expect(JSON.parse(out.stdout)).toEqual({
      langchain: ['CountersignState', 'countersignTool', 'countersignToolNodes', 'describeOutcome', 'resumeWhenDecided'],
      claude: ['countersignAgentTools', 'countersignCanUseTool', 'countersignMcpServer', 'createDecidedCalls', 'refusalOf'],
    });
  }, 180_000);
});
