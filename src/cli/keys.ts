/** `countersign keys create`: a new random API key and the `sha256:` line to paste into the config. */
import { generateApiKey } from '../adapters/identity/api-keys.ts';
import type { CliIo } from './io.ts';

export function keysCreateCommand(opts: { json?: boolean }, io: CliIo): void {
  const { key, hash } = generateApiKey();
  if (opts.json) {
    io.stdout.write(`${JSON.stringify({ key, hash })}\n`);
    return;
  }
  io.stdout.write(
    `API key (give it to its owner; it is not stored anywhere):\n  ${key}\n\nPaste under the principal's apiKeys in countersign.yaml:\n  apiKeys: ["${hash}"]\n`,
  );
}
