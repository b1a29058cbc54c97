/**
 * `countersign audit verify <bundle>`: a bundle verified offline, from its files alone. Apart from audit.ts, which
 * reads the store named by a config: this command reads no config, so it does not load the config schemas, the
 * policy engine or a store driver.
 */
import { verifyBundleInParallel } from '../adapters/verify/parallel-leaves.ts';
import { readBundle } from '../adapters/audit-bundle-files.ts';
import { pinnedKeys } from './verifier-keys.ts';
import { verdictLine } from './verdict-line.ts';
import type { CliIo } from './io.ts';

/**
 * Without a pinned key, the bundle's own keys.txt is all there is: that proves
 * the bundle is consistent, not that the log's owner signed it (anyone can
 * re-sign an edited log with a key of their own and ship that key inside).
 * Such a bundle is not verified: exit 2, said loudly, never "bundle OK", so a
 * script that checks the exit code cannot take a self-signed forgery for the log.
 */
export async function auditBundleVerifyCommand(path: string, o: { verifierKey?: string[] }, io: CliIo): Promise<number> {
  const pinned = o.verifierKey?.length ? pinnedKeys(o.verifierKey) : undefined;
  if (!pinned) {
    io.stderr.write('WARNING: no --verifier-key given: the checkpoints are checked with the keys inside the bundle, which proves only that the bundle is consistent, not who signed it. Pin the log\'s verifier key (countersign audit verify <bundle> --verifier-key <key|file>).\n');
  }
  const report = await verifyBundleInParallel(await readBundle(path), pinned ? { verifiers: pinned } : {});
  const written = report.written ? `, written ${report.written.first ?? '?'} to ${report.written.last ?? '?'}` : '';
  if (report.ok && pinned) {
    io.stdout.write(verdictLine(`bundle OK: events ${report.first}–${report.last} (${report.events}) of ${report.origin}${written}; signed checkpoints verified at sizes ${report.verifiedCheckpoints.join(', ')} with the pinned key`));
    return 0;
  }
  if (report.ok) {
    io.stdout.write(verdictLine(`bundle consistent, NOT AUTHENTICATED: events ${report.first}–${report.last} (${report.events}) of ${report.origin}${written}; checkpoints checked only with the keys inside the bundle (UNPINNED) at sizes ${report.verifiedCheckpoints.join(', ')}: pass the log's verifier key with --verifier-key to verify it`));
    return 2;
  }
  const where = report.problem?.seq !== undefined ? `event ${report.problem.seq}` : report.problem?.checkpoint !== undefined ? `checkpoint ${report.problem.checkpoint}` : 'the bundle';
  io.stdout.write(verdictLine(`bundle FAILED at ${where}: ${report.problem?.message}`));
  return 1;
}
