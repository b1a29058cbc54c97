/**
 * Request headers that name a second resource the call reads or writes,
 * beside the path policy judges: WebDAV's MOVE and COPY write to the
 * `Destination` (OpenStack Swift's COPY too, in another account with
 * `Destination-Account`), and object stores copy into the path from the one
 * their copy-source header names (Swift `X-Copy-From`, S3 and S3-compatible
 * stores, Google Cloud Storage, Azure Blob, Alibaba OSS, Tencent COS). An
 * agent's copy of one is refused unless a connection's `allow.headers` names
 * it; where allowed, its value is shown to reviewers as sent. Names as
 * headerKey gives them: lower case, `_` read as `-`.
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
]);
