/**
 * `npm run bench:chat`: how fast a held request reaches Slack, and how fast
 * a click in Slack unblocks the agent. One gateway (SQLite, in this process)
 * with a fake Slack on 127.0.0.1 and a local upstream; for each of N
 * requests, one after another:
 *   submit → the fake Slack receives chat.postMessage for it (outbox worker);
 *   signed Approve click → the agent's long-poll returns the final status.
 * Then the same with Microsoft Teams (a fake Bot Framework): the card
 * posted to the conversation, and a signed Approve invoke.
 * Prints p50/p99 of each. Environment: BENCH_REQUESTS (200).
 */
import { cpus, release } from 'node:os';
import { startFakeBotFramework } from '../test/support/fake-botframework.ts';
import { startFakeSlack } from '../test/support/fake-slack.ts';
import { DEFAULT_PRINCIPALS, startTestGateway } from '../test/support/gateway.ts';
import { startUpstream } from '../test/support/upstream.ts';

const n = Math.max(1, Number(process.env['BENCH_REQUESTS'] ?? 200));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};

type TestGw = Awaited<ReturnType<typeof startTestGateway>>;

/**
 * n held requests, one after another (five more to warm up): the time from
 * submit until the channel has the message (`arrived` gives when it did), and
 * from the click until the agent's long-poll returns the final status.
 */
async function measure(gw: TestGw, arrived: (id: string) => Promise<number>, click: (id: string) => Promise<number>): Promise<{ toChannel: number[]; toAgent: number[] }> {
  const toChannel: number[] = [];
  const toAgent: number[] = [];
  for (let i = 0; i < n + 5; i++) {
    const t0 = performance.now();
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'POST', path: `/bench/${i}` }, reason: 'bench' } });
    if (res.status !== 202) throw new Error(`submit: HTTP ${res.status}`);
    const id = res.body.id as string;
    const posted = (await arrived(id)) - t0;
    // The agent waits on its handle, as the SDK does.
    const agent = (async () => {
      let status = 'pending';
      while (!['succeeded', 'failed', 'denied', 'expired', 'cancelled'].includes(status)) {
        const r = await gw.as('deploy-bot', `/v1/requests/${id}?wait=30&from=${status}`);
        status = r.body.status as string;
      }
      return performance.now();
    })();
    await new Promise((r) => setTimeout(r, 5)); // the long-poll is parked before the click
    const t1 = performance.now();
    const status = await click(id);
    if (status !== 200) throw new Error(`click: HTTP ${status}`);
    const unblocked = (await agent) - t1;
    if (i >= 5) {
      // The first five warm up the JIT and the caches (the clicker's email is cached after the first click).
      toChannel.push(posted);
      toAgent.push(unblocked);
    }
  }
  return { toChannel, toAgent };
}

const slack = await startFakeSlack();
slack.users.set('UALICE', { id: 'UALICE', email: 'alice@example.com' });
const upstream = await startUpstream();
const gw = await startTestGateway(
  `channels:
${slack.channelYaml()}
connections:
  - { name: api, kind: http, url: "${upstream.url}" }
policy:
  rules:
    - { id: hold, when: "true", effect: approve, approvers: [{ groups: [sre] }] }
`,
  { principals: DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, email: 'alice@example.com' } : p)) },
);

let slackFigures: { toChannel: number[]; toAgent: number[] };
try {
  slackFigures = await measure(
    gw,
    async (id) => (await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks']).includes(id), 10_000)).at,
    async (id) => (await slack.click(gw.url, { user: 'UALICE', action: 'approve', requestId: id })).status,
  );
} finally {
  await gw.stop();
  await slack.close();
  await upstream.close();
}

// Microsoft Teams: the same loop against a fake Bot Framework.
const bf = await startFakeBotFramework();
const ALICE_AAD = '00000000-0000-4000-8000-00000000a11c';
bf.members.set(ALICE_AAD, { aadObjectId: ALICE_AAD, email: 'alice@example.com', name: 'alice' });
const upstream2 = await startUpstream();
const gw2 = await startTestGateway(
  `channels:
${bf.channelYaml()}
connections:
  - { name: api, kind: http, url: "${upstream2.url}" }
policy:
  rules:
    - { id: hold, when: "true", effect: approve, approvers: [{ groups: [sre] }] }
`,
  { principals: DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, email: 'alice@example.com' } : p)) },
);
let teamsFigures: { toChannel: number[]; toAgent: number[] };
try {
  teamsFigures = await measure(
    gw2,
    async (id) => {
      for (const end = performance.now() + 10_000; ; ) {
        const card = bf.posted.find((a) => JSON.stringify(a.body).includes(id));
        if (card) return card.at ?? performance.now();
        if (performance.now() > end) throw new Error(`no card for ${id}`);
        await new Promise((r) => setTimeout(r, 1));
      }
    },
    async (id) => (await bf.send(`${gw2.url}/integrations/teams/messages`, bf.invokeActivity({ verb: 'approve', requestId: id, aadObjectId: ALICE_AAD }))).status,
  );
} finally {
  await gw2.stop();
  await bf.close();
  await upstream2.close();
}

const f = (x: number) => `${x.toFixed(1)} ms`;
process.stdout.write(
  [
    `chat latency over ${n} held requests (Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()})`,
    `  submit → message received by the fake Slack   p50 ${f(pct(slackFigures.toChannel, 50))}   p99 ${f(pct(slackFigures.toChannel, 99))}`,
    `  signed click → agent unblocked (succeeded)    p50 ${f(pct(slackFigures.toAgent, 50))}   p99 ${f(pct(slackFigures.toAgent, 99))}`,
    `  submit → card received by the fake Teams      p50 ${f(pct(teamsFigures.toChannel, 50))}   p99 ${f(pct(teamsFigures.toChannel, 99))}`,
    `  signed invoke → agent unblocked (succeeded)   p50 ${f(pct(teamsFigures.toAgent, 50))}   p99 ${f(pct(teamsFigures.toAgent, 99))}`,
    '',
  ].join('\n'),
);
