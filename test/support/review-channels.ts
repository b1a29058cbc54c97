/**
 * What a reviewer is shown, on every channel at once: a fake Slack and a fake Bot Framework (Teams), and the start of
 * a config naming both (with the console's public URL) and `orders-db`, a PostgreSQL connection that is never
 * reached (the tests hold its statements for review and read how each channel shows them). The test adds its policy.
 */
import { startFakeBotFramework, type FakeBotFramework } from './fake-botframework.ts';
import { startFakeSlack, type FakeSlack } from './fake-slack.ts';

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
