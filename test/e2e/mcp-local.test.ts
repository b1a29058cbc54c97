/** The MCP gateway run by the agent's client itself: `countersign mcp --config`, sharing the gateway's store. */
import { mcpGatewaySuite } from './mcp-scenarios.ts';

mcpGatewaySuite('local');
