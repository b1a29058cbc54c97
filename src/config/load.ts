/**
 * Loads the configuration once, at start: read the YAML file, replace
 * `${VAR}` with the environment's value, validate against the schema, check
 * the cross-references, and freeze. A bad config stops the start with the
 * file, the path in it and what was expected.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { CountersignError, isCountersignError } from '../core/errors.ts';
import { emailKey, mailboxOf } from '../core/human-identity.ts';
import { compilePolicy } from '../core/policy/compile.ts';
import { readPolicyFile } from './candidate.ts';
import { configSchema, type Config } from './schema.ts';
import { ruleSpecOf } from './rule-spec.ts';
import { environmentSecrets as secretNamed, mayHoldSecret } from './held-secrets.ts';
import { targetSecrets, type Expansion } from './target-secrets.ts';
import { writtenTargets } from './written-targets.ts';

function fail(file: string, problems: string[]): never {
  throw new CountersignError('CONFIG_INVALID', `${file}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
    problems,
  });
}

/**
 * `${VAR}` from the environment, `${VAR:-fallback}` with a fallback; `$${`
 * writes a literal `${`. Only string values are touched, after YAML parsing,
 * so a secret's value can never change the document's structure.
 */
function substitute(value: unknown, env: NodeJS.ProcessEnv, path: string, problems: string[], expanded: Expansion[]): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (whole, escaped: string | undefined, name: string, fallback: string | undefined) => {
        if (escaped) return whole.slice(1);
        const v = env[name];
        if (v !== undefined && v !== '') {
          expanded.push({ path, value: v });
          return v;
        }
        if (fallback !== undefined) return fallback;
        problems.push(`${path}: environment variable ${name} is not set`);
        return '';
      },
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, env, `${path}[${i}]`, problems, expanded));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substitute(v, env, path ? `${path}.${k}` : k, problems, expanded)]),
    );
  }
  return value;
}

function pathOf(parts: readonly PropertyKey[]): string {
  return parts.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '') || '(top level)';
}

/**
 * One human, one identity: a token's verified email finds the configured human
 * with it (core/human-identity.ts), so an email must name one human and be one
 * that can match; an id that is an email counts as that email.
 */
function humanEmailProblems(config: Config): string[] {
  const problems: string[] = [];
  const owner = new Map<string, string>();
  const claim = (key: string, id: string, where: string) => {
    const had = owner.get(key);
    if (had !== undefined && had !== id) problems.push(`${where}: ${key} already names ${had}; one email is one human`);
    else owner.set(key, id);
  };
  config.principals.forEach((p, i) => {
    if (p.kind !== 'human') return;
    const idKey = emailKey(p.id);
    if (idKey !== undefined) claim(idKey, p.id, `principals[${i}].id`);
    if (p.email === undefined) return;
    const key = emailKey(p.email);
    if (key === undefined) problems.push(`principals[${i}].email: ${p.email} has characters that imitate others (compatibility, invisible or look-alike forms); write it in its plain form`);
    else claim(key, p.id, `principals[${i}].email`);
  });
  return problems;
}

/**
 * An agent's address is the agent's (core/human-identity.ts agentByEmail), a human's is theirs: one mailbox cannot be
 * both. Were it, whoever reads it would be that human on every surface (a chat account, a verified token), never on
 * the agent's side, and so approve what the agent asks. Compared by mailbox (a `+tag` delivers to the same inbox).
 */
function agentEmailProblems(config: Config): string[] {
  const humans = new Map<string, string>();
  for (const p of config.principals) {
    if (p.kind !== 'human') continue;
    for (const name of [p.id, p.email]) {
      const key = name === undefined ? undefined : emailKey(name);
      if (key !== undefined && !humans.has(mailboxOf(key))) humans.set(mailboxOf(key), p.id);
    }
  }
  const problems: string[] = [];
  config.principals.forEach((p, i) => {
    const key = p.kind === 'agent' && p.email !== undefined ? emailKey(p.email) : undefined;
    const human = key === undefined ? undefined : humans.get(mailboxOf(key));
    if (human !== undefined) {
      problems.push(`principals[${i}].email: ${p.email} is the mailbox of ${human}; an agent’s address is never a person’s: give ${p.id} an address of its own (and \`actsFor: ${human}\` if it acts for them)`);
    }
  });
  return problems;
}

/**
 * Where humans sign in through an identity provider (the console and CLI login, or an issuer of human tokens), every
 * configured human needs their email in the config (unless their id is one): a sign-in is known as a configured human
 * by id or by email, and with neither matching (the provider's id claim is the email by default) that human would be
 * another person there: able to approve what their own API key asked, what an agent acting for them asked, and to
 * approve a second time toward a quorum.
 */
function humansWithoutEmail(config: Config): string[] {
  const providerHumans = config.identity.login !== undefined || config.identity.issuers.some((iss) => iss.principal.kind === 'human');
  if (!providerHumans) return [];
  const problems: string[] = [];
  config.principals.forEach((p, i) => {
    if (p.kind !== 'human' || p.email !== undefined || emailKey(p.id) !== undefined) return;
    const agents = config.principals.filter((a) => a.actsFor === p.id).map((a) => a.id);
    problems.push(
      `principals[${i}].email: ${p.id} has no email, and humans sign in through an identity provider here: give ${p.id} their email, so that their own sign-in is known as ${p.id} and cannot approve what ${[p.id, ...agents].join(' or ')} asks, nor approve twice`,
    );
  });
  return problems;
}

function crossCheck(config: Config): string[] {
  const problems: string[] = [];
  const principals = new Map(config.principals.map((p) => [p.id, p]));
  const seenIds = new Set<string>();
  const seenKeys = new Set<string>();
  const seenIssuers = new Set<string>();
  config.identity.issuers.forEach((iss, i) => {
    // Tokens find their issuer by exact `iss`: two entries for one issuer would make the second unreachable.
    if (seenIssuers.has(iss.issuer)) problems.push(`identity.issuers[${i}].issuer: ${iss.issuer} is configured twice`);
    seenIssuers.add(iss.issuer);
  });
  const tokenIssuers = new Set([...seenIssuers, ...(config.identity.login ? [config.identity.login.issuer] : [])]);
  // The kinds of principal each issuer's tokens name (one issuer may be configured for agents and be the login too).
  const issuerKinds = new Map<string, Set<'agent' | 'human'>>();
  const kindOf = (issuer: string, kind: 'agent' | 'human') => issuerKinds.set(issuer, new Set([...(issuerKinds.get(issuer) ?? []), kind]));
  config.identity.issuers.forEach((iss) => kindOf(iss.issuer, iss.principal.kind));
  if (config.identity.login) kindOf(config.identity.login.issuer, 'human');
  const folded = new Map<string, string>();
  config.principals.forEach((p, i) => {
    if (seenIds.has(p.id)) problems.push(`principals[${i}].id: duplicate principal id ${p.id}`);
    seenIds.add(p.id);
    // Ids differing only in case read as one name on every card and in every log: one person would be two reviewers,
    // or an agent would act for one while the other approves.
    const other = folded.get(p.id.toLowerCase());
    if (other !== undefined && other !== p.id) problems.push(`principals[${i}].id: ${p.id} differs from ${other} only in case; give them ids that differ`);
    if (other === undefined) folded.set(p.id.toLowerCase(), p.id);
    p.apiKeys.forEach((k, j) => {
      if (seenKeys.has(k)) problems.push(`principals[${i}].apiKeys[${j}]: this key hash is already used by another principal`);
      seenKeys.add(k);
    });
    if (p.actsFor !== undefined) {
      const target = principals.get(p.actsFor);
      if (p.kind !== 'agent') problems.push(`principals[${i}].actsFor: only an agent acts for a human`);
      else if (!target || target.kind !== 'human') problems.push(`principals[${i}].actsFor: ${p.actsFor} is not a configured human principal`);
    }
    p.issuers?.forEach((iss, j) => {
      if (!tokenIssuers.has(iss)) problems.push(`principals[${i}].issuers[${j}]: ${iss} is not a configured issuer (identity.issuers or identity.login)`);
      // Bound only to issuers of the other kind, it could never be named by a token at all.
      else if (!issuerKinds.get(iss)?.has(p.kind)) problems.push(`principals[${i}].issuers[${j}]: ${iss} names ${p.kind === 'agent' ? 'humans' : 'agents'} only; ${p.id} is ${p.kind === 'agent' ? 'an agent' : 'a human'}`);
    });
    // A role is a person's: an agent (or what acts for someone) never holds one.
    if (p.kind !== 'human' && p.roles.length > 0) problems.push(`principals[${i}].roles: only a human holds a role; ${p.id} is an agent`);
  });
  problems.push(...humanEmailProblems(config), ...agentEmailProblems(config), ...humansWithoutEmail(config));
  const seenConnections = new Set<string>();
  config.connections.forEach((c, i) => {
    if (seenConnections.has(c.name)) problems.push(`connections[${i}].name: duplicate connection name ${c.name}`);
    seenConnections.add(c.name);
  });
  config.policy.rules.forEach((r, i) => {
    r.approvers?.forEach((a, j) => {
      a.principals?.forEach((pid, k) => {
        const p = principals.get(pid);
        if (!p || p.kind !== 'human') problems.push(`policy.rules[${i}].approvers[${j}].principals[${k}]: ${pid} is not a configured human principal`);
      });
    });
    // A rung's principals become reviewers: humans only, as approvers are.
    r.escalate?.forEach((e, j) => {
      e.to.principals.forEach((pid, k) => {
        const p = principals.get(pid);
        if (!p || p.kind !== 'human') problems.push(`policy.rules[${i}].escalate[${j}].to.principals[${k}]: ${pid} is not a configured human principal`);
      });
    });
  });
  return problems;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Parses configuration text (as read from `file`, which is only used in messages).
 *
 * @example
 * parseConfig('policy: { default: deny }', 'countersign.yaml', process.env);
 */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    fail(file, doc.errors.map((e) => `line ${(e.linePos?.[0].line ?? 0)}: ${e.message.split('\n')[0]}`));
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw) || raw === null) fail(file, ['(top level): expected a mapping of sections (server, store, principals, connections, policy)']);
  const problems: string[] = [];
  const expanded: Expansion[] = [];
  const substituted = substitute(raw, env, '', problems, expanded) as Record<string, unknown>;
  if (problems.length) fail(file, problems);
  if (env['PORT'] !== undefined && env['PORT'] !== '') {
    const port = Number(env['PORT']);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(file, [`PORT (environment): ${env['PORT']} is not a port number`]);
    const server = substituted['server'];
    substituted['server'] = { ...(server && typeof server === 'object' ? server : {}), port };
  }
  const result = configSchema.safeParse(substituted);
  if (!result.success) {
    fail(
      file,
      result.error.issues.map((i) => `${pathOf(i.path)}: ${i.message}`),
    );
  }
  const cross = crossCheck(result.data);
  try {
    // Conditions are compiled here only to fail the load with the file's name; main compiles the policy it runs.
    compilePolicy({ default: result.data.policy.default, defaultTtlSeconds: result.data.policy.defaultTtl, rules: result.data.policy.rules.map(ruleSpecOf) });
  } catch (e) {
    if (!isCountersignError(e, 'CONFIG_INVALID')) throw e;
    // Every problem at once: the references' and every rule's.
    cross.push(...(Array.isArray(e.details['problems']) ? (e.details['problems'] as string[]) : [e.message]));
  }
  const candidate = result.data.policy.candidate;
  let candidatePolicy: Config['candidatePolicy'];
  if (candidate !== undefined) {
    // Like a path on the command line of `countersign mcp`, which reads the config from its own directory.
    const candidateFile = resolve(dirname(file), candidate);
    const humans = new Set(result.data.principals.filter((p) => p.kind === 'human').map((p) => p.id));
    try {
      candidatePolicy = { file: candidateFile, section: readPolicyFile(candidateFile, humans) };
    } catch (e) {
      if (!isCountersignError(e, 'CONFIG_INVALID')) throw e;
      const problems = Array.isArray(e.details['problems']) ? (e.details['problems'] as string[]) : [e.message];
      cross.push(...problems.map((p) => `policy.candidate: ${p}`));
    }
  }
  if (cross.length) fail(file, cross);
  const connectionSecrets = targetSecrets(result.data, expanded);
  const targets = writtenTargets(raw, result.data.connections);
  // What a command run as the gateway's user could read of it (/proc/<pid>/environ): scrubbed from exec output.
  const environmentSecrets = [...new Set([...expanded.filter((e) => mayHoldSecret(e.path)).map((e) => e.value), ...secretNamed(env)])];
  return deepFreeze({ ...result.data, ...(candidatePolicy ? { candidatePolicy } : {}), ...(connectionSecrets ? { connectionSecrets } : {}), environmentSecrets, writtenTargets: targets });
}

/** Reads and parses the configuration file at `file`. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'cannot be read';
    fail(file, [`${why} (give another with --config)`]);
  }
  return parseConfig(text, file, env);
}
