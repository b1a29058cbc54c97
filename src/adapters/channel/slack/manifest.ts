/**
 * The Slack app manifest (https://api.slack.com/reference/manifests) this
 * gateway needs: a bot that posts and updates messages, opens a deny
 * modal, reads a clicking user's email (users:read.email) to match them to a
 * human, looks requesters up by email and DMs them; and the interactivity
 * URL. Creating the app from it leaves two secrets to paste: the bot token
 * and the signing secret.
 */
export const SLACK_BOT_SCOPES = ['chat:write', 'chat:write.public', 'im:write', 'users:read', 'users:read.email'] as const;

/**
 * @example
 * slackManifest('https://countersign.example.com'); // { display_information: …, settings: { interactivity: { request_url: 'https://countersign.example.com/integrations/slack/interactions' } } }
 */
export function slackManifest(publicUrl: string, name = 'Countersign'): Record<string, unknown> {
  const base = publicUrl.replace(/\/$/, '');
  return {
    _metadata: { major_version: 1, minor_version: 1 },
    display_information: {
      name,
      description: 'Approve or deny the privileged actions of AI agents',
      background_color: '#1f2933',
    },
    features: { bot_user: { display_name: name.toLowerCase(), always_online: true } },
    oauth_config: { scopes: { bot: [...SLACK_BOT_SCOPES] } },
    settings: {
      interactivity: { is_enabled: true, request_url: `${base}/integrations/slack/interactions` },
      org_deploy_enabled: false,
      socket_mode_enabled: false,
      token_rotation_enabled: false,
    },
  };
}
