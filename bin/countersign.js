#!/usr/bin/env node
// Entry point of the `countersign` CLI: the compiled JavaScript in dist/, which
// `npm run build` makes (and `npm install` runs it, through `prepare`). The build
// bundles it into dist/bundle/ when esbuild is installed (it loads in about half
// the time); without the bundle, the CLI runs from dist/cli/ as compiled.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/bundle/cli.js', import.meta.url);
const entry = existsSync(bundle) ? bundle : new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('countersign: dist/ is missing: run npm run build (npm install runs it too)\n');
  process.exit(2);
}
await import(entry.href);
