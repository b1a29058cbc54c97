/**
 * A candidate policy file: the `policy:` section's shape on its own (default,
 * defaultTtl, rules), as `policy.candidate` names one to shadow and
 * `countersign policy replay` takes one to replay. Validated and compiled like
 * the live policy, so a bad candidate fails with its file and the path in it.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { CountersignError, isCountersignError } from '../core/errors.ts';
import { compilePolicy } from '../core/policy/compile.ts';
import { policySectionSchema, type PolicySection } from './schema.ts';
import { ruleSpecOf } from './rule-spec.ts';

function pathOf(parts: readonly PropertyKey[]): string {
  return parts.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '') || '(top level)';
}

/**
 * The problems of a candidate policy's text (empty when it is good), each with its path in the file; the section when good.
 * `humans` are the configured human principal ids an approver requirement may name.
 */
export function checkPolicySection(text: string, humans: ReadonlySet<string>): { section?: PolicySection; problems: string[] } {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) return { problems: doc.errors.map((e) => `line ${e.linePos?.[0].line ?? 0}: ${e.message.split('\n')[0]}`) };
  const parsed = policySectionSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) return { problems: parsed.error.issues.map((i) => `${pathOf(i.path)}: ${i.message}`) };
  const problems: string[] = [];
  const human = (pid: string, at: string) => {
    if (!humans.has(pid)) problems.push(`${at}: ${pid} is not a configured human principal`);
  };
  parsed.data.rules.forEach((r, i) => {
    r.approvers?.forEach((a, j) => a.principals?.forEach((pid, k) => human(pid, `rules[${i}].approvers[${j}].principals[${k}]`)));
    r.escalate?.forEach((e, j) => e.to.principals?.forEach((pid, k) => human(pid, `rules[${i}].escalate[${j}].to.principals[${k}]`)));
  });
  try {
    compilePolicy({ default: parsed.data.default, defaultTtlSeconds: parsed.data.defaultTtl, rules: parsed.data.rules.map(ruleSpecOf) });
  } catch (e) {
    if (!isCountersignError(e, 'CONFIG_INVALID')) throw e;
    // The compiler names rules as the config's `policy.rules[i]`; in this file they are `rules[i]`.
    problems.push(...(Array.isArray(e.details['problems']) ? (e.details['problems'] as string[]) : [e.message]).map((p) => p.replace(/^policy\.rules\[/, 'rules[')));
  }
  return problems.length ? { problems } : { section: parsed.data, problems };
}

/**
 * Reads and checks a candidate policy file; CONFIG_INVALID names the file and every problem in it.
 *
 * @example
 * const section = readPolicyFile('candidate.yaml', new Set(['alice'])); // { default: 'deny', defaultTtl: 3600, rules: [...] }
 */
export function readPolicyFile(file: string, humans: ReadonlySet<string>): PolicySection {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'cannot be read';
    throw new CountersignError('CONFIG_INVALID', `${file}: ${why}`, { problems: [`${file}: ${why}`] });
  }
  const { section, problems } = checkPolicySection(text, humans);
  if (!section) throw new CountersignError('CONFIG_INVALID', `${file}: invalid policy\n${problems.map((p) => `  - ${p}`).join('\n')}`, { problems: problems.map((p) => `${file}: ${p}`) });
  return section;
}
