/**
 * Passkeys and step-up challenges in PostgreSQL: a passkey row per credential
 * id, a challenge row per open challenge, deleted (RETURNING) when taken, so
 * that of replicas taking one challenge at once exactly one gets it.
 */
import type { AuditDraft } from '../../../core/audit.ts';
import type { PasskeyStore } from '../../../core/store-ports.ts';
import type { Passkey, StepUpChallenge } from '../../../core/step-up.ts';
import type { Run } from './pool.ts';

export const PASSKEYS_SCHEMA = `
  CREATE TABLE passkeys (
    id text PRIMARY KEY,
    human text NOT NULL,
    counter bigint NOT NULL,
    created_at text NOT NULL,
    seq bigserial,
    record text NOT NULL
  );
  CREATE INDEX passkeys_human ON passkeys (human);
  CREATE TABLE step_up_challenges (
    challenge text PRIMARY KEY,
    expires_at text NOT NULL,
    record text NOT NULL
  );
  CREATE INDEX step_up_challenges_expires ON step_up_challenges (expires_at);`;

const INSERT = { name: 'cs_passkey_insert', text: 'INSERT INTO passkeys (id, human, counter, created_at, record) VALUES ($1, $2, $3, $4, $5)' };
const GET = { name: 'cs_passkey_get', text: 'SELECT record, counter FROM passkeys WHERE id = $1' };
const OF = { name: 'cs_passkey_of', text: 'SELECT record, counter FROM passkeys WHERE human = $1 ORDER BY created_at, seq' };
const REMOVE = { name: 'cs_passkey_remove', text: 'DELETE FROM passkeys WHERE human = $1 AND id = $2' };
const ADVANCE = { name: 'cs_passkey_advance', text: 'UPDATE passkeys SET counter = $1 WHERE id = $2 AND counter = $3' };
const DROP_EXPIRED = { name: 'cs_challenge_drop', text: 'DELETE FROM step_up_challenges WHERE expires_at <= $1' };
const INSERT_CHALLENGE = { name: 'cs_challenge_insert', text: 'INSERT INTO step_up_challenges (challenge, expires_at, record) VALUES ($1, $2, $3)' };
const INSERT_CHALLENGE_ONCE = { name: 'cs_challenge_insert_once', text: 'INSERT INTO step_up_challenges (challenge, expires_at, record) VALUES ($1, $2, $3) ON CONFLICT (challenge) DO NOTHING' };
const TAKE = { name: 'cs_challenge_take', text: 'DELETE FROM step_up_challenges WHERE challenge = $1 RETURNING record' };

type Row = { record: string; counter: string | number };
const passkeyOf = (r: Row): Passkey => ({ ...(JSON.parse(r.record) as Passkey), counter: Number(r.counter) });

/**
 * The passkey port: `write` runs a function in a write transaction that may append audit events; `q` reads on the
 * pool; `once` is a single statement in a transaction of its own.
 */
export function createPasskeyPort(
  write: <T>(fn: (run: Run, tx: { append(audit: readonly AuditDraft[]): Promise<void> }) => Promise<T>) => Promise<T>,
  q: Run,
  once: Run,
): PasskeyStore {
  return {
    insertPasskey: (p, audit) =>
      write(async (run, tx) => {
        await run(INSERT, [p.id, p.human, p.counter, p.createdAt, JSON.stringify(p)]);
        await tx.append(audit);
      }),
    getPasskey: async (id) => {
      const row = (await q<Row>(GET, [id])).rows[0];
      return row ? passkeyOf(row) : undefined;
    },
    passkeysOf: async (human) => (await q<Row>(OF, [human])).rows.map(passkeyOf),
    deletePasskey: (human, id, audit) =>
      write(async (run, tx) => {
        if ((await run(REMOVE, [human, id])).rowCount !== 1) return false;
        await tx.append(audit);
        return true;
      }),
    advancePasskeyCounter: async (id, previous, next) => (await once(ADVANCE, [next, id, previous])).rowCount === 1,
    insertChallenge: async (c: StepUpChallenge, now) => {
      await once(DROP_EXPIRED, [now.toISOString()]);
      await once(INSERT_CHALLENGE, [c.challenge, c.expiresAt, JSON.stringify(c)]);
    },
    insertChallengeOnce: async (c: StepUpChallenge, now) => {
      await once(DROP_EXPIRED, [now.toISOString()]);
      return (await once(INSERT_CHALLENGE_ONCE, [c.challenge, c.expiresAt, JSON.stringify(c)])).rowCount === 1;
    },
    takeChallenge: async (challenge) => {
      const row = (await once<{ record: string }>(TAKE, [challenge])).rows[0];
      return row ? (JSON.parse(row.record) as StepUpChallenge) : undefined;
    },
  };
}
