/**
 * The secret key material in the audit key directory, as text a reader of
 * the files would print: the Ed25519 private key's PEM body and the audit
 * HMAC key. A command an exec connection runs as the gateway's OS user can
 * read them; its output is scrubbed of them. Read again only when a file
 * changes (rotation replaces current.key), so a run costs a stat per file.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const FILES = ['current.key', 'audit-hmac.key'];

/** The secret text of one key file: its lines that are not PEM armour, and all of them joined (a PEM body spans lines). */
function secretText(text: string): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('-----'));
  return lines.length > 1 ? [lines.join(''), ...lines] : lines;
}

/**
 * @example
 * const keys = keyMaterial('./.countersign/keys');
 * keys(); // ['MC4CAQAwBQYDK2VwBCIEI…', 'q2Lx…=']
 */
export function keyMaterial(dir: string): () => readonly string[] {
  const seen = new Map<string, { stamp: string; values: string[] }>();
  return () => {
    const out: string[] = [];
    for (const name of FILES) {
      const file = join(dir, name);
      let stamp: string;
      try {
        const st = statSync(file);
        stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
      } catch {
        seen.delete(name);
        continue;
      }
      let known = seen.get(name);
      if (known?.stamp !== stamp) {
        try {
          known = { stamp, values: secretText(readFileSync(file, 'utf8')) };
          seen.set(name, known);
        } catch {
          continue;
        }
      }
      out.push(...known.values);
    }
    return out;
  };
}
