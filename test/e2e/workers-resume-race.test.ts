/**
 * `countersign start --workers 2` on one SQLite file: one held MCP call sent
 * several times at once, each on a connection of its own (so the cluster hands
 * them to both workers), is one request. Resuming by digest is serialised per
 * process only (service/resume-lock.ts); the file's index on the resume key
 * keeps the workers to one request for one action.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../support/gateway.ts';
import { prepareSharedGateway, type SharedGateway } from '../support/shared-gateway.ts';

const BIN = resolve('bin/countersign.js');
const SERVER = fileURLToPath(new URL('../support/asking-mcp.js', import.meta.url));

let shared: SharedGateway;
let primary: ChildProcess;
let exited: Promise<number | null>;
let stderr = '';
let url: string;

/** One MCP call on a connection of its own; resolves to the request id it names and the worker that answered. */
function mcpCall(name: string): Promise<{ id: string | undefined; worker: string | undefined }> {
  return new Promise((done, fail) => {
    const req = request(`${url}/mcp`, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${shared.keys['deploy-bot']}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d));
      res.on('end', () => {
        const body = JSON.parse(text) as { result?: { _meta?: Record<string, string> } };
        const w = res.headers['x-countersign-worker'];
        done({ id: body.result?._meta?.['countersign/requestId'], worker: typeof w === 'string' ? w : undefined });
      });
    });
    req.on('error', fail);
    req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'asker__greet', arguments: { name } } }));
  });
}

beforeAll(async () => {
  shared = prepareSharedGateway();
  const file = join(shared.dir, 'countersign.yaml');
  writeFileSync(
    file,
    shared.yaml(`connections:
  - { name: asker, kind: mcp, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(SERVER)}], waitSeconds: 0 }
policy:
  default: deny
  rules:
    - { id: greet-held, when: 'facts.mcp.tool == "greet"', effect: approve, approvers: [{ groups: [sre] }] }
`),
  );
  primary = spawn(process.execPath, [BIN, 'start', '--config', file, '--workers', '2', '--port', '0'], { cwd: shared.dir, env: { ...process.env, PORT: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
  primary.stderr!.on('data', (d: Buffer) => (stderr += d));
  exited = new Promise((r) => primary.once('exit', (code) => r(code)));
  url = await eventually(async () => /Countersign is running at (http:\/\/\S+) \(config .*, 2 workers\)/.exec(stderr)?.[1], 60_000);
}, 90_000);

afterAll(async () => {
  if (primary && primary.exitCode === null && primary.signalCode === null) {
    primary.kill('SIGTERM');
    await exited;
  }
  shared?.remove();
});

it('one held MCP call sent at once to both workers holds one request, named in every answer', async () => {
  const workers = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const name = `ada-${i}`;
    const answers = await Promise.all(Array.from({ length: 6 }, () => mcpCall(name)));
    for (const a of answers) if (a.worker) workers.add(a.worker);
    const list = await fetch(`${url}/v1/requests?limit=1000`, { headers: { authorization: `Bearer ${shared.keys['deploy-bot']}` } });
    const held = ((await list.json()) as { requests: { id: string; status: string; action: { input: { arguments: { name?: string } } } }[] }).requests.filter((r) => r.action.input.arguments.name === name);
    expect(held.map((r) => r.status)).toEqual(['pending']);
    expect(new Set(answers.map((a) => a.id))).toEqual(new Set([held[0]!.id]));
  }
  expect([...workers].sort()).toEqual(['1', '2']);
}, 120_000);
