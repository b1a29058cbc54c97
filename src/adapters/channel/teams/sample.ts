/**
 * A sample held request, as the docs show it and the tests render it:
 * docs/teams-card.sample.json is `requestCard(SAMPLE_VIEW, SAMPLE_OPTIONS)`.
 */
import type { CardOptions, HeldRequestView } from './card.ts';

/**
 * @example
 * requestCard(SAMPLE_VIEW, SAMPLE_OPTIONS); // the card in docs/teams-card.sample.json
 */
export const SAMPLE_VIEW: HeldRequestView = {
  id: 'req_m1x2y3z4a5b6c7d8e9f0g1h2',
  status: 'pending',
  requester: { id: 'billing-agent', kind: 'agent' },
  actsFor: 'alice',
  connection: { name: 'prod-db', kind: 'postgres', tags: { env: 'prod', data: 'pii', compliance: ['soc2', 'gdpr'] } },
  operation: 'query',
  action: "SQL on prod-db: UPDATE invoices SET status = 'void' WHERE customer_id = 4711 AND status = 'open'",
  riskLine: 'writes · prod · PII · irreversible',
  approveLabel: "Approve and run SQL on prod-db: UPDATE invoices SET status = 'void' WHERE customer_id = 4711 AND status = 'open'",
  confirm: "I understand this runs SQL on prod-db: UPDATE invoices SET status = 'void' WHERE customer_id = 4711 AND status = 'open' on production, on personal data (PII).",
  input: "UPDATE invoices SET status = 'void' WHERE customer_id = 4711 AND status = 'open'",
  facts: [
    { label: 'Statements', value: 'UPDATE' },
    { label: 'Tables', value: 'public.invoices' },
    { label: 'Writes', value: 'yes' },
  ],
  reason: 'Customer 4711 asked to cancel; voiding their open invoices (ticket SUP-1234).',
  rules: ['prod-writes-need-approval', 'pii-needs-dpo'],
  approvalsNeeded: ['1 more from group dba'],
  expiresAt: '2026-01-15T10:30:00.000Z',
  reviews: [],
};

export const SAMPLE_OPTIONS: CardOptions = { publicUrl: 'https://countersign.example.com' };
