import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chainEvent, createChainVerifier, GENESIS_HASH, type AuditDraft, type AuditEvent } from './audit.ts';
import { sha256Hex } from './digest.ts';

type Row = { seq: number; body: string; hash: string };

function chain(drafts: readonly AuditDraft[]): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const d of drafts) events.push(chainEvent(events[events.length - 1] ?? null, d));
  return events;
}

function verify(rows: readonly Row[]) {
  const v = createChainVerifier();
  for (const r of rows) v.push({ seq: r.seq, body: r.body, hash: r.hash });
  return v.finish();
}

const draft = (type: string, data: Record<string, unknown> = {}): AuditDraft => ({
  type,
  time: '2025-06-01T12:00:00.000Z',
  requestId: 'req_1',
  actor: 'deploy-bot',
  data,
});

describe('chainEvent', () => {
  it('starts at seq 1 after the genesis hash and hashes exactly its body', () => {
    const first = chainEvent(null, draft('request.created', { b: 1, a: 2 }));
    expect(first).toMatchObject({ seq: 1, prev: GENESIS_HASH, type: 'request.created' });
    expect(first.hash).toBe(sha256Hex(first.body));
    expect(JSON.parse(first.body)).toEqual({
      seq: 1,
      time: '2025-06-01T12:00:00.000Z',
      type: 'request.created',
      requestId: 'req_1',
      actor: 'deploy-bot',
      data: { a: 2, b: 1 },
      prev: GENESIS_HASH,
    });
  });

  it('links each event to the hash of the one before', () => {
    const [a, b] = chain([draft('one'), draft('two')]);
    expect(b).toMatchObject({ seq: 2, prev: a?.hash });
  });
});

describe('createChainVerifier', () => {
  it('accepts a valid chain and reports its length and head', () => {
    const events = chain([draft('one'), draft('two', { n: 2 }), draft('three')]);
    expect(verify(events)).toEqual({ ok: true, count: 3, head: events[2]?.hash });
  });

  it('accepts the empty chain with the genesis head', () => {
    expect(verify([])).toEqual({ ok: true, count: 0, head: GENESIS_HASH });
  });

  it('names an edited event, and keeps reporting the first problem', () => {
    const events = chain([draft('one'), draft('two'), draft('three')]);
    const v = createChainVerifier();
    expect(v.push(events[0] as Row)).toBeNull();
    const edited = { ...(events[1] as Row), body: (events[1] as Row).body.replace('"two"', '"TWO"') };
    expect(v.push(edited)).toMatchObject({ seq: 2 });
    expect(v.push(events[2] as Row)).toMatchObject({ seq: 2 });
    expect(v.finish()).toMatchObject({ ok: false, count: 1, problem: { seq: 2 } });
  });

  it('names a re-hashed edit by its broken link to the next event', () => {
    const events = chain([draft('one'), draft('two'), draft('three')]);
    const body = (events[1] as Row).body.replace('"two"', '"TWO"');
    const forged = [events[0], { seq: 2, body, hash: sha256Hex(body) }, events[2]] as Row[];
    expect(verify(forged)).toMatchObject({ ok: false, problem: { seq: 3, reason: expect.stringContaining('link') } });
  });

  // Dropping events from the END leaves a shorter chain that is valid on its
  // own: the chain alone cannot tell. Signed checkpoints of the head (later)
  // are what make truncation detectable; until then it only shows as a smaller count.
  it('cannot detect a truncated tail by itself: it verifies with a smaller count', () => {
    const events = chain([draft('one'), draft('two'), draft('three'), draft('four')]);
    expect(verify(events.slice(0, 2))).toEqual({ ok: true, count: 2, head: events[1]?.hash });
  });
});

// ---- Properties: every tampering is found, at the first event it touches ----

const jsonData = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
const draftArb: fc.Arbitrary<AuditDraft> = fc.record({
  type: fc.constantFrom('request.created', 'review.recorded', 'request.approved', 'execution.started'),
  time: fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  requestId: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: null }),
  actor: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: null }),
  data: jsonData,
});
const chainArb = fc.array(draftArb, { minLength: 1, maxLength: 40 }).map(chain);

type Mutation =
  | { kind: 'flip'; at: number; char: number }
  | { kind: 'drop'; at: number }
  | { kind: 'swap'; at: number }
  | { kind: 'insertCopy'; of: number; at: number }
  | { kind: 'rehash'; at: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), char: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insertCopy' as const), of: fc.nat(), at: fc.nat() }),
  fc.record({ kind: fc.constant('rehash' as const), at: fc.nat() }),
);

/** Applies one tampering to the stored rows; null when it does not apply to a chain this short. */
function tamper(events: readonly AuditEvent[], m: Mutation): Row[] | null {
  const rows: Row[] = events.map((e) => ({ seq: e.seq, body: e.body, hash: e.hash }));
  const n = rows.length;
  switch (m.kind) {
    case 'flip': {
      const row = rows[m.at % n] as Row;
      const i = m.char % row.body.length;
      const c = row.body.charCodeAt(i);
      row.body = row.body.slice(0, i) + String.fromCharCode(c === 0x41 ? 0x42 : 0x41) + row.body.slice(i + 1);
      return rows;
    }
    case 'drop':
      // Dropping the last event is truncation, which the chain alone cannot see (tested above).
      if (n < 2) return null;
      rows.splice(m.at % (n - 1), 1);
      return rows;
    case 'swap': {
      if (n < 2) return null;
      const i = m.at % (n - 1);
      [rows[i], rows[i + 1]] = [rows[i + 1] as Row, rows[i] as Row];
      return rows;
    }
    case 'insertCopy':
      rows.splice(m.at % (n + 1), 0, { ...(rows[m.of % n] as Row) });
      return rows;
    case 'rehash': {
      const row = rows[m.at % n] as Row;
      row.hash = sha256Hex(row.hash);
      return rows;
    }
  }
}

/** Seq (1-based position) of the first stored row that is not what was written there. */
function firstAffected(original: readonly AuditEvent[], rows: readonly Row[]): number {
  for (let i = 0; i < Math.max(original.length, rows.length); i++) {
    const o = original[i];
    const r = rows[i];
    if (!o || !r || o.seq !== r.seq || o.body !== r.body || o.hash !== r.hash) return i + 1;
  }
  throw new Error('the tampering changed nothing');
}

describe('chain properties', () => {
  it('always verifies an untouched chain, with its length and last hash', () => {
    fc.assert(
      fc.property(chainArb, (events) => {
        expect(verify(events)).toEqual({ ok: true, count: events.length, head: events[events.length - 1]?.hash });
      }),
      { numRuns: 200 },
    );
  });

  it('fails any single tampering and names the first event it affects', () => {
    fc.assert(
      fc.property(chainArb, mutationArb, (events, m) => {
        const rows = tamper(events, m);
        fc.pre(rows !== null);
        const expectedSeq = firstAffected(events, rows as Row[]);
        const result = verify(rows as Row[]);
        expect(result.ok).toBe(false);
        if (!result.ok) {
          expect(result.problem.seq).toBe(expectedSeq);
          expect(result.count).toBe(expectedSeq - 1);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
