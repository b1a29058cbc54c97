/** `countersign audit verify|export`: read the local store named by the config, offline. */
import { loadConfig } from '../config/load.ts';
import type { Store } from '../core/ports.ts';
import { exportAudit } from '../service/audit-export.ts';
import { verifyAuditSigned } from '../service/audit-verify.ts';
import { planBundle, type Bound } from '../service/audit-bundle.ts';
import { createCheckpointSigner, lastSignedIn } from '../adapters/signer/checkpoint-signer.ts';
import { openAuditHmac } from '../adapters/signer/audit-hmac.ts';
import { openKeyring, readVerifiers } from '../adapters/signer/ed25519-file.ts';
import { pinnedKeys } from './verifier-keys.ts';
import { systemClock } from '../adapters/system.ts';
import { auditOrigin, checkKeyOwner, openStoreForCommand, storeAuditOrigin } from '../main-store.ts';
import { writeBundle } from '../adapters/audit-bundle-files.ts';
import { parseAuditQuery, searchAudit } from '../service/audit-search.ts';
import { safe } from './output.ts';
import { replaceHidden } from '../core/visible-text.ts';
import { verdictLine } from './verdict-line.ts';
import { parseExportBound } from '../core/period-bound.ts';
import type { CliIo } from './io.ts';

async function openStore(configPath: string, env: NodeJS.ProcessEnv): Promise<Store> {
  return (await openAudit(configPath, env)).store;
}

/** The store of the config, refused when it (or its key directory) was made for another config file. */
async function openAudit(configPath: string, env: NodeJS.ProcessEnv) {
  const config = loadConfig(configPath, env);
  return { store: await openStoreForCommand(config, configPath), config };
}

/**
 * The store's chain and its signed checkpoints, with the keys under
 * audit.keyDir (or the pinned ones): a log cut after its latest checkpoint fails.
 */
export async function auditVerifyCommand(configPath: string, o: { verifierKey?: string[] }, io: CliIo): Promise<number> {
  const { store, config } = await openAudit(configPath, io.env);
  try {
    const verifiers = o.verifierKey?.length ? pinnedKeys(o.verifierKey) : readVerifiers(config.audit.keyDir);
    if (verifiers.length === 0) {
      io.stdout.write(`audit log FAILED: no verifier key in ${config.audit.keyDir}/keys to check its signed checkpoints (pass --verifier-key)\n`);
      return 1;
    }
    // What the key directory records having signed: a store put back to an older copy lost those checkpoints too.
    const last = lastSignedIn(config.audit.keyDir);
    const r = await verifyAuditSigned(store, { verifiers, origin: await storeAuditOrigin(config, store, { claim: false }), ...(last ? { lastSigned: { ...last, where: config.audit.keyDir } } : {}) });
    if (r.ok) {
      const by = o.verifierKey?.length ? 'the pinned key' : `the keys in ${config.audit.keyDir}`;
      const tail = r.unsigned ? `; the ${r.unsigned} newest events are not signed yet` : '';
      io.stdout.write(`audit chain OK: ${r.count} events, head ${r.head}\nsigned checkpoints verified (${by}) at sizes ${r.verifiedCheckpoints.join(', ')}${tail}\n`);
      return 0;
    }
    const p = r.problem;
    const where = p.seq !== undefined ? `event ${p.seq}` : p.checkpoint !== undefined ? `checkpoint ${p.checkpoint}` : 'the log';
    // An edited row's own fields (a seq that is a string) can be in the reason: one line of ours, whatever they hold.
    io.stdout.write(`${verdictLine(`audit log BROKEN at ${where}: ${p.reason}`)}(${r.count} events before it verify)\n`);
    return 1;
  } finally {
    await store.close();
  }
}

/** JSON text with each hidden character as a `\uXXXX` escape: the same JSON value, drawn as what it is. */
const hiddenEscaped = (json: string) => replaceHidden(json, (c) => c.split('').map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''));

/**
 * One CSV cell. A cell a spreadsheet would run as a formula (OWASP "CSV injection": it starts with `=`, `+`, `-`,
 * `@`, a tab or a CR) is written as text behind a `'`: a principal's id can come from a token claim its holder chose
 * (`=HYPERLINK(…)`), and an auditor opens the export in a spreadsheet. Hidden characters (core/visible-text.ts) are
 * not left for the spreadsheet to draw: a bidi override in an agent's reason or SQL reversed the rest of the cell.
 * In the data cell's JSON each is a `\uXXXX` escape (the same JSON value); in a text cell it is named, as the CLI
 * names it (`\u{202e}`). The JSON lines stay exact.
 */
function csvCell(v: unknown): string {
  const raw = v === null || v === undefined ? '' : typeof v === 'string' ? safe(v) : hiddenEscaped(JSON.stringify(v));
  const s = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function auditExportCommand(configPath: string, format: 'jsonl' | 'csv', io: CliIo): Promise<number> {
  const store = await openStore(configPath, io.env);
  const out = io.stdout;
  const write = (line: string) => (out.write(line) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  try {
    if (format === 'csv') await write('seq,time,type,request_id,actor,data,prev,hash\n');
    for await (const e of exportAudit(store)) {
      // JSON lines are exactly the hashed bytes, so each line verifies on its own.
      await write(format === 'jsonl' ? `${e.body}\n` : `${[e.seq, e.time, e.type, e.requestId, e.actor, e.data, e.prev, e.hash].map(csvCell).join(',')}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** `--from` / `--to`: a seq number or an ISO time. */
function bound(value: string | undefined, name: string): Bound | undefined {
  // The same reading of dates as evidence reports, so a bundle and a report of one period match.
  return value === undefined ? undefined : parseExportBound(value, `--${name}`);
}

export async function auditBundleExportCommand(configPath: string, o: { out: string; from?: string; to?: string }, io: CliIo): Promise<number> {
  const { store, config } = await openAudit(configPath, io.env);
  try {
    const signer = createCheckpointSigner(config.audit.keyDir, await storeAuditOrigin(config, store, { claim: false }));
    const from = bound(o.from, 'from');
    const to = bound(o.to, 'to');
    const plan = await planBundle({ store, signer, clock: systemClock }, { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) });
    await writeBundle(plan, o.out);
    const m = plan.manifest;
    io.stdout.write(`wrote ${o.out}: events ${m.events.first}–${m.events.last} (${m.events.count}), ${m.checkpoints.length} signed checkpoints, origin ${m.origin}\nverify with: countersign audit verify ${o.out} --verifier-key ${config.audit.keyDir}/keys/<key id>.pub\n`);
    return 0;
  } finally {
    await store.close();
  }
}

export async function auditSearchCommand(configPath: string, filters: Record<string, string | undefined>, o: { json?: boolean }, io: CliIo): Promise<number> {
  const store = await openStore(configPath, io.env);
  try {
    const query = parseAuditQuery(filters);
    let after = query.afterSeq;
    let shown = 0;
    for (;;) {
      const page = await searchAudit(store, { ...query, ...(after !== undefined ? { afterSeq: after } : {}) });
      for (const e of page.events) {
        shown++;
        // The stored line with its hidden characters escaped (the same JSON value): a C1 CSI or a bidi override in an
        // agent's text is not sent raw to a terminal. `audit export` gives the exact stored lines.
        if (o.json) io.stdout.write(`${hiddenEscaped(e.body)}\n`);
        else {
          const d = e.data as Record<string, unknown>;
          const shadow = e.type === 'policy.shadow' ? (d as { live?: { effect?: string }; candidate?: { effect?: string } }) : undefined;
          const detail =
            e.type === 'request.approved' ? `approvers ${(d['approvers'] as string[]).join(', ')}`
            : e.type === 'review.recorded' ? `${String(d['verdict'])} by ${e.actor}`
            : shadow ? `live ${String(shadow.live?.effect)}, candidate ${String(shadow.candidate?.effect)}`
            : '';
          io.stdout.write(safe(`${String(e.seq).padStart(8)}  ${e.time}  ${e.type.padEnd(18)} ${e.requestId ?? '-'}  ${e.actor ?? '-'}  ${detail}\n`));
        }
      }
      if (page.next === null || (filters['limit'] !== undefined && shown >= Number(filters['limit']))) break;
      after = page.next;
    }
    if (!o.json) io.stdout.write(`${shown} events\n`);
    return 0;
  } finally {
    await store.close();
  }
}

/** `countersign audit hash <value>`: the HMAC the audit log keeps for a sensitive value, to find it there. */
export async function auditHashCommand(configPath: string, value: string, io: CliIo): Promise<number> {
  const config = loadConfig(configPath, io.env);
  let v = value;
  if (value === '-') {
    const chunks: Buffer[] = [];
    for await (const c of io.stdin) chunks.push(c as Buffer);
    v = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  checkKeyOwner(config, configPath, { claim: false });
  io.stdout.write(`${openAuditHmac(config.audit.keyDir)(v)}\n`);
  return 0;
}

/** `countersign audit rotate-key`: a new checkpoint signing key; the old public key stays, so old checkpoints still verify. */
export function auditRotateKeyCommand(configPath: string, io: CliIo): number {
  const config = loadConfig(configPath, io.env);
  checkKeyOwner(config, configPath, { claim: false });
  const keyring = openKeyring(config.audit.keyDir, auditOrigin(config));
  const before = keyring.current.verifierKey;
  keyring.rotate();
  io.stdout.write(`new signing key: ${keyring.current.verifierKey}\nprevious key, kept for old checkpoints: ${before}\nrestart the gateway to sign with the new key; give auditors the new verifier key\n`);
  return 0;
}
