/**
 * The direction of imports is the architecture (docs: DESIGN.md, "Layout"):
 * core imports nothing outside core and no I/O; service imports neither
 * adapters, surfaces, cli, config nor the composition root.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const CORE = join(SRC, 'core');
const SERVICE = join(SRC, 'service');

/** Pure libraries (and node:crypto) the core may use: no I/O, no project layers. */
const CORE_ALLOWED_PACKAGES = new Set(['zod', 'canonicalize', '@marcbachmann/cel-js', 're2js', 'node:crypto']);

const NODE_IO_MODULES = new Set(
  ['fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'child_process', 'dgram', 'tls', 'dns', 'worker_threads', 'cluster'].flatMap(
    (m) => [m, `node:${m}`],
  ),
);

/**
 * The SDK client is published on its own (@countersign/client): client.ts imports nothing,
 * and each framework adapter under adapters/ imports the client and its own framework (an
 * optional peer dependency of the package) and nothing else.
 */
const SDK = join(SRC, 'surfaces', 'sdk');
const SDK_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  'client.ts': [],
  'views.ts': [],
  'adapters/ai-sdk.ts': ['ai'],
  'adapters/openai-agents.ts': ['@openai/agents'],
  'adapters/langchain.ts': ['@langchain/core', '@langchain/langgraph'],
  'adapters/claude-agent-sdk.ts': ['@anthropic-ai/claude-agent-sdk'],
};
/** The package a bare specifier names: `@langchain/core/tools` is `@langchain/core`. */
const packageOf = (spec: string) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

const SERVICE_FORBIDDEN = ['adapters', 'surfaces', 'cli', 'config'].map((d) => join(SRC, d)).concat(join(SRC, 'main.ts'));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, static or dynamic, type-only included. */
function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((p) => [...code.matchAll(p)].map((m) => m[1] as string));
}

const isRelative = (spec: string) => spec.startsWith('.') || spec.startsWith('/');
const within = (path: string, dir: string) => path === dir || path.startsWith(dir + sep);
const rel = (path: string) => relative(ROOT, path);

/** Why the core may not import `spec` from `file`, or null when it may. */
function coreViolation(file: string, spec: string): string | null {
  if (isRelative(spec)) {
    const target = resolve(dirname(file), spec);
    return within(target, CORE) ? null : `reaches outside src/core (${rel(target)})`;
  }
  if (NODE_IO_MODULES.has(spec)) return 'is a node I/O module';
  if (CORE_ALLOWED_PACKAGES.has(spec)) return null;
  return 'is not on the core allow-list (zod, canonicalize, @marcbachmann/cel-js, re2js, node:crypto)';
}

/** Why the service may not import `spec` from `file`, or null when it may. */
function serviceViolation(file: string, spec: string): string | null {
  const target = isRelative(spec) ? resolve(dirname(file), spec) : join(ROOT, spec);
  const hit = SERVICE_FORBIDDEN.find((dir) => within(target, dir) || target === dir.replace(/\.ts$/, ''));
  return hit ? `imports ${rel(hit)}` : null;
}

/** Why an SDK file may not import `spec`, or null when it may. */
function sdkViolation(file: string, spec: string): string | null {
  const name = relative(SDK, file).split(sep).join('/');
  const allowed = SDK_PACKAGES[name];
  if (!allowed) return 'is in a file of src/surfaces/sdk that SDK_PACKAGES does not list';
  if (isRelative(spec)) {
    const target = resolve(dirname(file), spec);
    // The client reads its answers' shapes from views.ts (types only), which imports nothing; an adapter, the client.
    if (name === 'client.ts') return target === join(SDK, 'views.ts') ? null : 'is not the views (./views.ts)';
    return target === join(SDK, 'client.ts') && name !== 'views.ts' ? null : 'is not the client (../client.ts)';
  }
  return allowed.includes(packageOf(spec)) ? null : `is not ${allowed.length ? allowed.join(', ') : 'allowed: the client imports nothing'}`;
}

function violations(dir: string, check: (file: string, spec: string) => string | null): string[] {
  return sourceFiles(dir).flatMap((file) =>
    importsOf(readFileSync(file, 'utf8')).flatMap((spec) => {
      const why = check(file, spec);
      return why ? [`${rel(file)}: import '${spec}' ${why}`] : [];
    }),
  );
}

describe('architecture', () => {
  it('finds the imports it must check, multi-line and type-only ones included', () => {
    const sample = [
      "import { a,\n  b } from './a.ts';",
      "import type { T } from '../adapters/x.ts';",
      "export { c } from 'node:fs';",
      "import 'side-effect';",
      "const m = await import('node:net');",
      "// import { ignored } from 'commented-out';",
    ].join('\n');
    expect(importsOf(sample)).toEqual(['./a.ts', '../adapters/x.ts', 'node:fs', 'side-effect', 'node:net']);
  });

  it('tells a core file that reaches out from one that does not', () => {
    const file = join(CORE, 'policy', 'x.ts');
    expect(coreViolation(file, '../digest.ts')).toBeNull();
    expect(coreViolation(file, '../../service/submit.ts')).toMatch(/outside src\/core/);
    expect(coreViolation(file, 'node:fs')).toMatch(/I\/O/);
    expect(coreViolation(file, 'pg')).toMatch(/allow-list/);
    expect(serviceViolation(join(SERVICE, 'x.ts'), '../adapters/store/sqlite/store.ts')).toMatch(/src\/adapters/);
    expect(serviceViolation(join(SERVICE, 'x.ts'), '../main.ts')).toMatch(/main\.ts/);
    expect(serviceViolation(join(SERVICE, 'x.ts'), '../core/errors.ts')).toBeNull();
    const adapter = join(SDK, 'adapters', 'ai-sdk.ts');
    expect(sdkViolation(adapter, '../client.ts')).toBeNull();
    expect(sdkViolation(adapter, 'ai')).toBeNull();
    expect(sdkViolation(adapter, '@openai/agents')).toMatch(/is not ai/);
    expect(sdkViolation(join(SDK, 'adapters', 'langchain.ts'), '@langchain/core/tools')).toBeNull();
    expect(sdkViolation(join(SDK, 'adapters', 'langchain.ts'), '@anthropic-ai/claude-agent-sdk')).toMatch(/is not @langchain/);
    expect(sdkViolation(adapter, '../../http/app.ts')).toMatch(/not the client/);
    expect(sdkViolation(join(SDK, 'client.ts'), 'node:fs')).toMatch(/imports nothing/);
    expect(sdkViolation(join(SDK, 'adapters', 'new.ts'), '../client.ts')).toMatch(/SDK_PACKAGES/);
  });

  it('has a core that imports only core, pure libraries and node:crypto', () => {
    expect(sourceFiles(CORE).length).toBeGreaterThan(5);
    expect(violations(CORE, coreViolation)).toEqual([]);
  });

  it('has a service layer that imports no adapter, surface, cli, config or main.ts', () => {
    expect(sourceFiles(SERVICE).length).toBeGreaterThan(3);
    expect(violations(SERVICE, serviceViolation)).toEqual([]);
  });

  it('has an SDK whose client imports only its views, which import nothing, and whose adapters import only the client and their framework', () => {
    expect(sourceFiles(SDK).map((f) => relative(SDK, f).split(sep).join('/')).sort()).toEqual(Object.keys(SDK_PACKAGES).sort());
    expect(violations(SDK, sdkViolation)).toEqual([]);
  });
});

