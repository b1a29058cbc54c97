/**
 * Countersign for the Claude Agent SDK (`@countersign/client/claude-agent-sdk`).
 *
 * Countersign runs an action once it is allowed or approved: an allowed
 * decision and the execution are one step, at the gateway, with credentials
 * the agent never holds. So the tools this module guards are in-process SDK MCP
 * tools whose body is a Countersign request (`countersignMcpServer`), and the
 * SDK's own approval hook, `canUseTool`, is answered by Countersign
 * (`countersignCanUseTool`): it submits the tool call and waits through a hold
 * for the human's decision; `allow` means the gateway has run it, and the
 * tool then hands the model that result (it does not submit again); `deny`
 * carries the refusal and the request id to the model.
 *
 * Nothing the agent's process answers can run an action: a tool reached
 * without the hook (`bypassPermissions`, `allowedTools`) submits itself and
 * waits for Countersign like any other. Tools that act by themselves (the
 * SDK's built-in Bash, Write, …) are not for this hook: an allow would run
 * them a second time, in the agent's process, with the agent's own access;
 * `countersignCanUseTool` answers only for the tools it is given by name
 * (`tools` is required) and denies every other unless given `otherwise`.
 */
import {
  createSdkMcpServer,
  tool,
  type AnyZodRawShape,
  type CanUseTool,
  type InferShape,
  type McpSdkServerConfigWithInstance,
  type PermissionResult,
} from '@anthropic-ai/claude-agent-sdk';
import { isActionOf, runOrWithdraw, TERMINAL, toolCallKey, type CountersignClient, type RequestView } from '../client.ts';

/** One guarded tool: what the model sees and the Countersign action its call becomes. */
export interface CountersignAgentTool<Schema extends AnyZodRawShape = AnyZodRawShape> {
  name: string;
  description: string;
  /** A zod raw shape (`{ amount: z.number() }`), as the SDK's `tool()` takes it. */
  schema: Schema;
  connection: string;
  /** The action's input (SQL, HTTP request, argv, MCP arguments) for the model's arguments. */
  toInput: (args: InferShape<Schema>) => unknown;
  /** The reason reviewers see; default: `<name> tool call from a Claude agent`. */
  reason?: (args: InferShape<Schema>) => string;
}

/**
 * Outcomes `canUseTool` has already obtained from Countersign, by the SDK's
 * tool use id, for the guarded tool to hand to the model instead of submitting again.
 */
export interface DecidedCalls {
  put(toolUseId: string, r: RequestView): void;
  take(toolUseId: string): RequestView | undefined;
}

export function createDecidedCalls(): DecidedCalls {
  const m = new Map<string, RequestView>();
  return {
    put: (id, r) => void m.set(id, r),
    take: (id) => {
      const r = m.get(id);
      m.delete(id);
      return r;
    },
  };
}

const DAY = 24 * 3600 * 1000;

/** What the model is told of a request that did not succeed: a refusal naming the request. */
export function refusalOf(r: RequestView): string {
  if (!TERMINAL.has(r.status)) return `Countersign request ${r.id} is still ${r.status}: no result yet. Do not retry; a human has not decided.`;
  const why = r.status === 'denied' ? (r.decision.message ?? r.reviews.find((v) => v.verdict === 'deny')?.comment ?? '') : (r.error?.message ?? '');
  return `Countersign refused or did not complete this action (request ${r.id}, ${r.status})${why ? `: ${why}` : ''}. Do not retry it unchanged.`;
}


const resultText = (r: RequestView) => (typeof r.result === 'string' ? r.result : JSON.stringify(r.result));

const toolUseIdOf = (extra: unknown): string | undefined => {
  const id = (extra as { _meta?: Record<string, unknown> } | undefined)?._meta?.['claudecode/toolUseId'];
  return typeof id === 'string' ? id : undefined;
};

/**
 * An in-process MCP server (`options.mcpServers`) whose tools run through
 * Countersign: a call whose outcome `canUseTool` already has is answered with
 * it; any other submits and waits (up to `timeoutMs`).
 *
 * @example
 * const server = countersignMcpServer(cs, { name: 'billing', tools: [{ name: 'refund', description: 'Refund an order',
 *   schema: { order: z.string() }, connection: 'billing-api', toInput: (a) => ({ method: 'POST', path: `/refunds/${a.order}` }) }] });
 */
export function countersignMcpServer(
  client: CountersignClient,
  o: { name: string; version?: string; tools: CountersignAgentTool<never>[]; decided?: DecidedCalls; timeoutMs?: number },
): McpSdkServerConfigWithInstance {
  const tools = (o.tools as unknown as CountersignAgentTool[]).map((t) =>
    tool(t.name, t.description, t.schema, async (args, extra) => {
      const input = t.toInput(args);
      const useId = toolUseIdOf(extra);
      const known = useId ? o.decided?.take(useId) : undefined;
      // Decided already: the gateway ran it. Never submit a second time, even if the arguments changed on the way.
      if (known && !isActionOf(known, t.connection, input)) {
        return { content: [{ type: 'text' as const, text: `Countersign request ${known.id} was for other arguments than this call; nothing ran for this call.` }], isError: true };
      }
      const action = { connection: t.connection, input, reason: t.reason?.(args) ?? `${t.name} tool call from a Claude agent` };
      // Under the tool use's key (the one `canUseTool` used too): a call tried again after its answer was lost finds its request.
      const r = known ?? (await runOrWithdraw(client, action, { timeoutMs: o.timeoutMs ?? DAY, ...(useId ? { idempotencyKey: await toolCallKey('claude-agent-sdk', null, useId, action) } : {}) }));
      return r.status === 'succeeded' ? { content: [{ type: 'text' as const, text: resultText(r) }] } : { content: [{ type: 'text' as const, text: refusalOf(r) }], isError: true };
    }),
  );
  return createSdkMcpServer({ name: o.name, version: o.version ?? '1.0.0', tools });
}

export interface CountersignCanUseToolOptions {
  /** The connection of a guarded tool's action (one for all, or by the SDK's tool name). */
  connection: string | ((toolName: string) => string);
  /** The action's input for a guarded tool call. */
  toInput: (toolName: string, input: Record<string, unknown>) => unknown;
  /**
   * The SDK tool names this hook answers (`mcp__<server>__<tool>`): the guarded
   * MCP tools, and only them. Required: an `allow` for any other tool (the CLI's
   * Bash, Write, another MCP server's tool) would let the SDK run it itself, in
   * the agent's process, after the gateway ran whatever `toInput` made of it.
   */
  tools: readonly string[];
  reason?: (toolName: string, input: Record<string, unknown>) => string;
  /** Where a succeeded outcome is left for the tool to hand to the model (see countersignMcpServer). */
  decided?: DecidedCalls;
  /** How long to wait through a hold; then the call is denied as still pending. Default: a day. */
  timeoutMs?: number;
  /** The answer for a tool this hook does not guard; default: deny. */
  otherwise?: CanUseTool;
}

/**
 * A `canUseTool` answered by Countersign: the call is submitted, a hold waits
 * for the human's decision, and the outcome decides: succeeded → `allow`
 * (the gateway has run it), anything else → `deny` with the refusal and the
 * request id.
 *
 * @example
 * query({ prompt, options: { mcpServers: { billing: server }, canUseTool: countersignCanUseTool(cs, {
 *   tools: ['mcp__billing__refund'], connection: 'billing-api', toInput: (_, a) => ({ method: 'POST', path: `/refunds/${a.order}` }), decided }) } });
 */
export function countersignCanUseTool(client: CountersignClient, o: CountersignCanUseToolOptions): CanUseTool {
  if (!Array.isArray(o.tools)) throw new TypeError('countersignCanUseTool: give `tools`, the names of the guarded MCP tools it answers for (mcp__<server>__<tool>)');
  const guarded = new Set(o.tools);
  return async (toolName, input, options): Promise<PermissionResult | null> => {
    if (!guarded.has(toolName)) {
      return o.otherwise ? o.otherwise(toolName, input, options) : { behavior: 'deny', message: `${toolName} is not a Countersign-guarded tool here.` };
    }
    const connection = typeof o.connection === 'string' ? o.connection : o.connection(toolName);
    const action = { connection, input: o.toInput(toolName, input), reason: o.reason?.(toolName, input) ?? `${toolName} tool call from a Claude agent` };
    // Under the tool use's key: asked again after the submission's answer was lost, it finds the request it made.
    const key = typeof options.toolUseID === 'string' && options.toolUseID ? { idempotencyKey: await toolCallKey('claude-agent-sdk', null, options.toolUseID, action) } : {};
    const r = await runOrWithdraw(client, action, { timeoutMs: o.timeoutMs ?? DAY, signal: options.signal, ...key });
    if (r.status !== 'succeeded') return { behavior: 'deny', message: refusalOf(r) };
    o.decided?.put(options.toolUseID, r);
    return { behavior: 'allow', updatedInput: input };
  };
}

/**
 * Both halves wired together: the MCP server to pass as `mcpServers` and the
 * `canUseTool` that answers for its tools (and denies any other tool unless
 * `otherwise` says).
 *
 * @example
 * const guard = countersignAgentTools(cs, { name: 'billing', tools: [refund] });
 * for await (const m of query({ prompt, options: { mcpServers: guard.mcpServers, canUseTool: guard.canUseTool, tools: [] } })) …
 */
export function countersignAgentTools(
  client: CountersignClient,
  o: { name: string; tools: CountersignAgentTool<never>[]; timeoutMs?: number; otherwise?: CanUseTool },
) {
  const decided = createDecidedCalls();
  const specs = o.tools as unknown as CountersignAgentTool[];
  const byName = new Map(specs.map((t) => [`mcp__${o.name}__${t.name}`, t]));
  const spec = (toolName: string) => byName.get(toolName)!;
  const server = countersignMcpServer(client, { name: o.name, tools: o.tools, decided, ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}) });
  const canUseTool = countersignCanUseTool(client, {
    tools: [...byName.keys()],
    connection: (n) => spec(n).connection,
    toInput: (n, input) => spec(n).toInput(input as never),
    reason: (n, input) => spec(n).reason?.(input as never) ?? `${spec(n).name} tool call from a Claude agent`,
    decided,
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.otherwise ? { otherwise: o.otherwise } : {}),
  });
  return { mcpServers: { [o.name]: server }, canUseTool, toolNames: [...byName.keys()] };
}
