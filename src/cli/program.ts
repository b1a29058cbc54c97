/**
 * The `countersign` command line: a fresh commander program per call, run on the streams, environment and
 * interrupts it is given (io.ts), answering with the exit code. Exit codes: 0 done, 1 a check failed (audit,
 * policy test, an API refusal), 2 bad usage or configuration. bin/countersign.js runs it on the process's own
 * (index.ts); a caller may run a command inside its own process the same way.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { resolveConfigPath } from './config-path.ts';
import type { CliIo } from './io.ts';
import { addStoreCommands } from './program-store.ts';
import { collect, configOption, positiveInt, remote, seconds } from './program-options.ts';
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

/** Wraps a command's function as a commander action that keeps its exit code. */
export type Action = (fn: (...args: any[]) => Promise<number | void> | number | void) => (...args: any[]) => Promise<void>;

/** The width of the terminal `out` is, for help text; undefined for a pipe (commander's default width then, as it has it). */
const helpWidth = (out: CliIo['stdout']) => (out.isTTY && out.columns ? out.columns : undefined) as number;

/**
 * The program, writing to `io`, and the exit code its action set. Parse errors, --help and --version throw a
 * CommanderError with theirs instead of ending the process.
 */
function createProgram(io: CliIo): { program: Command; exitCode: () => number } {
  let exitCode = 0;
  const run: Action = (fn) => async (...args) => {
    exitCode = (await fn(...args)) ?? 0;
  };
  // Set before any subcommand is added: each copies them from its parent.
  const program = new Command('countersign')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), getOutHelpWidth: () => helpWidth(io.stdout), getErrHelpWidth: () => helpWidth(io.stderr) })
    .exitOverride()
    .description('A human countersignature on the privileged actions of AI agents.')
    .version(version, '-V, --version', 'print the version')
    .showHelpAfterError();

  program
    .command('start')
    .description('run the gateway')
    .addOption(configOption())
    .option('--demo-if-missing', 'without a config, run the demo (what `npm start` does)')
    .option('--workers <n>', 'processes serving the port (overrides server.workers)', positiveInt('--workers', 64))
    .option('--port <port>', 'the port to listen on (overrides server.port; 0 picks one)', positiveInt('--port', 65_535, 0))
    .action(run(async (o: StartCommandOptions) => (await import('./start.ts')).startCommand(o)));

  program.command('keys').description('API keys').command('create').description('print a new API key and its sha256: line').option('--json').action(run(async (o: { json?: boolean }) => (await import('./keys.ts')).keysCreateCommand(o, io)));

  program
    .command('connections')
    .description('connections')
    .command('install-ddl-epoch <connection>')
    .description("print the SQL (for a superuser to run) that installs the DDL counter of a postgres connection's sessionCheckCache")
    .addOption(configOption())
    .action(run(async (name: string, o: { config?: string }) => (await import('./connections-ddl-epoch.ts')).installDdlEpochCommand(resolveConfigPath(o.config), name, io)));

  program.command('config').description('configuration').command('check').description('validate a config and compile its policy').addOption(configOption()).action(run(async (o: { config?: string }) => (await import('./config-check.ts')).configCheckCommand(resolveConfigPath(o.config), io)));

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
    .action(run(async (o: { url: string; browser: boolean; device?: boolean; issuer?: string; clientId?: string; scope?: string; resource?: string }) => (await import('./login.ts')).loginCommand(o, io)));
  program
    .command('logout')
    .description('end the sign-in `countersign login` saved for this gateway, and forget it')
    .addOption(new Option('--url <url>', 'gateway URL').env('COUNTERSIGN_URL').default('http://127.0.0.1:8700'))
    .action(run(async (o: { url: string }) => (await import('./login.ts')).logoutCommand(o, io)));

  program
    .command('slack')
    .description('Slack')
    .command('manifest')
    .description('print the Slack app manifest (scopes, interactivity URL) to create the app from')
    .addOption(new Option('--url <url>', "the gateway's public URL, which Slack calls").env('COUNTERSIGN_PUBLIC_URL').makeOptionMandatory())
    .option('--name <name>', 'the app and bot name', 'Countersign')
    .action(run(async (o: { url: string; name: string }) => (await import('./slack.ts')).slackManifestCommand(o, io)));


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
    .exitOverride((e) => {
      throw new CommanderError(e.exitCode === 0 ? 0 : RUN_EXIT.usage, e.code, e.message);
    })
    .action(run(async (connection: string, argv: string[], o: RunCommandOptions) => (await import('./run.ts')).runCommand(connection, argv, o, io)));

  const requests = program.command('requests').description('review requests (as a human principal)');
  remote(requests.command('list').description('pending requests you may review').option('--status <s>', 'status filter, comma-separated, or "any"', 'pending').option('--all', 'also requests you cannot review').option('--limit <n>')).action(
    run(async (o: RemoteOptions & { status: string; all?: boolean; limit?: string }) => (await import('./requests.ts')).listCommand(o, io)),
  );
  remote(requests.command('show').argument('<id>').description('everything a reviewer needs to decide')).action(run(async (id: string, o: RemoteOptions) => (await import('./requests.ts')).showCommand(id, o, io)));
  remote(
    requests
      .command('approve')
      .argument('<id>')
      .option('-m, --comment <text>', 'why')
      .option('--grant-uses <n>', 'also approve the next N actions of the same shape (where the rules permit grants)')
      .option('--grant-for <duration>', 'how long that grant lasts, e.g. 30m (with --grant-uses)'),
  ).action(run(async (id: string, o: RemoteOptions & { comment?: string; grantUses?: string; grantFor?: string }) => (await import('./requests.ts')).reviewCommand('approve', id, o, io)));
  remote(requests.command('break-glass').argument('<id>').description('run a held request now, on your own authority (break-glass groups only)').requiredOption('-m, --message <text>', 'the justification (required)')).action(
    run(async (id: string, o: RemoteOptions & { message?: string }) => (await import('./requests.ts')).breakGlassCommand(id, o, io)),
  );
  remote(requests.command('revert').argument('<id>').description('ask for an approved SQL write to be put back (a new request)').option('-r, --reason <text>', 'why')).action(
    run(async (id: string, o: RemoteOptions & { reason?: string }) => (await import('./requests.ts')).revertCommand(id, o, io)),
  );
  remote(requests.command('deny').argument('<id>').option('-m, --comment <text>', 'why')).action(run(async (id: string, o: RemoteOptions & { comment?: string }) => (await import('./requests.ts')).reviewCommand('deny', id, o, io)));

  const grants = program.command('grants').description('scoped grants: approvals of the next N actions of one shape (README "Scoped grants")');
  remote(grants.command('list').description('grants you gave or may see').option('--active', 'only those that still approve')).action(
    run(async (o: RemoteOptions & { active?: boolean }) => (await import('./grants.ts')).grantsListCommand(o, io)),
  );
  remote(grants.command('revoke').argument('<id>').description('stop a grant: the next action of its shape is held for review')).action(
    run(async (id: string, o: RemoteOptions) => (await import('./grants.ts')).grantsRevokeCommand(id, o, io)),
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
    run(async (o: RemoteOptions & { connection?: string; changed?: boolean }) => (await import('./mcp.ts')).mcpToolsCommand(o, io)),
  );
  remote(
    mcp
      .command('accept')
      .argument('<connection>')
      .argument('<tool>')
      .option('--hash <sha256>', 'the hash of the changed definition you read, as `mcp tools --changed` shows it (required to accept)')
      .description("accept a tool's changed definition, the one `mcp tools` showed you"),
  ).action(
    run(async (connection: string, tool: string, o: RemoteOptions & { hash?: string }) => (await import('./mcp.ts')).mcpAcceptCommand(connection, tool, o, io)),
  );

  addStoreCommands(program, run, io);

  const demo = program.command('demo').description('the local demo');
  remote(demo.command('agent').description('play an agent against the running demo').option('--no-wait', 'do not wait for the approval')).action(
    run(async (o: RemoteOptions & { wait: boolean }) => (await import('./demo.ts')).demoAgentCommand({ url: o.url, wait: o.wait, ...(o.key ? { key: o.key } : {}) }, io)),
  );
  demo.command('reset').description('forget the demo config, keys and store').action(run(async () => (await import('./demo.ts')).demoResetCommand(io)));

  return { program, exitCode: () => exitCode };
}

/**
 * An option's environment variable (COUNTERSIGN_URL…) read from `env`, below what the command line gives. Commander
 * reads process.env itself too, after this: the same values when `env` is the process's.
 */
function optionsFromEnv(cmd: Command, env: NodeJS.ProcessEnv): void {
  for (const option of cmd.options) {
    const value = option.envVar === undefined ? undefined : env[option.envVar];
    if (value !== undefined) cmd.setOptionValueWithSource(option.attributeName(), value, 'env');
  }
  for (const sub of cmd.commands) optionsFromEnv(sub, env);
}

/**
 * Runs one `countersign` command (`argv` without node and the script) on `io`; resolves with its exit code.
 *
 * @example
 * process.exitCode = await runCommand(['audit', 'verify', '--config', 'countersign.yaml'], processIo());
 */
export async function runCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { program, exitCode } = createProgram(io);
  optionsFromEnv(program, io.env);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode();
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    return reportError(e, io);
  }
}
