/** `countersign slack manifest`: the Slack app manifest to create the app from (JSON, as Slack's "From an app manifest" accepts). */
import { slackManifest } from '../adapters/channel/slack/manifest.ts';
import { UsageError } from './requests.ts';
import type { CliIo } from './io.ts';

export function slackManifestCommand(opts: { url: string; name?: string }, io: CliIo): void {
  if (!/^https:\/\/[^\s/]+/.test(opts.url) && !/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?/.test(opts.url)) {
    throw new UsageError('--url: the gateway\'s public https:// URL (Slack calls it for every click)');
  }
  io.stdout.write(`${JSON.stringify(slackManifest(opts.url, opts.name), null, 2)}\n`);
}
