// The config of the micro-benches that start a whole gateway (gateway-ab.mjs, alloc-profile.mjs): one agent, one
// human reviewer, one http connection to a local upstream; GET allowed, POST held for the human.
export function benchGatewayYaml({ store, dir, port, agentHash, humanHash }) {
  return `server: { port: 0, host: 127.0.0.1, maxPendingPerPrincipal: 0 }
store: ${store}
audit: { keyDir: "${dir}/keys" }
log: { level: warn }
principals:
  - { id: bench-bot, kind: agent, apiKeys: ["${agentHash}"] }
  - { id: alice, kind: human, groups: [ops], apiKeys: ["${humanHash}"] }
connections:
  - name: bench-api
    kind: http
    url: http://127.0.0.1:${port}
    headers: { Authorization: "Bearer upstream-secret-token-123456" }
    tags: { env: bench }
policy:
  default: deny
  rules:
    - { id: reads, when: 'facts.http.method == "GET"', effect: allow }
    - { id: writes, when: 'facts.http.method == "POST"', effect: approve, approvers: [{ principals: [alice], count: 1 }], ttl: 1h }
`;
}
