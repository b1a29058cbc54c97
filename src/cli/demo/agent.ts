/**
 * `npm run demo:agent`: plays an agent against the running demo — one action
 * allowed, one denied, one held — and shows the command a reviewer types.
 */
import { createClient, type RequestView } from '../../surfaces/sdk/client.ts';
import { requestDetails, safe } from '../output.ts';
import type { CliIo } from '../io.ts';

export async function demoAgent(opts: { url: string; key: string | undefined; wait: boolean }, io: CliIo): Promise<number> {
  if (!opts.key) {
    io.stderr.write(
      'Set the agent key printed by `npm start` (deploy-bot):\n  COUNTERSIGN_KEY=cs_... npm run demo:agent\n(Lost it? `npx countersign demo reset`, then `npm start` again.)\n',
    );
    return 2;
  }
  const cs = createClient({ url: opts.url, key: opts.key });
  const me = await cs.whoami();
  const out = (s: string) => io.stdout.write(`${safe(s)}\n`);
  out(`Playing the agent "${me.id}" (${me.kind}${me.actsFor ? `, acting for ${me.actsFor}` : ''}) against ${opts.url}\n`);

  out('1) Read invoices — GET /invoices on billing-api');
  const read = await cs.run({ connection: 'billing-api', input: { method: 'GET', path: '/invoices' }, reason: 'Summarise open invoices for the weekly report' });
  out(`   → ${read.status} by rule ${read.decision.rules.join(', ')}; the API answered ${JSON.stringify((read.result as { status?: number })?.status)}`);
  out(`   ${JSON.stringify((read.result as { body?: unknown })?.body).slice(0, 160)}\n`);

  out('2) Delete a customer — DELETE /customers/cus_42');
  const del = await cs.run({ connection: 'billing-api', input: { method: 'DELETE', path: '/customers/cus_42' }, reason: 'Customer asked to be forgotten' });
  out(`   → ${del.status}: ${del.error?.code} — ${del.error?.message} (rule ${del.decision.rules.join(', ')})\n`);

  out('3) Refund an invoice — POST /refunds (a write on a prod connection)');
  const held = await cs.submit({ connection: 'billing-api', input: { method: 'POST', path: '/refunds', body: { invoice: 'inv_1', amount: 4200 } }, reason: 'Customer cus_42 was charged twice for inv_1' });
  if (held.status !== 'pending') {
    out(`   → ${held.status} (expected pending; is the demo policy changed?)`);
    return 1;
  }
  out(`   → held for approval: ${held.id}\n`);
  out(requestDetails(held));
  out(`\nA reviewer (alice or bob — not carol, the agent acts for her) approves with:\n`);
  out(`   COUNTERSIGN_KEY=<alice's key> npx countersign requests approve ${held.id}\n`);
  if (!opts.wait) return 0;
  out('Waiting for the decision (Ctrl-C stops waiting; the request stays pending)…');
  const final: RequestView = await cs.settle(held.id, { onChange: (r) => out(`   … ${r.status}`) });
  out(`\nFinal: ${final.status}${final.error ? ` — ${final.error.code}: ${final.error.message}` : ''}`);
  if (final.result !== null) out(`Result: ${JSON.stringify(final.result)}`);
  return final.status === 'succeeded' ? 0 : 1;
}
