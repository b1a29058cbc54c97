/** The MCP gateway with the agent on streamable HTTP at /mcp. */
import { mcpGatewaySuite } from './mcp-scenarios.ts';

mcpGatewaySuite('http');
