import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountersignError } from '../../../core/errors.ts';
import { analyseSqlAsync, containsNodeAsync } from './analysis-cache.ts';
import { createAnalysisOffload, LONG_SQL_TIME_LIMIT_MS, sqlOffload } from './analysis-offload.ts';
import { copyInShapeSoon } from './copy-in.ts';
import { analyseSql, loadSqlParser } from './facts.ts';

beforeAll(async () => {
  await loadSqlParser();
});

/** Over the 16,384 characters analysed where they arrive. */
const LONG = `SELECT lower(name) FROM orders WHERE id = 7; ${'DELETE FROM audit_copy WHERE id = 1; '.repeat(500)}`;

describe('long SQL texts on the analysis thread', () => {
  it('are analysed as on this thread, remembered for the calls that follow, and refused as this thread refuses', { timeout: 60_000 }, async () => {
    const a = await analyseSqlAsync(LONG);
    expect(a).toEqual(analyseSql(LONG));
    expect(a.facts.writes).toBe(true);
    expect(Object.isFrozen(a.facts.statements[1])).toBe(true);
    expect(await analyseSqlAsync(LONG)).toBe(a);
    expect(await containsNodeAsync(`${LONG} EXPLAIN EXECUTE x;`, 'ExecuteStmt')).toBe(true);
    expect(await copyInShapeSoon(`${LONG} COPY t (a) FROM STDIN;`)).toEqual({ statements: 502, binary: false, columns: 1 });
    const broken = analyseSqlAsync(`${LONG} SELEC 1`);
    await expect(broken).rejects.toBeInstanceOf(CountersignError);
    await expect(broken).rejects.toMatchObject({ code: 'INPUT_UNPARSEABLE' });
  });
});

describe('the time limit', () => {
  // Set as the gateway sets it (server.sqlAnalysisSeconds): the flood's worker is ended after 1 s, whatever its size.
  const offload = createAnalysisOffload({ timeLimitMs: LONG_SQL_TIME_LIMIT_MS });
  offload.setTimeLimit(1_000);
  afterAll(() => offload.close());

  it('refuses a text not analysed in time, and the texts after it are analysed on a new thread', { timeout: 120_000 }, async () => {
    // 8 MB of statements: far longer to analyse than the limit.
    const flood = offload.run({ op: 'analyse', sql: 'SELECT 1;'.repeat(900_000), readOnlyFunctions: [] });
    await expect(flood).rejects.toMatchObject({ code: 'INPUT_UNPARSEABLE', message: expect.stringContaining('within 1 s') });
    const next = (await offload.run({ op: 'analyse', sql: LONG, readOnlyFunctions: [] })) as ReturnType<typeof analyseSql>;
    expect(next.facts.statements).toHaveLength(501);
  });
});

describe('each principal\'s share of the thread', () => {
  // The flooder's text is analysed for three times as long as another's may wait: refused at its limit, long after.
  const offload = createAnalysisOffload({ timeLimitMs: 1_500, waitLimitMs: 500, maxPerOwner: 1 });
  afterAll(() => offload.close());

  it('refuses a principal\'s text past its share at once, and one that waited too long behind others\'', { timeout: 120_000 }, async () => {
    // The worker started and ready first: its start is nobody's text, and is not counted as others' (below).
    await offload.run({ op: 'analyse', sql: LONG, readOnlyFunctions: [] }, 'warm-up');
    // 8 MB of statements, far longer to analyse than the time limit: the worker is busy with it until that limit.
    const heavy = offload.run({ op: 'analyse', sql: 'SELECT 1;'.repeat(900_000), readOnlyFunctions: [] }, 'flooder').catch(() => undefined);
    await expect(offload.run({ op: 'analyse', sql: LONG, readOnlyFunctions: [] }, 'flooder')).rejects.toMatchObject({ code: 'TOO_MANY_ANALYSES', message: expect.stringContaining('already has 1') });
    await expect(offload.run({ op: 'analyse', sql: LONG, readOnlyFunctions: [] }, 'other')).rejects.toMatchObject({ code: 'TOO_MANY_ANALYSES', message: expect.stringContaining('busy for 0.5 s') });
    await heavy;
    // Its text answered (or refused), the flooder may send another.
    const next = (await offload.run({ op: 'analyse', sql: LONG, readOnlyFunctions: [] }, 'flooder')) as ReturnType<typeof analyseSql>;
    expect(next.facts.statements).toHaveLength(501);
  });
});

describe('a worker being started', () => {
  // A wait limit far shorter than any start of a worker thread.
  const offload = createAnalysisOffload({ timeLimitMs: 20_000, waitLimitMs: 1 });
  afterAll(() => offload.close());

  it('is not counted as others\' texts keeping the thread busy: the first text waits for it and is analysed', { timeout: 120_000 }, async () => {
    const first = (await offload.run({ op: 'analyse', sql: LONG, readOnlyFunctions: [] }, 'first')) as ReturnType<typeof analyseSql>;
    expect(first.facts.statements).toHaveLength(501);
  });

  // Limits as short as a gateway's may be (server.sqlAnalysisSeconds: 1), a start longer than both (a loaded machine).
  const short = createAnalysisOffload({ timeLimitMs: 1_000, waitLimitMs: 1 });
  afterAll(() => short.close());

  it('is not counted however short the limits: a start that ends after both is still waited for', { timeout: 120_000 }, async () => {
    const searched = short.run({ op: 'contains', sql: 'EXECUTE x', node: 'ExecuteStmt' }, 'first');
    // This thread held past both limits as load holds it: the worker's "ready" is read after the text's limits ran out.
    for (const until = Date.now() + 1_300; Date.now() < until; );
    expect(await searched).toBe(true);
  });
});

describe('the COPY shape of a long text on the wire, and a search for EXECUTE in it', () => {
  // The gateway's own offload, as a gateway configured for it sets it: each heavy text below is cut after 1.5 s.
  // Files share modules here: the default is put back for those that follow.
  beforeAll(() => sqlOffload.setTimeLimit(1_500));
  afterAll(() => sqlOffload.setTimeLimit(LONG_SQL_TIME_LIMIT_MS));

  it("takes its principal's share of the thread, as its facts do: past it, no shape (so nothing runs), and another principal's text is not held behind", { timeout: 120_000 }, async () => {
    const copy = `COPY orders FROM STDIN; -- ${'x'.repeat(20_000)}`;
    expect(await copyInShapeSoon(copy, 'other')).toBeDefined();
    // Two texts of seconds each (or cut at the time limit) fill the flooder's share of the worker.
    const heavy = [0, 1].map(() => analyseSqlAsync(`${'SELECT 1;'.repeat(300_000)} -- ${Math.random()}`, {}, 'flooder').catch(() => undefined));
    expect(await copyInShapeSoon(copy, 'flooder')).toBeUndefined();
    // So does the search for an EXECUTE in a long text just before it runs on the wire (wire-session.ts).
    await expect(containsNodeAsync(`${LONG} EXECUTE x;`, 'ExecuteStmt', 'flooder')).rejects.toMatchObject({ code: 'TOO_MANY_ANALYSES' });
    expect(await containsNodeAsync(`${LONG} EXECUTE x;`, 'ExecuteStmt', 'other')).toBe(true);
    await Promise.all(heavy);
  });
});
