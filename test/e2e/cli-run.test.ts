/**
 * `countersign run`, the agent's side of the CLI, as a shell or a pipeline
 * runs it: the compiled command against a real gateway, a real HTTP upstream,
 * real commands and the real MCP filesystem server (SQL: cli-run-sql.test.ts).
 * Each outcome has its exit code; a human decides over REST while the command
 * waits; the agent's key gets nothing run that needs an approval.
 */
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_EXIT } from '../../src/cli/run-exit.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { filesystemConnection } from '../support/mcp.ts';
import { hasScript, heldId, runCli, type RunCli } from '../support/run-cli.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const API_TOKEN = 'tok-run-cli-secret-9f3';

let upstream: Upstream;
let gw: TestGateway;
let dir: string;
let cli: RunCli;

beforeAll(async () => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'cs-run-')));
  writeFileSync(join(dir, 'notes.txt'), 'ship it on friday\n');
  upstream = await startUpstream((call) => {
    if (call.url.startsWith('/api/ansi')) return { status: 200, body: { note: '\u001b[2J\u001b]0;pwned\u0007 cleared' } };
    if (call.url.startsWith('/api/boom')) return { status: 500, body: { error: 'upstream broke' } };
    let got: unknown = call.body || null;
    try {
      got = JSON.parse(call.body);
    } catch {
      /* a text body, echoed as text */
    }
    return { status: call.method === 'POST' ? 201 : 200, body: { method: call.method, url: call.url, got } };
  });
  gw = await startTestGateway(
    `connections:
  - name: api
    kind: http
    url: ${upstream.url}/api
    headers: { Authorization: "Bearer \${API_TOKEN}" }
    tags: { env: prod }
  - name: echo
    kind: exec
    command: /bin/echo
  - name: ls
    kind: exec
    command: /bin/ls
${filesystemConnection('files', dir)}
policy:
  default: deny
  rules:
    - id: api-reads
      when: action.connection == "api" && !facts.writes
      effect: allow
    - id: api-writes
      when: action.connection == "api" && facts.writes && !facts.http.path.startsWith("/quick")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
    - id: api-quick
      when: action.connection == "api" && facts.writes && facts.http.path.startsWith("/quick")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1s
    - id: no-deletes
      when: action.connection == "api" && facts.http.method == "DELETE"
      effect: deny
      message: deletes are never allowed from agents
    - id: commands
      when: connection.kind == "exec"
      effect: allow
    - id: tool-reads
      when: connection.kind == "mcp" && facts.mcp.annotations.readOnlyHint
      effect: allow
`,
    { env: { API_TOKEN } },
  );
  cli = runCli({ url: gw.url, key: gw.keys['deploy-bot']!, credentials: join(dir, 'no-credentials.json') });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The agent's own requests, as the gateway lists them. */
async function agentRequests(): Promise<{ id: string; status: string; action: { reason: string } }[]> {
  return (await gw.as('deploy-bot', '/v1/requests?limit=1000')).body.requests;
}

describe('an allowed action', () => {
  it('HTTP: the body on stdout, the status on stderr, the gateway’s credential nowhere', async () => {
    const r = await cli.run(['api', '--http', 'GET', '/invoices?limit=5', '--reason', 'list invoices']);
    expect(r.code).toBe(RUN_EXIT.succeeded);
    expect(JSON.parse(r.stdout)).toEqual({ method: 'GET', url: '/api/invoices?limit=5', got: null });
    expect(r.stderr).toContain('HTTP 200 application/json');
    expect(upstream.calls.at(-1)!.headers.authorization).toBe(`Bearer ${API_TOKEN}`);
    expect(r.stdout + r.stderr).not.toContain(API_TOKEN);
  });

  it('exec after --: argv verbatim, the command’s stdout on stdout', async () => {
    const r = await cli.run(['echo', '--reason', 'say hello', '--', 'hello', '--not-an-option', '$(id)']);
    expect(r.code).toBe(RUN_EXIT.succeeded);
    expect(r.stdout).toBe('hello --not-an-option $(id)\n');
  });

  it('MCP: --tool and --args call the tool and print its text content', async () => {
    const r = await cli.run(['files', '--tool', 'read_text_file', '--args', JSON.stringify({ path: join(dir, 'notes.txt') }), '--reason', 'read the notes']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(RUN_EXIT.succeeded);
    expect(r.stdout).toBe('ship it on friday\n');
  }, 60_000);

  it('--json prints the request as the gateway reports it, which parses', async () => {
    const r = await cli.run(['api', '--http', 'GET', '/invoices', '--reason', 'list', '--json']);
    expect(r.code).toBe(RUN_EXIT.succeeded);
    const v = JSON.parse(r.stdout);
    expect(v).toMatchObject({ status: 'succeeded', decision: { effect: 'allow', rules: ['api-reads'] }, result: { status: 200, body: { url: '/api/invoices' } } });
    expect(v.id).toMatch(/^req_/);
  });

  it('prints a server value holding ANSI escapes as visible text, never raw; --json keeps it exact', async () => {
    const r = await cli.run(['api', '--http', 'GET', '/ansi', '--reason', 'read']);
    expect(r.code).toBe(RUN_EXIT.succeeded);
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout).toContain('\\u001b[2J\\u001b]0;pwned\\u0007 cleared');
    const json = await cli.run(['api', '--http', 'GET', '/ansi', '--reason', 'read', '--json']);
    expect(json.stdout).not.toContain('\u001b');
    expect(JSON.parse(json.stdout).result.body.note).toBe('\u001b[2J\u001b]0;pwned\u0007 cleared');

    const exec = await cli.run(['echo', '--reason', 'colour', '--', '\u001b[31mred\u001b[0m', '\u009b2J']);
    expect(exec.code).toBe(RUN_EXIT.succeeded);
    expect(exec.stdout).toBe('\\x1b[31mred\\x1b[0m \\x9b2J\n');
  });
});

describe('a held action', () => {
  it('waits while held, says who must approve and where; a human approves over REST; the result is printed, exit 0', async () => {
    const r = cli.start(['api', '--http', 'POST', '/refunds', '--body', '{"invoice":"inv_1","amount":4200}', '--header', 'X-Request-Note: refund', '--reason', 'double charge']);
    const id = await heldId(r, gw);
    expect(r.stderr).toContain(`countersign: held for approval as request ${id}; needs 1 from group sre (rule api-writes); review: ${gw.url}/requests/${id} (or: countersign requests approve ${id})`);
    const before = upstream.calls.filter((c) => c.url === '/api/refunds').length;
    expect(before).toBe(0);

    const ok = await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'confirmed' } });
    expect(ok.status).toBe(200);
    const end = await r.done;
    expect(end.code).toBe(RUN_EXIT.succeeded);
    expect(JSON.parse(end.stdout)).toEqual({ method: 'POST', url: '/api/refunds', got: { invoice: 'inv_1', amount: 4200 } });
    expect(end.stderr).toContain('HTTP 201 application/json');
    expect(end.stderr).toContain(`countersign: request ${id} succeeded (approved by alice)`);
    const calls = upstream.calls.filter((c) => c.url === '/api/refunds');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers['x-request-note']).toBe('refund');
    // A pipe gets one line when held, and nothing redrawn.
    expect(end.stderr).not.toContain('\r');
    expect(end.stderr.split('\n').filter((l) => l.includes('held for approval'))).toHaveLength(1);
  });

  it('--body @file and @- read the body from a file and from stdin', async () => {
    const file = join(dir, 'refund.json');
    writeFileSync(file, '{"invoice":"inv_file"}');
    const fromFile = cli.start(['api', '--http', 'POST', '/refunds', '--body', `@${file}`, '--reason', 'from a file', '--json']);
    const fromStdin = cli.start(['api', '--http', 'POST', '/refunds', '--body', '@-', '--reason', 'from stdin', '--json'], { stdin: 'plain text body' });
    for (const r of [fromFile, fromStdin]) {
      const id = await heldId(r, gw);
      expect((await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    }
    const [a, b] = [await fromFile.done, await fromStdin.done];
    expect(JSON.parse(a.stdout)).toMatchObject({ status: 'succeeded', action: { input: { body: { invoice: 'inv_file' } } }, result: { body: { got: { invoice: 'inv_file' } } } });
    expect(JSON.parse(b.stdout)).toMatchObject({ status: 'succeeded', action: { input: { body: 'plain text body' } }, result: { body: { got: 'plain text body' } } });
  });

  it('denied by a reviewer: exit code for denied, and who denied it', async () => {
    const r = cli.start(['api', '--http', 'POST', '/refunds', '--reason', 'maybe']);
    const id = await heldId(r, gw);
    expect((await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'deny', comment: 'not this one' } })).status).toBe(200);
    const end = await r.done;
    expect(end.code).toBe(RUN_EXIT.denied);
    expect(end.stdout).toBe('');
    expect(end.stderr).toContain(`countersign: request ${id} denied by bob ("not this one")`);
  });

  it('--timeout 1: the timed-out code, the id printed, the request still pending, and the agent reviewed nothing', async () => {
    const end = await cli.run(['api', '--http', 'POST', '/refunds', '--reason', 'later', '--timeout', '1']);
    expect(end.code).toBe(RUN_EXIT.timedOut);
    const id = /request (req_[A-Za-z0-9_-]+) is still pending after waiting 1 s; it keeps its state: countersign requests show \1/.exec(end.stderr)?.[1];
    expect(id).toBeDefined();
    const v = (await gw.as('alice', `/v1/requests/${id}`)).body;
    expect(v).toMatchObject({ status: 'pending', reviews: [], approvals: { needed: 1 } });
  });

  it('--idempotency-key: a rerun under the same key waits on the request the first run made, and makes no other', async () => {
    const before = (await agentRequests()).length;
    const key = `deploy-${process.pid}-attempt`;
    const first = await cli.run(['api', '--http', 'POST', '/refunds', '--reason', 'retried job', '--timeout', '1', '--idempotency-key', key]);
    const again = await cli.run(['api', '--http', 'POST', '/refunds', '--reason', 'retried job', '--timeout', '1'], { env: { COUNTERSIGN_IDEMPOTENCY_KEY: key } });
    const idOf = (stderr: string) => /request (req_[A-Za-z0-9_-]+) is still pending/.exec(stderr)?.[1];
    expect([first.code, again.code]).toEqual([RUN_EXIT.timedOut, RUN_EXIT.timedOut]);
    expect(idOf(first.stderr)).toBeDefined();
    expect(idOf(again.stderr)).toBe(idOf(first.stderr));
    expect((await agentRequests()).length).toBe(before + 1);
    // The same key for another action is refused, and nothing is submitted.
    const other = await cli.run(['api', '--http', 'POST', '/refunds/2', '--reason', 'retried job', '--idempotency-key', key]);
    expect(other.code).toBe(RUN_EXIT.refused);
    expect(other.stderr).toContain('IDEMPOTENCY_KEY_REUSED');
    expect((await agentRequests()).length).toBe(before + 1);
  });

  it('cancelled by the human the agent acts for while it waits: the cancelled code', async () => {
    const r = cli.start(['api', '--http', 'POST', '/refunds', '--reason', 'to be withdrawn']);
    const id = await heldId(r, gw);
    expect((await gw.as('carol', `/v1/requests/${id}/cancel`, { body: { reason: 'no longer needed' } })).status).toBe(200);
    const end = await r.done;
    expect(end.code).toBe(RUN_EXIT.cancelled);
    expect(end.stderr).toContain(`countersign: request ${id} was cancelled: no longer needed`);
  });

  it('expired: a one-second time to live runs out while it waits: the expired code', async () => {
    const end = await cli.run(['api', '--http', 'POST', '/quick', '--reason', 'in a hurry']);
    expect(end.code).toBe(RUN_EXIT.expired);
    const id = /request (req_[A-Za-z0-9_-]+) expired at .+: nobody decided in time/.exec(end.stderr)?.[1];
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('expired');
    expect(upstream.calls.some((c) => c.url === '/api/quick')).toBe(false);
  });

  it('Ctrl-C stops waiting with 130 and leaves the request pending; --cancel-on-interrupt withdraws it', async () => {
    const kept = cli.spawn(['api', '--http', 'POST', '/refunds', '--reason', 'interrupted']);
    const keptId = await heldId(kept, gw);
    kept.child.kill('SIGINT');
    const k = await kept.done;
    expect(k.code).toBe(RUN_EXIT.interrupted);
    expect(k.stderr).toContain(`countersign: interrupted; request ${keptId} is still pending, waiting for its reviewers. Follow it with: countersign requests show ${keptId}`);
    expect((await gw.as('alice', `/v1/requests/${keptId}`)).body.status).toBe('pending');

    const withdrawn = cli.spawn(['api', '--http', 'POST', '/refunds', '--reason', 'interrupted, cancel', '--cancel-on-interrupt']);
    const id = await heldId(withdrawn, gw);
    withdrawn.child.kill('SIGINT');
    const w = await withdrawn.done;
    expect(w.code).toBe(RUN_EXIT.interrupted);
    expect(w.stderr).toContain(`countersign: interrupted; cancelled request ${id} (--cancel-on-interrupt)`);
    expect((await gw.as('alice', `/v1/requests/${id}`)).body).toMatchObject({ status: 'cancelled', error: { code: 'REQUEST_CANCELLED' } });
  });
});

describe('other outcomes', () => {
  it('denied by policy: the denied code, the rule and its message; the upstream never called', async () => {
    const before = upstream.calls.length;
    const end = await cli.run(['api', '--http', 'DELETE', '/customers/7', '--reason', 'cleanup']);
    expect(end.code).toBe(RUN_EXIT.denied);
    expect(end.stderr).toMatch(/countersign: request req_\S+ denied by policy \(rules: api-writes, no-deletes\): deletes are never allowed from agents/);
    expect(upstream.calls.length).toBe(before);
  });

  it('failed: an HTTP 500 prints the body and exits with the failed code', async () => {
    const end = await cli.run(['api', '--http', 'GET', '/boom', '--reason', 'x']);
    expect(end.code).toBe(RUN_EXIT.failed);
    expect(JSON.parse(end.stdout)).toEqual({ error: 'upstream broke' });
    expect(end.stderr).toContain('HTTP 500');
    expect(end.stderr).toMatch(/request req_\S+ failed: EXECUTION_FAILED: api answered HTTP 500/);
  });

  it('failed: a command that exits non-zero is failed as the gateway reports it, with its stderr', async () => {
    const end = await cli.run(['ls', '--reason', 'look', '--', '/definitely/not/here']);
    expect(end.code).toBe(RUN_EXIT.failed);
    expect(end.stderr).toContain('/definitely/not/here');
    expect(end.stderr).toMatch(/request req_\S+ failed: EXECUTION_FAILED: ls exited with [1-9]/);
  });

  it('an API refusal exits 1 with the code: a wrong key, an unknown connection, an input of the wrong kind', async () => {
    const wrongKey = 'cs_wrongkey_0123456789abcdefghijklmnop';
    const bad = await cli.run(['api', '--http', 'GET', '/invoices', '--reason', 'x'], { key: wrongKey });
    expect(bad.code).toBe(RUN_EXIT.refused);
    expect(bad.stderr).toMatch(/^countersign: UNAUTHENTICATED: /);
    expect(bad.stdout + bad.stderr).not.toContain(wrongKey);

    const unknown = await cli.run(['nope', '--sql', 'select 1', '--reason', 'x', '--json']);
    expect(unknown.code).toBe(RUN_EXIT.refused);
    expect(unknown.stderr).toMatch(/^countersign: UNKNOWN_CONNECTION: /);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ error: { code: 'UNKNOWN_CONNECTION' } });

    const wrongKind = await cli.run(['api', '--sql', 'select 1', '--reason', 'x']);
    expect(wrongKind.code).toBe(RUN_EXIT.refused);
    expect(wrongKind.stderr).toMatch(/^countersign: INVALID_INPUT: input for a http connection is invalid/);
  });

  it('usage errors exit 2 with a message, and submit nothing', async () => {
    const before = (await agentRequests()).length;
    const cases: [string[], string][] = [
      [['api', '--reason', 'x'], 'say what to run: --sql "…" (postgres), --http METHOD PATH (http), --tool NAME (mcp) or -- argv… (exec)'],
      [['api', '--sql', 'select 1', '--http', 'GET', '/', '--reason', 'x'], 'give exactly one of --sql, --http, --tool or a command after --, not --sql and --http'],
      [['echo', '--tool', 't', '--reason', 'x', '--', 'hi'], 'give exactly one of --sql, --http, --tool or a command after --, not --tool and a command after --'],
      [['api', '--http', 'GET', '--reason', 'x'], '--http takes METHOD PATH (two words), not 1'],
      [['api', '--http', 'GET', 'invoices', '--reason', 'x'], '--http GET invoices: the path starts with /'],
      [['api', '--http', 'GET', '/x', '--header', 'nocolon', '--reason', 'x'], '--header "nocolon": expected NAME:VALUE'],
      [['api', '--http', 'GET', '/x', '--body', '@/definitely/not/here.json', '--reason', 'x'], '--body @/definitely/not/here.json: cannot read the file (ENOENT)'],
      [['api', '--sql', 'select 1', '--body', '{}', '--reason', 'x'], '--body and --header go with --http'],
      [['files', '--tool', 'read_text_file', '--args', '{not json', '--reason', 'x'], '--args: not JSON'],
      [['files', '--tool', 'read_text_file', '--args', '[1]', '--reason', 'x'], "--args: a JSON object of the tool's arguments"],
      [['api', '--http', 'GET', '/x'], 'say why with --reason "…" (or COUNTERSIGN_REASON): reviewers read it'],
      [['api', '--http', 'GET', '/x', '--reason', 'x', '--timeout', 'soon'], '--timeout: seconds, a number ≥ 0'],
      [['api', '--http', 'GET', '/x', '--reason', 'x', '--bogus'], "unknown option '--bogus'"],
      [[], "missing required argument 'connection'"],
    ];
    // Side by side: each is its own process, and none submits anything.
    const results = await Promise.all(cases.map(([args]) => cli.run(args)));
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i]!;
      expect(r.code, args.join(' ')).toBe(RUN_EXIT.usage);
      expect(r.stderr, args.join(' ')).toContain(message);
      expect(r.stdout, args.join(' ')).toBe('');
    }
    const noKey = await cli.run(['api', '--http', 'GET', '/x', '--reason', 'x'], { key: '' });
    expect(noKey.code).toBe(RUN_EXIT.usage);
    expect(noKey.stderr).toContain('no credential: pass --key, set COUNTERSIGN_KEY, or run `countersign login`');
    expect((await agentRequests()).length).toBe(before);
  }, 120_000);

  it('COUNTERSIGN_REASON stands in for --reason (a pipeline sets it once)', async () => {
    const r = await cli.run(['api', '--http', 'GET', '/invoices', '--json'], { env: { COUNTERSIGN_REASON: 'deploy 4f2a9c' } });
    expect(r.code).toBe(RUN_EXIT.succeeded);
    expect(JSON.parse(r.stdout).action.reason).toBe('deploy 4f2a9c');
  });
});

if (!hasScript && !process.env['CI']) console.warn('\n!!! util-linux `script` not found — SKIPPING the terminal test of countersign run (under CI=true it must run) !!!\n');

describe.skipIf(!hasScript && !process.env['CI'])('on a terminal', () => {
  it('shows who must approve and a live elapsed time redrawn in place; a pipe gets neither the ticker nor the redraw', async () => {
    const tty = await cli.onTty(['api', '--http', 'POST', '/refunds', '--reason', 'on a tty', '--timeout', '2']);
    expect(tty.code).toBe(RUN_EXIT.timedOut);
    const id = /Held for approval: request (req_\S+) \(api: http\.request\)/.exec(tty.stdout)?.[1];
    expect(id).toBeDefined();
    expect(tty.stdout).toContain('  needs    1 from group sre (rule api-writes)');
    expect(tty.stdout).toContain(`  review   ${gw.url}/requests/${id}`);
    expect(tty.stdout).toMatch(/\r\u001b\[Kwaiting 0:0\d \(pending: 1 from group sre \(rule api-writes\)\)/);

    const pipe = await cli.run(['api', '--http', 'POST', '/refunds', '--reason', 'on a pipe', '--timeout', '2']);
    expect(pipe.code).toBe(RUN_EXIT.timedOut);
    expect(pipe.stderr).toContain('held for approval as request');
    expect(pipe.stderr).not.toContain('waiting 0:');
    expect(pipe.stderr).not.toContain('\r');
    expect(pipe.stderr).not.toContain('\u001b');
  });
});

describe('what the agent cannot do with run', () => {
  it('has no way to review: the command never calls the review endpoint', () => {
    const sources = readdirSync('src/cli').filter((f) => /^run(-[a-z]+)?\.ts$/.test(f));
    expect(sources.sort()).toEqual(['run-exit.ts', 'run-input.ts', 'run-output.ts', 'run.ts']);
    for (const f of sources) {
      const text = readFileSync(join('src/cli', f), 'utf8');
      expect(text, f).not.toMatch(/\.review\(|\/reviews|simulate\(|acceptTool\(/);
    }
  });

  it('an agent that reads the id run printed cannot approve it with the same key: it stays pending and nothing runs', async () => {
    const r = cli.spawn(['api', '--http', 'POST', '/refunds/self', '--reason', 'approve myself']);
    const id = await heldId(r, gw);
    const approve = await cli.command(['requests', 'approve', id]).done;
    expect(approve.code).toBe(1);
    expect(approve.stderr).toContain('AGENT_CANNOT_REVIEW');
    expect((await gw.as('alice', `/v1/requests/${id}`)).body).toMatchObject({ status: 'pending', reviews: [] });
    expect(upstream.calls.some((c) => c.url === '/api/refunds/self')).toBe(false);
    r.child.kill('SIGINT');
    expect((await r.done).code).toBe(RUN_EXIT.interrupted);
  });
});
