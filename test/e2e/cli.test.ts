/**
 * The `countersign` command as a user runs it: the demo from an empty
 * directory, the demo agent, reviewing from the CLI, policy tests, and audit
 * verify/export — including a tampered store file that verify must catch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/gateway.ts';

const BIN = resolve('bin/countersign.js');
const dir = mkdtempSync(join(tmpdir(), 'cs-cli-'));
const baseEnv = { ...process.env, PORT: '0', COUNTERSIGN_DEMO_API_PORT: '0', COUNTERSIGN_URL: '', COUNTERSIGN_KEY: '' };

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...baseEnv, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

let server: ChildProcess | undefined;
/** How the last demo process ended, once it has: a process killed by a signal has no exit code, only the signal. */
let ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: 0, signal: null });
let url = '';
const keys: Record<string, string> = {};

async function startDemo(): Promise<string> {
  const child = spawn(process.execPath, [BIN, 'start', '--demo-if-missing'], { cwd: dir, env: baseEnv });
  server = child;
  ended = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let out = '';
  server.stdout!.on('data', (d: Buffer) => (out += d));
  server.stderr!.on('data', (d: Buffer) => (out += d));
  await eventually(async () => (/Stop with Ctrl-C/.test(out) ? true : undefined), 30_000);
  return out;
}

/** Stops the demo as Ctrl-C would, and says how it ended. */
async function stopDemo(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
  server = undefined;
  return ended;
}

beforeAll(async () => {
  const out = await startDemo();
  url = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
  for (const m of out.matchAll(/^ {2}(deploy-bot|alice|bob|carol)\s+(cs_[A-Za-z0-9_-]+)/gm)) keys[m[1]!] = m[2]!;
}, 60_000);

afterAll(async () => {
  await stopDemo();
  rmSync(dir, { recursive: true, force: true });
});

describe('npm start without a config (the demo)', () => {
  it('prints each demo principal’s key once, and where to go next', () => {
    expect(Object.keys(keys).sort()).toEqual(['alice', 'bob', 'carol', 'deploy-bot']);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('plays an agent: one allowed, one denied, one held — and a reviewer approves from the CLI', async () => {
    const agent = await cli(['demo', 'agent', '--no-wait'], { COUNTERSIGN_URL: url, COUNTERSIGN_KEY: keys['deploy-bot']! });
    expect(agent.code).toBe(0);
    expect(agent.stdout).toContain('→ succeeded by rule reads');
    expect(agent.stdout).toContain('→ denied: POLICY_DENIED — Deleting customer data is never allowed from agents');
    const id = /held for approval: (req_[a-z0-9]+)/.exec(agent.stdout)![1]!;
    expect(agent.stdout).toContain(`npx countersign requests approve ${id}`);

    const list = await cli(['requests', 'list'], { COUNTERSIGN_URL: url, COUNTERSIGN_KEY: keys['alice']! });
    expect(list.stdout).toContain(id);

    const show = await cli(['requests', 'show', id], { COUNTERSIGN_URL: url, COUNTERSIGN_KEY: keys['alice']! });
    expect(show.stdout).toContain('deploy-bot (agent) acting for carol');
    expect(show.stdout).toContain('POST /refunds');
    expect(show.stdout).toContain('tags: env=prod  data=pii  compliance=soc2,gdpr');
    expect(show.stdout).toContain('you         may review this request');

    const carol = await cli(['requests', 'approve', id], { COUNTERSIGN_URL: url, COUNTERSIGN_KEY: keys['carol']! });
    expect(carol.code).toBe(1);
    expect(carol.stderr).toContain('SELF_APPROVAL_FORBIDDEN');

    const agentApproves = await cli(['requests', 'approve', id], { COUNTERSIGN_URL: url, COUNTERSIGN_KEY: keys['deploy-bot']! });
    expect(agentApproves.stderr).toContain('AGENT_CANNOT_REVIEW');

    const alice = await cli(['requests', 'approve', id, '-m', 'double charge confirmed'], { COUNTERSIGN_URL: url, COUNTERSIGN_KEY: keys['alice']! });
    expect(alice.code).toBe(0);
    expect(alice.stdout).toContain(`Approved ${id}`);

    const done = await eventually(async () => {
      const r = await cli(['requests', 'show', id, '--json'], { COUNTERSIGN_URL: url, COUNTERSIGN_KEY: keys['bob']! });
      const v = JSON.parse(r.stdout) as { status: string; result: { status: number; body: { status: string } } };
      return v.status === 'succeeded' ? v : undefined;
    }, 10_000);
    expect(done.result).toMatchObject({ status: 201, body: { status: 'issued' } });
  }, 60_000);

  it('refuses a missing key with exit code 2', async () => {
    const r = await cli(['requests', 'list'], { COUNTERSIGN_URL: url, COUNTERSIGN_CREDENTIALS: '/nonexistent/credentials.json' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no credential: pass --key, set COUNTERSIGN_KEY, or run `countersign login`');
  });
});

describe('countersign policy test', () => {
  it('passes matching cases and fails a mismatch with a non-zero exit', async () => {
    const cases = join(dir, 'cases.yaml');
    writeFileSync(
      cases,
      `cases:
  - { name: reads are allowed, principal: deploy-bot, connection: billing-api, input: { method: GET, path: /invoices }, expect: { effect: allow, rules: [reads] } }
  - { name: refunds need an sre, principal: deploy-bot, connection: billing-api, input: { method: POST, path: /refunds }, expect: { effect: approve } }
  - { name: deletes are denied, principal: deploy-bot, connection: billing-api, input: { method: DELETE, path: /customers/1 }, expect: { effect: deny, rules: [prod-writes, no-deletes] } }
`,
    );
    const ok = await cli(['policy', 'test', cases, '--config', '.countersign/demo/demo.yaml']);
    expect(ok.stdout).toContain('3 passed, 0 failed');
    expect(ok.code).toBe(0);

    writeFileSync(cases, `- { name: wrong on purpose, principal: deploy-bot, connection: billing-api, input: { method: GET, path: /x }, expect: { effect: deny } }\n`);
    const bad = await cli(['policy', 'test', cases, '--config', '.countersign/demo/demo.yaml']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('expected deny, got allow [reads]');
  });
});

describe('countersign policy test, mcp cases', () => {
  it('judges a tool by the annotations the case gives, as the README examples read them', async () => {
    const config = join(dir, 'mcp-policy.yaml');
    writeFileSync(
      config,
      `principals:
  - { id: deploy-bot, kind: agent, apiKeys: ["sha256:${'0'.repeat(64)}"] }
connections:
  - { name: github, kind: mcp, command: /bin/false, tags: { env: prod } }
  - { name: files, kind: mcp, url: "http://127.0.0.1:9/mcp" }
policy:
  default: deny
  rules:
    - id: mcp-reads
      when: connection.kind == "mcp" && facts.mcp.annotations.readOnlyHint
      effect: allow
    - id: prod-destructive
      when: connection.tags.env == "prod" && facts.mcp.annotations.destructiveHint
      effect: approve
      approvers: [{ groups: [sre] }]
    - id: no-merge
      when: action.connection == "github" && facts.mcp.tool == "merge_pull_request"
      effect: deny
    - id: no-secrets-dir
      when: >
        action.connection == "files" && facts.mcp.arguments.exists(k,
          (type(facts.mcp.arguments[k]) == string && facts.mcp.arguments[k].contains("secrets")) ||
          (type(facts.mcp.arguments[k]) == list && facts.mcp.arguments[k].exists(p, type(p) == string && p.contains("secrets"))))
      effect: deny
`,
    );
    const cases = join(dir, 'mcp-cases.yaml');
    const read = '{ tool: read_file, arguments: { path: /srv/shared/notes.txt } }';
    writeFileSync(
      cases,
      `- { name: reads, principal: deploy-bot, connection: files, input: ${read}, tool: { annotations: { readOnlyHint: true } }, expect: { effect: allow, rules: [mcp-reads] } }
- { name: secrets, principal: deploy-bot, connection: files, input: { tool: read_file, arguments: { path: /srv/shared/secrets/k } }, tool: { annotations: { readOnlyHint: true } }, expect: { effect: deny, rules: [mcp-reads, no-secrets-dir] } }
- { name: secrets by another spelling, principal: deploy-bot, connection: files, input: { tool: read_file, arguments: { path: /srv/shared/x/../secrets/k } }, tool: { annotations: { readOnlyHint: true } }, expect: { effect: deny, rules: [mcp-reads, no-secrets-dir] } }
- { name: secrets in another argument, principal: deploy-bot, connection: files, input: { tool: read_multiple_files, arguments: { paths: [/srv/shared/notes.txt, /srv/shared//secrets/k] } }, tool: { annotations: { readOnlyHint: true } }, expect: { effect: deny, rules: [mcp-reads, no-secrets-dir] } }
- { name: "no hints: destructive by the spec's defaults", principal: deploy-bot, connection: github, input: { tool: delete_branch, arguments: {} }, tool: {}, expect: { effect: approve, rules: [prod-destructive] } }
- { name: merge, principal: deploy-bot, connection: github, input: { tool: merge_pull_request, arguments: { pr: 7 } }, tool: { annotations: { destructiveHint: false } }, expect: { effect: deny, rules: [no-merge] } }
- { name: changed, principal: deploy-bot, connection: files, input: ${read}, tool: { annotations: { readOnlyHint: true }, changed: true }, expect: { effect: approve, rules: [mcp-tool-changed:files, mcp-reads] } }
- { name: forgot the tool, principal: deploy-bot, connection: files, input: ${read}, expect: { effect: allow } }
`,
    );
    const r = await cli(['policy', 'test', cases, '--config', config]);
    expect(r.stdout).toContain('7 passed, 1 failed');
    expect(r.stdout).toContain('✗ forgot the tool\n    INVALID_REQUEST: a case on mcp connection files needs tool: { annotations: {…} } (policy test starts no upstream)');
    expect(r.code).toBe(1);
  });
});

describe('countersign audit', () => {
  it('exports the exact hashed bytes, verifies, and names the first event after tampering', async () => {
    expect(await stopDemo()).toEqual({ code: 0, signal: null });
    const ok = await cli(['audit', 'verify', '--config', '.countersign/demo/demo.yaml']);
    expect(ok.code).toBe(0);
    const count = Number(/OK: (\d+) events/.exec(ok.stdout)![1]);
    expect(count).toBeGreaterThan(5);

    const jsonl = await cli(['audit', 'export', '--format', 'jsonl']);
    const lines = jsonl.stdout.trim().split('\n');
    expect(lines).toHaveLength(count);
    const db = new Database(join(dir, '.countersign/demo/countersign.db'));
    const rows = db.prepare('SELECT body, hash FROM audit_events ORDER BY seq').all() as { body: string; hash: string }[];
    lines.forEach((l, i) => expect(createHash('sha256').update(l).digest('hex')).toBe(rows[i]!.hash));

    const csv = await cli(['audit', 'export', '--format', 'csv']);
    expect(csv.stdout.split('\n')[0]).toBe('seq,time,type,request_id,actor,data,prev,hash');

    // An insider edits who approved: the chain breaks at that event.
    const seq = (db.prepare("SELECT seq FROM audit_events WHERE type = 'review.recorded' ORDER BY seq LIMIT 1").get() as { seq: number }).seq;
    db.prepare("UPDATE audit_events SET body = replace(body, '\"alice\"', '\"mallory\"') WHERE seq = ?").run(seq);
    db.close();
    const broken = await cli(['audit', 'verify', '--config', '.countersign/demo/demo.yaml']);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(`BROKEN at event ${seq}`);
  }, 30_000);

  it('on the next start, does not print keys again', async () => {
    const out = await startDemo();
    expect(out).not.toMatch(/cs_[A-Za-z0-9_-]{20,}/);
    expect(out).toContain('Lost them?');
    // SIGTERM is a clean stop: the gateway closes and exits 0, not killed by the signal.
    expect(await stopDemo()).toEqual({ code: 0, signal: null });
  }, 60_000);
});

describe('a file the CLI cannot read', () => {
  it('is named with the reason, exit code 2, and no stack trace', async () => {
    const r = await cli(['audit', 'verify', '/nonexistent/bundle.tar']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('countersign: cannot read /nonexistent/bundle.tar: ENOENT');
    expect(r.stderr).not.toMatch(/node:internal|\n\s+at /);
  });
});

describe('countersign keys create', () => {
  it('prints a key and the sha256 line of exactly that key', async () => {
    const r = await cli(['keys', 'create', '--json']);
    const { key, hash } = JSON.parse(r.stdout) as { key: string; hash: string };
    expect(key).toMatch(/^cs_[A-Za-z0-9_-]{43}$/);
    expect(hash).toBe(`sha256:${createHash('sha256').update(key).digest('hex')}`);
  });
});
