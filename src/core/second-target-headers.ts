/**
 * Request headers that name a second resource the call reads or writes,
 * beside the path policy judges: WebDAV's MOVE and COPY write to the
 * `Destination` (OpenStack Swift's COPY too, in another account with
 * `Destination-Account`), and object stores copy into the path from the one
 * their copy-source header names (Swift `X-Copy-From`, S3 and S3-compatible
 * stores, Google Cloud Storage, Azure Blob, Alibaba OSS, Tencent COS, and any
 * other store's `x-<vendor>-copy-source`), or move it there (S3 RenameObject's
 * `x-amz-rename-source`, ADLS Gen2's `x-ms-rename-source`); and headers that
 * name the tenant or namespace the path is read in. An
 * agent's copy of one is refused unless a connection's `allow.headers` names
 * it; where allowed, its value is shown to reviewers as sent. Names as
 * headerKey gives them: lower case, `_` and `.` read as `-`.
 */
export const SECOND_TARGET_HEADERS: ReadonlySet<string> = new Set([
  'destination',
  'destination-account',
  'x-copy-from',
  'x-copy-from-account',
  'x-amz-copy-source',
  'x-amz-copy-source-range',
  'x-goog-copy-source',
  'x-ms-copy-source',
  'x-oss-copy-source',
  'x-cos-copy-source',
  // The tenant or namespace the path is read in: the same path in another tenant is another resource (Grafana Mimir,
  // Loki, Tempo and Cortex; Grafana's organisation; Vault and Consul Enterprise namespaces; OpenSearch Security's tenant).
  'x-scope-orgid',
  'x-grafana-org-id',
  'x-vault-namespace',
  'x-consul-namespace',
  'securitytenant',
]);

/** Any store's copy or rename source under its own prefix (`x-obs-copy-source`, `x-bce-copy-source`, `x-amz-rename-source`). */
const VENDOR_SOURCE = /^x-[a-z0-9]+-(?:copy|rename)-source(?:-range)?$/;

/**
 * Whether the header (as headerKey gives it) names a second resource.
 *
 * @example
 * isSecondTargetHeader('x-obs-copy-source'); // true
 */
export function isSecondTargetHeader(key: string): boolean {
  return SECOND_TARGET_HEADERS.has(key) || VENDOR_SOURCE.test(key);
}
