/**
 * The gateway as an MCP server, for one authenticated principal. tools/list
 * offers every MCP connection's tools but those policy denies the principal
 * outright; tools/call turns a call into an action
 * and hands it to the same submit use case as the REST API, then returns the
 * upstream's result, a refusal the model can read, or — when a human must
 * decide — waits (with progress notifications) and, past the connection's
 * wait, says how to come back. No policy or approval logic lives here.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import { cutText } from '../../core/bounded-text.ts';
import { CountersignError } from '../../core/errors.ts';
import { splitToolName, WAIT_TOOL } from '../../core/mcp/tool.ts';
import type { Principal } from '../../core/principal.ts';
import { TERMINAL_STATUSES, type RequestRecord } from '../../core/request.ts';
import { awaitOutcome } from '../../service/await-outcome.ts';
import { waitSlots } from '../../service/wait-slots.ts';
import type { Deps } from '../../service/deps.ts';
import { getRequest } from '../../service/read.ts';
import { submit } from '../../service/submit.ts';
import { listOfferedTools } from '../../service/tool-list.ts';
import { toMcpError } from './errors.ts';
import { outcomeResult, waitingMessage } from './results.ts';
import { toMcpTool, WAIT_TOOL_DEFINITION } from './tools.ts';

export interface McpServerOptions {
  /** Seconds between progress notifications while a call waits for a human. */
  readonly progressEverySeconds?: number;
  /** Metadata of the session (surface, client address, user agent), seen by policy as `context.request`. */
  readonly context?: Readonly<Record<string, string>>;
  /**
   * Told of every submission as it starts: what has to finish before the
   * store closes, or an action that ran would have no recorded outcome.
   */
  readonly track?: (work: Promise<unknown>) => void;
  /**
   * For a server that outlives one request (stdio): run before each request,
   * it gives the principal as it stands now, or throws (a token past its
   * expiry, a policy no longer in force) and the request is refused.
   */
  readonly recheck?: () => Promise<Principal>;
}

const DEFAULT_WAIT_SECONDS = 45;

export const SERVER_INFO = { name: 'countersign', version: '0.1.0' };

const INSTRUCTIONS =
  'Tools are named <connection>__<tool>. Countersign applies a policy to every call: some run at once, some are refused ' +
  '(the result says why), and some wait for a human to approve. A call still waiting returns a request id: call ' +
  `${WAIT_TOOL} with it to get the result once a human decides.`;

// The server validates only elicitation answers with it, which the gateway never asks for; one shared
// instance spares every request the cost of building its own Ajv (about a third of a stateless request).
const SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();

type Extra = { signal: AbortSignal; sendNotification: (n: ServerNotification) => Promise<void> };

/**
 * @example
 * const server = createGatewayMcpServer(deps, principal, { context: { surface: 'mcp' } });
 * await server.connect(transport);
 */
export function createGatewayMcpServer(deps: Deps, authenticated: Principal, opts: McpServerOptions = {}): Server {
  const server = new Server(SERVER_INFO, { capabilities: { tools: {} }, instructions: INSTRUCTIONS, jsonSchemaValidator: SCHEMA_VALIDATOR });
  const every = (opts.progressEverySeconds ?? 5) * 1000;

  const waitSecondsOf = (connection: string) => deps.connections.get(connection)?.catalog?.waitSeconds ?? DEFAULT_WAIT_SECONDS;

  const current = async () => (opts.recheck ? opts.recheck() : authenticated);

  /** Waits for a final outcome, sending progress while it waits when the client asked for it. */
  async function settle(principal: Principal, r: RequestRecord, progressToken: string | number | undefined, extra: Extra, asked: boolean): Promise<CallToolResult> {
    if (TERMINAL_STATUSES.has(r.status)) return outcomeResult(r);
    // Past the principal's waits: the wait tool is refused (TOO_MANY_WAITS); a call just held answers at once, as when its wait runs out.
    let release: () => void;
    try {
      release = waitSlots(deps).take(principal, 'mcp');
    } catch (e) {
      if (asked) throw e;
      return outcomeResult(r);
    }
    try {
      const outcome = await awaitWithProgress(principal, r, progressToken, extra);
      // A wait outlives the check of the call's credential (up to the connection's waitSeconds): the outcome goes only
      // to one still accepted (a token may have expired meanwhile).
      await current();
      return outcome;
    } finally {
      release();
    }
  }

  async function awaitWithProgress(principal: Principal, r: RequestRecord, progressToken: string | number | undefined, extra: Extra): Promise<CallToolResult> {
    const seconds = waitSecondsOf(r.action.connection);
    let latest = r;
    let sent = 0;
    const progress = () => {
      if (progressToken === undefined) return;
      sent += 1;
      extra
        .sendNotification({ method: 'notifications/progress', params: { progressToken, progress: sent, message: waitingMessage(latest) } })
        .catch(() => {});
    };
    progress();
    const timer = setInterval(progress, every);
    try {
      latest = await awaitOutcome(deps, principal, r.id, {
        seconds,
        signal: extra.signal,
        onChange: (next) => {
          latest = next;
          if (!TERMINAL_STATUSES.has(next.status)) progress();
        },
      });
    } finally {
      clearInterval(timer);
    }
    return outcomeResult(latest);
  }

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    try {
      const offered = await listOfferedTools(deps, { refresh: true, principal: await current() });
      return { tools: [...offered.map(toMcpTool), WAIT_TOOL_DEFINITION] };
    } catch (e) {
      throw toMcpError(e, deps.log);
    }
  });

  // A span per tool call: under the HTTP request's server span, or (stdio) the root of its own trace, so the steps share one.
  const traced =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      deps.tracer.span('mcp tools/call', {}, () => fn(...args));

  server.setRequestHandler(CallToolRequestSchema, traced(async (request, extra) => {
    try {
      const principal = await current();
      const { name } = request.params;
      const args = request.params.arguments ?? {};
      const progressToken = request.params._meta?.progressToken;
      if (name === WAIT_TOOL) {
        const id = args['requestId'];
        if (typeof id !== 'string' || id.length === 0) throw new CountersignError('INVALID_INPUT', `${WAIT_TOOL} needs {"requestId": "req_…"}`);
        return await settle(principal, await getRequest(deps, principal, id), progressToken, extra, true);
      }
      const target = splitToolName(name);
      if (!target || !deps.connections.get(target.connection)?.catalog) {
        throw new CountersignError('UNKNOWN_TOOL', `no tool named ${JSON.stringify(name).slice(0, 100)}; tools are named <connection>__<tool> (see tools/list)`);
      }
      // Cut as text (never half a surrogate pair, which submit would refuse as a reason with no UTF-8 form).
      const reason = request.params._meta?.['countersign/reason'];
      const submitted = submit(deps, {
        principal,
        connection: target.connection,
        input: { tool: target.tool, arguments: args },
        reason: typeof reason === 'string' && reason.trim() ? cutText(reason, 4000).text : `MCP call of ${name}`,
        context: { surface: 'mcp', ...opts.context },
        resume: true,
      });
      opts.track?.(submitted);
      return await settle(principal, await submitted, progressToken, extra, false);
    } catch (e) {
      throw toMcpError(e, deps.log);
    }
  }));

  return server;
}
