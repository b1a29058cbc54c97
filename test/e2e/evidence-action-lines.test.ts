/**
 * The action an auditor reads in an evidence report. Its line is cut at 160
 * characters; an exec action's argv is the agent's, and long leading options
 * (`--kubeconfig=<long path>`) pushed what ran past the cut, so the report
 * read `kubectl --kubeconfig=/aaaa…` for a `kubectl delete namespace prod`,
 * where every review surface names it (review-exec-lines). Real parts: the
 * gateway over REST, its report as JSON and as the HTML page, for an auditor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';

const FROM = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const TO = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
const LONG_OPTION = `--kubeconfig=/${'a'.repeat(200)}`;

let gw: TestGateway;
let id: string;

beforeAll(async () => {
  gw = await startTestGateway(
    `connections:
  - name: ops-k8s
    kind: exec
    command: /usr/local/bin/kubectl
policy:
  default: deny
  rules:
    - id: no-command-writes
      when: facts.writes
      effect: deny
`,
    { principals: [...DEFAULT_PRINCIPALS, { id: 'erin', kind: 'human', groups: ['audit'], roles: ['auditor'] }] },
  );
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-k8s', input: { args: [LONG_OPTION, 'delete', 'namespace', 'prod'] }, reason: 'routine' } });
  expect(res.status, JSON.stringify(res.body)).toBe(403);
  id = res.body.error.requestId as string;
});

afterAll(async () => {
  await gw?.stop();
});

describe('an exec action whose leading options fill the report’s line', () => {
  it('leads with the command and the words that are not options in the JSON report', async () => {
    const report = await gw.as('erin', `/v1/evidence/report?from=${FROM}&to=${TO}&framework=soc2`);
    expect(report.status).toBe(200);
    const entry = (report.body.denied.byPolicy as { id: string; summary: string }[]).find((e) => e.id === id);
    expect(entry?.summary).toMatch(/^\(kubectl delete namespace prod\) \/usr\/local\/bin\/kubectl --kubeconfig=\/a+…$/);
    expect(entry?.summary.length).toBeLessThanOrEqual(160);
  });

  it('shows it so on the HTML page', async () => {
    const res = await fetch(`${gw.url}/v1/evidence/report?from=${FROM}&to=${TO}&framework=soc2&format=html`, { headers: { authorization: `Bearer ${gw.keys['erin']}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<code>(kubectl delete namespace prod) /usr/local/bin/kubectl --kubeconfig=/aaaa');
  });

  it('keeps a line that fits as it is', async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-k8s', input: { args: ['delete', 'pod', 'web-1'] }, reason: 'routine' } });
    expect(res.status).toBe(403);
    const report = await gw.as('erin', `/v1/evidence/report?from=${FROM}&to=${TO}&framework=soc2`);
    expect((report.body.denied.byPolicy as { id: string; summary: string }[]).find((e) => e.id === res.body.error.requestId)?.summary).toBe('/usr/local/bin/kubectl delete pod web-1');
  });
});
