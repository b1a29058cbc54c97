/**
 * MCP tools as the gateway knows them: the upstream's definition, the hash
 * that pins it, and the namespaced name agents see. Connection names never
 * contain `__` nor start or end with `_` (the config refuses both), so `<connection>__<tool>` splits at
 * the first `__` without ambiguity, and stays within the characters every
 * client accepts in a tool name (letters, digits, `_`, `-`).
 */
import { canonicalJson, sha256Hex } from '../digest.ts';

/** The MCP spec's tool annotations (all hints; an untrusted server may lie, so they are pinned). */
export interface ToolAnnotations {
  readonly title?: string;
  readonly readOnlyHint?: boolean;
  readonly destructiveHint?: boolean;
  readonly idempotentHint?: boolean;
  readonly openWorldHint?: boolean;
}

/** One tool as an upstream lists it (tools/list), reduced to what agents and policy use. */
export interface ToolDefinition {
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly inputSchema: Readonly<Record<string, unknown>>;
  readonly outputSchema?: Readonly<Record<string, unknown>>;
  readonly annotations?: ToolAnnotations;
}

/** Between connection and tool in the names agents see. */
export const TOOL_SEPARATOR = '__';

/** The gateway's own tool: wait for a held call's decision. */
export const WAIT_TOOL = 'countersign_wait';

/**
 * The hash a definition is pinned by: SHA-256 of the canonical JSON of
 * everything that tells a model what the tool does or a policy how to treat it.
 *
 * @example
 * toolHash({ name: 'read_file', inputSchema: { type: 'object' } }); // 'sha256:…'
 */
export function toolHash(def: ToolDefinition): string {
  const pinned = {
    name: def.name,
    title: def.title ?? null,
    description: def.description ?? null,
    inputSchema: def.inputSchema,
    outputSchema: def.outputSchema ?? null,
    annotations: def.annotations ?? null,
  };
  return `sha256:${sha256Hex(canonicalJson(pinned))}`;
}

/** Characters that show as nothing (zero-width spaces and joiners, the soft hyphen, variation selectors): NFKC keeps them. */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * Why a listing cannot be pinned as it stands, or null. A name listed twice
 * has two definitions and one pin: the other would reach a model or a
 * reviewer unaccepted. Two names that are one under Unicode compatibility
 * normalisation and case folding, or by characters that show as nothing
 * (`greet`, `gr\uFF45et`, `Greet`, `gre\u200Bet`), are told apart by no
 * reader, so neither can be said to be the pinned one.
 *
 * @example
 * listingProblem([{ name: 'a', inputSchema: {} }, { name: 'a', inputSchema: {} }]); // 'lists the tool "a" twice'
 */
export function listingProblem(defs: readonly ToolDefinition[]): string | null {
  const exact = new Set<string>();
  const folded = new Map<string, string>();
  for (const { name } of defs) {
    if (exact.has(name)) return `lists the tool ${JSON.stringify(name)} twice`;
    exact.add(name);
    const key = name.normalize('NFKC').replace(INVISIBLE, '').toLowerCase();
    const other = folded.get(key);
    if (other !== undefined) return `lists tools ${JSON.stringify(other)} and ${JSON.stringify(name)}, one name once normalised`;
    folded.set(key, name);
  }
  return null;
}

/**
 * @example
 * namespacedTool('fs', 'read_file'); // 'fs__read_file'
 */
export function namespacedTool(connection: string, tool: string): string {
  return `${connection}${TOOL_SEPARATOR}${tool}`;
}

/**
 * @example
 * splitToolName('fs__read_file'); // { connection: 'fs', tool: 'read_file' }
 * splitToolName('read_file');     // undefined
 */
export function splitToolName(name: string): { connection: string; tool: string } | undefined {
  const at = name.indexOf(TOOL_SEPARATOR);
  if (at <= 0 || at + TOOL_SEPARATOR.length >= name.length) return undefined;
  return { connection: name.slice(0, at), tool: name.slice(at + TOOL_SEPARATOR.length) };
}
