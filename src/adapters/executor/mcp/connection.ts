/**
 * An `mcp` connection: an upstream MCP server the gateway reaches with its own
 * credentials (a command's environment, or HTTP headers). Facts come from the
 * upstream's tool listing, kept in the catalog; a run calls the one tool with
 * exactly the stored arguments. What comes back is bounded in size and
 * scrubbed of the connection's secrets, in case an upstream echoes them.
 */
import { urlCredential } from '../../../config/held-secrets.ts';
import type { ActionInput, McpInput } from '../../../core/action.ts';
import type { TagValue } from '../../../core/connection.ts';
import type { ToolAcceptors } from '../../../core/mcp/acceptors.ts';
import type { ConnectionHandle, ExecuteOptions, ExecutionResult, ToolCatalog } from '../../../core/ports.ts';
import { CountersignError, isCountersignError } from '../../../core/errors.ts';
import { toolHash, type ToolDefinition } from '../../../core/mcp/tool.ts';
import { argumentNameInOtherCase, argumentTypeMismatch, jsonTextArgument } from './argument-types.ts';
import { createToolCatalog } from './catalog.ts';
import { deriveMcpFacts } from './facts.ts';
import { createScrubber, hidesSecretInText, scrubbedResult } from './result.ts';
import type { Upstream, UpstreamTarget } from './upstream.ts';
import { lazyModule } from '../../lazy-module.ts';
import { heldScrubber } from '../held-scrubber.ts';

const constant = <T>(value: T) => () => value;

export type McpConnectionConfig = {
  readonly name: string;
  readonly tags: Readonly<Record<string, TagValue>>;
  readonly timeoutMs: number;
  readonly waitSeconds: number;
  /** Who may accept a changed tool definition; empty: nobody. */
  readonly acceptors: ToolAcceptors;
  /** Values in the command's args or the url that are secrets (taken from the environment): scrubbed like env and headers. */
  readonly secrets?: readonly string[];
} & (UpstreamTarget & { readonly heldSecrets?: () => readonly string[] });

// The MCP SDK's client (several MB of heap) loads with the first connection that talks to its upstream, not with the gateway.
const upstreamModule = lazyModule(() => import('./upstream.ts'));

/** `createUpstream`, made when first used; closed before that, it is never made and refuses as a closed one does. */
function lazyUpstream(...args: Parameters<typeof import('./upstream.ts').createUpstream>): Upstream {
  let made: Promise<Upstream> | undefined;
  let closed = false;
  const upstream = () => {
    if (!made && closed) {
      return Promise.reject(new CountersignError('UPSTREAM_UNAVAILABLE', `the MCP server of connection ${args[0]} could not be reached`, { cause: 'the connection is closed' }));
    }
    if (made) return made;
    const making = upstreamModule().then((m) => m.createUpstream(...args));
    made = making;
    // A failed load is not kept: the next call tries again, as lazyModule does for the module itself.
    making.catch(() => {
      if (made === making) made = undefined;
    });
    return making;
  };
  return {
    listTools: async () => (await upstream()).listTools(),
    callTool: async (tool, args, timeoutMs, verify, relist) => (await upstream()).callTool(tool, args, timeoutMs, verify, relist),
    close: async () => {
      closed = true;
      // An upstream that never came to be (its module failed to load) has nothing to close.
      if (made) await made.then((u) => u.close(), () => {});
    },
  };
}

/**
 * @example
 * const fs = createMcpConnection({ name: 'fs', command: 'mcp-server-filesystem', args: ['/srv'], env: {}, tags: {}, timeoutMs: 60000, waitSeconds: 50, acceptors: { groups: ['sec'], principals: [] } });
 * await fs.catalog.refresh();
 */
export function createMcpConnection(config: McpConnectionConfig): ConnectionHandle & { catalog: ToolCatalog; close(): Promise<void> } {
  const target: UpstreamTarget = 'command' in config ? { command: config.command, args: config.args, env: config.env, ...(config.cwd ? { cwd: config.cwd } : {}) } : { url: config.url, headers: config.headers };
  // An HTTP upstream's URL may carry its key (`?api_key=…`), written in the file as the service handed it out.
  const own = [...Object.values('command' in config ? config.env : config.headers), ...('url' in config && config.url ? urlCredential(config.url) : []), ...(config.secrets ?? [])];
  // A stdio server runs as the gateway's OS user and can read its environment and files: every secret it holds is scrubbed.
  const scrubberNow = 'command' in config && config.heldSecrets ? heldScrubber(own, config.heldSecrets) : constant(createScrubber(own));
  const upstream = lazyUpstream(config.name, target, () => catalog.notifyListChanged(), (text) => scrubberNow().clip(scrubberNow().scrubValue(text.slice(0, 65_536)), 4096));
  // Tool definitions reach agents (tools/list) and reviewers: an upstream that echoes its credentials there is scrubbed
  // too, and a definition that still gives one away as JSON (a number, a byte array) is left out: an unknown tool.
  const asListed = (tools: readonly ToolDefinition[]) => {
    const scrubber = scrubberNow();
    return scrubber.scrubValue(tools).filter((tool) => !hidesSecretInText(tool, scrubber));
  };
  const listed = async () => asListed(await upstream.listTools());
  const mismatch = (tool: string) =>
    new CountersignError('TOOL_DEFINITION_MISMATCH', `the MCP server of ${config.name} now defines tool ${JSON.stringify(tool).slice(0, 100)} otherwise than when this call was judged; it did not run: call it again to have it judged as it is now`);
  /** Stops a call whose tool the upstream, listed anew, defines otherwise than the definition it was judged by. */
  const verifying = (tool: string, hash: string) => (tools: readonly ToolDefinition[]) => {
    const now = asListed(tools).find((t) => t.name === tool);
    if (now === undefined || toolHash(now) !== hash) throw mismatch(tool);
  };
  const catalog = createToolCatalog(listed, config.waitSeconds, config.acceptors);

  return {
    info: { kind: 'mcp', name: config.name, tags: config.tags },
    maxRunMs: config.timeoutMs,
    catalog,
    facts(input: ActionInput) {
      const call = input as McpInput;
      const entry = catalog.entry(call.tool);
      if (!entry) return deriveMcpFacts(config.name, call, undefined);
      // A declared name in another case: policy reads it as that parameter, the SDKs' servers drop it (its default runs).
      const named = argumentNameInOtherCase(entry.definition.inputSchema, call.arguments);
      if (named) {
        throw new CountersignError(
          'INPUT_UNPARSEABLE',
          `${named.path.slice(0, 200)} names the parameter ${JSON.stringify(named.declared).slice(0, 100)} of tool ${JSON.stringify(call.tool).slice(0, 100)} in another case: send it as the tool declares it (policy reads names in any case; an upstream that matches them exactly would drop it and run with its default)`,
        );
      }
      // A value of another type than the upstream declares is one it may convert (pydantic reads "true" as True).
      const mismatch = argumentTypeMismatch(entry.definition.inputSchema, call.arguments);
      if (mismatch) {
        throw new CountersignError(
          'INVALID_INPUT',
          `${mismatch.path.slice(0, 200)} is ${mismatch.is === 'array' || mismatch.is === 'object' ? 'an' : 'a'} ${mismatch.is}; tool ${JSON.stringify(call.tool).slice(0, 100)} declares ${mismatch.declared.join(' or ')}: send the value as that type (an upstream that converts it would act on a value policy did not judge)`,
        );
      }
      // JSON text where the tool takes more than a string: FastMCP reads the value it holds, policy would judge the text.
      const text = jsonTextArgument(entry.definition.inputSchema, call.arguments);
      if (text) {
        throw new CountersignError(
          'INVALID_INPUT',
          `${text.slice(0, 200)} is JSON text in a string, where tool ${JSON.stringify(call.tool).slice(0, 100)} takes more than a string: send the value itself (an upstream that parses the text would act on a value policy did not judge)`,
        );
      }
      // An unaccepted definition may not loosen what policy sees: while it differs from its pin, each hint is the stricter of the two.
      const pinned = entry.changed && entry.pinned ? { pinnedAnnotations: entry.pinned.annotations ?? {} } : {};
      return deriveMcpFacts(config.name, call, { annotations: entry.definition.annotations ?? {}, changed: entry.changed, hash: entry.hash, ...pinned });
    },
    async execute(input: ActionInput, opts?: ExecuteOptions): Promise<ExecutionResult> {
      const call = input as McpInput;
      const scrubber = scrubberNow();
      try {
        // A listing that came back since the run was claimed (its facts read then) has the last word, as at the claim.
        if (opts?.definitionHash && catalog.entry(call.tool)?.hash !== opts.definitionHash) throw mismatch(call.tool);
        const result = await upstream.callTool(call.tool, call.arguments, config.timeoutMs, opts?.definitionHash ? verifying(call.tool, opts.definitionHash) : undefined, opts?.waited === true);
        const { output, bytes, truncated } = scrubbedResult(result, scrubber);
        const isError = result.isError === true;
        return {
          ok: !isError,
          output,
          summary: { isError, items: Array.isArray(result.content) ? result.content.length : 0, bytes, ...(truncated ? { truncated } : {}) },
          ...(isError ? { error: { code: 'EXECUTION_FAILED', message: `tool ${call.tool} of ${config.name} reported an error` } } : {}),
        };
      } catch (e) {
        if (isCountersignError(e, 'TOOL_DEFINITION_MISMATCH')) {
          return { ok: false, output: { content: [{ type: 'text', text: e.message }], isError: true }, summary: { ran: false }, error: { code: e.code, message: e.message } };
        }
        // A JSON-RPC error (unknown tool, bad arguments, timeout) or a lost connection: the agent learns which.
        // Scrubbed far past the cut, then cut wherever it falls: an error that quotes the agent's arguments must not
        // come back shorter when they end in the beginning of a secret.
        const message = scrubber.clip(scrubber.scrubValue((e instanceof Error ? e.message : String(e)).slice(0, 65_536)), 500);
        return {
          ok: false,
          output: { content: [{ type: 'text', text: message }], isError: true },
          summary: { error: message.slice(0, 200) },
          error: { code: 'EXECUTION_FAILED', message: `tool ${call.tool} of ${config.name} failed: ${message}` },
        };
      }
    },
    close: () => upstream.close(),
  };
}
