/**
 * How a provider's group names become Countersign groups: an issuer's or the
 * sign-in provider's groupMap and trustGroups, applied whenever groups are
 * counted, never frozen as they were mapped once.
 */
/**
 * The Countersign groups a provider's group names grant: those the mapping
 * names for them, and the names themselves only when the provider's groups
 * are trusted as they are. By default a provider group grants nothing.
 *
 * @example
 * grantedGroups(['okta-dba', 'admins'], { 'okta-dba': ['dba'] }, false); // ['dba']
 */
export function grantedGroups(idpGroups: readonly string[], groupMap: Readonly<Record<string, readonly string[]>>, trust: boolean): string[] {
  return [...(trust ? idpGroups : []), ...idpGroups.flatMap((g) => (Object.hasOwn(groupMap, g) ? (groupMap[g] ?? []) : []))];
}

/** How a sign-in's provider groups become groups here: identity.login groupMap and trustGroups. */
export interface SignInGroups {
  readonly groupMap: Readonly<Record<string, readonly string[]>>;
  readonly trustGroups: boolean;
}

/**
 * The groups a sign-in grants under the mapping in force: its provider's groups (Principal.providerGroups) mapped
 * now, never as they were mapped at sign-in. A sign-in that kept no provider groups (one from before they were kept),
 * or no mapping (no provider configured), grants none.
 *
 * @example
 * signInGroups(['platform-oncall'], { groupMap: { 'platform-oncall': ['sre'] }, trustGroups: false }); // ['sre']
 * signInGroups(['platform-oncall'], { groupMap: {}, trustGroups: false }); // []
 */
export function signInGroups(providerGroups: unknown, mapping: SignInGroups | undefined): readonly string[] {
  if (mapping === undefined || !Array.isArray(providerGroups)) return Object.freeze([]);
  const named = providerGroups.filter((g): g is string => typeof g === 'string');
  return Object.freeze([...new Set(grantedGroups(named, mapping.groupMap, mapping.trustGroups))].sort());
}
