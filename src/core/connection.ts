/**
 * What the core knows of a connection: its name, kind and tags. Its URL,
 * headers and credentials stay in the executor adapter; the core never sees them.
 */

export const CONNECTION_KINDS = ['http', 'exec', 'postgres', 'mcp'] as const;
export type ConnectionKind = (typeof CONNECTION_KINDS)[number];

/** Tag values as written in the config: `env: prod`, `compliance: [soc2, gdpr]`. */
export type TagValue = string | number | boolean | readonly string[];

export interface ConnectionInfo {
  readonly name: string;
  readonly kind: ConnectionKind;
  readonly tags: Readonly<Record<string, TagValue>>;
}
