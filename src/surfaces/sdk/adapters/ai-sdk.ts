/**
 * Countersign for the Vercel AI SDK (`ai` 7): `@countersign/client/ai-sdk`.
 *
 * `countersignTools` turns a tool set into one whose every call is an action
 * submitted to Countersign, and gives the `toolApproval` hook that answers the
 * SDK's approval question with Countersign's decision: allowed → approved (the
 * gateway has run it), held → the hook waits on the request until a human
 * decides in Countersign, denied / expired / cancelled → denied, with a reason
 * the model sees. The gateway, never the agent's process, runs the action,
 * with credentials the agent does not hold.
 *
 * Nothing the agent's process answers can make a held action run: a tool's
 * `execute` goes through Countersign as well, so a `toolApproval` that says
 * "approved" itself (or none at all) only makes it wait for the human.
 */
import type { Tool, ToolApprovalStatus, ToolExecutionOptions, ToolSet } from 'ai';
import { refusalOf, TERMINAL, toolCallKey, withdrawOrOutcome, type CountersignClient, type RequestView } from '../client.ts';

export interface CountersignToolsOptions<TOOLS extends ToolSet> {
  /** The tools the model may call: their descriptions and input schemas. Their own `execute`, if any, is never called. */
  tools: TOOLS;
  /** The Countersign connection each tool acts on: one for all, or one per tool name. */
  connection: string | { readonly [K in keyof TOOLS]: string };
  /** The action's input from the tool's arguments (default: the arguments as they are, e.g. `{ sql }` for a SQL connection). */
  toInput?: (toolName: keyof TOOLS & string, args: unknown) => unknown;
  /** The reason shown to reviewers (default: the tool's name and the tool call's id). */
  reason?: (toolName: keyof TOOLS & string, args: unknown, toolCallId: string) => string;
  /** How long a call waits for a human's decision before its request is cancelled and the call refused (default: 24 hours). */
  timeoutMs?: number;
}

/** What the `toolApproval` hook is called with (the part of the SDK's argument this adapter reads). */
export interface ToolApprovalCall {
  toolCall: { toolName: string; toolCallId: string; input: unknown };
}

export interface CountersignTools<TOOLS extends ToolSet> {
  /** The tool set to give `generateText` / `streamText` / `ToolLoopAgent`. */
  tools: TOOLS;
  /** The approval hook to give them as `toolApproval`: Countersign's decision, waited for. Tools not in this set are left alone. */
  toolApproval: (call: ToolApprovalCall) => Promise<ToolApprovalStatus>;
}


export { refusalOf };

/** The error `execute` throws when the action did not succeed: the model sees its message. */
export class CountersignRefusal extends Error {
  readonly request: RequestView;
  constructor(request: RequestView) {
    super(refusalOf(request));
    this.name = 'CountersignRefusal';
    this.request = request;
  }
}

/**
 * @example
 * import { generateText, tool } from 'ai';
 * import { z } from 'zod';
 * import { createClient } from '@countersign/client';
 * import { countersignTools } from '@countersign/client/ai-sdk';
 *
 * const cs = createClient({ url: process.env.COUNTERSIGN_URL!, key: process.env.COUNTERSIGN_KEY! });
 * const { tools, toolApproval } = countersignTools(cs, {
 *   connection: 'orders-db',
 *   tools: { query: tool({ description: 'Run SQL on the orders database', inputSchema: z.object({ sql: z.string() }) }) },
 * });
 * const { text } = await generateText({ model, tools, toolApproval, stopWhen: stepCountIs(5), prompt: 'Cancel order 42' });
 */
export function countersignTools<TOOLS extends ToolSet>(client: CountersignClient, opts: CountersignToolsOptions<TOOLS>): CountersignTools<TOOLS> {
  const names = new Set(Object.keys(opts.tools));
  // One request per tool call: the hook submits, `execute` finds it here (a call is never submitted twice).
  // A call is its id, tool and arguments together: the id is the model's to write, and two calls under
  // one id must not share a request, nor one be answered by the other's approval or result.
  const submitted = new Map<string, Promise<RequestView>>();
  const callKey = (toolName: string, args: unknown, toolCallId: string) => JSON.stringify([toolCallId, toolName, args ?? null]);

  function submitOnce(toolName: string, args: unknown, toolCallId: string): Promise<RequestView> {
    const key = callKey(toolName, args, toolCallId);
    let p = submitted.get(key);
    if (!p) {
      const connection = typeof opts.connection === 'string' ? opts.connection : opts.connection[toolName as keyof TOOLS];
      const reason = opts.reason?.(toolName, args, toolCallId) ?? `${toolName} (AI SDK tool call ${toolCallId})`;
      const action = { connection: connection as string, input: opts.toInput ? opts.toInput(toolName, args) : args, reason };
      // Under the call's key, a submission tried again after its answer was lost (by `execute`, the hook, or the
      // agent running the step again) finds the request it made: never a second run, nor a second hold.
      p = toolCallKey('ai-sdk', null, toolCallId, action).then((idempotencyKey) => client.submit(action, { idempotencyKey }));
      // A submission that failed (the gateway unreachable) may be tried again; one that answered may not.
      p.catch(() => submitted.delete(key));
      submitted.set(key, p);
    }
    return p;
  }

  /** The request once final; one still undecided after `timeoutMs` is cancelled, so it can never run unseen later. */
  async function decided(first: RequestView, signal?: AbortSignal): Promise<RequestView> {
    if (TERMINAL.has(first.status)) return first;
    const r = await client.settle(first.id, { timeoutMs: opts.timeoutMs ?? 24 * 3600 * 1000, ...(signal ? { signal } : {}) });
    if (TERMINAL.has(r.status)) return r;
    // Approved as the withdrawal went out, it runs anyway: its outcome, never "not run" (a model told so asks again).
    return withdrawOrOutcome(client, r, 'no decision in time for the agent');
  }

  async function toolApproval({ toolCall }: ToolApprovalCall): Promise<ToolApprovalStatus> {
    if (!names.has(toolCall.toolName)) return undefined;
    const r = await decided(await submitOnce(toolCall.toolName, toolCall.input, toolCall.toolCallId));
    if (r.status === 'succeeded' || r.status === 'failed') return { type: 'approved', reason: `Countersign request ${r.id}: ${r.decision.effect === 'allow' ? 'allowed by policy' : 'approved'}` };
    // Refused: `execute` is not called for it. Were it called anyway, it would submit anew, and Countersign decide anew.
    submitted.delete(callKey(toolCall.toolName, toolCall.input, toolCall.toolCallId));
    return { type: 'denied', reason: refusalOf(r) };
  }

  const tools = Object.fromEntries(
    Object.entries(opts.tools).map(([name, t]) => [
      name,
      {
        ...t,
        async execute(args: unknown, o: ToolExecutionOptions<unknown>) {
          try {
            const r = await decided(await submitOnce(name, args, o.toolCallId), o.abortSignal);
            if (r.status !== 'succeeded') throw new CountersignRefusal(r);
            return r.result;
          } finally {
            submitted.delete(callKey(name, args, o.toolCallId));
          }
        },
      } as Tool,
    ]),
  ) as TOOLS;

  return { tools, toolApproval };
}
