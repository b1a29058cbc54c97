/**
 * Countersign for the OpenAI Agents SDK (`@openai/agents`): `@countersign/client/openai-agents`.
 *
 * `countersignTool` makes a function tool whose call is an action submitted to
 * Countersign: its `needsApproval` submits the action, and says yes when
 * Countersign holds it for a human, so the run stops with an interruption; its
 * `execute` returns what the gateway ran (the gateway holds the credentials),
 * or a refusal the model reads when Countersign denied it.
 *
 * `resumeRun` answers those interruptions with Countersign's decisions: it
 * waits on each held request, calls `state.approve` or `state.reject` as the
 * humans decided, and continues the run. Given `state.toString()`, it works in
 * a new process: the request id of each tool call travels in the serialized
 * state, in the run's context under `countersign` (`{ [callId]: requestId }`),
 * so a resumed call finds its request instead of submitting a second one.
 *
 * An approval given in the agent's process (`state.approve` without Countersign)
 * does not run a held action: `execute` waits on the request like `resumeRun`
 * does, and the gateway runs it only once a human approved it there.
 */
import { RunState, Runner, tool, type Agent, type FunctionTool, type RunContext, type RunResult, type RunToolApprovalItem, type ToolExecuteArgument, type ToolInputParameters } from '@openai/agents';
import { isActionOf, refusalOf, TERMINAL, toolCallKey, withdrawOrOutcome, type CountersignClient, type RequestView } from '../client.ts';

/** Where in the run's context the request id of each tool call is kept. */
export const CONTEXT_KEY = 'countersign';

export interface CountersignToolOptions<TParameters extends ToolInputParameters> {
  name: string;
  description: string;
  /** A zod object or a JSON schema, as for `tool()`. */
  parameters: TParameters;
  /** Whether the model must follow the schema strictly (default true; a non-strict JSON schema needs false). */
  strict?: boolean;
  /** The Countersign connection the tool acts on. */
  connection: string;
  /** The action's input from the tool's arguments (default: the arguments as they are, e.g. `{ sql }` for a SQL connection). */
  toInput?: (args: ToolExecuteArgument<TParameters>) => unknown;
  /** The reason shown to reviewers (default: the tool's name and the tool call's id). */
  reason?: (args: ToolExecuteArgument<TParameters>, callId: string) => string;
  /** How long `execute` waits for a decision before the request is cancelled and the call refused (default: 24 hours). */
  timeoutMs?: number;
}

const DAY = 24 * 3600 * 1000;

export { refusalOf };

/** The `{ callId: requestId }` record in the run's context, made on first use (the context must be an object: `{}` when the run was given none). */
function requestIds(ctx: RunContext<unknown> | undefined, create: boolean): Record<string, string> | undefined {
  const c = ctx?.context as Record<string, unknown> | undefined;
  if (c === null || typeof c !== 'object') {
    if (!create) return undefined;
    throw new TypeError('countersign: the run context must be an object, to carry the request id of each tool call in the run state');
  }
  const ids = c[CONTEXT_KEY];
  if (ids && typeof ids === 'object') return ids as Record<string, string>;
  if (!create) return undefined;
  const made: Record<string, string> = {};
  c[CONTEXT_KEY] = made;
  return made;
}

/**
 * The request id recorded for a call id, and recording one. Call ids are the
 * model's to write: `__proto__` or `constructor` is a key like any other, never
 * a property every object has (nor, assigned, the record's prototype).
 */
const recordedId = (ids: Record<string, string> | undefined, callId: string): string | undefined => {
  const v = ids && Object.hasOwn(ids, callId) ? ids[callId] : undefined;
  return typeof v === 'string' ? v : undefined;
};
const record = (ids: Record<string, string>, callId: string, requestId: string) =>
  Object.defineProperty(ids, callId, { value: requestId, enumerable: true, writable: true, configurable: true });

/** The request once final; one still undecided after `timeoutMs` is cancelled, so it can never run unseen later. */
async function decided(client: CountersignClient, first: RequestView, timeoutMs: number, signal?: AbortSignal): Promise<RequestView> {
  if (TERMINAL.has(first.status)) return first;
  const r = await client.settle(first.id, { timeoutMs, ...(signal ? { signal } : {}) });
  if (TERMINAL.has(r.status)) return r;
  // Approved as the withdrawal went out, it runs anyway: its outcome, never "not run" (a model told so asks again).
  return withdrawOrOutcome(client, r, 'no decision in time for the agent');
}

/**
 * @example
 * import { Agent, run } from '@openai/agents';
 * import { z } from 'zod';
 * import { countersignTool } from '@countersign/client/openai-agents';
 *
 * const query = countersignTool(cs, { name: 'query', description: 'Run SQL on the orders database', parameters: z.object({ sql: z.string() }), connection: 'orders-db' });
 * const agent = new Agent({ name: 'ops', instructions: '…', tools: [query] });
 * const result = await run(agent, 'Cancel order 42');
 * if (result.interruptions.length) await saveSomewhere(result.state.toString()); // then resumeRun(cs, { agent, state })
 */
export function countersignTool<TParameters extends ToolInputParameters>(client: CountersignClient, opts: CountersignToolOptions<TParameters>): FunctionTool<unknown, TParameters, unknown> {
  const input = (args: ToolExecuteArgument<TParameters>) => (opts.toInput ? opts.toInput(args) : args);

  /** This call's request: the one the run's context names (checked to be this very action), else a new submission recorded there. */
  async function requestFor(ctx: RunContext<unknown> | undefined, args: ToolExecuteArgument<TParameters>, callId: string | undefined): Promise<RequestView> {
    const ids = callId ? requestIds(ctx, true) : undefined;
    const known = callId ? recordedId(ids, callId) : undefined;
    if (known) {
      const r = await client.get(known);
      // The state is the agent's to edit: a request id that names another action must not answer for this one.
      if (!isActionOf(r, opts.connection, input(args))) {
        throw new Error(`countersign: request ${known} recorded for tool call ${callId} is for another action`);
      }
      return r;
    }
    const action = { connection: opts.connection, input: input(args), reason: opts.reason?.(args, callId ?? '') ?? `${opts.name} (OpenAI Agents tool call ${callId ?? 'without id'})` };
    // Under the call's key, a submission tried again after its answer was lost finds the request it made (nothing was
    // recorded in the context for it): never a second run, nor a second hold left for a reviewer to approve unseen.
    const r = await client.submit(action, callId ? { idempotencyKey: await toolCallKey('openai-agents', null, callId, action) } : {});
    if (ids && callId) record(ids, callId, r.id);
    return r;
  }

  const options = {
    name: opts.name,
    description: opts.description,
    parameters: opts.parameters,
    strict: opts.strict ?? true,
    // Held for a human (or approved and about to run) stops the run; allowed or denied goes on to `execute`, which says which.
    needsApproval: async (ctx: RunContext<unknown>, args: ToolExecuteArgument<TParameters>, callId?: string) => {
      const r = await requestFor(ctx, args, callId);
      return r.status === 'pending' || r.status === 'approved';
    },
    execute: async (args: ToolExecuteArgument<TParameters>, ctx?: RunContext<unknown>, details?: { toolCall?: { callId: string }; signal?: AbortSignal }) => {
      const r = await decided(client, await requestFor(ctx, args, details?.toolCall?.callId), opts.timeoutMs ?? DAY, details?.signal);
      return r.status === 'succeeded' ? r.result : refusalOf(r);
    },
  };
  const made = tool(options as Parameters<typeof tool>[0]) as FunctionTool<unknown, TParameters, unknown>;
  countersignTools.set(made, { connection: opts.connection, input: input as (args: unknown) => unknown });
  return made;
}

/** The tools `countersignTool` made, with the action each call of theirs is: what `applyDecisions` binds a decision to. */
const countersignTools = new WeakMap<object, { connection: string; input: (args: unknown) => unknown }>();

/**
 * Whether an interruption is the call of a Countersign tool of its agent whose action the request is: the call id is
 * the model's to write, and another tool's call (or another input) under the same id must not take this decision.
 */
function isCallOf(item: RunToolApprovalItem, r: RequestView): boolean {
  const raw = item.rawItem as { type?: unknown; name?: unknown; arguments?: unknown };
  if (raw.type !== 'function_call' || typeof raw.name !== 'string' || typeof raw.arguments !== 'string') return false;
  const tools = (item.agent as { tools?: unknown }).tools;
  const t = Array.isArray(tools) ? tools.find((x: { name?: unknown }) => x?.name === raw.name && countersignTools.has(x)) : undefined;
  if (!t) return false;
  const spec = countersignTools.get(t)!;
  try {
    return isActionOf(r, spec.connection, spec.input(JSON.parse(raw.arguments)));
  } catch {
    return false;
  }
}

export interface Decisions {
  approved: RunToolApprovalItem[];
  rejected: RunToolApprovalItem[];
  /** Interruptions that are not Countersign's (another tool's approval): left for the caller. */
  others: RunToolApprovalItem[];
}

/**
 * Waits for Countersign's decision on each interruption of `state` that a
 * Countersign tool raised, and records it: `state.approve` once the gateway has
 * run the action, `state.reject` (with the refusal as the model's message) when
 * it was denied, expired or cancelled.
 */
export async function applyDecisions(client: CountersignClient, state: RunState<any, Agent<any, any>>, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Decisions> {
  const out: Decisions = { approved: [], rejected: [], others: [] };
  const ids = requestIds(state._context, false) ?? {};
  for (const item of state.getInterruptions()) {
    const callId = (item.rawItem as { callId?: unknown }).callId;
    const id = typeof callId === 'string' ? recordedId(ids, callId) : undefined;
    if (!id) {
      out.others.push(item);
      continue;
    }
    const recorded = await client.get(id);
    // Bound to the action, not the call id alone: another tool's call under this id is left for the caller, unapproved.
    if (!isCallOf(item, recorded)) {
      out.others.push(item);
      continue;
    }
    const r = await decided(client, recorded, opts.timeoutMs ?? DAY, opts.signal);
    if (r.status === 'succeeded' || r.status === 'failed') {
      state.approve(item);
      out.approved.push(item);
    } else {
      state.reject(item, { message: refusalOf(r) });
      out.rejected.push(item);
    }
  }
  return out;
}

/**
 * Resumes an interrupted run once Countersign has decided its held tool calls,
 * from the state object or from `state.toString()` (also in a new process: the
 * agent given must be built like the one that ran).
 *
 * @example
 * const result = await resumeRun(cs, { agent, state: savedState });
 * console.log(result.finalOutput);
 */
export async function resumeRun<TContext, TAgent extends Agent<any, any>>(
  client: CountersignClient,
  opts: { agent: TAgent; state: string | RunState<TContext, TAgent>; runner?: Runner; timeoutMs?: number; signal?: AbortSignal },
): Promise<RunResult<TContext, TAgent>> {
  const state = typeof opts.state === 'string' ? await RunState.fromString<TContext, TAgent>(opts.agent, opts.state) : opts.state;
  await applyDecisions(client, state, { ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  return (opts.runner ?? new Runner()).run(opts.agent, state);
}
