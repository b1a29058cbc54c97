/**
 * `countersign run` across a restart of its gateway: the wait is said lost
 * once and taken up again; the request id outlives the process, and the
 * approved action runs once (the rest of run: cli-run.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_EXIT } from '../../src/cli/run-exit.ts';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { heldId, runCli } from '../support/run-cli.ts';
import { releaseTestStore } from '../support/test-store.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;

beforeAll(async () => {
  // Answers with what it was sent, as cli-run's upstream does: run prints the body.
  upstream = await startUpstream((call) => ({ status: 201, body: { method: call.method, url: call.url } }));
});

afterAll(async () => {
  await upstream?.close();
});

describe('a restart of the gateway while run waits', () => {
  it('is said once and waited through: the request id outlives the process, and the approved action runs once', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cs-run-restart-'));
    const body = `connections:\n  - { name: api, kind: http, url: "${upstream.url}/api" }\npolicy:\n  default: deny\n  rules:\n    - { id: writes, when: facts.writes, effect: approve, approvers: [{ groups: [sre] }] }\n`;
    const first = await startTestGateway(body, { dir: home });
    let second: TestGateway | undefined;
    try {
      const port = new URL(first.url).port;
      const r = runCli({ url: first.url, key: first.keys['deploy-bot']!, credentials: join(home, 'none.json') }).start(['api', '--http', 'POST', '/restarted', '--reason', 'across a restart']);
      const id = await heldId(r, first);
      await first.stop();
      await eventually(async () => (r.stderr.includes(`countersign: lost the gateway while waiting (unreachable); request ${id} outlives it: trying again`) ? true : undefined), 30_000);
      second = await startTestGateway(first.yaml.replace('server: { port: 0 }', `server: { port: ${port} }`), { dir: home, keys: first.keys });
      expect((await second.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
      const end = await r.done;
      expect(end.code).toBe(RUN_EXIT.succeeded);
      expect(JSON.parse(end.stdout)).toMatchObject({ url: '/api/restarted' });
      expect(end.stderr.split('\n').filter((l) => l.includes('lost the gateway'))).toHaveLength(1);
      expect(upstream.calls.filter((c) => c.url === '/api/restarted')).toHaveLength(1);
    } finally {
      await second?.stop();
      await releaseTestStore(first.dbPath);
      rmSync(home, { recursive: true, force: true });
    }
  }, 90_000);
});
