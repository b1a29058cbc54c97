#!/usr/bin/env node
// Compiles src/ to dist/ (`npm run build`): the gateway and CLI (tsconfig.build.json), the
// `countersign/client` export with its types and its framework adapters (`countersign/client/ai-sdk`, …;
// clients/typescript/tsconfig.json, shared with @countersign/client), and every file of src/
// that is not TypeScript (console assets, the leaf-hashing worker), which the code reads
// beside its own module at run time.
//
//   --no-check  emit without type checking (the tests' build: `npm test` type-checks on its own)
//   --if-stale  do nothing when dist/ was built from the sources as they are now
//   --prepare   what `npm install` runs: build, unless TypeScript is absent (`npm ci --omit=dev`),
//               in which case dist/ must already be there; nothing when src/ is not
//               there yet (a dependencies-only install, as the image's first layer)
//
// The CLI then runs from dist/bundle/ (bundleCli below): one esbuild bundle of dist/cli/index.js with
// its npm dependencies, which a process loads in about half the CPU time of the module graph in
// dist/. Without esbuild (a dev dependency) there is no bundle, and bin/countersign.js runs dist/.
//
// The new tree is built beside dist/ and then swapped in, so a CLI started meanwhile
// never sees half a build.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const STAMP = '.sources-sha256';
const args = new Set(process.argv.slice(2));

function tscPath() {
  try {
    return createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    return undefined;
  }
}

function sourceFiles(dir = join(ROOT, 'src')) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [] : [join(dir, e.name)]))
    .sort();
}

/** What dist/ is built from: the sources, the compiler settings and this script. */
function fingerprint() {
  const h = createHash('sha256');
  const files = [...sourceFiles(), ...['tsconfig.json', 'tsconfig.build.json', 'clients/typescript/tsconfig.json', 'bin/build.js'].map((f) => join(ROOT, f))];
  for (const f of files) h.update(`${relative(ROOT, f)}\0`).update(readFileSync(f)).update('\0');
  h.update(`esbuild ${esbuildPath() ? 'yes' : 'no'}`);
  return h.digest('hex');
}

function esbuildPath() {
  try {
    return createRequire(join(ROOT, 'package.json')).resolve('esbuild');
  } catch {
    return undefined;
  }
}

/**
 * Bundles the compiled CLI in `dist` into `dist`/bundle/, code split so that each command's dynamic import()
 * stays a file of its own, loaded only when that command runs (`--help` and `--version` load none).
 * Packages with a native addon or WASM file are left to node_modules (they find their files beside their
 * own modules). The files the code opens beside its own module at run time sit beside the bundle's too:
 * the SQL analysis worker with the three modules it imports, the leaf-hashing worker (entry points of their
 * own) and the console assets (copied); ../../package.json is the same file from dist/bundle/ as from dist/cli/.
 */
async function bundleCli(esbuild, dist) {
  const { build } = await import(pathToFileURL(esbuild).href);
  const sql = join(dist, 'adapters', 'executor', 'sql');
  const out = join(dist, 'bundle');
  const { metafile } = await build({
    entryPoints: {
      cli: join(dist, 'cli', 'index.js'),
      'analysis-worker': join(sql, 'analysis-worker.js'),
      facts: join(sql, 'facts.js'),
      'copy-in': join(sql, 'copy-in.js'),
      mask: join(sql, 'mask.js'),
      'leaf-worker': join(dist, 'adapters', 'verify', 'leaf-worker.js'),
      // The gateway without the CLI, for the tests' gateway processes (test/support/gateway-child.js).
      main: join(dist, 'main.js'),
      'config-load': join(dist, 'config', 'load.js'),
    },
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // tsx: the analysis worker imports it only when run from src/ (a dev dependency, not for the bundle).
    external: ['better-sqlite3', 'libpg-query', 'pg-native', '@marcbachmann/cel-js', 'tsx'],
    // The CommonJS packages bundled here call require() for Node's own modules and for the packages left outside.
    banner: { js: "import{createRequire as __cr}from'module';const require=__cr(import.meta.url);" },
    logLevel: 'warning',
    metafile: true,
  });
  // An import() of a CommonJS module gets only its default export from the bundle, where Node gives its named
  // exports too: our code lazy-loads such a package through a module of its own (slack/web-api.ts).
  for (const [file, input] of Object.entries(metafile.inputs)) {
    if (file.includes('node_modules/')) continue;
    for (const i of input.imports) {
      if (i.kind === 'dynamic-import' && metafile.inputs[i.path]?.format === 'cjs') throw new Error(`${file}: import() of the CommonJS module ${i.original ?? i.path} gives only its default export in the bundle: import it statically in a module of ours and import() that`);
    }
  }
  cpSync(join(dist, 'surfaces', 'http', 'console', 'assets'), join(out, 'assets'), { recursive: true });
}

function tsc(tsc, project, outDir, check) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', join(ROOT, project), '--outDir', outDir, ...(check ? [] : ['--noCheck'])], { cwd: ROOT, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tsc -p ${project} failed (exit ${code})`))));
  });
}

const tscBin = tscPath();
if (args.has('--prepare') && !tscBin) {
  if (existsSync(join(DIST, 'cli', 'index.js'))) process.exit(0);
  process.stderr.write('countersign: dist/ is missing and TypeScript is not installed to build it: install with dev dependencies (npm ci) and run npm run build\n');
  process.exit(1);
}
// A dependencies-only install (the image's first layer) has no sources yet: nothing to build.
if (args.has('--prepare') && !existsSync(join(ROOT, 'src'))) process.exit(0);
if (!tscBin) {
  process.stderr.write('countersign: TypeScript is not installed: npm ci (with dev dependencies) first\n');
  process.exit(1);
}

const sum = fingerprint();
const stamp = join(DIST, STAMP);
if (args.has('--if-stale') && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === sum) process.exit(0);

const next = join(ROOT, `.dist-${process.pid}`);
rmSync(next, { recursive: true, force: true });
try {
  const check = !args.has('--no-check');
  await Promise.all([tsc(tscBin, 'tsconfig.build.json', next, check), tsc(tscBin, 'clients/typescript/tsconfig.json', join(next, 'client'), check)]);
  for (const file of sourceFiles()) {
    if (file.endsWith('.ts')) continue;
    const to = join(next, relative(join(ROOT, 'src'), file));
    cpSync(file, to);
  }
  const esbuild = esbuildPath();
  if (esbuild) await bundleCli(esbuild, next);
  else process.stderr.write('countersign: esbuild is not installed: the CLI runs from dist/ without a bundle\n');
  writeFileSync(join(next, STAMP), `${sum}\n`);
  const old = join(ROOT, `.dist-old-${process.pid}`);
  if (existsSync(DIST)) renameSync(DIST, old);
  renameSync(next, DIST);
  rmSync(old, { recursive: true, force: true });
} catch (e) {
  rmSync(next, { recursive: true, force: true });
  process.stderr.write(`countersign: build failed: ${e.message}\n`);
  process.exit(1);
}
