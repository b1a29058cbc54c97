/**
 * Rules the gateway adds to the configured policy, derived from connection
 * settings. They are ordinary rules (compiled, hashed and shown in decisions
 * like the others), so the one policy evaluation stays the only place where
 * allow, deny and approve are decided.
 */
import type { RuleSpec } from '../core/policy/spec.ts';
import type { Config } from './schema.ts';

/** The id of the rule that holds (or denies) calls of a changed tool on one connection. */
export function toolChangedRuleId(connection: string): string {
  return `mcp-tool-changed:${connection}`;
}

/**
 * @example
 * builtinRules(config); // [{ id: 'mcp-tool-changed:fs', when: 'action.connection == "fs" && facts.mcp.toolChanged', effect: 'approve', … }]
 */
export function builtinRules(config: Config): RuleSpec[] {
  return config.connections.flatMap((c): RuleSpec[] => {
    if (c.kind !== 'mcp' || c.pinning.onChange === 'allow') return [];
    const accept = `one of the connection's pinning.acceptors must accept the new definition (countersign mcp accept ${c.name} <tool>)`;
    return [
      {
        id: toolChangedRuleId(c.name),
        // The name is a connection name (lower-case letters, digits, - and _): safe inside a CEL string.
        when: `action.connection == "${c.name}" && facts.mcp.toolChanged`,
        effect: c.pinning.onChange,
        ...(c.pinning.onChange === 'approve' ? { approvers: c.pinning.approvers ?? [{ count: 1 }] } : {}),
        message:
          c.pinning.onChange === 'approve'
            ? `the definition of this tool changed since it was pinned: each call needs a human's approval until ${accept}`
            : `the definition of this tool changed since it was pinned: calls are refused until ${accept}`,
      },
    ];
  });
}
