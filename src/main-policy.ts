/**
 * The policy side of the composition root (with main.ts): the configured policy compiled with the rules the
 * gateway derives from its connections, and what deciding needs without running anything. Apart from main.ts so
 * that the commands that only judge (`policy test`, `policy replay`, `policy coverage`, `config check`) do not
 * load the gateway's servers, channels and stores.
 */
import { builtinRules } from './config/builtin-rules.ts';
import { heldSecrets } from './config/held-secrets.ts';
import type { Config, PolicySection } from './config/schema.ts';
import { ruleSpecOf } from './config/rule-spec.ts';
import { compilePolicy, type CompiledPolicy } from './core/policy/compile.ts';
import type { Clock } from './core/ports.ts';
import { createConnections } from './adapters/connections.ts';
import { createIdentity } from './adapters/identity/index.ts';
import { keyMaterial } from './adapters/signer/key-material.ts';
import { systemClock } from './adapters/system.ts';

/** Compiles the configured policy (throws CONFIG_INVALID naming the rule that does not compile). */
export function compileConfiguredPolicy(config: Config): CompiledPolicy {
  return compileSection(config, config.policy);
}

/**
 * Compiles a policy section (the live one, or a candidate) with the rules the gateway derives from the
 * connections, so a candidate differs from the live policy only where its own rules do.
 */
export function compileSection(config: Config, section: PolicySection): CompiledPolicy {
  return compilePolicy({
    default: section.default,
    defaultTtlSeconds: section.defaultTtl,
    rules: [
      ...builtinRules(config),
      ...section.rules.map(ruleSpecOf),
    ],
  });
}

/**
 * What deciding needs without running anything: identity, connections (for
 * facts; nothing connects until an action runs) and the policy. Used by
 * `countersign policy test` and `config check`, which must not touch the store.
 *
 * @example
 * const deps = await createPolicyDeps(loadConfig('countersign.yaml')); // deps.policy().spec.rules
 */
export async function createPolicyDeps(config: Config, opts: { clock?: Clock; traceHeaders?: () => Record<string, string> } = {}) {
  const policy = compileConfiguredPolicy(config);
  const candidate = config.candidatePolicy ? compileSection(config, config.candidatePolicy.section) : undefined;
  const held = heldSecrets(config);
  const keys = keyMaterial(config.audit.keyDir);
  const connections = await createConnections(config.connections, {
    ...(opts.traceHeaders ? { traceHeaders: opts.traceHeaders } : {}),
    ...(config.connectionSecrets ? { secrets: config.connectionSecrets } : {}),
    ...(config.writtenTargets ? { written: config.writtenTargets } : {}),
    heldSecrets: () => [...held, ...keys()],
  });
  const clock = opts.clock ?? systemClock;
  const identity = createIdentity({
    principals: config.principals.map((p) => ({ id: p.id, kind: p.kind, actsFor: p.actsFor ?? null, groups: p.groups, email: p.email ?? null, apiKeys: p.apiKeys, roles: p.roles, ...(p.issuers ? { issuers: p.issuers } : {}) })),
    roleGroups: config.roles,
    identity: config.identity,
    now: () => clock.now(),
  });
  return { policy: () => policy, ...(candidate ? { candidate } : {}), connections, identity, clock };
}
