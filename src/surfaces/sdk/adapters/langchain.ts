/**
 * Countersign for LangChain.js and LangGraph (`@countersign/client/langchain`).
 *
 * A guarded tool's body is a Countersign request: the gateway, not the agent,
 * decides (policy, then a human where the policy says so) and runs the action
 * with credentials the agent never holds. Two ways in:
 *
 * - `countersignTool`: a LangChain tool whose call submits and waits in place
 *   (long-poll) for the outcome. Simple; the agent's process waits.
 * - `countersignToolNodes` + `resumeWhenDecided`: for a LangGraph graph with a
 *   checkpointer. One node submits each tool call and stores its request id in
 *   the graph's state; the next node reads the request and, while it is held,
 *   pauses the graph with `interrupt({ requestId, … })`. Nothing is held in
 *   memory, so the graph resumes after a restart of the agent's process.
 *
 * LangGraph re-runs an interrupted node from its start on resume, and the
 * resume value comes from whoever calls `invoke(new Command({ resume }))`:
 * the agent's own process. So the resume value is never taken as a decision:
 * the deciding node re-reads the request from Countersign by the id its own
 * submitting node stored (a finished node's writes are checkpointed, which
 * is also why submitting lives in a node of its own: it never re-runs), and
 * only the request's real status counts. A forged `{ approved: true }` finds
 * the request still pending and pauses the graph again.
 */
import { ToolMessage, type AIMessage, type BaseMessage } from '@langchain/core/messages';
import { tool, type DynamicStructuredTool } from '@langchain/core/tools';
import type { InteropZodObject } from '@langchain/core/utils/types';
import { Annotation, Command, interrupt, MessagesAnnotation } from '@langchain/langgraph';
import { isActionOf, runOrWithdraw, TERMINAL, toolCallKey, type CountersignClient, type RequestView } from '../client.ts';

/** One guarded tool: what the model sees (name, description, schema) and the Countersign action its call becomes. */
export interface CountersignToolSpec<Args = Record<string, unknown>> {
  name: string;
  description: string;
  /** A zod object (v3 or v4) describing the arguments, as `tool()` takes it. */
  schema: InteropZodObject;
  /** The Countersign connection the action runs on. */
  connection: string;
  /** The action's input (SQL, HTTP request, argv, MCP arguments) for the model's arguments. */
  toInput: (args: Args) => unknown;
  /** The reason reviewers see; default: `<name> tool call from a LangChain agent`. */
  reason?: (args: Args) => string;
}

/**
 * What the model is told of a request: the result when it ran, else a refusal
 * naming the request, so a human can find it and the model does not retry blindly.
 */
export function describeOutcome(r: RequestView): string {
  if (r.status === 'succeeded') return typeof r.result === 'string' ? r.result : JSON.stringify(r.result);
  const why = r.status === 'denied' ? (r.decision.message ?? r.reviews.find((v) => v.verdict === 'deny')?.comment ?? '') : (r.error?.message ?? '');
  if (r.status === 'pending' || r.status === 'approved' || r.status === 'executing') {
    return `Countersign request ${r.id} is still ${r.status}: no result yet. Do not retry; wait for a human decision.`;
  }
  return `Countersign refused or did not complete this action (request ${r.id}, ${r.status})${why ? `: ${why}` : ''}. Do not retry it unchanged.`;
}


const reasonOf = <A>(spec: CountersignToolSpec<A>, args: A) => spec.reason?.(args) ?? `${spec.name} tool call from a LangChain agent`;

/**
 * A LangChain tool whose call is a Countersign request: it submits, waits
 * (long-poll) through a hold for as long as `timeoutMs` allows, and returns
 * the result, or a refusal with the request id the model sees.
 *
 * @example
 * const refund = countersignTool(cs, {
 *   name: 'refund', description: 'Refund an order', schema: z.object({ order: z.string(), amount: z.number() }),
 *   connection: 'billing-api', toInput: (a) => ({ method: 'POST', path: '/refunds', body: a }),
 * });
 * const answer = await model.bindTools([refund]).invoke(messages);
 */
export function countersignTool<Args = Record<string, unknown>>(
  client: CountersignClient,
  spec: CountersignToolSpec<Args> & { timeoutMs?: number; onPending?: (r: RequestView) => void },
): DynamicStructuredTool<InteropZodObject, Args, Args, string> {
  // An object schema makes this a structured tool; tool()'s catch-all overload cannot see that from the type alone.
  return tool(
    async (args: Record<string, unknown>, config?: { signal?: AbortSignal }) => {
      const a = args as Args;
      const r = await runOrWithdraw(
        client,
        { connection: spec.connection, input: spec.toInput(a), reason: reasonOf(spec, a) },
        { timeoutMs: spec.timeoutMs ?? 24 * 3600 * 1000, ...(spec.onPending ? { onPending: spec.onPending } : {}), ...(config?.signal ? { signal: config.signal } : {}) },
      );
      return describeOutcome(r);
    },
    { name: spec.name, description: spec.description, schema: spec.schema },
  ) as unknown as DynamicStructuredTool<InteropZodObject, Args, Args, string>;
}

/** The state the graph nodes need: the messages, and which request each tool call became (tool call id → request id). */
export const CountersignState = Annotation.Root({
  ...MessagesAnnotation.spec,
  countersignRequests: Annotation<Record<string, string>>({ reducer: (a, b) => ({ ...a, ...b }), default: () => ({}) }),
});
export type CountersignGraphState = typeof CountersignState.State;

/** What a paused graph shows for a held tool call (`task.interrupts[].value`). */
export interface CountersignInterrupt {
  countersign: true;
  requestId: string;
  toolCallId: string;
  tool: string;
  connection: string;
}

function lastToolCalls(messages: BaseMessage[]) {
  const last = messages.at(-1) as AIMessage | undefined;
  return last?.tool_calls ?? [];
}

/**
 * The request id the state records for a tool call id. The ids are the model's
 * to write: an id such as `__proto__` or `constructor` is a key like any other,
 * never a property every object has.
 */
const recorded = (requests: Record<string, string>, callId: string | undefined): string | undefined =>
  callId !== undefined && Object.hasOwn(requests, callId) ? requests[callId] : undefined;

/** The idempotency key of one tool call's submission: its graph's thread, its id and its action (see `toolCallKey`). */
const callKey = (thread: unknown, callId: string, action: { connection: string; input: unknown; reason: string }): Promise<string> =>
  toolCallKey('langgraph', typeof thread === 'string' || typeof thread === 'number' ? String(thread) : null, callId, action);

/** Whether an earlier call of the same message has this id: only the first call with an id becomes a request. */
const reusedId = (calls: readonly { id?: string }[], i: number): boolean => calls.slice(0, i).some((c) => c.id === calls[i]!.id);

/**
 * Two graph nodes for the tool calls of the last AI message, to wire as
 * `model → submit → decide → model`. `submit` sends each call to Countersign
 * once (a call that already has a request id in the state is not sent again);
 * `decide` turns each request into a ToolMessage, pausing the graph with
 * `interrupt` while one is held. The graph needs a checkpointer.
 *
 * @example
 * const nodes = countersignToolNodes(cs, [refundSpec]);
 * const graph = new StateGraph(CountersignState)
 *   .addNode('model', callModel).addNode('submit', nodes.submit).addNode('decide', nodes.decide)
 *   .addEdge(START, 'model').addConditionalEdges('model', (s) => (lastCalls(s) ? 'submit' : END))
 *   .addEdge('submit', 'decide').addEdge('decide', 'model')
 *   .compile({ checkpointer: new MemorySaver() });
 */
export function countersignToolNodes(client: CountersignClient, specs: CountersignToolSpec<never>[]) {
  const byName = new Map(specs.map((s) => [s.name, s as unknown as CountersignToolSpec<Record<string, unknown>>]));

  async function submit(state: CountersignGraphState, config?: { configurable?: { thread_id?: unknown } }): Promise<Partial<CountersignGraphState>> {
    // No prototype: a call id of `__proto__` is stored as itself.
    const made: Record<string, string> = Object.create(null) as Record<string, string>;
    const calls = lastToolCalls(state.messages);
    for (const [i, call] of calls.entries()) {
      const spec = byName.get(call.name);
      if (!call.id || !spec || reusedId(calls, i) || recorded(state.countersignRequests, call.id)) continue;
      const action = { connection: spec.connection, input: spec.toInput(call.args), reason: reasonOf(spec, call.args) };
      // A node that failed part-way (a later call's submission lost) runs again from its start, its writes never
      // checkpointed: under the key, an earlier call's submission answers with the request it made, instead of a
      // second one (an allowed write run twice, a held one left pending for a reviewer to approve unseen).
      const r = await client.submit(action, { idempotencyKey: await callKey(config?.configurable?.thread_id, call.id, action) });
      made[call.id] = r.id;
    }
    return { countersignRequests: made };
  }

  async function decide(state: CountersignGraphState): Promise<Partial<CountersignGraphState>> {
    const messages: ToolMessage[] = [];
    const calls = lastToolCalls(state.messages);
    for (const [i, call] of calls.entries()) {
      const spec = byName.get(call.name);
      const id = recorded(state.countersignRequests, call.id);
      const toolCallId = call.id ?? '';
      // Two calls under one id would share one request: the first's outcome must not answer the second.
      if (spec && call.id && reusedId(calls, i)) {
        messages.push(new ToolMessage({ tool_call_id: toolCallId, name: call.name, status: 'error', content: `Not run: tool call id ${call.id} was already used by another call in this message. Call it again with an id of its own.` }));
        continue;
      }
      if (!spec || !id) {
        messages.push(new ToolMessage({ tool_call_id: toolCallId, name: call.name, status: 'error', content: `No Countersign-guarded tool named ${call.name}.` }));
        continue;
      }
      let r = await client.get(id);
      // The resume value is whatever the agent's process passed: only the request's status, read again here, decides.
      while (r.status === 'pending') {
        const pause: CountersignInterrupt = { countersign: true, requestId: id, toolCallId, tool: call.name, connection: spec.connection };
        interrupt(pause);
        r = await client.get(id);
      }
      if (!TERMINAL.has(r.status)) r = await client.settle(id);
      // A request id in the state that is not this call's action (a state edited by hand) yields nothing.
      if (!isActionOf(r, spec.connection, spec.toInput(call.args))) {
        messages.push(new ToolMessage({ tool_call_id: toolCallId, name: call.name, status: 'error', content: `Countersign request ${id} is not this tool call's action.` }));
        continue;
      }
      messages.push(new ToolMessage({ tool_call_id: toolCallId, name: call.name, status: r.status === 'succeeded' ? 'success' : 'error', content: describeOutcome(r) }));
    }
    return { messages };
  }

  return { submit, decide };
}

/** The least of a compiled graph `resumeWhenDecided` needs. */
export interface ResumableGraph<Config> {
  getState(config: Config): Promise<{ tasks: readonly { interrupts: readonly { value?: unknown }[] }[] }>;
  invoke(input: Command<unknown, never, never>, config: Config): Promise<unknown>;
}

function pendingRequestIds(snapshot: Awaited<ReturnType<ResumableGraph<unknown>['getState']>>): string[] {
  return snapshot.tasks.flatMap((t) =>
    t.interrupts.flatMap((i) => {
      const v = i.value as Partial<CountersignInterrupt> | undefined;
      return v?.countersign === true && typeof v.requestId === 'string' ? [v.requestId] : [];
    }),
  );
}

/**
 * Waits for Countersign's decision on the request a paused graph is waiting
 * for, then resumes the graph, until it is no longer paused on a Countersign
 * request (or a request outlives `timeoutMs`: then it returns with the graph
 * still paused). The resume value only wakes the node, which reads the
 * outcome from Countersign itself. Works as well on a new graph object over
 * the same checkpointer, e.g. after a restart.
 *
 * @example
 * await graph.invoke({ messages: [new HumanMessage('refund order 7')] }, config); // pauses on a held refund
 * const final = await resumeWhenDecided(cs, graph, config);
 */
export async function resumeWhenDecided<Config>(client: CountersignClient, graph: ResumableGraph<Config>, config: Config, o: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ resumed: boolean; result: unknown }> {
  let result: unknown;
  let resumed = false;
  for (;;) {
    const [id] = pendingRequestIds(await graph.getState(config));
    if (!id) return { resumed, result };
    const r = await client.settle(id, { ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}), ...(o.signal ? { signal: o.signal } : {}) });
    if (!TERMINAL.has(r.status)) return { resumed, result };
    result = await graph.invoke(new Command<unknown, never, never>({ resume: { requestId: id, status: r.status } }), config);
    resumed = true;
  }
}
