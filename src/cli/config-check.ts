/** `countersign config check`: validate a config and compile its policy without starting anything. */
import { loadConfig } from '../config/load.ts';
import { compileConfiguredPolicy } from '../main.ts';

export function configCheckCommand(path: string): number {
  const config = loadConfig(path);
  const policy = compileConfiguredPolicy(config);
  process.stdout.write(
    `${path}: OK — ${config.principals.length} principals, ${config.connections.length} connections, ${config.policy.rules.length} rules (default ${config.policy.default}), policy ${policy.hash}\n`,
  );
  return 0;
}
