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
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { parseConfig } from '../../src/config/load.ts';
import { closeWhenParentGoes } from '../../test/support/child-lifecycle.ts';
import { startGateway, type Gateway } from '../../src/main.ts';

const CONNECTION = 'bench-api';

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

const agent = generateApiKey();
const human = generateApiKey();

const issuer = process.env['BENCH_ISSUER'];
const identity = issuer
  ? `identity:
  issuers:
    - { issuer: ${JSON.stringify(issuer)}, jwksUri: ${JSON.stringify(required('BENCH_JWKS_URI'))}, audience: countersign-bench, principal: { kind: agent, id: sub } }
`
  : '';

const yaml = `${identity}server: { port: 0, host: 127.0.0.1 }
store: { sqlite: { path: ${JSON.stringify(join(dir, 'countersign.db'))}, synchronous: ${synchronous} } }
audit: { keyDir: ${JSON.stringify(join(dir, "keys"))} }
log: { level: ${level} }
principals:
  - id: bench-bot
    kind: agent
    actsFor: alice
    apiKeys: ["${agent.hash}"]
  - id: alice
    kind: human
    groups: [ops]
    apiKeys: ["${human.hash}"]
connections:
  - name: ${CONNECTION}
    kind: http
    url: ${upstreamUrl}
    headers: { Authorization: "Bearer \${UPSTREAM_TOKEN}" }
    tags: { env: bench }
policy:
  default: deny
  rules:
    - id: reads
      when: facts.http.method == "GET"
      effect: allow
    - id: writes
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ principals: [alice], count: 1 }]
      ttl: 1h
`;

const config = parseConfig(yaml, 'bench.yaml', process.env);
const gateway: Gateway = await startGateway(config);
process.stdout.write(`${JSON.stringify({ url: gateway.url, agentKey: agent.key, connection: CONNECTION, pid: process.pid })}\n`);

closeWhenParentGoes(gateway);
