/**
 * `countersign start --workers 2` on SQLite whose config file changes while
 * it runs: a worker that dies is started again by the primary, and reads the
 * file as it is now. From the moment that worker serves, the one still
 * running the file as it was decides nothing (503 POLICY_NOT_IN_FORCE), so
 * which worker an agent lands on never picks the policy it is judged by.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/gateway.ts';
import { prepareSharedGateway, type SharedGateway } from '../support/shared-gateway.ts';
import { opsApiConfig } from '../support/policies.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const BIN = resolve('bin/countersign.js');

interface Answer {
  status: number;
  worker: string | undefined;
  body: any;
}

/** One HTTP exchange on a connection of its own, so the cluster hands each to a worker afresh. */
function send(url: string, path: string, key: string | undefined, payload?: unknown): Promise<Answer> {
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
        const w = res.headers['x-countersign-worker'];
        done({ status: res.statusCode ?? 0, worker: typeof w === 'string' ? w : undefined, body: JSON.parse(text) });
      });
    });
    req.on('error', fail);
    req.setTimeout(20_000, () => req.destroy(new Error(`no answer to ${path} within 20 s`)));
    req.end(payload === undefined ? undefined : JSON.stringify(payload));
  });
}

let upstream: Upstream;
let shared: SharedGateway;
let file: string;
let primary: ChildProcess;
let exited: Promise<number | null>;
let stderr = '';
let url: string;

beforeAll(async () => {
  upstream = await startUpstream();
  shared = prepareSharedGateway();
  file = join(shared.dir, 'countersign.yaml');
  writeFileSync(file, shared.yaml(opsApiConfig(upstream.url)));
  primary = spawn(process.execPath, [BIN, 'start', '--config', file, '--workers', '2', '--port', '0'], {
    cwd: shared.dir,
    env: { ...process.env, PORT: '' },
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

const workerPids = () =>
  execFileSync('pgrep', ['-P', String(primary.pid), '-f', 'countersign.js start'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map(Number);

describe('countersign start --workers 2, its config file changed and one worker started again', () => {
  it('the worker still on the file as it was refuses; the new one judges by the file as it is', async () => {
    const read = (n: number) => send(url, '/v1/actions', shared.keys['deploy-bot'], { connection: 'ops-api', input: { method: 'GET', path: `/drift/${n}` }, reason: 'drift' });
    expect((await read(0)).status).toBe(200);

    // Reads held from now on.
    writeFileSync(file, shared.yaml(opsApiConfig(upstream.url).replace('when: facts.http.method == "GET"\n      effect: allow', 'when: facts.http.method == "GET"\n      effect: approve\n      approvers: [{ groups: [sre] }]')));
    const [victim] = workerPids();
    process.kill(victim!, 'SIGKILL');
    // Cluster worker ids count up: a third one answering is the replacement, serving the file as it is now.
    await eventually(async () => ((await send(url, '/healthz', undefined).catch(() => undefined))?.worker === '3' ? true : undefined), 60_000);

    const seen = new Map<string, Answer>();
    let n = 1;
    await eventually(async () => {
      const answer = await read(n++);
      // The old worker is the one whose id is not 3.
      if (answer.worker === '3') expect([answer.status, answer.body.status], JSON.stringify(answer.body)).toEqual([202, 'pending']);
      else expect([answer.status, answer.body.error?.code], JSON.stringify(answer.body)).toEqual([503, 'POLICY_NOT_IN_FORCE']);
      seen.set(answer.worker === '3' ? 'new' : 'old', answer);
      return seen.size === 2 ? true : undefined;
    }, 60_000);
    expect(upstream.calls.filter((c) => c.url.startsWith('/drift/') && c.url !== '/drift/0')).toEqual([]);
  }, 120_000);
});
