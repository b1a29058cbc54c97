/**
 * The compiled CLI loads only the command it runs: `--help` and `--version` load
 * no command module, and `keys create` loads its own but not the gateway's; in
 * dist/ as tsc compiles it, and in the bundle (dist/bundle/) that
 * `bin/countersign.js` runs, where each command is a file of its own named after
 * it and what commands share sits in `chunk-*.js` files. Which
 * modules a run loaded is read from a module resolve hook that records every
 * compiled module it resolves (the hook runs on node's loader thread, so it
 * appends to a file).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = resolve('bin/countersign.js');
const DIST = pathToFileURL(resolve('dist')).href;
const dir = mkdtempSync(join(tmpdir(), 'cs-cli-startup-'));
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

writeFileSync(
  join(dir, 'hooks.mjs'),
  `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.startsWith(${JSON.stringify(`${DIST}/`)})) appendFileSync(process.env.LOADED_LOG, r.url.slice(${DIST.length + 1}) + '\\n');
  return r;
}
`,
);
writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

let runs = 0;
function cli(args: string[], entry = resolve('dist/cli/index.js')) {
  const log = join(dir, `loaded-${++runs}.txt`);
  writeFileSync(log, '');
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, entry, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, LOADED_LOG: log }, timeout: 60_000 });
  const loaded = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return { ...r, loaded };
}

const COMMANDS = /^cli\/(start|audit|audit-proof|evidence|store|mcp|demo|keys|login|slack|policy-test|config-check|requests)\.js$/;

describe('countersign, compiled (dist/ as tsc writes it)', () => {
  it('--version prints the package version and loads no command', () => {
    const r = cli(['--version']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(version);
    expect(r.loaded).toContain('cli/index.js');
    expect(r.loaded.filter((m) => COMMANDS.test(m))).toEqual([]);
    expect(r.loaded.filter((m) => /^(main|adapters\/|service\/)/.test(m))).toEqual([]);
  });

  it('--help lists the commands and loads none of them', () => {
    const r = cli(['--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\s+start \[options\]\s+run the gateway$/m);
    expect(r.stdout).toMatch(/-V, --version\s+print the version/);
    expect(r.loaded.filter((m) => COMMANDS.test(m))).toEqual([]);
    expect(r.loaded.filter((m) => /^(main|adapters\/|service\/)/.test(m))).toEqual([]);
  });

  it('keys create loads its own module, not the gateway', () => {
    const r = cli(['keys', 'create', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveProperty('key');
    expect(r.loaded).toContain('cli/keys.js');
    expect(r.loaded.filter((m) => COMMANDS.test(m))).toEqual(['cli/keys.js']);
    expect(r.loaded).not.toContain('main.js');
  });
});

/** A file of the bundle other than the shared chunks: an entry point, or a lazily loaded module named after its source. */
const named = (loaded: string[]) => [...new Set(loaded.filter((m) => !/^bundle\/chunk-[A-Z0-9]+\.js$/.test(m)))];

describe('countersign, bundled (what bin/countersign.js runs)', () => {
  it('--version runs from the bundle and loads no command', () => {
    const r = cli(['--version'], BIN);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(version);
    expect(named(r.loaded)).toEqual(['bundle/cli.js']);
  });

  it('keys create loads its own module, not the gateway', () => {
    const r = cli(['keys', 'create', '--json'], BIN);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveProperty('key');
    expect(named(r.loaded)).toEqual(['bundle/cli.js', expect.stringMatching(/^bundle\/keys-[A-Z0-9]+\.js$/)]);
  });
});
