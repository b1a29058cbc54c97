/**
 * The `countersign` command. Exit codes: 0 done, 1 a check failed (audit,
 * policy test, an API refusal), 2 bad usage or configuration.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { resolveConfigPath } from './config-path.ts';
import type { RemoteOptions } from './requests.ts';
import { exitCodeTable, RUN_EXIT } from './run-exit.ts';
import type { RunCommandOptions } from './run.ts';
import { reportError } from './report-error.ts';
import { UsageError } from './usage-error.ts';
import type { StartCommandOptions } from './start.ts';

// Each action imports its command's module when it runs, so `--help`, `--version` and a
// small command do not load the gateway (store drivers, policy engine, MCP, Slack...).

// package.json is two levels up from src/cli/, dist/cli/ and the bundle in dist/bundle/.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('countersign').description('A human countersignature on the privileged actions of AI agents.').version(version, '-V, --version', 'print the version').showHelpAfterError();

/** A commander parser for an integer option in [min, max]. */
function positiveInt(name: string, max: number, min = 1): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`${name}: a whole number from ${min} to ${max}`);
    return n;
  };
}

const configOption = () => new Option('-c, --config <file>', 'configuration file (default ./countersign.yaml, else the demo config)');
const remote = (cmd: Command) =>
  cmd
    .addOption(new Option('--url <url>', 'gateway URL').env('COUNTERSIGN_URL').default('http://127.0.0.1:8700'))
    .addOption(new Option('--key <key>', 'API key or token (prefer the environment variable; default: the token `countersign login` saved)').env('COUNTERSIGN_KEY'))
    .option('--json', 'print JSON');

/**
 * `--url` of a command that reads the store without it: only an explicit flag switches to the gateway (not
 * COUNTERSIGN_URL alone, so a shell set up for reviewing does not change where an export comes from).
 */
const gatewayOption = (cmd: Command) =>
  cmd
    .addOption(new Option('--url <url>', 'ask this gateway instead of reading the store (as a human with the auditor or admin role)').conflicts('config'))
    .addOption(new Option('--key <key>', 'with --url: API key or token (prefer the environment variable; default: the token `countersign login` saved)').env('COUNTERSIGN_KEY'));

let exitCode = 0;
const run = (fn: (...args: any[]) => Promise<number | void> | number | void) => async (...args: any[]) => {
  exitCode = (await fn(...args)) ?? 0;
};

program
  .command('start')
  .description('run the gateway')
  .addOption(configOption())
  .option('--demo-if-missing', 'without a config, run the demo (what `npm start` does)')
  .option('--workers <n>', 'processes serving the port (overrides server.workers)', positiveInt('--workers', 64))
  .option('--port <port>', 'the port to listen on (overrides server.port; 0 picks one)', positiveInt('--port', 65_535, 0))
  .action(run(async (o: StartCommandOptions) => (await import('./start.ts')).startCommand(o)));

program.command('keys').description('API keys').command('create').description('print a new API key and its sha256: line').option('--json').action(run(async (o: { json?: boolean }) => (await import('./keys.ts')).keysCreateCommand(o)));

program
  .command('connections')
  .description('connections')
  .command('install-ddl-epoch <connection>')
  .description("print the SQL (for a superuser to run) that installs the DDL counter of a postgres connection's sessionCheckCache")
  .addOption(configOption())
  .action(run(async (name: string, o: { config?: string }) => (await import('./connections-ddl-epoch.ts')).installDdlEpochCommand(resolveConfigPath(o.config), name)));

program.command('config').description('configuration').command('check').description('validate a config and compile its policy').addOption(configOption()).action(run(async (o: { config?: string }) => (await import('./config-check.ts')).configCheckCommand(resolveConfigPath(o.config))));

program
  .command('login')
  .description('sign in as a human for the CLI, through the browser (a loopback redirect and PKCE); the credential is saved for this gateway')
  .addOption(new Option('--url <url>', 'gateway URL').env('COUNTERSIGN_URL').default('http://127.0.0.1:8700'))
  .option('--no-browser', 'print the sign-in address instead of opening a browser')
  .option('--device', 'the OAuth device authorization grant instead, for a machine without a browser (only where the gateway offers it)')
  .option('--issuer <url>', 'with --device: OpenID Provider (default: what the gateway offers at /auth/cli)')
  .option('--client-id <id>', 'with --device: public client of the device grant')
  .option('--scope <scopes>', 'with --device: space-separated scopes')
  .option('--resource <uri>', 'with --device: RFC 8707 resource indicator')
  .action(run(async (o: { url: string; browser: boolean; device?: boolean; issuer?: string; clientId?: string; scope?: string; resource?: string }) => (await import('./login.ts')).loginCommand(o)));
program
  .command('logout')
  .description('end the sign-in `countersign login` saved for this gateway, and forget it')
  .addOption(new Option('--url <url>', 'gateway URL').env('COUNTERSIGN_URL').default('http://127.0.0.1:8700'))
  .action(run(async (o: { url: string }) => (await import('./login.ts')).logoutCommand(o)));

program
  .command('slack')
  .description('Slack')
  .command('manifest')
  .description('print the Slack app manifest (scopes, interactivity URL) to create the app from')
  .addOption(new Option('--url <url>', "the gateway's public URL, which Slack calls").env('COUNTERSIGN_PUBLIC_URL').makeOptionMandatory())
  .option('--name <name>', 'the app and bot name', 'Countersign')
  .action(run(async (o: { url: string; name: string }) => (await import('./slack.ts')).slackManifestCommand(o)));

/** A commander parser for seconds (a whole or decimal number ≥ 0). */
function seconds(name: string): (value: string) => number {
  return (value) => {
    if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError(`${name}: seconds, a number ≥ 0`);
    return Number(value);
  };
}
const collect = (value: string, previous: string[] = []) => [...previous, value];

remote(
  program
    .command('run')
    .description("submit an action as an agent (with the agent's own key), wait while it is held for approval, print its result; the exit code says how it ended")
    .argument('<connection>', 'the connection to act on')
    .argument('[argv...]', 'for an exec connection: the arguments, after --')
    .option('--sql <statement>', 'SQL to run (postgres connection)')
    .option('--http <method-and-path...>', 'METHOD PATH, e.g. --http POST /refunds (http connection); the path may carry ?query')
    .option('--body <body>', 'with --http: the body; @file reads a file, @- stdin; a JSON object or array is sent as JSON')
    .option('--header <name:value>', 'with --http: a request header (repeatable)', collect)
    .option('--tool <name>', 'an MCP tool to call (mcp connection)')
    .option('--args <json>', "with --tool: the tool's arguments, a JSON object")
    .addOption(new Option('--reason <text>', 'why: reviewers read it').env('COUNTERSIGN_REASON'))
    .option('--timeout <seconds>', 'stop waiting after this long (exit 7; the request keeps its state); default: until it settles', seconds('--timeout'))
    .option('--cancel-on-interrupt', 'on Ctrl-C, cancel the request (default: leave it pending)')
    .addOption(new Option('--idempotency-key <key>', 'name the submission: run again under the same key, it waits on the request the first run made instead of making another').env('COUNTERSIGN_IDEMPOTENCY_KEY')),
)
  .addHelpText(
    'after',
    `
The result goes to stdout (rows as a table, an HTTP body, a command's output, a tool's
content; --json: the request as the gateway reports it); notices go to stderr.

Exit codes:
${exitCodeTable()}

Examples:
  countersign run orders-db --sql "select count(*) from orders" --reason "daily check"
  countersign run billing-api --http POST /refunds --body @refund.json --reason "double charge"
  countersign run kubectl --reason "roll out v2" -- rollout restart deploy/web
  countersign run files --tool read_text_file --args '{"path":"/srv/notes.txt"}' --reason "summarise"`,
  )
  // A pipeline tells a bad invocation (2) from a refusal by the gateway (1): commander's own parse errors exit 1.
  .showHelpAfterError('(countersign run --help: usage and exit codes)')
  .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : RUN_EXIT.usage))
  .action(run(async (connection: string, argv: string[], o: RunCommandOptions) => (await import('./run.ts')).runCommand(connection, argv, o)));

const requests = program.command('requests').description('review requests (as a human principal)');
remote(requests.command('list').description('pending requests you may review').option('--status <s>', 'status filter, comma-separated, or "any"', 'pending').option('--all', 'also requests you cannot review').option('--limit <n>')).action(
  run(async (o: RemoteOptions & { status: string; all?: boolean; limit?: string }) => (await import('./requests.ts')).listCommand(o)),
);
remote(requests.command('show').argument('<id>').description('everything a reviewer needs to decide')).action(run(async (id: string, o: RemoteOptions) => (await import('./requests.ts')).showCommand(id, o)));
remote(
  requests
    .command('approve')
    .argument('<id>')
    .option('-m, --comment <text>', 'why')
    .option('--grant-uses <n>', 'also approve the next N actions of the same shape (where the rules permit grants)')
    .option('--grant-for <duration>', 'how long that grant lasts, e.g. 30m (with --grant-uses)'),
).action(run(async (id: string, o: RemoteOptions & { comment?: string; grantUses?: string; grantFor?: string }) => (await import('./requests.ts')).reviewCommand('approve', id, o)));
remote(requests.command('break-glass').argument('<id>').description('run a held request now, on your own authority (break-glass groups only)').requiredOption('-m, --message <text>', 'the justification (required)')).action(
  run(async (id: string, o: RemoteOptions & { message?: string }) => (await import('./requests.ts')).breakGlassCommand(id, o)),
);
remote(requests.command('revert').argument('<id>').description('ask for an approved SQL write to be put back (a new request)').option('-r, --reason <text>', 'why')).action(
  run(async (id: string, o: RemoteOptions & { reason?: string }) => (await import('./requests.ts')).revertCommand(id, o)),
);
remote(requests.command('deny').argument('<id>').option('-m, --comment <text>', 'why')).action(run(async (id: string, o: RemoteOptions & { comment?: string }) => (await import('./requests.ts')).reviewCommand('deny', id, o)));

const grants = program.command('grants').description('scoped grants: approvals of the next N actions of one shape (README "Scoped grants")');
remote(grants.command('list').description('grants you gave or may see').option('--active', 'only those that still approve')).action(
  run(async (o: RemoteOptions & { active?: boolean }) => (await import('./grants.ts')).grantsListCommand(o)),
);
remote(grants.command('revoke').argument('<id>').description('stop a grant: the next action of its shape is held for review')).action(
  run(async (id: string, o: RemoteOptions) => (await import('./grants.ts')).grantsRevokeCommand(id, o)),
);

const mcp = program
  .command('mcp')
  .description('the MCP gateway: serve MCP on stdio, relayed to a gateway (--connect) or in this process (--config); or review changed tool definitions')
  .addOption(new Option('--connect <url>', 'the gateway to relay to, e.g. http://127.0.0.1:8700').conflicts('config'))
  .addOption(new Option('-c, --config <file>', "run in this process against the gateway's config (same store); reviewers use that gateway"))
  .addOption(new Option('--key <key>', 'API key (prefer the environment variable)').env('COUNTERSIGN_KEY'))
  .action(
    run(async (o: { connect?: string; config?: string; key?: string }) => {
      const key = o.key ? { key: o.key } : {};
      if (o.config) return (await import('./mcp-serve.ts')).mcpLocalCommand({ config: o.config, ...key });
      if (!o.connect) throw new UsageError('say where the gateway is: countersign mcp --connect <url>, or --config <file> to run it in this process (or use a subcommand: tools, accept)');
      return (await import('./mcp-serve.ts')).mcpRelayCommand({ connect: o.connect, ...key });
    }),
  );
remote(mcp.command('tools').description('upstream tools and their pins; changed definitions side by side').option('--connection <name>').option('--changed', 'only tools whose definition changed')).action(
  run(async (o: RemoteOptions & { connection?: string; changed?: boolean }) => (await import('./mcp.ts')).mcpToolsCommand(o)),
);
remote(
  mcp
    .command('accept')
    .argument('<connection>')
    .argument('<tool>')
    .option('--hash <sha256>', 'the hash of the changed definition you read, as `mcp tools --changed` shows it (required to accept)')
    .description("accept a tool's changed definition, the one `mcp tools` showed you"),
).action(
  run(async (connection: string, tool: string, o: RemoteOptions & { hash?: string }) => (await import('./mcp.ts')).mcpAcceptCommand(connection, tool, o)),
);

const policy = program.command('policy').description('policy tools');
policy
  .command('test')
  .argument('<cases>', 'YAML file of cases')
  .addOption(configOption())
  .description('run table cases: principal + action → expected effect and rules')
  .action(run(async (cases: string, o: { config?: string }) => (await import('./policy-test.ts')).policyTestCommand(cases, resolveConfigPath(o.config))));
policy
  .command('shadow')
  .addOption(configOption())
  .option('--since <when>', 'a duration back from now (7d, 24h, 90m) or an ISO time', '7d')
  .option('--json', 'print the summary as JSON')
  .description('where the shadowed candidate policy (policy.candidate) would have decided otherwise, by rule (reads the store)')
  .action(run(async (o: { config?: string; since: string; json?: boolean }) => (await import('./policy-shadow.ts')).policyShadowCommand(resolveConfigPath(o.config), o)));
policy
  .command('replay')
  .argument('<candidate>', 'a YAML file of the policy section\'s shape (default, defaultTtl, rules)')
  .addOption(configOption())
  .option('--since <when>', 'a duration back from now (7d, 24h, 90m) or an ISO time', '7d')
  .option('--bundle <path>', 'replay an exported audit bundle instead of the store (verified first)')
  .option('--verifier-key <key...>', 'with --bundle: C2SP verifier key(s) to trust, inline or in a file (else the bundle\'s own keys, which proves less)')
  .option('--json', 'print every change as JSON')
  .description('replay the recorded actions under a candidate policy and report every decision that would change')
  .action(
    run(async (candidate: string, o: { config?: string; since: string; bundle?: string; verifierKey?: string[]; json?: boolean }) =>
      (await import('./policy-replay.ts')).policyReplayCommand(candidate, resolveConfigPath(o.config), o),
    ),
  );
policy
  .command('coverage')
  .addOption(configOption())
  .option('--json', 'print the map as JSON (the shape GET /v1/policy/coverage answers)')
  .option('--fail-on-unreviewed-prod', 'exit 1 when a write on an env:prod connection can run with no review')
  .description('who can do what, on which connection, with no human in the loop: the coverage map of the policy, from the config alone')
  .addHelpText(
    'after',
    `
Rows: each configured principal, any member of each group the config names, any principal from each token issuer.
Columns: each connection, one cell per operation class (sql: read write delete ddl privilege unbounded-write;
http: each method; mcp: read-only, write, destructive, changed tools; exec: the command with any arguments).
A cell is allow, hold (approval) or deny, or several when a rule reads what only the action tells (tables,
paths, arguments, claims): "a|b". "!" marks a write on an env:prod connection that can run with no review.

Exit codes: 0 done; 1 with --fail-on-unreviewed-prod when some cell is marked "!"; 2 bad usage or configuration.`,
  )
  .action(
    run(async (o: { config?: string; json?: boolean; failOnUnreviewedProd?: boolean }) =>
      (await import('./policy-coverage.ts')).policyCoverageCommand(resolveConfigPath(o.config), { json: o.json === true, failOnUnreviewedProd: o.failOnUnreviewedProd === true }),
    ),
  );

program
  .command('store')
  .description('the store and audit keys a config names')
  .command('adopt')
  .description("take over a store and audit keys made for another config file (recorded in the audit log); stop the other config's gateway first")
  .addOption(new Option('-c, --config <file>', 'the configuration that takes them over').makeOptionMandatory())
  .action(run(async (o: { config: string }) => (await import('./store.ts')).storeAdoptCommand(o.config)));

const audit = program.command('audit').description('the audit trail (reads the store named by the config; export --url asks a gateway)');
audit
  .command('verify')
  .argument('[bundle]', 'an exported bundle (.tar or directory): verified offline, from its files alone')
  .addOption(configOption())
  .option('--verifier-key <key...>', "C2SP verifier key(s) to trust, inline or in a file; without it a bundle's own keys are used, which proves only its consistency (exit 2, never OK)")
  .description("verify a bundle, or (without one) the store's hash chain against its signed checkpoints; names the first bad event")
  .action(
    run(async (bundle: string | undefined, o: { config?: string; verifierKey?: string[] }) => {
      const pin = o.verifierKey ? { verifierKey: o.verifierKey } : {};
      if (bundle) return (await import('./audit-bundle-verify.ts')).auditBundleVerifyCommand(bundle, pin);
      return (await import('./audit.ts')).auditVerifyCommand(resolveConfigPath(o.config), pin);
    }),
  );
gatewayOption(audit
  .command('export')
  .addOption(configOption()))
  .addOption(new Option('--format <format>', 'without --out: the stdout format').choices(['jsonl', 'csv']).default('jsonl'))
  .option('--out <path>', 'write a verifiable bundle: a .tar file, or a new directory')
  .option('--from <seq|time>', 'first event of the period (seq number or ISO time)')
  .option('--to <seq|time>', 'end of the period: last seq, or the time before which events were written')
  .description('write a verifiable bundle (--out), or every event to stdout')
  .action(
    run(async (o: { config?: string; format: 'jsonl' | 'csv'; out?: string; from?: string; to?: string; url?: string; key?: string }) => {
      const range = { ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) };
      if (o.url) {
        if (!o.out) throw new UsageError('--url exports a bundle: add --out <file.tar or new directory>');
        return (await import('./audit-download.ts')).auditBundleDownloadCommand({ url: o.url, ...(o.key ? { key: o.key } : {}), out: o.out, ...range });
      }
      const { auditBundleExportCommand, auditExportCommand } = await import('./audit.ts');
      return o.out ? auditBundleExportCommand(resolveConfigPath(o.config), { out: o.out, ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) }) : auditExportCommand(resolveConfigPath(o.config), o.format);
    }),
  );

audit
  .command('hash')
  .argument('<value>', "a value to look for ('-' reads it from stdin, keeping it out of shell history)")
  .addOption(configOption())
  .description('print the HMAC-SHA256 the audit log keeps for a sensitive value, to search the log or an export for it')
  .action(run(async (value: string, o: { config?: string }) => (await import('./audit.ts')).auditHashCommand(resolveConfigPath(o.config), value)));

audit
  .command('rotate-key')
  .addOption(configOption())
  .description('make a new checkpoint signing key; old checkpoints stay verifiable with the old public key')
  .action(run(async (o: { config?: string }) => (await import('./audit.ts')).auditRotateKeyCommand(resolveConfigPath(o.config))));

const proof = audit.command('proof').description('fetch RFC 9162 proofs from a gateway and verify them locally against signed checkpoints');
const pinOption = () => new Option('--verifier-key <key...>', 'C2SP verifier key(s) to trust (else the gateway\'s own, which proves less)');
remote(proof.command('inclusion').requiredOption('--index <n>', 'event index (seq - 1)').option('--size <n>', 'a checkpointed tree size (default: the latest)').addOption(pinOption())).action(
  run(async (o: RemoteOptions & { index: string; size?: string; verifierKey?: string[] }) =>
    (await import('./audit-proof.ts')).proveInclusionCommand({ url: o.url, ...(o.key ? { key: o.key } : {}), ...(o.verifierKey ? { pin: o.verifierKey } : {}), index: Number(o.index), ...(o.size ? { size: Number(o.size) } : {}) }),
  ),
);
remote(proof.command('consistency').requiredOption('--from <n>', 'older checkpointed size').requiredOption('--to <n>', 'newer checkpointed size').addOption(pinOption())).action(
  run(async (o: RemoteOptions & { from: string; to: string; verifierKey?: string[] }) =>
    (await import('./audit-proof.ts')).proveConsistencyCommand({ url: o.url, ...(o.key ? { key: o.key } : {}), ...(o.verifierKey ? { pin: o.verifierKey } : {}), from: Number(o.from), to: Number(o.to) }),
  ),
);

const search = audit.command('search').addOption(configOption()).description('find events: who approved what, where, when (reads the store)').option('--json', 'print the events as JSON lines (hidden characters escaped; audit export prints the exact stored lines)');
for (const [flag, help] of [
  ['from', 'ISO time, inclusive'],
  ['to', 'ISO time, exclusive'],
  ['type', 'event types, comma-separated (request.approved, review.recorded, …)'],
  ['principal', 'the requester'],
  ['acts-for', 'the human an agent acted for'],
  ['reviewer', 'review events by this human'],
  ['connection', 'connection name'],
  ['tag', 'connection tag, key or key=value'],
  ['effect', 'allow | deny | approve (the policy at submission)'],
  ['rule', 'a policy rule id that matched'],
  ['status', 'the request\'s status now'],
  ['request', 'one request id'],
  ['limit', 'at most this many events'],
] as const) search.option(`--${flag} <value>`, help);
search.action(
  run(async (o: Record<string, string | boolean | undefined>) => {
    const { config, json, actsFor, ...rest } = o;
    const filters = Object.fromEntries(Object.entries({ ...rest, actsFor }).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    return (await import('./audit.ts')).auditSearchCommand(resolveConfigPath(config as string | undefined), filters, { json: json === true });
  }),
);

gatewayOption(program
  .command('evidence')
  .description('compliance evidence')
  .command('report')
  .addOption(configOption()))
  .requiredOption('--from <date>', 'start, inclusive (2026-07-01, or an ISO time with its zone)')
  .requiredOption('--to <date>', 'end, exclusive')
  .addOption(new Option('--framework <framework>', 'the controls to map to').choices(['soc2', 'iso27001', 'gdpr']).makeOptionMandatory())
  .requiredOption('--out <file.html>', 'the HTML report')
  .option('--json <file.json>', 'the JSON report (default: beside the HTML)')
  .description('a self-contained evidence report of a period, mapped to SOC 2, ISO 27001 or GDPR')
  .action(
    run(async (o: { config?: string; from: string; to: string; framework: 'soc2' | 'iso27001' | 'gdpr'; out: string; json?: string; url?: string; key?: string }) =>
      (await import('./evidence.ts')).evidenceReportCommand(o.url ? '' : resolveConfigPath(o.config), {
        from: o.from,
        to: o.to,
        framework: o.framework,
        out: o.out,
        ...(o.json ? { json: o.json } : {}),
        ...(o.url ? { url: o.url, ...(o.key ? { key: o.key } : {}) } : {}),
      }),
    ),
  );

const demo = program.command('demo').description('the local demo');
remote(demo.command('agent').description('play an agent against the running demo').option('--no-wait', 'do not wait for the approval')).action(
  run(async (o: RemoteOptions & { wait: boolean }) => (await import('./demo.ts')).demoAgentCommand({ url: o.url, wait: o.wait, ...(o.key ? { key: o.key } : {}) })),
);
demo.command('reset').description('forget the demo config, keys and store').action(run(async () => (await import('./demo.ts')).demoResetCommand()));

// A closed pipe (`countersign audit export | head`) is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

try {
  await program.parseAsync(process.argv);
  process.exitCode = exitCode;
} catch (e) {
  process.exitCode = reportError(e);
}
