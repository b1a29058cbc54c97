/**
 * A rule that fails to evaluate is named in the audit trail with why, but
 * never with the value it failed on: the CEL error of `bool(x)`,
 * `duration(x)`, a regular expression built from the input, or a map looked
 * up by an input value quotes that value, and the input may be a header the
 * log masks. Live (request.denied) and candidate (policy.shadow) alike.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const SECRET = 'tok_Zq8SECRET(value';

const CANDIDATE = `default: deny
rules:
  - id: reads-checked
    when: facts.http.method == "GET" && duration(action.input.headers["x-token"]) > duration("1s")
    effect: allow
  - id: regex-of-input
    when: facts.http.path == "/regex" && facts.http.path.matches(action.input.headers["x-token"])
    effect: allow
`;

let upstream: Upstream;
let gw: TestGateway;
let dir: string;

beforeAll(async () => {
  upstream = await startUpstream(() => ({ status: 200, body: { ok: true } }));
  dir = mkdtempSync(join(tmpdir(), 'cs-errvalues-'));
  writeFileSync(join(dir, 'candidate.yaml'), CANDIDATE);
  gw = await startTestGateway(
    `connections:
  - name: api
    kind: http
    url: ${upstream.url}
policy:
  default: deny
  candidate: ${JSON.stringify(join(dir, 'candidate.yaml'))}
  rules:
    - id: reads
      when: facts.http.method == "GET" && facts.http.path != "/live"
      effect: allow
    - id: token-check
      when: facts.http.path == "/live" && bool(action.input.headers["x-token"])
      effect: allow
    - id: lookup
      when: 'facts.http.path == "/live" && {"a": true}[action.input.headers["x-token"]]'
      effect: allow
`,
    { principals: [...DEFAULT_PRINCIPALS, { id: 'erin', kind: 'human', groups: [], roles: ['auditor'] }] },
  );
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function eventsOf(id: string): Promise<any[]> {
  const res = await gw.as('erin', `/v1/audit/events?request=${id}&limit=100`);
  expect(res.status).toBe(200);
  return res.body.events;
}

describe('a rule that fails on an input value', () => {
  it('live: the request is denied naming the rules and why, and no event carries the header value', async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'GET', path: '/live', headers: { 'x-token': SECRET } }, reason: 'check' } });
    expect(res.status).toBe(403);
    const id = res.body.id ?? res.body.error?.requestId;
    const events = await eventsOf(id);
    const denied = events.find((e) => e.type === 'request.denied');
    expect(denied.data.errors.map((e: any) => e.rule).sort()).toEqual(['lookup', 'token-check']);
    expect(denied.data.errors.find((e: any) => e.rule === 'token-check').message).toContain('bool() conversion error');
    expect(JSON.stringify(events)).not.toContain('Zq8SECRET');
  });

  it('candidate: the policy.shadow event names the failing rule and why, without the header value', async () => {
    for (const path of ['/items', '/regex']) {
      const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'GET', path, headers: { 'x-token': SECRET } }, reason: 'check' } });
      expect(res.status).toBe(200);
      const events = await eventsOf(res.body.id);
      const shadow = events.find((e) => e.type === 'policy.shadow');
      expect(shadow.data.candidate.effect).toBe('deny');
      expect(shadow.data.candidate.errors.length).toBeGreaterThan(0);
      expect(JSON.stringify(shadow.data.candidate.errors)).toMatch(/duration\(\) conversion error|regexp/);
      expect(JSON.stringify(events)).not.toContain('Zq8SECRET');
    }
  });
});
