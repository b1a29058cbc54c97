/** What the typed client reads back besides requests: tool pins, audit periods and evidence reports. */

/** One MCP tool's pin: the accepted definition, and a changed one seen since (until accepted). */
export interface ToolPinView {
  connection: string;
  tool: string;
  state: 'pinned' | 'changed';
  hash: string;
  definition: { name: string; title?: string; description?: string; inputSchema: unknown; outputSchema?: unknown; annotations?: Record<string, unknown> };
  pinnedAt: string;
  pinnedBy: string;
  changed: { hash: string; definition: ToolPinView['definition']; seenAt: string } | null;
}

/** A period of the audit log: a seq number, or a date (`2026-07-01`) or ISO time with its zone; `to` is exclusive for times. */
export interface AuditPeriod {
  from?: string | number;
  to?: string | number;
}

/** The evidence report (`countersign-evidence/1`), as `countersign evidence report` writes its JSON; docs: README, "Evidence reports". */
export interface EvidenceReportView {
  format: 'countersign-evidence/1';
  framework: 'soc2' | 'iso27001' | 'gdpr';
  period: { from: string; to: string };
  generatedAt: string;
  summary: Record<string, number>;
  [section: string]: unknown;
}
