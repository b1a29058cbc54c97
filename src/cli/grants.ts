/** `countersign grants list|revoke`: the scoped grants the caller may see, and revoking one, over the REST API. */
import type { GrantView } from '../surfaces/sdk/client.ts';
import { safe, safeJson } from './output.ts';
import { client, type RemoteOptions } from './requests.ts';
import type { CliIo } from './io.ts';

function line(g: GrantView): string {
  const who = `${g.principal.id}${g.principal.actsFor ? `→${g.principal.actsFor}` : ''}`;
  return safe(`${g.id}  ${g.status.padEnd(8)}  ${g.used}/${g.uses} used  ${who}  ${g.connection}  ${g.operation}  until ${g.expiresAt}  by ${g.by.join(', ')}  (from ${g.requestId})`);
}

export async function grantsListCommand(o: RemoteOptions & { active?: boolean }, io: CliIo): Promise<void> {
  const rows = await client(o, io.env).grants(o.active ? { active: true } : {});
  io.stdout.write(o.json ? `${safeJson(rows)}\n` : `${rows.length ? rows.map(line).join('\n') : `No ${o.active ? 'active ' : ''}grants.`}\n`);
}

export async function grantsRevokeCommand(id: string, o: RemoteOptions, io: CliIo): Promise<void> {
  const g = await client(o, io.env).revokeGrant(id);
  io.stdout.write(o.json ? `${safeJson(g)}\n` : `${safe(`Revoked ${g.id} (${g.used}/${g.uses} used). No further action is approved by it.`)}\n`);
}
