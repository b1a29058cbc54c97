/** `countersign config check`: validate a config and compile its policy without starting anything. */
import { loadConfig } from '../config/load.ts';
import { compileConfiguredPolicy, compileSection } from '../main-policy.ts';
import type { CliIo } from './io.ts';

export function configCheckCommand(path: string, io: CliIo): number {
  const config = loadConfig(path, io.env);
  const policy = compileConfiguredPolicy(config);
  const c = config.candidatePolicy;
  const candidate = c ? `; candidate ${c.file}: ${c.section.rules.length} rules (default ${c.section.default}), policy ${compileSection(config, c.section).hash}` : '';
  io.stdout.write(
    `${path}: OK — ${config.principals.length} principals, ${config.connections.length} connections, ${config.policy.rules.length} rules (default ${config.policy.default}), policy ${policy.hash}${candidate}\n`,
  );
  return 0;
}
