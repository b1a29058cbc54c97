/**
 * The generation of a config: what decides who may do what, hashed. Replicas
 * and workers on one store must decide alike, so the one the last gateway
 * started with is kept in the store and a process of another refuses to
 * decide (service/config-in-force.ts). Only the sections that decide count:
 * the policy (by its hash), the principals and roles, how tokens and sign-ins
 * become principals and groups, what shapes a connection's facts, what the
 * audit log keeps of an input (`audit.sensitive`), the console (whether it and
 * the CLI's sign-in are offered, how long a session lasts, passkeys), and which
 * chat workspace or tenant vouches for reviewers. A process on an older file
 * would otherwise keep an input the new one masks in clear in a log that cannot
 * be rewritten, or count a click from a chat the operator removed.
 * What may differ between replicas of one file (ports, heap, the store's URL,
 * secrets that `${VAR}` expands) does not: the login's client secret and the
 * chat channels' secrets are left out, as is everything a connection holds
 * only to reach its target, and where chat messages go.
 */
import { canonicalJson, sha256Hex } from '../core/digest.ts';
import type { Config } from './schema.ts';

/**
 * What a connection holds only to reach its target: where it is, what starts it and the credentials to get in (`url` may carry a
 * password, `headers` a token, `env` a secret) and how long to wait. The rest (tags, paths, allow-lists, read-only
 * functions, secret columns, undo, …) shapes the facts the policy judges, so it counts.
 */
const REACHING = new Set(['url', 'headers', 'command', 'args', 'env', 'cwd', 'timeoutMs', 'statementTimeoutMs', 'poolSize', 'waitSeconds']);

/**
 * @example
 * configGeneration(config, policy.hash); // 'sha256:…'
 */
export function configGeneration(config: Config, policyHash: string): string {
  const login = config.identity.login ? { ...config.identity.login, clientSecret: undefined } : undefined;
  const { slack, teams } = config.channels;
  const deciding = {
    policy: policyHash,
    principals: config.principals,
    roles: config.roles,
    identity: { ...config.identity, login },
    connections: config.connections.map((c) => Object.fromEntries(Object.entries(c).filter(([k]) => !REACHING.has(k)))),
    audit: { sensitive: config.audit.sensitive },
    console: config.console,
    // Who a click in chat can be: the workspace and app whose signed calls count, and where their emails are asked.
    reviewers: {
      slack: slack ? { teamId: slack.teamId, appId: slack.appId, apiUrl: slack.apiUrl } : null,
      teams: teams ? { appId: teams.appId, tenantId: teams.tenantId, openIdMetadataUrl: teams.openIdMetadataUrl, clockToleranceSeconds: teams.clockToleranceSeconds } : null,
    },
  };
  // Through JSON first: an absent optional (undefined) is no member at all, as in the file.
  return `sha256:${sha256Hex(canonicalJson(JSON.parse(JSON.stringify(deciding))))}`;
}
