/**
 * What a wire session tells about the client's messages it sent upstream:
 * which of them the server accepted, and the outcome of a statement the
 * gateway refused to send.
 */
import type { ErrorCode } from '../../../core/errors.ts';
import type { WireOutcome, WirePart } from '../../../core/ports.ts';
import type { Answer } from './wire-relay.ts';

/**
 * Tells each part whose message the upstream answered without an error (the surface keeps its names by that).
 *
 * @example
 * await tell(parts, parts.map((p) => relay.send(p.raw, p.kind, 'client')));
 */
export async function tell(parts: readonly WirePart[], answers: readonly Promise<Answer>[]): Promise<void> {
  const got = await Promise.all(answers);
  got.forEach((a, i) => {
    if (a.outcome === 'answered' && !a.error) parts[i]!.accepted?.();
  });
}

/**
 * A statement the gateway did not send: nothing ran, and the client gets the message.
 *
 * @example
 * refused('SQL_SESSION_UNSAFE', 'the session check failed on the upstream; nothing ran');
 */
export function refused(code: ErrorCode, message: string): WireOutcome {
  return { ok: false, relayed: false, output: { message }, summary: {}, error: { code, message } };
}
