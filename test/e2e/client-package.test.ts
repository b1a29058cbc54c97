/**
 * @countersign/client as a user gets it: `npm pack` of clients/typescript, the
 * tarball installed into an empty project (offline: it has no dependencies), and
 * imported by plain node, no TypeScript loader, against a real gateway: whoami,
 * an allowed action, and one held for approval that a human approves meanwhile.
 * Then its framework adapters, once the project has the frameworks (linked from
 * this repository's node_modules, as a user's own install would provide them).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBillingGateway } from '../support/billing-gateway.ts';
import type { TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const run = promisify(execFile);
const CLIENT_DIR = resolve('clients/typescript');
const dir = mkdtempSync(join(tmpdir(), 'cs-client-pkg-'));
const app = join(dir, 'app');
let upstream: Upstream;
let gw: TestGateway;

type Packed = { filename: string; files: { path: string }[] };
let packing: Promise<Packed> | undefined;
/**
 * `npm pack` of the client (its prepack compiles it with tsc), once per file: the tests that install it
 * share the one tarball, as every user of a release gets the same one.
 */
function pack(): Promise<Packed> {
  packing ??= run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: CLIENT_DIR, maxBuffer: 8 << 20 }).then(
    (packed) => (JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Packed[])[0]!,
  );
  return packing;
}

let installing: Promise<void> | undefined;
/**
 * The tarball installed offline into the empty project `app`, once per file: the tests that run the installed
 * package share the one install (a user's project installs it once too). Right after it, before any test links a
 * framework in, nothing but the client is in its node_modules.
 */
function install(): Promise<void> {
  installing ??= (async () => {
    const info = await pack();
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(dir, info.filename)], { cwd: app });
    // Nothing but the client came with it.
    expect(readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['@countersign']);
  })();
  return installing;
}

/** Links a framework from this repository's node_modules into `app`, as the user's own install of it (once). */
function linkFramework(name: string): void {
  const to = join(app, 'node_modules', name);
  if (existsSync(to)) return;
  mkdirSync(dirname(to), { recursive: true });
  symlinkSync(realpathSync(resolve('node_modules', name)), to, 'dir');
}

beforeAll(async () => {
  upstream = await startUpstream((call) => ({ body: { echo: `${call.method} ${call.url}` } }));
  gw = await startBillingGateway(upstream.url, 'tok-billing-secret-pkg');
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
    // The frameworks of the adapters are peers the user opts into, never installed for them.
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['@anthropic-ai/claude-agent-sdk', '@langchain/core', '@langchain/langgraph', '@openai/agents', 'ai']);
    for (const peer of Object.keys(pkg.peerDependencies)) expect(pkg.peerDependenciesMeta[peer]).toEqual({ optional: true });
  });

  it('installs offline from its tarball and talks to a gateway from plain node', async () => {
    const info = await pack();
    expect(info.files.map((f) => f.path).sort()).toEqual([
      'README.md',
      'dist/adapters/ai-sdk.d.ts',
      'dist/adapters/ai-sdk.js',
      'dist/adapters/claude-agent-sdk.d.ts',
      'dist/adapters/claude-agent-sdk.js',
      'dist/adapters/langchain.d.ts',
      'dist/adapters/langchain.js',
      'dist/adapters/openai-agents.d.ts',
      'dist/adapters/openai-agents.js',
      'dist/client.d.ts',
      'dist/client.js',
      'dist/views.d.ts',
      'dist/views.js',
      'package.json',
    ]);

    await install();

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

  it('serves its framework adapters from the installed package, each with its framework as the user’s own', async () => {
    // The package installed in `app`; the user installs the frameworks.
    await install();
    for (const name of ['ai', '@openai/agents', 'zod']) linkFramework(name);
    writeFileSync(
      join(app, 'adapters.mjs'),
      `import { createClient } from '@countersign/client';
import { countersignTools } from '@countersign/client/ai-sdk';
import { countersignTool, resumeRun } from '@countersign/client/openai-agents';
import { generateText, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { Agent, Runner } from '@openai/agents';
import { ScriptedModel, functionCall, assistantMessage } from '@openai/agents/testing';
import { z } from 'zod';
const cs = createClient({ url: process.env.URL, key: process.env.KEY });
const input = { method: 'GET', path: '/invoices' };
const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };
let step = 0;
const model = new MockLanguageModelV3({ doGenerate: async () => step++ === 0
  ? { content: [{ type: 'tool-call', toolCallId: 'pkg-ai-1', toolName: 'listInvoices', input: '{}' }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] }
  : { content: [{ type: 'text', text: 'ai-sdk done' }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] } });
const { tools, toolApproval } = countersignTools(cs, { connection: 'billing-api', tools: { listInvoices: tool({ description: 'list', inputSchema: z.object({}) }) }, toInput: () => input });
const ai = await generateText({ model, tools, toolApproval, prompt: 'list', stopWhen: stepCountIs(3) });
const agent = new Agent({ name: 'a', instructions: 'x', model: new ScriptedModel([[functionCall('listInvoices', {}, { callId: 'pkg-oa-1' })], [assistantMessage('agents done')]]),
  tools: [countersignTool(cs, { name: 'listInvoices', description: 'list', parameters: z.object({}), connection: 'billing-api', toInput: () => input })] });
const oa = await new Runner({ tracingDisabled: true }).run(agent, 'list');
process.stdout.write(JSON.stringify({ ai: { text: ai.text, output: ai.steps[0].toolResults[0].output }, oa: oa.finalOutput, resumeRun: typeof resumeRun }) + '\\n');
`,
    );
    const { stdout } = await run(process.execPath, ['adapters.mjs'], { cwd: app, env: { PATH: process.env['PATH'], URL: gw.url, KEY: gw.keys['deploy-bot'], OPENAI_AGENTS_DISABLE_TRACING: '1' } });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(r).toMatchObject({ ai: { text: 'ai-sdk done', output: { status: 200, body: { echo: 'GET /api/invoices' } } }, oa: 'agents done', resumeRun: 'function' });
    expect(upstream.calls.filter((c) => c.url === '/api/invoices')).toHaveLength(3);
  }, 120_000);

  it('ships the LangChain and Claude Agent SDK adapters, whose compiled imports resolve once their framework is installed', async () => {
    const info = await pack();
    for (const name of ['langchain', 'claude-agent-sdk']) {
      expect(info.files.map((f) => f.path)).toEqual(expect.arrayContaining([`dist/adapters/${name}.js`, `dist/adapters/${name}.d.ts`]));
    }
    // The package installed in `app` from that tarball; the user's own install of the frameworks (the gateway's dev
    // dependencies stand in for it).
    await install();
    for (const name of ['@langchain', '@anthropic-ai', 'zod']) linkFramework(name);
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
