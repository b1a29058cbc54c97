/**
 * An exec action's line where a place has little room. The argv is the
 * agent's: long leading options (`--kubeconfig=<long path>`, `-c <long>=x`)
 * pushed the subcommand past Slack's 75-character Approve button and its
 * header, the Teams card's title, the console's list row and the CLI's
 * one-line list, which read
 * `Approve and run Run on ops-k8s: kubectl --kubeconfig=/aaaa…` whatever
 * came after. A cut exec line leads with the command and the words that are
 * not options (`kubectl delete pods`), where no cut reaches them, as a cut
 * SQL line leads with its statement kinds. Real parts: the gateway, a fake
 * Slack and a fake Bot Framework that speak their protocols, the console
 * over HTTP, the compiled CLI's `requests list`. The commands are held for review and never run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPage, signIn, type ConsoleUser } from '../support/console.ts';
import { startReviewChannels, type ReviewChannels } from '../support/review-channels.ts';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { runCli } from '../support/run-cli.ts';

let channels: ReviewChannels | undefined;
let gw: TestGateway;
let alice: ConsoleUser;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-exec-lines-'));
  channels = await startReviewChannels();
  gw = await startTestGateway(`${channels.yaml}  - name: ops-k8s
    kind: exec
    command: /usr/local/bin/kubectl
  - name: repo
    kind: exec
    command: /usr/bin/git
policy:
  default: deny
  rules:
    - id: commands-need-a-human
      when: facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`);
  alice = await signIn(gw.url, gw.keys['alice']!);
});

afterAll(async () => {
  await gw?.stop();
  await channels?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function hold(connection: string, args: string[]): Promise<string> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection, input: { args }, reason: 'routine' } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id as string;
}

/** Every text a card or message shows, depth first. */
function texts(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(texts);
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => (k === 'text' || k === 'title' ? [String(v)] : []).concat(typeof v === 'object' ? texts(v) : []));
  return [];
}

type Blocks = { type: string; text?: { text: string }; elements?: { action_id?: string; text: { text: string } }[] }[];

async function slackPlaces(id: string): Promise<{ header: string; button: string }> {
  const msg = await channels!.slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id));
  const blocks = msg.body['blocks'] as Blocks;
  const header = blocks.find((b) => b.type === 'header')!.text!.text;
  const button = blocks.find((b) => b.type === 'actions')!.elements!.find((e) => e.action_id === 'countersign_approve')!.text.text;
  expect(header.length).toBeLessThanOrEqual(150);
  expect(button.length).toBeLessThanOrEqual(75);
  return { header, button };
}

const teamsTitle = async (id: string) => texts((await eventually(async () => channels!.bf.posted.find((p) => JSON.stringify(p.body).includes(id)))).body).find((t) => t.startsWith('Approve and run'))!;

describe('an exec action whose leading options fill the room of a narrow place', () => {
  it('names kubectl delete pods on the Slack header and button, the Teams title and the console list', async () => {
    const id = await hold('ops-k8s', [`--kubeconfig=/home/${'a'.repeat(150)}/config`, 'delete', 'pods', '--all']);
    const { header, button } = await slackPlaces(id);
    expect(header).toMatch(/^Approval needed: Run on ops-k8s \(kubectl delete pods\): \/usr\/local\/bin\/kubectl --kubeconfig=\/home\/a+…$/);
    expect(button).toMatch(/^Approve and run Run on ops-k8s \(kubectl delete pods\): /);
    expect(await teamsTitle(id)).toMatch(/^Approve and run Run on ops-k8s \(kubectl delete pods\): /);
    const inbox = await (await getPage(gw.url, alice, '/')).text();
    expect(inbox).toContain('Run on ops-k8s (kubectl delete pods): ');
    const cli = runCli({ url: gw.url, key: gw.keys['alice']!, credentials: join(dir, 'none.json') });
    const list = await cli.command(['requests', 'list']).done;
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.split('\n').find((l) => l.startsWith(id))).toContain('  ops-k8s  (kubectl delete pods) /usr/local/bin/kubectl --kubeconfig=');
  });

  it('names git push on the Slack button when a -c value fills it', async () => {
    const id = await hold('repo', ['-c', `core.${'x'.repeat(100)}=x`, 'push', '--force', 'origin', 'main']);
    const { header, button } = await slackPlaces(id);
    expect(header).toContain('Run on repo (git core.');
    expect(header).toContain(' push origin main): ');
    expect(button).toMatch(/^Approve and run Run on repo \(git core\.x+… push origin main\): /);
  });

  it('keeps a line that fits as it is', async () => {
    const id = await hold('ops-k8s', ['get', 'pods']);
    const { header, button } = await slackPlaces(id);
    expect(header).toBe('Approval needed: Run on ops-k8s: /usr/local/bin/kubectl get pods');
    expect(button).toBe('Approve and run Run on ops-k8s: /usr/local/bin/kubectl get pods');
  });
});
