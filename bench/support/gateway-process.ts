/**
 * The benchmark's gateway, run as its own process: a SQLite store in the
 * directory BENCH_DIR, one agent with a fresh key, one human, an `http`
 * connection to UPSTREAM_URL carrying the secret `${UPSTREAM_TOKEN}`, and a
 * policy that allows GET and holds POST for approval (ttl 1h).
 *
 * With BENCH_ISSUER and BENCH_JWKS_URI set, tokens of that issuer (audience
 * `countersign-bench`, `sub` → an agent principal) authenticate too.
 *
 * Prints one JSON line on stdout: {"url", "agentKey", "connection", "pid"}.
 * Exits when stdin closes (its parent went away) or on SIGTERM, closing the
 * gateway first so that `--cpu-prof` and friends get to write their output.
 */
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import { closeWhenParentGoes } from '../../test/support/child-lifecycle.ts';
import { startGateway, type Gateway } from '../../src/main.ts';
import { BENCH_CONNECTION, benchConfigYaml, benchKeys, sqliteStore } from './gateway-config.ts';

function required(name: string): string {
  const v = process.env[name];
  if (!v) {
    process.stderr.write(`gateway-process: ${name} is not set\n`);
    process.exit(2);
  }
  return v;
}

const dir = required('BENCH_DIR');
const upstreamUrl = required('UPSTREAM_URL');
required('UPSTREAM_TOKEN');
const level = process.env['BENCH_GATEWAY_LOG'] ?? 'warn';
const synchronous = process.env['BENCH_SQLITE_SYNCHRONOUS'] === 'full' ? 'full' : 'normal';

const { agent, human } = benchKeys();

const issuer = process.env['BENCH_ISSUER'];
const identity = issuer
  ? `identity:
  issuers:
    - { issuer: ${JSON.stringify(issuer)}, jwksUri: ${JSON.stringify(required('BENCH_JWKS_URI'))}, audience: countersign-bench, principal: { kind: agent, id: sub } }
`
  : '';

const yaml = benchConfigYaml({
  prefix: identity,
  store: sqliteStore(join(dir, 'countersign.db'), synchronous),
  keyDir: join(dir, 'keys'),
  upstreamUrl,
  agentKeyHash: agent.hash,
  humanKeyHash: human.hash,
  logLevel: level,
});

const config = parseConfig(yaml, 'bench.yaml', process.env);
const gateway: Gateway = await startGateway(config);
process.stdout.write(`${JSON.stringify({ url: gateway.url, agentKey: agent.key, connection: BENCH_CONNECTION, pid: process.pid })}\n`);

closeWhenParentGoes(gateway);
