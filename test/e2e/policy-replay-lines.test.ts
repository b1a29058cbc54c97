/**
 * The example actions `countersign policy replay` lists under each decision
 * that would change: what an operator reads before loading a candidate
 * policy. Each was the agent's input flattened to one line and cut at 100
 * characters, so a statement padded past the cut read as the `SELECT 1` it
 * starts with, and one whose DELETE follows a `--` comment read as
 * commented out: a candidate that lets writes through looked as if it only
 * changed reads. A cut line now leads with its statement kinds (an exec line
 * with its command and the words that are not options), and the end of a
 * line comment is marked, as on every review surface. Real parts: the
 * gateway records the actions; the compiled CLI replays its store.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliHere, writeGatewayConfig, type GatewayConfigFile } from '../support/audit-gateway.ts';

const LIVE = `connections:
  - name: orders-db
    kind: postgres
    url: postgres://nobody@127.0.0.1:1/orders
  - name: ops-k8s
    kind: exec
    command: /usr/local/bin/kubectl
policy:
  default: deny
  rules:
    - id: writes-held
      when: facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`;

// The candidate lets every write through: each held action below would be allowed.
const CANDIDATE = `default: deny
rules:
  - id: writes-allowed
    when: facts.writes
    effect: allow
`;

const PADDED = `SELECT 1; /* ${'x'.repeat(200)} */ DELETE FROM orders`;
const COMMENTED = 'SELECT 1; -- nightly check\nDELETE FROM orders';
const ARGV = [`--kubeconfig=/${'a'.repeat(200)}`, 'delete', 'namespace', 'prod'];

let cfg: GatewayConfigFile;
let candidate: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  cfg = await writeGatewayConfig(LIVE, { origin: 'countersign.test/replay-lines' });
  candidate = join(cfg.dir, 'candidate.yaml');
  writeFileSync(candidate, CANDIDATE);
  const gw = await cfg.start();
  try {
    for (const [name, connection, input] of [
      ['padded', 'orders-db', { sql: PADDED }],
      ['commented', 'orders-db', { sql: COMMENTED }],
      ['kubectl', 'ops-k8s', { args: ARGV }],
    ] as const) {
      const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection, input, reason: 'routine' } });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      ids[name] = res.body.id as string;
    }
  } finally {
    await gw.stop();
  }
}, 60_000);

afterAll(async () => {
  await cfg?.remove();
});

describe('the examples of a replay', { timeout: 60_000 }, () => {
  it('name what runs where the line is cut, and mark where a line comment ends', async () => {
    const r = await runCliHere(['policy', 'replay', candidate, '--config', cfg.configPath, '--since', '1d']);
    expect(r.code, r.stderr).toBe(0);
    const example = (id: string) => r.stdout.split('\n').find((l) => l.startsWith(`    ${id} `));
    expect(example(ids['padded']!)).toMatch(/^ {4}req_\S+ deploy-bot on orders-db: \(DELETE, SELECT\) SELECT 1; \/\* x+…$/);
    expect(example(ids['commented']!)).toBe(`    ${ids['commented']} deploy-bot on orders-db: SELECT 1; -- nightly check ⏎ DELETE FROM orders`);
    expect(example(ids['kubectl']!)).toMatch(/^ {4}req_\S+ deploy-bot on ops-k8s: \(kubectl delete namespace prod\) --kubeconfig=\/a+…$/);
  });

  it('keeps each summary within 100 characters in the JSON report', async () => {
    const r = await runCliHere(['policy', 'replay', candidate, '--config', cfg.configPath, '--since', '1d', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const changes = JSON.parse(r.stdout).changes as { requestId: string; input: string }[];
    expect(changes.map((c) => c.requestId).sort()).toEqual(Object.values(ids).sort());
    for (const c of changes) expect([...c.input].length, c.input).toBeLessThanOrEqual(100);
  });
});
