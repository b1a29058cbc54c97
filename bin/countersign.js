#!/usr/bin/env node
// Entry point of the `countersign` CLI. The sources are TypeScript; tsx's loader
// runs them directly so there is no build step between a clone and a running gateway.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/index.ts');
