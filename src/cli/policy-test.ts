/**
 * `countersign policy test <cases.yaml>`: table tests for the policy. Each case
 * names a principal and an action and the expected effect (and, optionally,
 * the exact rules that must match). Nothing is stored or run, and no upstream
 * is started: a case on an `mcp` connection says what the tool's listing
 * would (its annotations, whether its definition changed since it was pinned).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { loadConfig } from '../config/load.ts';
import { CountersignError } from '../core/errors.ts';
import type { McpInput } from '../core/action.ts';
import type { Connections } from '../core/ports.ts';
import { deriveMcpFacts } from '../adapters/executor/mcp/facts.ts';
import { createPolicyDeps } from '../main-policy.ts';
import { simulate } from '../service/simulate.ts';
import { safe } from './output.ts';
import type { CliIo } from './io.ts';

const caseSchema = z.strictObject({
  name: z.string().min(1),
  principal: z.string().min(1),
  connection: z.string().min(1),
  input: z.unknown(),
  reason: z.string().optional(),
  tool: z
    .strictObject({
      annotations: z
        .strictObject({ readOnlyHint: z.boolean(), destructiveHint: z.boolean(), idempotentHint: z.boolean(), openWorldHint: z.boolean() })
        .partial()
        .default({}),
      changed: z.boolean().default(false),
    })
    .optional(),
  expect: z.strictObject({
    effect: z.enum(['allow', 'deny', 'approve']),
    rules: z.array(z.string()).optional(),
  }),
});
const fileSchema = z.union([z.strictObject({ cases: z.array(caseSchema).min(1) }), z.array(caseSchema).min(1).transform((cases) => ({ cases }))]);

type Case = z.infer<typeof caseSchema>;

/** The connections as a case sees them: an mcp connection's tool is the one the case describes, not a listing. */
function connectionsFor(c: Case, connections: Connections): Connections {
  const handle = connections.get(c.connection);
  if (handle?.info.kind !== 'mcp') {
    if (c.tool) throw new CountersignError('INVALID_REQUEST', `tool: only for cases on mcp connections (${c.connection} is ${handle?.info.kind ?? 'not configured'})`);
    return connections;
  }
  const tool = c.tool;
  if (!tool) throw new CountersignError('INVALID_REQUEST', `a case on mcp connection ${c.connection} needs tool: { annotations: {…} } (policy test starts no upstream)`);
  const facts = (input: unknown) => deriveMcpFacts(c.connection, input as McpInput, { annotations: tool.annotations, changed: tool.changed, hash: 'sha256:(policy test)' });
  return { list: () => connections.list(), get: (name) => (name === c.connection ? { ...handle, facts } : connections.get(name)) };
}

export async function policyTestCommand(casesFile: string, configPath: string, io: CliIo): Promise<number> {
  const config = loadConfig(configPath, io.env);
  const deps = await createPolicyDeps(config);
  const parsed = fileSchema.safeParse(parse(readFileSync(casesFile, 'utf8')));
  if (!parsed.success) {
    throw new CountersignError('INVALID_REQUEST', `${casesFile}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  }
  let passed = 0;
  let failed = 0;
  for (const c of parsed.data.cases) {
    let problem: string | null = null;
    let got = '';
    try {
      const s = simulate({ ...deps, connections: connectionsFor(c, deps.connections) }, { caller: { id: '(policy test)', kind: 'human', actsFor: null, groups: [], email: null }, as: c.principal, connection: c.connection, input: c.input, ...(c.reason ? { reason: c.reason } : {}) });
      got = `${s.decision.effect} [${s.decision.rules.join(', ')}]`;
      if (s.decision.effect !== c.expect.effect) problem = `expected ${c.expect.effect}, got ${got}`;
      else if (c.expect.rules && c.expect.rules.join('\u0000') !== s.decision.rules.join('\u0000')) problem = `expected rules [${c.expect.rules.join(', ')}], got [${s.decision.rules.join(', ')}]`;
      if (s.decision.errors.length) problem = `${problem ? `${problem}; ` : ''}rule errors: ${s.decision.errors.map((e) => `${e.rule}: ${e.message}`).join('; ')}`;
    } catch (e) {
      problem = e instanceof CountersignError ? `${e.code}: ${e.message}` : String(e);
    }
    if (problem) {
      failed++;
      io.stdout.write(safe(`✗ ${c.name}\n    ${problem}\n`));
    } else {
      passed++;
      io.stdout.write(safe(`✓ ${c.name} → ${got}\n`));
    }
  }
  io.stdout.write(`\npolicy: ${passed} passed, ${failed} failed\n`);
  return failed ? 1 : 0;
}
