/**
 * The gateway the framework adapters' end-to-end tests share: one HTTP
 * connection, `billing-api`, whose credential only the gateway holds; reads
 * allowed, writes held for one approval from group sre, deletes denied with a
 * message the model must be told. alice (sre) reviews, and as an auditor
 * reads every request, the allowed ones too.
 */
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from './gateway.ts';

/**
 * @example
 * const gw = await startBillingGateway(upstream.url, 'tok-billing-secret-42');
 */
export function startBillingGateway(upstreamUrl: string, secret: string): Promise<TestGateway> {
  return startTestGateway(
    `connections:
  - name: billing-api
    kind: http
    url: ${upstreamUrl}/api
    headers: { Authorization: "Bearer \${BILLING_TOKEN}" }
policy:
  default: deny
  rules:
    - id: reads
      when: connection.name == "billing-api" && !facts.writes
      effect: allow
    - id: writes
      when: connection.name == "billing-api" && facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
    - id: no-deletes
      when: facts.http.method == "DELETE"
      effect: deny
      message: deletes are never allowed from agents
`,
    { env: { BILLING_TOKEN: secret }, principals: DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor' as const] } : p)) },
  );
}
