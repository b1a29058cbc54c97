/**
 * Vitest setup file of the end-to-end projects: after each test file, the
 * databases its gateways ran on are dropped, also one a test forgot to release.
 */
import { afterAll } from 'vitest';
import { releaseAllTestStores } from './test-store.ts';

afterAll(releaseAllTestStores);
