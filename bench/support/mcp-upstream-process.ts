/**
 * The MCP bench's upstream, as its own process: an McpServer over streamable
 * HTTP with one read-only tool, `greet` (test/support/mcp-upstream.ts).
 * Prints {"url"} and exits when stdin closes or on SIGTERM.
 */
import { startMutableUpstream } from '../../test/support/mcp-upstream.ts';

const upstream = await startMutableUpstream();
process.stdout.write(`${JSON.stringify({ url: upstream.url })}\n`);
const stop = () => {
  setTimeout(() => process.exit(0), 2000).unref();
  upstream.close().then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
