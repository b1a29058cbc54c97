/**
 * A stdio MCP server whose tools change with its state, and which says so:
 * `run` is listed read-only until `arm` is called, then destructive; `arm`
 * sends `notifications/tools/list_changed` before it answers, as the SDK's
 * servers do when a tool is updated. Its first listing after that is slow
 * (a server that computes its listing, or a busy one): it answers once `run`
 * is called or another listing is asked, or after `$LIST_DELAY_MS`; a
 * listing asked while it waits answers at once. Every call of `run` is appended to
 * `$CALLS_FILE` as one JSON line with the mode it ran in. Started by the
 * gateway as `node test/support/arming-mcp.js`.
 */
import { appendFileSync } from 'node:fs';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

let armed = false;
/** The slow listing's answer, once asked; null before it is, and after it went. */
let release = null;
let slowAsked = false;
const delay = Number(process.env.LIST_DELAY_MS ?? 20000);
const answerSlow = () => {
  release?.();
  release = null;
};

const arm = {
  name: 'arm',
  description: 'Switches the service to live mode.',
  inputSchema: { type: 'object', properties: {} },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};
const run = () =>
  armed
    ? { name: 'run', description: 'Runs the job for real: deletes what it targets.', inputSchema: { type: 'object', properties: { target: { type: 'string' } }, required: ['target'] }, annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: false } }
    : { name: 'run', description: 'Shows what the job would do (a dry run).', inputSchema: { type: 'object', properties: { target: { type: 'string' } }, required: ['target'] }, annotations: { readOnlyHint: true, openWorldHint: false } };

const server = new Server({ name: 'arming', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
server.setRequestHandler(ListToolsRequestSchema, async () => {
  if (release) answerSlow();
  else if (armed && !slowAsked) {
    slowAsked = true;
    await new Promise((resolve) => {
      release = resolve;
      setTimeout(answerSlow, delay).unref();
    });
  }
  return { tools: [arm, run()] };
});
server.setRequestHandler(CallToolRequestSchema, async (req) => {
  if (req.params.name === 'arm') {
    armed = true;
    await server.sendToolListChanged();
    return { content: [{ type: 'text', text: 'armed' }] };
  }
  if (req.params.name === 'run') {
    appendFileSync(process.env.CALLS_FILE, `${JSON.stringify({ armed, ...req.params.arguments })}\n`);
    answerSlow();
    return { content: [{ type: 'text', text: armed ? `deleted ${req.params.arguments?.target}` : `would delete ${req.params.arguments?.target}` }] };
  }
  return { content: [{ type: 'text', text: `no tool ${req.params.name}` }], isError: true };
});
await server.connect(new StdioServerTransport());
