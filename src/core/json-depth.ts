/**
 * A bound on how deeply JSON may nest. Recursive code (canonical JSON for
 * digests and the audit chain, schema checks, masking) would overflow the
 * stack on a document a few thousand levels deep; the gateway refuses such
 * input where it enters, with a stable code, before anything recursive runs.
 */
import { CountersignError } from './errors.ts';

/** The deepest an agent's JSON may nest (objects and arrays, the outermost counted as 1). */
export const MAX_JSON_DEPTH = 64;

function tooDeep(what: string, max: number): CountersignError {
  return new CountersignError('INPUT_TOO_DEEP', `${what} nests objects or arrays more than ${max} levels deep`, { maxDepth: max });
}

/**
 * True when JSON text nests more than `max` levels, scanning the text
 * (strings and their escapes skipped) without parsing it.
 *
 * @example
 * jsonTextTooDeep('[[1]]', 1); // true
 */
export function jsonTextTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * True when a value nests objects or arrays more than `max` levels; walks
 * with its own stack, so it cannot overflow on what it checks.
 *
 * @example
 * valueTooDeep({ a: [{}] }, 2); // true
 */
export function valueTooDeep(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/** Throws INPUT_TOO_DEEP when JSON text nests more than `max` levels. */
export function assertJsonTextDepth(text: string, what: string, max = MAX_JSON_DEPTH): void {
  if (jsonTextTooDeep(text, max)) throw tooDeep(what, max);
}

/** Throws INPUT_TOO_DEEP when a value nests more than `max` levels. */
export function assertValueDepth(value: unknown, what: string, max = MAX_JSON_DEPTH): void {
  if (valueTooDeep(value, max)) throw tooDeep(what, max);
}
