/**
 * The configured channels, built from the config: the Slack channel and one
 * channel per signed webhook. Teams plugs in here the same way. Also the
 * outbox router that decides, per audit event, which channels owe a delivery.
 */
import type { Channel } from '../../core/channel.ts';
import type { OutboxRouter } from '../../core/outbox.ts';
import type { Clock } from '../../core/ports.ts';
import type { Config } from '../../config/schema.ts';
import { createSlackApi, type SlackApi } from './slack/api.ts';
import { createSlackChannel } from './slack/channel.ts';
import { createWebhookChannel } from './webhook/channel.ts';

export interface ConfiguredChannels {
  readonly channels: ReadonlyMap<string, Channel>;
  readonly router: OutboxRouter;
  /** The Slack Web API client, when Slack is configured (the interactivity endpoint needs it too). */
  readonly slackApi?: SlackApi;
}

export function createChannels(config: Pick<Config, 'channels' | 'policy'>, clock: Clock): ConfiguredChannels {
  const channels = new Map<string, Channel>();
  let slackApi: SlackApi | undefined;
  const slack = config.channels.slack;
  if (slack) {
    slackApi = createSlackApi({ apiUrl: slack.apiUrl, botToken: slack.botToken });
    const ruleChannels = new Map(config.policy.rules.map((r) => [r.id, r.notify.map((n) => n.slack)] as const).filter(([, cs]) => cs.length > 0));
    const channel = createSlackChannel({ api: slackApi, channel: slack.channel, ruleChannels });
    channels.set(channel.name, channel);
  }
  for (const w of config.channels.webhooks) {
    const channel = createWebhookChannel({ ...w, clock });
    channels.set(channel.name, channel);
  }
  const list = [...channels.values()];
  const router: OutboxRouter = (event) =>
    event.requestId === null
      ? []
      : list
          .filter((c) => c.wants(event.type))
          .map((c) => ({ channel: c.name, event: event.type, requestId: event.requestId, payload: { time: event.time, actor: event.actor, data: event.data }, createdAt: event.time }));
  return { channels, router, ...(slackApi ? { slackApi } : {}) };
}
