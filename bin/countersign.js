#!/usr/bin/env node
// Entry point of the `countersign` CLI: the compiled JavaScript in dist/, which
// `npm run build` makes (and `npm install` runs it, through `prepare`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('countersign: dist/ is missing: run npm run build (npm install runs it too)\n');
  process.exit(2);
}
await import(entry.href);
