/**
 * Which config a store-reading command uses: --config if given, else
 * ./countersign.yaml, else the demo's (.countersign/demo/demo.yaml) when a demo ran here.
 * The demo keeps everything in its own directory (config, store, audit keys),
 * apart from ./.countersign/, where a config of one's own keeps its state by default.
 */
import { existsSync } from 'node:fs';
import { CountersignError } from '../core/errors.ts';

export const DEFAULT_CONFIG = './countersign.yaml';
export const DEMO_DIR = './.countersign/demo';
export const DEMO_CONFIG = `${DEMO_DIR}/demo.yaml`;

export function resolveConfigPath(given: string | undefined): string {
  if (given) return given;
  if (existsSync(DEFAULT_CONFIG)) return DEFAULT_CONFIG;
  if (existsSync(DEMO_CONFIG)) return DEMO_CONFIG;
  throw new CountersignError('CONFIG_INVALID', `${DEFAULT_CONFIG}: file not found (give one with --config, or run \`npm start\` for the demo)`);
}
