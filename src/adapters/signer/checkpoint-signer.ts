/** The CheckpointSigner port over the on-disk Ed25519 keyring: the key's name is the log's origin. */
import { signNote } from '../../core/note.ts';
import type { CheckpointSigner } from '../../core/ports.ts';
import { openKeyring } from './ed25519-file.ts';

/**
 * @example
 * const signer = createCheckpointSigner('./.countersign/keys', 'countersign.example.com/prod');
 */
export function createCheckpointSigner(dir: string, origin: string): CheckpointSigner {
  const keyring = openKeyring(dir, origin);
  return {
    origin,
    sign(text) {
      return { note: signNote(text, [{ name: keyring.name, privateKey: keyring.current.privateKey }]), keyId: keyring.current.keyId };
    },
    verifierKeys: () => keyring.verifiers().map((v) => v.verifierKey),
  };
}
