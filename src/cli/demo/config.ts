/**
 * The demo configuration, written once on the first `npm start` without a
 * countersign.yaml, into the demo's own directory; its store and audit keys
 * are named there by absolute path, so they are the demo's wherever the
 * config is read from and never the ones a config of one's own makes. Its API keys are printed that one time and stored only
 * as SHA-256 hashes; `countersign demo reset` starts over with new ones.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { generateApiKey } from '../../adapters/identity/api-keys.ts';

export interface DemoPrincipal {
  id: string;
  kind: 'agent' | 'human';
  actsFor?: string;
  groups: string[];
  /** What she may open beyond the requests that concern her (the audit trail). */
  roles?: ('auditor' | 'admin')[];
  note: string;
}

export const DEMO_PRINCIPALS: readonly DemoPrincipal[] = [
  { id: 'deploy-bot', kind: 'agent', actsFor: 'carol', groups: [], note: 'the agent; acts for carol' },
  { id: 'alice', kind: 'human', groups: ['sre'], roles: ['auditor'], note: 'reviewer (sre); auditor: opens the audit trail' },
  { id: 'bob', kind: 'human', groups: ['sre'], note: 'reviewer (sre)' },
  { id: 'carol', kind: 'human', groups: ['sre'], note: 'sre, but the agent acts for her: she cannot approve its requests' },
];

function demoYaml(hashes: Record<string, string>, upstreamToken: string, dir: string): string {
  const principals = DEMO_PRINCIPALS.map((p) =>
    [
      `  - id: ${p.id}`,
      `    kind: ${p.kind}`,
      ...(p.actsFor ? [`    actsFor: ${p.actsFor}`] : []),
      ...(p.groups.length ? [`    groups: [${p.groups.join(', ')}]`] : []),
      ...(p.roles?.length ? [`    roles: [${p.roles.join(', ')}]           # reads the audit trail; others see only their own requests`] : []),
      `    apiKeys: ["${hashes[p.id]}"]`,
    ].join('\n'),
  ).join('\n');
  return `# Countersign demo configuration, written by the first \`npm start\`.
# API keys were printed once and are stored here only as SHA-256 hashes.
# Start over with new keys: npx countersign demo reset
server: { port: 8700 }                        # PORT in the environment overrides
# The demo's state and keys live beside this file, apart from what a config of your own makes.
store: { sqlite: { path: ${JSON.stringify(join(dir, 'countersign.db'))} } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))} }
principals:
${principals}
connections:
  - name: billing-api                         # a demo API started beside the gateway
    kind: http
    url: \${COUNTERSIGN_DEMO_API:-http://127.0.0.1:8701}
    headers: { Authorization: "Bearer ${upstreamToken}" }   # the gateway's credential; agents never see it
    tags: { env: prod, data: pii, compliance: [soc2, gdpr] }
  - name: ops-tool                            # one allow-listed binary, argv only, never a shell
    kind: exec
    command: /bin/echo
    tags: { env: prod }
policy:
  default: deny
  rules:
    - id: reads
      when: connection.name == "billing-api" && !facts.writes
      effect: allow
    - id: prod-writes
      when: connection.tags.env == "prod" && facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
    - id: no-deletes
      when: facts.http.method == "DELETE"
      effect: deny
      message: Deleting customer data is never allowed from agents
`;
}

/**
 * Writes the demo config if it does not exist yet; returns the new keys
 * (to print once), or null when the config was already there.
 */
export function ensureDemoConfig(path: string): Record<string, string> | null {
  if (existsSync(path)) return null;
  const keys: Record<string, string> = {};
  const hashes: Record<string, string> = {};
  for (const p of DEMO_PRINCIPALS) {
    const k = generateApiKey();
    keys[p.id] = k.key;
    hashes[p.id] = k.hash;
  }
  const dir = resolve(dirname(path));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path, demoYaml(hashes, `demo_${randomBytes(18).toString('base64url')}`, dir), { mode: 0o600 });
  return keys;
}
