#!/usr/bin/env node
// Entry point of the `countersign` CLI: the compiled JavaScript in dist/, which
// `npm run build` makes (and `npm install` runs it, through `prepare`). The build
// bundles it into dist/bundle/ when esbuild is installed (it loads in about half
// the time); without the bundle, the CLI runs from dist/cli/ as compiled.
import { existsSync } from 'node:fs';
import v8 from 'node:v8';

// `start` sizes the young generation of the process that serves from its config (server.heap, src/cli/heap.ts), which
// it reads only once the CLI's modules are loaded: loading them grows the young generation from V8's initial 1 MB to
// 8 MB (16 MB from dist/cli/), past a smaller setting, and V8 does not shrink it back. So it does not grow until the
// config says how far it may. A process started with --max-semi-space-size (a cluster worker) has its size from V8.
if (process.argv[2] === 'start' && !process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) v8.setFlagsFromString('--semi-space-growth-factor=1');

const bundle = new URL('../dist/bundle/cli.js', import.meta.url);
const entry = existsSync(bundle) ? bundle : new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('countersign: dist/ is missing: run npm run build (npm install runs it too)\n');
  process.exit(2);
}
await import(entry.href);
