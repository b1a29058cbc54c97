/** `--verifier-key` of the audit commands: the keys an auditor pins instead of trusting what they verify. */
import { existsSync, readFileSync } from 'node:fs';
import { CountersignError } from '../core/errors.ts';
import { parseVerifierKey, type NoteVerifier } from '../core/note.ts';

/**
 * C2SP verifier keys given inline, or files holding them one per line.
 *
 * @example
 * pinnedKeys(['countersign.example/prod+1a2b3c4d+AeXy…']); // [NoteVerifier]
 */
export function pinnedKeys(values: readonly string[]): NoteVerifier[] {
  return values.flatMap((v) => {
    const lines = existsSync(v) ? readFileSync(v, 'utf8').split('\n') : [v];
    return lines.map((l) => l.trim()).filter(Boolean).map((l) => {
      try {
        return parseVerifierKey(l);
      } catch (e) {
        throw new CountersignError('INVALID_REQUEST', `--verifier-key ${existsSync(v) ? `${v}: ` : ''}is not a C2SP verifier key (name+keyid+base64): ${e instanceof Error ? e.message : String(e)}`);
      }
    });
  });
}
