/**
 * The `countersign` commands that read a store or an exported bundle: policy, store, audit, evidence. Each
 * action imports its command's module when it runs (program.ts).
 */
import { Option, type Command } from 'commander';
import { resolveConfigPath } from './config-path.ts';
import type { CliIo } from './io.ts';
import type { Action } from './program.ts';
import { configOption, gatewayOption, remote } from './program-options.ts';
import type { RemoteOptions } from './requests.ts';
import { UsageError } from './usage-error.ts';

/** Adds the policy, store, audit and evidence commands to `program`, their actions wrapped by `run`. */
export function addStoreCommands(program: Command, run: Action, io: CliIo): void {
  const policy = program.command('policy').description('policy tools');
  policy
    .command('test')
    .argument('<cases>', 'YAML file of cases')
    .addOption(configOption())
    .description('run table cases: principal + action → expected effect and rules')
    .action(run(async (cases: string, o: { config?: string }) => (await import('./policy-test.ts')).policyTestCommand(cases, resolveConfigPath(o.config), io)));
  policy
    .command('shadow')
    .addOption(configOption())
    .option('--since <when>', 'a duration back from now (7d, 24h, 90m) or an ISO time', '7d')
    .option('--json', 'print the summary as JSON')
    .description('where the shadowed candidate policy (policy.candidate) would have decided otherwise, by rule (reads the store)')
    .action(run(async (o: { config?: string; since: string; json?: boolean }) => (await import('./policy-shadow.ts')).policyShadowCommand(resolveConfigPath(o.config), o, io)));
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
        (await import('./policy-replay.ts')).policyReplayCommand(candidate, resolveConfigPath(o.config), o, io),
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
        (await import('./policy-coverage.ts')).policyCoverageCommand(resolveConfigPath(o.config), { json: o.json === true, failOnUnreviewedProd: o.failOnUnreviewedProd === true }, io),
      ),
    );

  program
    .command('store')
    .description('the store and audit keys a config names')
    .command('adopt')
    .description("take over a store and audit keys made for another config file (recorded in the audit log); stop the other config's gateway first")
    .addOption(new Option('-c, --config <file>', 'the configuration that takes them over').makeOptionMandatory())
    .action(run(async (o: { config: string }) => (await import('./store.ts')).storeAdoptCommand(o.config, io)));

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
        if (bundle) return (await import('./audit-bundle-verify.ts')).auditBundleVerifyCommand(bundle, pin, io);
        return (await import('./audit.ts')).auditVerifyCommand(resolveConfigPath(o.config), pin, io);
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
          return (await import('./audit-download.ts')).auditBundleDownloadCommand({ url: o.url, ...(o.key ? { key: o.key } : {}), out: o.out, ...range }, io);
        }
        const { auditBundleExportCommand, auditExportCommand } = await import('./audit.ts');
        return o.out ? auditBundleExportCommand(resolveConfigPath(o.config), { out: o.out, ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) }, io) : auditExportCommand(resolveConfigPath(o.config), o.format, io);
      }),
    );

  audit
    .command('hash')
    .argument('<value>', "a value to look for ('-' reads it from stdin, keeping it out of shell history)")
    .addOption(configOption())
    .description('print the HMAC-SHA256 the audit log keeps for a sensitive value, to search the log or an export for it')
    .action(run(async (value: string, o: { config?: string }) => (await import('./audit.ts')).auditHashCommand(resolveConfigPath(o.config), value, io)));

  audit
    .command('rotate-key')
    .addOption(configOption())
    .description('make a new checkpoint signing key; old checkpoints stay verifiable with the old public key')
    .action(run(async (o: { config?: string }) => (await import('./audit.ts')).auditRotateKeyCommand(resolveConfigPath(o.config), io)));

  const proof = audit.command('proof').description('fetch RFC 9162 proofs from a gateway and verify them locally against signed checkpoints');
  const pinOption = () => new Option('--verifier-key <key...>', 'C2SP verifier key(s) to trust (else the gateway\'s own, which proves less)');
  remote(proof.command('inclusion').requiredOption('--index <n>', 'event index (seq - 1)').option('--size <n>', 'a checkpointed tree size (default: the latest)').addOption(pinOption())).action(
    run(async (o: RemoteOptions & { index: string; size?: string; verifierKey?: string[] }) =>
      (await import('./audit-proof.ts')).proveInclusionCommand({ url: o.url, ...(o.key ? { key: o.key } : {}), ...(o.verifierKey ? { pin: o.verifierKey } : {}), index: Number(o.index), ...(o.size ? { size: Number(o.size) } : {}) }, io),
    ),
  );
  remote(proof.command('consistency').requiredOption('--from <n>', 'older checkpointed size').requiredOption('--to <n>', 'newer checkpointed size').addOption(pinOption())).action(
    run(async (o: RemoteOptions & { from: string; to: string; verifierKey?: string[] }) =>
      (await import('./audit-proof.ts')).proveConsistencyCommand({ url: o.url, ...(o.key ? { key: o.key } : {}), ...(o.verifierKey ? { pin: o.verifierKey } : {}), from: Number(o.from), to: Number(o.to) }, io),
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
      return (await import('./audit.ts')).auditSearchCommand(resolveConfigPath(config as string | undefined), filters, { json: json === true }, io);
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
        }, io),
      ),
    );
}
