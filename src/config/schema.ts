/**
 * The one configuration schema. Everything the gateway reads from its YAML
 * file is declared and defaulted here, and nothing re-checks it later.
 */
import type { WrittenTarget } from './written-targets.ts';
import { z } from 'zod';
import { parseMaskPath } from '../core/mask.ts';
import { ROLES } from '../core/roles.ts';
import { teamsConfigSchema } from '../adapters/channel/teams/config.ts';
import { identitySchema } from './identity-schema.ts';
import { tracingSchema } from './tracing-schema.ts';
import { heapSchema } from './heap-schema.ts';
import { duration, hasUserInfo, id, USER_INFO_REFUSED } from './primitives.ts';
import { policySectionSchema, type PolicySection } from './policy-schema.ts';
import { webauthnSchema } from './webauthn-schema.ts';
import { connectionSchema, mcpConnection } from './connection-schema.ts';

export { duration, policySectionSchema, type PolicySection };

const apiKeyHash = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 lower-case hex digits> (see `countersign keys create`)');

export const principalSchema = z.strictObject({
  id,
  kind: z.enum(['agent', 'human']),
  actsFor: id.optional(),
  email: z.string().email().optional(),
  groups: z.array(z.string().min(1)).default([]),
  apiKeys: z.array(apiKeyHash).default([]),
  /** What this human may open beyond their own requests (humans only): `auditor` reads the audit trail, exports, proofs, evidence and governance views; `admin` too. */
  roles: z.array(z.enum(ROLES)).default([]),
  /**
   * The token issuers (`identity.issuers`, `identity.login`) whose tokens may name this principal, by its id or (a
   * human) by a verified email. Absent: with one issuer of its kind configured (agent or human; identity.login is of
   * humans), that one; with several, a token names it by verified email only, never by id (another issuer could mint
   * a token with any id).
   */
  issuers: z.array(z.string().min(1)).min(1).optional(),
});



const slackSchema = z.strictObject({
  botToken: z.string().regex(/^xoxb-/, 'a bot token (xoxb-…), from the environment: ${SLACK_BOT_TOKEN}'),
  signingSecret: z.string().min(16, 'the app\'s signing secret, from the environment: ${SLACK_SIGNING_SECRET}'),
  /** The default channel for held requests (id or #name); a rule's notify may name others. */
  channel: z.string().min(1),
  /** Clicks from another workspace are refused. */
  teamId: z.string().regex(/^[TE][A-Z0-9]+$/, 'a workspace id such as T0123ABCD'),
  /** Clicks of another Slack app (a copied signing secret) are refused. */
  appId: z.string().regex(/^A[A-Z0-9]+$/, 'an app id such as A0123ABCD'),
  apiUrl: z
    .string()
    .url()
    .refine((u) => !hasUserInfo(u), USER_INFO_REFUSED)
    .default('https://slack.com/api/'),
});

const webhookSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a name of lower-case letters, digits, - and _'),
  url: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//.test(u), 'an http:// or https:// URL')
    .refine((u) => !hasUserInfo(u), 'a user or password in the url is never sent; the receiver checks the webhook-signature instead'),
  /** Standard Webhooks secret: whsec_ + base64 of at least 24 random bytes. */
  secret: z.string().regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, 'whsec_ followed by base64 of at least 24 random bytes'),
  /** `escalated` (a rung of an escalation ladder fired) and `break_glass` (someone ran a held request at once) are sent by default too. */
  events: z
    .array(z.enum(['created', 'previewed', 'decided', 'executed', 'escalated', 'break_glass']))
    .min(1)
    .default(['created', 'previewed', 'decided', 'executed', 'escalated', 'break_glass']),
});

export const channelsSchema = z
  .strictObject({
    slack: slackSchema.optional(),
    teams: teamsConfigSchema.optional(),
    webhooks: z.array(webhookSchema).default([]),
    /** The gateway's public URL, for links to request pages in messages (default: console.origin, else the listening address). */
    publicUrl: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, 'an absolute URL')
      .refine((u) => !hasUserInfo(u), USER_INFO_REFUSED)
      .optional(),
  })
  .prefault({});

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      port: z.number().int().min(0).max(65_535).default(8700),
      host: z.string().default('127.0.0.1'),
      bodyLimitBytes: z.number().int().positive().default(1_048_576),
      /** How long a long-poll may wait, at most. */
      maxWaitSeconds: z.number().int().positive().default(60),
      /** Waits (long-polls, event streams, held MCP calls) one principal may hold open at once, per serving process; more are refused with TOO_MANY_WAITS (429). */
      maxWaitsPerPrincipal: z.number().int().min(1).max(100_000).default(32),
      /**
       * Held requests one principal may have pending at once: each waits in every reviewer's inbox (the console shows
       * 200), so one agent could bury everyone else's. More are refused with TOO_MANY_PENDING (429); nothing is recorded.
       * 0: no cap (the benches' held-write phases, which keep tens of thousands pending; not for production).
       */
      maxPendingPerPrincipal: z.number().int().min(0).max(100_000).default(100),
      /**
       * How long a long SQL text (over 16,384 characters) may be analysed on the analysis thread, in seconds; past it,
       * INPUT_UNPARSEABLE and nothing runs. It bounds the CPU one text can take; a text may wait 3 times as long for the thread.
       */
      sqlAnalysisSeconds: z.number().int().min(1).max(300).default(10),
      /** Processes serving the same port (node:cluster); 1 runs the gateway in this process. */
      workers: z.number().int().min(1).max(64).default(1),
      /** How far each serving process lets its heap grow past what it holds live (heap-schema.ts). */
      heap: heapSchema,
      /**
       * Grace beyond a connection's own time bound before any process on the store settles a run still marked
       * executing as EXECUTION_INTERRUPTED (its claimant died). Covers the clock difference between processes and
       * how late a timed-out run ends; a run that cannot start within it after its claim is not started.
       */
      runGrace: duration.refine((s) => s >= 5, 'at least 5s').default(30),
      /**
       * A PostgreSQL wire-protocol listener: clients connect with user = principal id, password = its API key
       * (or token), database = the name of a `kind: postgres` connection; every statement is an action.
       */
      postgres: z
        .strictObject({
          host: z.string().default('127.0.0.1'),
          port: z.number().int().min(0).max(65_535),
          /** How long a held statement waits for a decision before the client gets "held as request …"; 0: never wait. */
          holdSeconds: z.number().int().min(0).max(3600).default(300),
          /** TLS for clients that ask (SSLRequest): PEM text of the certificate chain and key, usually `${VAR}`. Without it, passwords are accepted on loopback only. */
          tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
          /** Client sessions at once (each holds one upstream connection); more are refused with 53300. */
          maxSessions: z.number().int().min(1).max(10_000).default(200),
          /** Sessions one principal may hold at once, so that one agent cannot take every session (and upstream connection); more are refused with 53300. */
          maxSessionsPerPrincipal: z.number().int().min(1).max(10_000).default(20),
          /**
           * Connections not yet authenticated at once (anyone who can reach the port may open them), apart from
           * maxSessions: past it, the oldest one waiting on its client gives its place, else the newcomer is refused (53300).
           */
          maxUnauthenticated: z.number().int().min(1).max(10_000).default(64),
          /**
           * How long a client may take from connecting to being authenticated (PostgreSQL's authentication_timeout):
           * a connection that sends nothing would otherwise hold a place among maxUnauthenticated for good.
           */
          authenticationSeconds: z.number().int().min(1).max(600).default(10),
          /** The largest protocol message accepted from a client. */
          maxMessageBytes: z.number().int().min(1024).max(1_073_741_824).default(67_108_864),
          /**
           * The most data one COPY … FROM STDIN may send: the listener reads it all, and holds it in memory, before the
           * statement is judged (the rows are part of the action). More is refused with 54000, and nothing runs.
           */
          maxCopyBytes: z.number().int().min(1024).max(1_073_741_824).default(8_388_608),
        })
        .optional(),
    })
    .prefault({}),
  store: z
    .strictObject({
      sqlite: z
        .strictObject({
          path: z.string().min(1).default('./.countersign/countersign.db'),
          /** FULL also survives power loss, at a cost per commit; NORMAL (WAL) survives a crash of the gateway. */
          synchronous: z.enum(['normal', 'full']).default('normal'),
        })
        .prefault({}),
      /**
       * A PostgreSQL database shared by any number of replicas (instead of the SQLite file).
       * TLS: `ssl` is handed to node-postgres as it is (`true`, or `{ ca, cert, key, rejectUnauthorized, servername }`
       * with PEM text, usually `${VAR}`), or set `sslmode` in the URL.
       */
      postgres: z
        .strictObject({
          url: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL, usually "${DATABASE_URL}"'),
          /** Connections per gateway process (every replica and every worker has its own pool). */
          poolSize: z.number().int().min(2).max(1000).default(10),
          /** The longest one statement may run on the database before it is cancelled. */
          statementTimeout: duration.default(10),
          /** How long a call waits for a free connection (or a new one) before it gets STORE_BUSY / STORE_UNAVAILABLE. */
          connectTimeout: duration.default(5),
          ssl: z
            .union([
              z.boolean(),
              z.strictObject({
                ca: z.string().optional(),
                cert: z.string().optional(),
                key: z.string().optional(),
                rejectUnauthorized: z.boolean().optional(),
                servername: z.string().optional(),
              }),
            ])
            .optional(),
        })
        .optional(),
    })
    .prefault({}),
  audit: z
    .strictObject({
      /** The log's name in its checkpoints (C2SP origin) and its key name: unique per deployment. */
      origin: z
        .string()
        .regex(/^[^\s+]{1,200}$/, 'a name without spaces or +, e.g. countersign.example.com/prod')
        .optional(),
      /**
       * Input paths whose values the audit log keeps only as HMAC-SHA256 (agent header values always are):
       * `body.card_number`, `query.token`, `params[1]`, `args[*]`, `body.*.secret`.
       */
      sensitive: z
        .array(z.string().refine((p) => {
          try {
            parseMaskPath(p);
            return true;
          } catch {
            return false;
          }
        }, 'a path such as body.password, query.token, params[1] or args[*]'))
        .default([]),
      /** Where the signing keys and the HMAC key live: outside the database, never in it. */
      keyDir: z.string().min(1).default('./.countersign/keys'),
      /** A signed checkpoint at most every `events` events or `seconds` seconds, and at shutdown. */
      checkpoint: z
        .strictObject({ events: z.number().int().positive().default(1000), seconds: z.number().positive().default(10) })
        .prefault({}),
      /**
       * The most events one period may hold when it is exported over the gateway (an audit bundle,
       * an evidence report): a longer one is refused with PERIOD_TOO_LARGE. The CLI reading the store has no limit.
       */
      maxExportEvents: z.number().int().positive().default(1_000_000),
    })
    .prefault({}),
  console: z
    .strictObject({
      /** The web console at `/` (sign-in, inbox, request pages, activity, audit, policy). */
      enabled: z.boolean().default(true),
      /** How long a console session lasts after sign-in. */
      sessionTtl: duration.default(8 * 3600),
      /** true: the session cookie is always Secure (TLS ends at a proxy in front); unset: Secure when the request came over TLS. */
      secureCookies: z.boolean().optional(),
      /** The console's public origin (https://countersign.example.com); forms from any other origin are refused. Default: the origin of the Host the request came to. */
      origin: z
        .string()
        .regex(/^https?:\/\/[^/\s]+$/, 'an origin such as https://countersign.example.com (no path)')
        .refine((u) => !hasUserInfo(u), USER_INFO_REFUSED)
        .optional(),
      /** Passkeys for step-up approvals: `{ rpId, rpName, origins }` (webauthn-schema.ts). */
      webauthn: webauthnSchema.optional(),
    })
    .prefault({}),
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
  /**
   * Prometheus metrics at `GET /metrics`; off: no metrics are kept and the path answers 404. Unauthenticated, as
   * scrapers expect, unless `token` is set: then a scrape must send it as a bearer token (Prometheus `authorization`).
   */
  metrics: z
    .strictObject({
      enabled: z.boolean().default(true),
      token: z.string().min(16, 'at least 16 characters (e.g. ${METRICS_TOKEN} from `openssl rand -hex 32`)').max(1024).optional(),
    })
    .prefault({}),
  tracing: tracingSchema,
  principals: z.array(principalSchema).default([]),
  /** Roles by Countersign group (configured, or granted by an issuer's or the console login's groupMap): `{ auditor: [compliance], admin: [platform] }`. */
  roles: z.strictObject({ auditor: z.array(z.string().min(1)).default([]), admin: z.array(z.string().min(1)).default([]) }).prefault({}),
  identity: identitySchema,
  channels: channelsSchema,
  connections: z.array(connectionSchema).default([]),
  policy: policySectionSchema
    .extend({
      /**
       * A candidate policy (a YAML file of this section's shape, read relative to the config file): evaluated beside
       * the live one on every action and never enforced; where they differ, a `policy.shadow` audit event.
       */
      candidate: z.string().min(1).optional(),
    })
    .prefault({}),
}).superRefine((c, ctx) => {
  // A rule's Teams conversation is a name; a misspelt one would silently post to the default conversation.
  c.policy.rules.forEach((r, i) =>
    r.notify.forEach((n, j) => {
      if (!('teams' in n)) return;
      const known = Object.keys(c.channels.teams?.conversations ?? {});
      if (!known.includes(n.teams)) {
        ctx.addIssue({
          code: 'custom',
          path: ['policy', 'rules', i, 'notify', j, 'teams'],
          message: c.channels.teams ? `a conversation named under channels.teams.conversations (${known.length ? `known: ${known.join(', ')}` : 'none is named there'})` : 'a Teams conversation, but channels.teams is not configured',
        });
      }
    }),
  );
});

/**
 * A loaded config: the schema's output and, when `policy.candidate` names one, the candidate policy it read
 * (its absolute path and its section), validated like the live one.
 */
export type Config = z.output<typeof configSchema> & {
  readonly candidatePolicy?: { readonly file: string; readonly section: PolicySection };
  /** Values the environment put into an mcp connection's args or url, or an http connection's url (load.ts), by connection name: its secrets too. */
  readonly connectionSecrets?: Readonly<Record<string, readonly string[]>>;
  /** Each connection's url, command and cwd as the file writes them, before `${VAR}` expansion (written-targets.ts), by name. */
  readonly writtenTargets?: Readonly<Record<string, WrittenTarget>>;
  /** Every value `${VAR}` took from the environment, and the environment's secret-named variables (held-secrets.ts). */
  readonly environmentSecrets?: readonly string[];
};
export type PrincipalConfig = z.output<typeof principalSchema>;
export type ConnectionConfig = z.output<typeof connectionSchema>;
export type McpConnectionConfig = z.output<typeof mcpConnection>;
