/** `countersign requests list|show|approve|deny|break-glass|revert`: the reviewer's side, over the REST API. */
import { createClient, type RequestStatus, type RequestView } from '../surfaces/sdk/client.ts';
import { requestDetails, requestLine, safe, safeJson } from './output.ts';
import { bearerFor } from './credentials.ts';
import { fitRows, terminalColumns } from './terminal-rows.ts';
import { UsageError } from './usage-error.ts';
import type { CliIo } from './io.ts';

export { UsageError };

export interface RemoteOptions {
  url: string;
  key?: string;
  json?: boolean;
}

/** The typed client for a remote command: its --url, and --key or COUNTERSIGN_KEY or the token `countersign login` saved. */
export function client(o: Pick<RemoteOptions, 'url' | 'key'>, env: NodeJS.ProcessEnv) {
  const key = bearerFor(o.url, o.key, env);
  if (!key) throw new UsageError('no credential: pass --key, set COUNTERSIGN_KEY, or run `countersign login`');
  try {
    return createClient({ url: o.url, key });
  } catch (e) {
    // A URL or key the client refuses: a usage error, said without quoting either.
    throw e instanceof TypeError ? new UsageError(e.message.replace(/^countersign: /, '')) : e;
  }
}

function print(o: RemoteOptions, value: unknown, text: () => string, io: CliIo): void {
  io.stdout.write(o.json ? `${safeJson(value)}\n` : `${text()}\n`);
}

export async function listCommand(o: RemoteOptions & { status: string; all?: boolean; limit?: string }, io: CliIo): Promise<void> {
  const status = o.status === 'any' ? undefined : (o.status.split(',') as RequestStatus[]);
  const rows = await client(o, io.env).list({ ...(status ? { status } : {}), ...(o.all ? { reviewable: false } : {}), ...(o.limit ? { limit: Number(o.limit) } : {}) });
  // A row the terminal would wrap is broken here, behind a gutter: the summary's words cannot start a row that reads as another request's.
  print(o, rows, () => (rows.length ? fitRows(rows.map(requestLine).join('\n'), terminalColumns(io.stdout), 2) : `No ${o.status === 'any' ? '' : `${o.status} `}requests${o.all ? '' : ' for you to review'}.`), io);
}

export async function showCommand(id: string, o: RemoteOptions, io: CliIo): Promise<void> {
  const r = await client(o, io.env).get(id);
  // Each row the terminal would wrap is broken here, behind the gutter agent text sits behind (terminal-rows.ts).
  print(o, r, () => fitRows(requestDetails(r), terminalColumns(io.stdout), 14), io);
}

export async function reviewCommand(verdict: 'approve' | 'deny', id: string, o: RemoteOptions & { comment?: string; grantUses?: string; grantFor?: string }, io: CliIo): Promise<void> {
  if ((o.grantUses === undefined) !== (o.grantFor === undefined)) throw new UsageError('a grant needs both --grant-uses N and --grant-for DURATION');
  if (o.grantUses !== undefined && !/^\d{1,6}$/.test(o.grantUses)) throw new UsageError('--grant-uses: a whole number');
  const grant = o.grantUses !== undefined && o.grantFor !== undefined ? { uses: Number(o.grantUses), for: o.grantFor } : undefined;
  const cs = client(o, io.env);
  // Bind the verdict to what is shown: if the request changed meanwhile, the gateway refuses it.
  const seen: RequestView = await cs.get(id);
  const r = await cs.review(id, { verdict, digest: seen.digest, ...(o.comment ? { comment: o.comment } : {}), ...(grant ? { grant } : {}) });
  print(o, r, () => {
    const head = safe(`${verdict === 'approve' ? 'Approved' : 'Denied'} ${r.id} (${seen.action.connection}: ${seen.action.operation}). Status now: ${r.status}.`);
    const more = r.status === 'pending' ? `\n${r.approvals.needed} more approval(s) needed.` : r.status === 'approved' || r.status === 'executing' ? `\nThe gateway is running it; follow with: countersign requests show ${r.id}` : '';
    const granted = r.grant ? `\nGrant ${r.grant.id}: the next ${r.grant.uses} action(s) of the same shape until ${r.grant.expiresAt}; revoke with: countersign grants revoke ${r.grant.id}` : grant && r.status === 'pending' ? '\nYour grant is offered; it is made only if every counted approval offers one.' : '';
    return head + more + safe(granted);
  }, io);
}

/** Runs a held request at once on the caller's own authority; the justification is required (JUSTIFICATION_REQUIRED). */
export async function breakGlassCommand(id: string, o: RemoteOptions & { message?: string }, io: CliIo): Promise<void> {
  if (!o.message?.trim()) throw new UsageError('a break-glass needs a justification: -m "why this cannot wait"');
  const r = await client(o, io.env).breakGlass(id, o.message);
  print(o, r, () => safe(`Broke the glass on ${r.id} (${r.action.connection}: ${r.action.operation}). Status now: ${r.status}. It now needs a review after the fact by another human.`), io);
}

/** Asks for the revert of an approved SQL write: a new request of the caller's, held for review like any other. */
export async function revertCommand(id: string, o: RemoteOptions & { reason?: string }, io: CliIo): Promise<void> {
  const r = await client(o, io.env).revert(id, o.reason);
  print(o, r, () => safe(`Revert of ${id} submitted as ${r.id}. Status: ${r.status}.${r.status === 'pending' ? ` It needs ${r.approvals.needed} approval(s): countersign requests show ${r.id}` : ''}`), io);
}
