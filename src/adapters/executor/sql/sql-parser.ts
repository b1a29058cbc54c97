/**
 * The Postgres parser (libpg-query: the server's own grammar compiled to WASM),
 * loaded once on demand: a gateway without a postgres connection never holds
 * its WASM. facts.ts derives the facts from its trees.
 *
 * A parse that fails other than with a syntax error has left its instance
 * unfit for the next one. SQL deeper as a tree than the stack holds (a chain
 * of 50,000 `+ 1`, which the grammar's own depth limit does not see) overflows
 * the stack while the tree is written out: the call is aborted where it stood,
 * leaving the instance's stack pointer and heap as they were, and a few dozen
 * such texts broke every later parse ("memory access out of bounds"), so every
 * SQL action was refused until a restart. Such an instance is dropped: the
 * next parse runs on a spare made beforehand, and another spare is made.
 * Texts that could abort it are refused before it sees them (sql-bound.ts):
 * an instance made again costs half a second, and agents could ask for that
 * faster than it was done.
 */
import { createRequire } from 'node:module';
import { tooComplexForParser } from './sql-bound.ts';

/** The parser's error for SQL it does not accept (a syntax error, a grammar too deep): the instance stays fit. */
export class SqlError extends Error {
  constructor(
    message: string,
    readonly sqlDetails?: { readonly cursorPosition: number; readonly fileName?: string; readonly functionName?: string; readonly lineNumber?: number },
  ) {
    super(message);
    this.name = 'SqlError';
  }
}

/** What the gateway uses of the parser. */
export interface SqlParser {
  /** The parse tree (libpg-query's JSON), or SqlError; any other error: the SQL was not parsed, nothing is kept of it. */
  parseSync(sql: string): unknown;
  readonly SqlError: typeof SqlError;
}

/** The Emscripten module of libpg-query: the functions its own parseSync calls. */
interface WasmParser {
  lengthBytesUTF8(s: string): number;
  stringToUTF8(s: string, ptr: number, max: number): void;
  UTF8ToString(ptr: number): string;
  getValue(ptr: number, type: 'i32'): number;
  _malloc(n: number): number;
  _free(ptr: number): void;
  _wasm_parse_query_raw(ptr: number): number;
  _wasm_free_parse_result(ptr: number): void;
}

let loading: Promise<void> | undefined;
let loaded = false;
/** The instance parses run on; undefined while none is ready (a second abort before a spare was made). */
let current: WasmParser | undefined;
/** The next instance, made before it is needed: an abort swaps it in at once. */
let spare: WasmParser | undefined;
let making: Promise<void> | undefined;
let factory: (() => Promise<WasmParser>) | undefined;

/** Makes an instance for whichever of current and spare is missing (one at a time; a failure is tried again on the next parse). */
function replenish(): void {
  if (making || !factory || (current && spare)) return;
  making = factory().then(
    (m) => {
      making = undefined;
      if (!current) current = m;
      else spare = m;
      replenish();
    },
    () => {
      making = undefined;
    },
  );
}

/** libpg-query's parseSync (wasm/index.js), on one instance. An instance whose call did not end as the module's own code ends it is asked nothing more. */
function parseOn(m: WasmParser, sql: string): unknown {
  const size = m.lengthBytesUTF8(sql) + 1;
  const query = m._malloc(size);
  let result = 0;
  let fit = false;
  try {
    m.stringToUTF8(sql, query, size);
    result = m._wasm_parse_query_raw(query);
    if (!result) throw new Error('the SQL parser could not allocate its result');
    // struct { char* parse_tree; char* stderr_buffer; PgQueryError* error; }
    const tree = m.getValue(result, 'i32');
    const error = m.getValue(result + 8, 'i32');
    if (error) {
      // struct { char* message; char* funcname; char* filename; int lineno; int cursorpos; char* context; }
      const text = (at: number) => {
        const p = m.getValue(error + at, 'i32');
        return p ? m.UTF8ToString(p) : undefined;
      };
      const cursor = m.getValue(error + 16, 'i32');
      const line = m.getValue(error + 12, 'i32');
      const fileName = text(8);
      const functionName = text(4);
      fit = true;
      throw new SqlError(text(0) ?? 'Unknown error', {
        cursorPosition: cursor > 0 ? cursor - 1 : 0,
        ...(fileName ? { fileName } : {}),
        ...(functionName ? { functionName } : {}),
        ...(line > 0 ? { lineNumber: line } : {}),
      });
    }
    if (!tree) throw new Error('the SQL parser returned no tree');
    const json = m.UTF8ToString(tree);
    fit = true;
    return JSON.parse(json) as unknown;
  } finally {
    // An aborted call's instance is dropped whole; nothing more is asked of it.
    if (fit) {
      m._free(query);
      if (result) m._wasm_free_parse_result(result);
    }
  }
}

const facade: SqlParser = {
  SqlError,
  parseSync(sql: string): unknown {
    // As libpg-query's own parseSync: refused before the instance sees it.
    if (typeof sql !== 'string' || sql.trim() === '') throw new Error('Query cannot be empty');
    // Refused as the grammar refuses a statement nested past its own limit: the instance never saw it.
    const tooComplex = tooComplexForParser(sql);
    if (tooComplex) throw new SqlError(tooComplex, { cursorPosition: 0 });
    const m = current;
    if (!m) {
      replenish();
      throw new Error('the SQL parser is being made again after a statement that aborted it');
    }
    try {
      return parseOn(m, sql);
    } catch (e) {
      if (!(e instanceof SqlError) && current === m) {
        current = spare;
        spare = undefined;
        replenish();
      }
      throw e;
    }
  },
};

/** The loaded parser (after `await loadSqlParser()`). */
export function sqlParser(): SqlParser {
  if (!loaded) throw new Error('the SQL parser is not loaded: await loadSqlParser() first');
  return facade;
}

/**
 * Loads the parser's WASM module (an instance, and its spare); call once at start, before deriveSqlFacts.
 * Safe to call again: later calls share the first load.
 *
 * @example
 * await loadSqlParser();
 */
export function loadSqlParser(): Promise<void> {
  loading ??= (async () => {
    // The package's Emscripten factory (CommonJS): each call makes an instance of its own.
    const make = createRequire(import.meta.url)('libpg-query/wasm/libpg-query.js') as () => Promise<WasmParser>;
    const [a, b] = await Promise.all([make(), make()]);
    factory = make;
    current = a;
    spare = b;
    loaded = true;
  })().catch((e: unknown) => {
    loading = undefined; // let a later call retry
    throw e;
  });
  return loading;
}

/** Whether loadSqlParser() has finished. */
export function isSqlParserLoaded(): boolean {
  return loaded;
}
