/**
 * A config file's identity: its real absolute path, so `countersign.yaml`,
 * `./countersign.yaml`, an absolute path and a symlink to it are one config.
 * Stores and key directories remember the identity of the config that made
 * them (service/store-owner.ts).
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * @example
 * configIdentity('countersign.yaml'); // '/srv/countersign/countersign.yaml'
 */
export function configIdentity(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return resolve(file); // a file gone since: its path as written, made absolute
  }
}
