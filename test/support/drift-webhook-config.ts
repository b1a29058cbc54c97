/**
 * The config of the outbox drift tests (replicas-config-drift-outbox, -claim): one webhook whose address moves from
 * `/old` to `/new` between the two versions of the file, and a policy that gains a rule for reads, so the two
 * versions are two config generations.
 */
import { join } from 'node:path';

const DRIFT_WEBHOOK_SECRET = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;

export interface DriftWebhookPlaces {
  readonly dbUrl: string;
  readonly dir: string;
  readonly receiverUrl: string;
  readonly upstreamUrl: string;
  /** The hash of deploy-bot's API key. */
  readonly botKeyHash: string;
}

/**
 * @example
 * writeFileSync(configFile, driftWebhookConfig(places, 'before')); // the webhook at receiver/old
 */
export function driftWebhookConfig(p: DriftWebhookPlaces, version: 'before' | 'after'): string {
  const path = version === 'before' ? '/old' : '/new';
  const reads = version === 'before' ? '' : `    - id: reads\n      when: facts.http.method == "GET"\n      effect: allow\n`;
  return `server: { port: 0 }
store: { postgres: { url: ${JSON.stringify(p.dbUrl)}, poolSize: 4 } }
audit: { keyDir: ${JSON.stringify(join(p.dir, 'keys'))} }
log: { level: silent }
channels:
  webhooks: [{ name: ops-hook, url: ${JSON.stringify(p.receiverUrl + path)}, secret: "${DRIFT_WEBHOOK_SECRET}", events: [created] }]
principals:
  - { id: deploy-bot, kind: agent, apiKeys: ["${p.botKeyHash}"] }
  - { id: alice, kind: human, groups: [sre], email: alice@example.com }
connections:
  - { name: ops-api, kind: http, url: ${JSON.stringify(p.upstreamUrl)} }
policy:
  default: deny
  rules:
${reads}    - id: writes
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
`;
}
