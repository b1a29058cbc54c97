/**
 * Config YAML that end-to-end tests share: the policy most of them run under
 * (GET allowed outright, POST held for one member of sre for an hour), and
 * the one connection that goes with it.
 */

/** `policy:` at the top level, its rules last, so that a test may append more rules (indented four spaces). */
export const READS_ALLOWED_WRITES_HELD = `policy:
  default: deny
  rules:
    - id: reads
      when: facts.http.method == "GET"
      effect: allow
    - id: writes
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
`;

/**
 * @example
 * startTestGateway(opsApiConfig(upstream.url)); // connection ops-api, under READS_ALLOWED_WRITES_HELD
 */
export function opsApiConfig(url: string): string {
  return `connections:
  - name: ops-api
    kind: http
    url: ${url}
${READS_ALLOWED_WRITES_HELD}`;
}
