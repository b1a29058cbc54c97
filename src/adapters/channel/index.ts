/**
 * The configured channels, built from the config: the Slack channel, the
 * Teams channel and one channel per signed webhook. Also the
 * outbox router that decides, per audit event, which channels owe a delivery.
 */
import type { Channel } from '../../core/channel.ts';
import type { OutboxRouter } from '../../core/outbox.ts';
import type { Clock } from '../../core/ports.ts';
import type { Config } from '../../config/schema.ts';
import { createSlackApi, type SlackApi } from './slack/api.ts';
import { createSlackChannel } from './slack/channel.ts';
import { createTeamsChannel } from './teams/channel.ts';
import { createTeamsConnector, type TeamsConnector } from './teams/connector.ts';
import { createWebhookChannel } from './webhook/channel.ts';

export interface ConfiguredChannels {
  readonly channels: ReadonlyMap<string, Channel>;
  readonly router: OutboxRouter;
  /** The Slack Web API client, when Slack is configured (the interactivity endpoint needs it too). */
  readonly slackApi?: SlackApi;
  /** The Bot Connector client, when Teams is configured (the messaging endpoint looks up members with it). */
  readonly teamsConnector?: TeamsConnector;
}

/** What each rule's `notify` names on one channel, for the rules that name any. */
function ruleTargets(config: Pick<Config, 'policy'>, pick: (n: Config['policy']['rules'][number]['notify'][number]) => string | undefined): Map<string, string[]> {
  return new Map(config.policy.rules.map((r) => [r.id, r.notify.flatMap((n) => pick(n) ?? [])] as const).filter(([, ts]) => ts.length > 0));
}

export function createChannels(config: Pick<Config, 'channels' | 'policy'>, clock: Clock): ConfiguredChannels {
  const channels = new Map<string, Channel>();
  let slackApi: SlackApi | undefined;
  const slack = config.channels.slack;
  if (slack) {
    slackApi = createSlackApi({ apiUrl: slack.apiUrl, botToken: slack.botToken });
    const ruleChannels = ruleTargets(config, (n) => ('slack' in n ? n.slack : undefined));
    const channel = createSlackChannel({ api: slackApi, channel: slack.channel, ruleChannels });
    channels.set(channel.name, channel);
  }
  let teamsConnector: TeamsConnector | undefined;
  const teams = config.channels.teams;
  if (teams) {
    teamsConnector = createTeamsConnector({ appId: teams.appId, appPassword: teams.appPassword, tokenUrl: teams.tokenUrl, timeoutMs: teams.timeoutMs, now: () => clock.now() });
    const channel = createTeamsChannel({ connector: teamsConnector, config: teams, ruleConversations: ruleTargets(config, (n) => ('teams' in n ? n.teams : undefined)) });
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
  return { channels, router, ...(slackApi ? { slackApi } : {}), ...(teamsConnector ? { teamsConnector } : {}) };
}
