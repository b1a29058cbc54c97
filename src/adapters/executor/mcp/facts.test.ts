import { describe, expect, it } from 'vitest';
import { mcpInputSchema } from '../../../core/action.ts';
import { annotationFacts, deriveMcpFacts } from './facts.ts';

const input = (tool: string, args: Record<string, unknown> = {}) => mcpInputSchema.parse({ tool, arguments: args });

describe('MCP facts', () => {
  it('gives the tool, its annotations and the argument values; a read-only tool does not write', () => {
    const f = deriveMcpFacts('fs', input('read_file', { path: '/srv/a.txt' }), { annotations: { readOnlyHint: true, openWorldHint: false }, changed: false, hash: 'sha256:x' });
    expect(f).toMatchObject({
      kind: 'mcp',
      writes: false,
      mcp: {
        tool: 'read_file',
        arguments: { path: '/srv/a.txt' },
        toolChanged: false,
        annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      },
    });
    expect(f.sql.readOnly).toBe(false);
    expect(f.http.method).toBe('');
  });

  it('takes the MCP spec defaults for hints a tool leaves out: a write that may destroy, in an open world', () => {
    expect(annotationFacts(undefined)).toEqual({ readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true });
    expect(deriveMcpFacts('fs', input('mystery'), { changed: false, hash: 'sha256:x' }).writes).toBe(true);
  });

  it('keeps hints the tool gives, and calls no read-only tool destructive', () => {
    expect(annotationFacts({ destructiveHint: false, idempotentHint: true })).toEqual({ readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true });
    expect(annotationFacts({ readOnlyHint: true, destructiveHint: true }).destructiveHint).toBe(false);
  });

  it('says when the definition differs from its pin', () => {
    expect(deriveMcpFacts('fs', input('write_file'), { annotations: {}, changed: true, hash: 'sha256:x' }).mcp.toolChanged).toBe(true);
  });

  it('while a definition is unaccepted, takes the stricter of the pinned and the new hint, one by one', () => {
    const loosened = deriveMcpFacts('fs', input('write_file'), {
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
      pinnedAnnotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
      changed: true,
      hash: 'sha256:x',
    });
    expect(loosened.writes).toBe(true);
    expect(loosened.mcp.annotations).toEqual({ readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true });
    const tightened = deriveMcpFacts('fs', input('write_file'), { annotations: { destructiveHint: true }, pinnedAnnotations: { readOnlyHint: true }, changed: true, hash: 'sha256:x' });
    expect(tightened.mcp.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
  });

  it('refuses a tool the upstream does not offer', () => {
    expect(() => deriveMcpFacts('fs', input('rm_rf'), undefined)).toThrow(expect.objectContaining({ code: 'UNKNOWN_TOOL' }));
  });

  it('defaults arguments to {} and refuses other input shapes', () => {
    expect(mcpInputSchema.parse({ tool: 'x' })).toEqual({ tool: 'x', arguments: {} });
    expect(mcpInputSchema.safeParse({ tool: 'x', arguments: [1] }).success).toBe(false);
    expect(mcpInputSchema.safeParse({ tool: '', arguments: {} }).success).toBe(false);
    expect(mcpInputSchema.safeParse({ tool: 'x', extra: 1 }).success).toBe(false);
  });
});
