/**
 * The outbox end to end: a message owed while Slack is down is delivered
 * after a gateway restart (nothing held in memory), /readyz shows the
 * failing channel meanwhile, and signed webhooks reach a receiver that
 * verifies them as Standard Webhooks specifies.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../src/adapters/channel/webhook/sign.ts';
import { startFakeSlack } from '../support/fake-slack.ts';
import { configYaml, DEFAULT_PRINCIPALS, eventually, startTestGateway } from '../support/gateway.ts';
import { readTestStore } from '../support/test-store.ts';
import { startUpstream, type RecordedCall } from '../support/upstream.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the outbox', () => {
  it('delivers a message owed while Slack was down after the gateway restarts, and shows the failing channel meanwhile', async () => {
    const slack = await startFakeSlack();
    const upstream = await startUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'cs-outbox-'));
    dirs.push(dir);
    const keys: Record<string, string> = {};
    const yaml = configYaml(
      DEFAULT_PRINCIPALS,
      keys,
      `channels:
${slack.channelYaml()}
connections:
  - { name: api, kind: http, url: "${upstream.url}" }
policy:
  rules:
    - { id: hold, when: "true", effect: approve, approvers: [{ groups: [sre] }] }
`,
      join(dir, 'countersign.db'),
    );
    await slack.stop();
    let gw = await startTestGateway(yaml, { dir, keys });
    const submitted = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'POST', path: '/x' }, reason: 'while slack is down' } });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    const failing = await eventually(async () => {
      const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { channels: Record<string, { status: string; pending: number; lastError: string | null }> };
      return ready.channels['slack']?.status === 'failing' ? ready.channels['slack'] : undefined;
    });
    expect(failing.pending).toBe(1);
    expect(failing.lastError).toContain('unreachable');
    // The same, as Prometheus scrapes it.
    const down = await fetch(`${gw.url}/metrics`);
    expect(down.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const downText = await down.text();
    expect(downText).toContain('countersign_channel_up{channel="slack"} 0\n');
    expect(downText).toContain('countersign_outbox_pending{channel="slack"} 1\n');
    expect(downText).not.toContain(id);
    await gw.stop();

    await slack.start();
    gw = await startTestGateway(yaml, { dir, keys });
    try {
      // The first retry is at most a few seconds of backoff away.
      const post = await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks']).includes(id), 15_000);
      expect(post.body['channel']).toBe('C0APPROVALS');
      await eventually(async () => {
        const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { channels: Record<string, { status: string; pending: number }> };
        return ready.channels['slack']?.status === 'ok' && ready.channels['slack'].pending === 0 ? true : undefined;
      }, 5000);
      const up = await (await fetch(`${gw.url}/metrics`)).text();
      expect(up).toContain('countersign_channel_up{channel="slack"} 1\n');
      expect(up).toContain('countersign_outbox_pending{channel="slack"} 0\n');
    } finally {
      await gw.stop();
      await slack.close();
      await upstream.close();
    }
  }, 30_000);

  // It counts delivery attempts in the outbox table itself, which the Store port does not show: on either store.
  it('sets aside what was owed to a channel the config no longer has, and owes nothing new', async () => {
    const slack = await startFakeSlack();
    const upstream = await startUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'cs-outbox-'));
    dirs.push(dir);
    const keys: Record<string, string> = {};
    const rest = `connections:
  - { name: api, kind: http, url: "${upstream.url}" }
policy:
  rules:
    - { id: hold, when: "true", effect: approve, approvers: [{ groups: [sre] }] }
`;
    const withSlack = configYaml(
      DEFAULT_PRINCIPALS,
      keys,
      `channels:
${slack.channelYaml()}
${rest}`,
      join(dir, 'countersign.db'),
    );
    await slack.close();
    let gw = await startTestGateway(withSlack, { dir, keys });
    const submitted = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'POST', path: '/x' }, reason: 'slack is down' } });
    expect(submitted.status).toBe(202);
    const owed = () => readTestStore<{ state: string; attempts: number; lastError: string }>(gw.dbPath, 'SELECT channel, state, attempts, last_error AS "lastError" FROM outbox');
    await eventually(async () => ((await owed())[0]?.attempts === 1 ? true : undefined));
    await gw.stop();

    gw = await startTestGateway(configYaml(DEFAULT_PRINCIPALS, keys, rest, join(dir, 'countersign.db')), { dir, keys });
    try {
      // The row was due again a second or two after the failure: the worker's timer finds it.
      const setAside = await eventually(async () => {
        const rows = await owed();
        return rows[0]?.state === 'dead' ? rows : undefined;
      }, 8000);
      expect(setAside).toEqual([{ channel: 'slack', state: 'dead', attempts: 2, lastError: 'channel is not configured' }]);
      const again = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'POST', path: '/y' }, reason: 'no channels now' } });
      expect(again.status).toBe(202);
      expect(await owed()).toHaveLength(1);
    } finally {
      await gw.stop();
      await upstream.close();
    }
  }, 30_000);
});

describe('signed webhooks', () => {
  it('POSTs created, decided and executed events that verify as Standard Webhooks', async () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const receiver = await startUpstream(() => ({ status: 204 }));
    const upstream = await startUpstream();
    const gw = await startTestGateway(`channels:
  webhooks:
    - { name: ops, url: "${receiver.url}/hooks", secret: "${secret}" }
connections:
  - { name: api, kind: http, url: "${upstream.url}" }
policy:
  rules:
    - { id: hold, when: "true", effect: approve, approvers: [{ groups: [sre] }] }
`);
    try {
      const id = (await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'POST', path: '/y' }, reason: 'r' } })).body.id as string;
      expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: '' } })).status).toBe(200);
      const calls = await eventually(async () => {
        const got = receiver.calls.filter((c) => c.body.includes(id));
        return got.some((c) => JSON.parse(c.body).type === 'request.executed') ? got : undefined;
      });
      const types = calls.map((c: RecordedCall) => JSON.parse(c.body).type);
      expect(types).toEqual(['request.created', 'request.decided', 'request.executed']);
      for (const c of calls) {
        const headers = { id: String(c.headers['webhook-id']), timestamp: String(c.headers['webhook-timestamp']), signature: String(c.headers['webhook-signature']) };
        expect(headers.id).toMatch(/^msg_\d+$/);
        expect(headers.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
        expect(verifyWebhookSignature(secret, headers, c.body, new Date())).toBe(true);
        expect(verifyWebhookSignature(secret, headers, c.body.replace(id, 'req_forged'), new Date())).toBe(false);
      }
      const executed = JSON.parse(calls.at(-1)!.body);
      expect(executed.data).toMatchObject({ requestId: id, event: 'request.succeeded', status: 'succeeded', principal: 'deploy-bot', connection: 'api' });
    } finally {
      await gw.stop();
      await receiver.close();
      await upstream.close();
    }
  });
});
