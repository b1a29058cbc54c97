/**
 * The gateway the framework adapters' end-to-end tests share: one HTTP
 * connection, `billing-api`, whose credential only the gateway holds; reads
 * allowed, writes held for one approval from group sre, deletes denied with a
 * message the model must be told. alice (sre) reviews, and as an auditor
 * reads every request, the allowed ones too.
 */
import { z } from 'zod';
import type { CountersignToolSpec } from '../../src/surfaces/sdk/adapters/langchain.ts';
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

/**
 * The two LangChain tools on billing-api the adapter's tests give the model: an invoice lookup (a read, allowed) and
 * a refund (a write, held); `tag` marks their reasons, so that a case finds its own requests.
 *
 * @example
 * const { lookup, refund } = billingTools('t-retry');
 */
export function billingTools(tag: string) {
  const lookup: CountersignToolSpec<{ id: string }> = {
    name: 'lookup_invoice',
    description: 'Look an invoice up',
    schema: z.object({ id: z.string() }),
    connection: 'billing-api',
    toInput: (a) => ({ method: 'GET', path: `/invoices/${a.id}` }),
    reason: (a) => `${tag}: look up ${a.id}`,
  };
  const refund: CountersignToolSpec<{ order: string; amount: number }> = {
    name: 'refund',
    description: 'Refund an order',
    schema: z.object({ order: z.string(), amount: z.number() }),
    connection: 'billing-api',
    toInput: (a) => ({ method: 'POST', path: `/refunds/${a.order}`, body: { amount: a.amount } }),
    reason: (a) => `${tag}: refund ${a.order}`,
  };
  return { lookup, refund };
}
