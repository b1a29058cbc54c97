/**
 * The policy the SQL refusal tests run under: reads allowed by the parser's verdict, and the statement types
 * given allowed by type alone, whatever they call (the rule whose gaps the session check must close), plus any
 * rules after them. One connection, `app-db`, on `${APP_DB_URL}`.
 *
 * @example
 * byTypePolicy(['select', 'explain'], RULES_HOLDING_CREATES);
 */
import type { TestGateway } from './gateway.ts';

/** app-db on `${APP_DB_URL}`, default deny, reads allowed by the parser's verdict, then `moreRules` (YAML list items). */
export function readsPolicy(moreRules = ''): string {
  return `connections:
  - name: app-db
    kind: postgres
    url: \${APP_DB_URL}
policy:
  default: deny
  rules:
    - id: reads
      when: facts.sql.readOnly
      effect: allow
${moreRules}`;
}

export function byTypePolicy(types: readonly string[], moreRules = ''): string {
  return readsPolicy(`    - id: by-type
      when: facts.sql.statements.all(s, ${types.map((t) => `s.type == "${t}"`).join(' || ')})
      effect: allow
${moreRules}`);
}

/** deploy-bot's SQL on app-db over REST. */
export const sqlAction = (gw: TestGateway, sql: string) => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'app-db', input: { sql }, reason: 'e2e' } });
