/**
 * The scrubber of a connection whose command runs on the gateway's host as
 * its OS user (exec, a stdio MCP server): its own secrets and every secret
 * the gateway holds (config/held-secrets.ts, the key files), since such a
 * command can read the gateway's environment and files. Made again only
 * when the held secrets change (a key rotated).
 */
import { createSecretScrubber, type SecretScrubber } from '../../core/scrub.ts';
import { secretParts } from '../../core/secret-parts.ts';

/**
 * @example
 * const scrubber = heldScrubber(Object.values(config.env), () => held);
 * scrubber().scrub(output);
 */
export function heldScrubber(own: readonly string[], held?: () => readonly string[]): () => SecretScrubber {
  let made: { key: string; scrubber: SecretScrubber } | undefined;
  return () => {
    const all = [...own, ...(held?.() ?? [])];
    const key = all.join('\u0000');
    if (made?.key !== key) made = { key, scrubber: createSecretScrubber(secretParts(all)) };
    return made.scrubber;
  };
}
