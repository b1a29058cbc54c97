/**
 * What a reviewer is shown, on every channel at once: a fake Slack and a fake Bot Framework (Teams), and the start of
 * a config naming both (with the console's public URL) and `orders-db`, a PostgreSQL connection that is never
 * reached (the tests hold its statements for review and read how each channel shows them). The test adds its policy.
 */
import { startFakeBotFramework, type FakeBotFramework } from './fake-botframework.ts';
import { startFakeSlack, type FakeSlack } from './fake-slack.ts';
import { startTestGateway, type TestGateway } from './gateway.ts';

export interface ReviewChannels {
  slack: FakeSlack;
  bf: FakeBotFramework;
  /** `channels:` and `connections:`, to be followed by `policy:`. */
  yaml: string;
  close(): Promise<void>;
}

export async function startReviewChannels(): Promise<ReviewChannels> {
  const slack = await startFakeSlack();
  const bf = await startFakeBotFramework();
  return {
    slack,
    bf,
    yaml: `channels:
${bf.channelYaml()}
${slack.channelYaml()}
  publicUrl: https://countersign.example.com
connections:
  - name: orders-db
    kind: postgres
    url: postgres://nobody@127.0.0.1:1/orders
`,
    async close() {
      await slack.close();
      await bf.close();
    },
  };
}

/** The policy most review tests share: every write held for one approval from sre, for an hour. */
export const HOLD_WRITES = `policy:
  default: deny
  rules:
    - id: sql-writes
      when: facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
`;

export interface ReviewGateway {
  slack: FakeSlack;
  bf: FakeBotFramework;
  gw: TestGateway;
  /** Stops the gateway, then the channels. */
  close(): Promise<void>;
}

/** Review channels and a gateway on them with `policy` (default HOLD_WRITES). */
export async function startReviewGateway(policy = HOLD_WRITES): Promise<ReviewGateway> {
  const channels = await startReviewChannels();
  try {
    const gw = await startTestGateway(`${channels.yaml}${policy}`);
    return {
      slack: channels.slack,
      bf: channels.bf,
      gw,
      async close() {
        await gw.stop();
        await channels.close();
      },
    };
  } catch (e) {
    await channels.close();
    throw e;
  }
}
