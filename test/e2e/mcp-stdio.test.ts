/** The MCP gateway with the agent on stdio, through `countersign mcp --connect`. */
import { mcpGatewaySuite } from './mcp-scenarios.ts';

mcpGatewaySuite('stdio');
