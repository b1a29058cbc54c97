/**
 * One human, one identity. Whatever a person proves who they are with — an
 * API key, a bearer token of an issuer, a console session by single sign-on,
 * the CLI's device login, a Slack or Teams account — separation of duties
 * and quorum must see one id for them, or one person becomes a quorum of two
 * and the human an agent acts for approves its request under another name.
 *
 * The canonical id of a human, in this order:
 *  1. a configured principal whose id is the credential's id (a configured
 *     agent there is refused: a human credential never becomes an agent);
 *  2. a configured human whose email is the credential's verified email;
 *  3. the verified email itself, normalised (a person the configuration does
 *     not name, known by the same address on every issuer and channel);
 *  4. the credential's id as its issuer gave it (no verified email), only where
 *     that issuer is the one place humans come from (HumanDirectory
 *     unlinkedAllowed): elsewhere nothing links it to the same person's other
 *     accounts, and it is refused (`principal.unlinked`).
 *
 * Emails compare after NFC normalisation and lower-casing, the domain in its
 * ASCII (punycode) form without a trailing dot. A sub-address (`alice+ops@`)
 * is another id, but the same mailbox at most providers: it is one person with
 * `alice@` wherever that only refuses (identityKeys `mailbox`). A verified
 * address that cannot be compared is refused, not ignored. An address with
 * compatibility or invisible characters (a fullwidth letter, the Kelvin sign,
 * a zero-width joiner) or a non-ASCII letter whose lower case is ASCII never
 * matches anyone: such a character would let one address pass for another.
 * Addresses in different scripts that merely look alike stay different
 * addresses; they match nobody configured unless configured that way.
 */
import { claimAt, isIdString } from './claim-path.ts';
import type { Principal } from './principal.ts';

/** Emails longer than RFC 5321's path limit are not addresses. */
const MAX_EMAIL = 320;

function confusable(ch: string): boolean {
  if (ch.normalize('NFKC') !== ch) return true;
  if (/[\p{Cc}\p{Cf}\p{Z}\p{M}\p{Co}\p{Cn}]/u.test(ch)) return true;
  // KELVIN SIGN → k, LATIN CAPITAL I WITH DOT → i + a combining dot: a lookalike folding into ASCII.
  return /[\x00-\x7f]/.test(ch.toLowerCase());
}

/**
 * The form in which an email is matched — trimmed, NFC, lower-cased (the
 * local part is case-sensitive in theory, never in practice) — or undefined
 * for one that must match nobody (malformed, or carrying characters that imitate others).
 *
 * @example
 * emailKey(' Alice@Example.COM'); // 'alice@example.com'
 * emailKey('\uFF41lice@example.com'); // undefined (fullwidth a)
 */
export function emailKey(email: string): string | undefined {
  const raw = email.trim();
  // NFC itself folds a few singletons into ASCII (KELVIN SIGN → K): such an address imitates another.
  for (const ch of raw) if ((ch.codePointAt(0) ?? 0) >= 0x80 && /[\x00-\x7f]/.test(ch.normalize('NFC'))) return undefined;
  const s = raw.normalize('NFC');
  if (s.length < 3 || s.length > MAX_EMAIL || !/^[^@\s]+@[^@\s]+$/u.test(s)) return undefined;
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x80) {
      if (code < 0x21 || code === 0x7f) return undefined;
    } else if (confusable(ch)) return undefined;
  }
  const at = s.lastIndexOf('@');
  const local = s.slice(0, at);
  const domain = domainKey(s.slice(at + 1));
  // RFC 5322 dot-atom only: a quoted local part ("alice"@…) is the same mailbox spelled otherwise, so it matches nobody.
  if (domain === undefined || !LOCAL_ASCII.test(local.replace(/[^\x00-\x7f]/gu, 'a'))) return undefined;
  return `${local.toLowerCase()}@${domain}`;
}

/** RFC 5322 §3.2.3 dot-atom (non-ASCII letters, RFC 6531, are checked above and stand in as `a`). */
const LOCAL_ASCII = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/**
 * A domain in the one form it is compared in: its ASCII (punycode, lower-case) form as the WHATWG URL parser's
 * UTS #46 processing gives it, without a trailing root dot; so `exämple.com`, `EXÄMPLE.COM` and
 * `xn--exmple-cua.com` are one domain. Undefined for anything but a plain host name (a literal, URL syntax, an
 * invalid label).
 */
function domainKey(domain: string): string | undefined {
  const d = domain.endsWith('.') ? domain.slice(0, -1) : domain;
  if (d.length === 0 || /[/?#:\[\]\\%@]/u.test(d)) return undefined;
  let host: string;
  try {
    host = new URL(`http://${d}/`).hostname;
  } catch {
    return undefined;
  }
  const labels = host.split('.');
  if (labels.some((l) => !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(l))) return undefined;
  // A dotted-quad is an IPv4 literal written without brackets: not a mail domain here.
  if (labels.every((l) => /^[0-9]+$/.test(l))) return undefined;
  return host;
}

/**
 * The key under which two ids are the same human: an id that is an email
 * compares as its email key, any other id exactly. Defence in depth for ids
 * recorded before every surface resolved humans canonically.
 *
 * @example
 * humanKey('Alice@Example.com') === humanKey('alice@example.com'); // true
 */
export function humanKey(id: string): string {
  return emailKey(id) ?? id;
}

/** What a person is known by on a review or a request: id, and where known their email and token identity. */
export interface HumanTraits {
  readonly id: string;
  readonly email?: string | null;
  readonly identity?: { readonly issuer: string; readonly subject: string } | null;
  /** The id the credential named them by before it was resolved (a provider username), where it differs. */
  readonly claimedId?: string | null;
  /** The chat account a click came from (Principal chatAccount): one account is one person, whatever its email. */
  readonly chatAccount?: string | null;
}

/** Gmail's domains: one inbox for `googlemail.com` and `gmail.com`, whose local part Gmail reads without its dots. */
const GMAIL = new Set(['gmail.com', 'googlemail.com']);

/** Fastmail's subdomain addressing: anything@<user>.fastmail.com is delivered to <user>@fastmail.com. */
const FASTMAIL_SUBDOMAIN = /^([a-z0-9-]+)\.fastmail\.com$/;

/**
 * The mailbox an email key delivers to at most providers (Google, Microsoft 365, Fastmail, Proton): the address
 * without its sub-address (`alice+ops@` → `alice@`; at Fastmail, `ops@alice.fastmail.com` → `alice@fastmail.com`),
 * and at Gmail without the dots of its local part and under `gmail.com` (`a.lice@googlemail.com` →
 * `alice@gmail.com`). Whoever reads that mailbox can verify an account under any of these spellings of it.
 *
 * @example
 * mailboxOf('alice+ops@example.com'); // 'alice@example.com'
 * mailboxOf('a.lice+ops@googlemail.com'); // 'alice@gmail.com'
 */
export function mailboxOf(key: string): string {
  const at = key.lastIndexOf('@');
  const fastmail = FASTMAIL_SUBDOMAIN.exec(key.slice(at + 1));
  if (fastmail) return `${fastmail[1]}@fastmail.com`;
  const plus = key.indexOf('+');
  return inboxSpelling(plus > 0 && plus < at ? key.slice(0, plus) + key.slice(at) : key);
}

/**
 * An email key as its provider spells its inbox, sub-address kept: at Gmail, without the dots of its local part and
 * under `gmail.com`; elsewhere as it is.
 *
 * @example
 * inboxSpelling('ci.bot+x@googlemail.com'); // 'cibot+x@gmail.com'
 */
export function inboxSpelling(key: string): string {
  const at = key.lastIndexOf('@');
  if (!GMAIL.has(key.slice(at + 1))) return key;
  const local = key.slice(0, at);
  const bare = local.replaceAll('.', '');
  return `${bare.length > 0 ? bare : local}@gmail.com`;
}

/** How widely two traits are taken as one person: `mailbox` adds the mailbox of each address (see mailboxOf). */
export interface SameOptions {
  readonly mailbox?: boolean;
}

/**
 * Every key under which this person may appear: their id (an email-shaped id
 * as that email), their email, their issuer and subject, the chat account they
 * clicked with (whose email may change between two clicks). Two traits with a
 * key in common are one human, so a configuration that began naming someone
 * between two of their reviews, or a second issuer, does not make two people.
 * With `mailbox`, also the mailbox each address delivers to: where taking two
 * people as one only ever refuses (one vote, never one's own request), a
 * sub-address is the same person; where it would grant (who sees what), it
 * is not.
 *
 * @example
 * identityKeys({ id: 'alice', email: 'Alice@Example.com' }); // Set { 'id alice', 'email alice@example.com' }
 */
export function identityKeys(t: HumanTraits, opts: SameOptions = {}): Set<string> {
  const keys = new Set<string>();
  const addEmail = (key: string) => {
    keys.add(`email ${key}`);
    if (opts.mailbox) keys.add(`mailbox ${mailboxOf(key)}`);
  };
  const idEmail = emailKey(t.id);
  if (idEmail === undefined) keys.add(`id ${t.id}`);
  else addEmail(idEmail);
  const email = t.email ? emailKey(t.email) : undefined;
  if (email !== undefined) addEmail(email);
  if (t.identity) keys.add(`sub ${t.identity.issuer} ${t.identity.subject}`);
  if (t.chatAccount) keys.add(`chat ${t.chatAccount}`);
  return keys;
}

/** Whether two traits share a key (see identityKeys). */
export function sameIdentity(a: HumanTraits, b: HumanTraits, opts: SameOptions = {}): boolean {
  const keys = identityKeys(a, opts);
  for (const k of identityKeys(b, opts)) if (keys.has(k)) return true;
  return false;
}

/** The configured principals, as the canonical mapping reads them. */
export interface HumanDirectory {
  principal(id: string): Principal | undefined;
  /** The configured human whose email has this key (see emailKey), if any. */
  humanByEmail(key: string): Principal | undefined;
  /**
   * The configured agent whose email is this key, or the address this key is a sub-address of (see mailboxOf), if
   * any: whoever proves that mailbox is the agent, never a person. Absent, none.
   */
  agentByEmail?(key: string): Principal | undefined;
  /**
   * Whether a token of `issuer` may name the configured principal `id`, by its id claim or (a human) by a verified
   * email: the issuers the principal lists, else any by email and, by id, only the one issuer there is. Absent (a
   * directory without tokens), any.
   */
  mayName?(id: string, issuer: string, by: 'id' | 'email'): boolean;
  /** The configured principal whose id has this idFold, if any. */
  principalLike?(fold: string): Principal | undefined;
  /**
   * Whether a human of `issuer` known by its id claim alone (no verified email, an id no principal configures) may be
   * a person here: only where that issuer is the one place humans come from (the only issuer of humans, either by its
   * API tokens or by the console's sign-in and not both, and no human in the configuration), since nothing could tell
   * them from the same person reached another way: one provider's ID tokens and access tokens need not share a `sub`.
   * Absent, any.
   */
  unlinkedAllowed?(issuer: string): boolean;
  /**
   * Whether `issuer` is the one place humans come from (the only issuer of humans, by its API tokens or by the
   * console's sign-in and not both), configured humans or not: there a person's names at that issuer are all the
   * names a provider gives them, and a name an agent acts for is told apart from them. Absent, none.
   */
  soleHumanPlace?(issuer: string): boolean;
  /**
   * Whether the configuration takes tokens of `issuer` for humans (identity.issuers of humans, identity.login). An
   * issuer it no longer takes vouches for no one: what its tokens said of a reviewer counts for nothing. Absent, any.
   */
  issuesHumans?(issuer: string): boolean;
  /**
   * Whether the group mapping in force for `issuer` (its groupMap and trustGroups; identity.login's for the sign-in
   * provider) grants `group` to a human whose provider named `providerGroups`; with none kept (a review recorded before
   * they were), whether it grants `group` to anyone. A recorded approval keeps a token group only while this holds,
   * as a console session or a chat click maps the provider's groups again. Absent, any.
   */
  mapsGroup?(issuer: string, providerGroups: readonly string[] | undefined, group: string): boolean;
  /** Whether the configuration lists the API key `ref` names (core/session.ts apiKeyRef) for principal `id`. Absent, any. */
  holdsKey?(id: string, ref: string): boolean;
  /** Whether the configuration takes tokens of `issuer` for principals of this kind (identity.issuers, identity.login). Absent, any. */
  takesTokensOf?(issuer: string, kind: 'agent' | 'human'): boolean;
}

/**
 * The form in which an id is compared with the configured ones for lookalikes: NFKC, lower-cased.
 *
 * @example
 * idFold('Ａlice') === idFold('alice'); // true (a fullwidth A)
 */
export function idFold(id: string): string {
  return id.normalize('NFKC').toLowerCase();
}

/**
 * Whether an id no principal configures would pass for a configured one on every card and log: it reads as one
 * (another case, a fullwidth letter: the same idFold), is a configured principal's email (in any spelling emailKey
 * folds), or hides characters (controls, format characters, spaces).
 *
 * @example
 * lookalikeId('Alice', dir); // true when alice is configured
 * lookalikeId('Alice@Example.com', dir); // true when alice is configured with that email
 */
export function lookalikeId(id: string, dir: HumanDirectory): boolean {
  if (/[\p{Cc}\p{Cf}\p{Z}]/u.test(id) || dir.principalLike?.(idFold(id)) !== undefined) return true;
  const key = emailKey(id);
  return key !== undefined && (dir.humanByEmail(key) !== undefined || dir.agentByEmail?.(key) !== undefined);
}

/**
 * The email a token vouches for, read at the claim `path` an issuer's mapping names: only with `email_verified: true`,
 * which is the provider's word about the `email` claim (OIDC Core §5.1) and no other. A value at another path counts
 * only when it is that verified `email` (compared as emailKey does): whoever can set a profile attribute or a username
 * would otherwise be any person by typing her address there.
 *
 * @example
 * verifiedEmailOf({ email: 'a@x.example', email_verified: true, upn: 'b@x.example' }, 'upn'); // null
 */
export function verifiedEmailOf(claims: Readonly<Record<string, unknown>>, path: string): string | null {
  if (claims['email_verified'] !== true) return null;
  const value = claimAt(claims, path);
  if (!isIdString(value)) return null;
  if (path === 'email') return value;
  const key = emailKey(value);
  const attested = claims['email'];
  return key !== undefined && typeof attested === 'string' && emailKey(attested) === key ? value : null;
}

/**
 * The form in which two names are one where that only refuses: idFold without hidden characters.
 *
 * @example
 * nameFold('HJones\u200B') === nameFold('hjones'); // true
 */
export function nameFold(name: string): string {
  return idFold(name.replace(/[\p{Cc}\p{Cf}\p{Z}]/gu, ''));
}

/**
 * The configured principal a name reads as, where it is not exactly theirs: the same id or email after hidden
 * characters (controls, format characters, spaces) are dropped and NFKC and case are folded (`Alice`, a fullwidth
 * `ａlice`, `alice` with a zero-width space). For where taking the name as theirs only ever refuses: an agent's
 * token naming the human it acts for in a provider's spelling (a GitHub `actor` of `Alice`) names her.
 *
 * @example
 * readsAs('Alice', dir)?.id; // 'alice' when alice is configured
 */
export function readsAs(name: string, dir: HumanDirectory): Principal | undefined {
  const fold = nameFold(name);
  const key = emailKey(fold);
  return dir.principalLike?.(fold) ?? (key === undefined ? undefined : (dir.humanByEmail(key) ?? dir.principal(key)));
}

/** What a credential says about a human: its id claim, and an email only when the issuer verified it. */
export interface ClaimedHuman {
  readonly id: string;
  readonly verifiedEmail: string | null;
}

export type CanonicalHuman =
  | { readonly ok: true; readonly id: string; readonly configured: Principal | undefined; readonly email: string | null }
  | { readonly ok: false; readonly reason: 'principal.kind_mismatch' | 'principal.email_invalid' | 'principal.issuer_not_allowed' | 'principal.id_confusable' | 'principal.unlinked' };

/**
 * `issuer`: the token issuer that vouched for the claim, whose right to name a configured human is checked
 * (HumanDirectory mayName); absent for a credential of the configuration itself or a chat account.
 *
 * @example
 * canonicalHuman({ id: '00u1abc', verifiedEmail: 'ALICE@example.com' }, directory);
 * // { ok: true, id: 'alice', configured: <alice>, email: 'alice@example.com' } when alice is configured with that email
 */
export function canonicalHuman(claimed: ClaimedHuman, dir: HumanDirectory, issuer?: string): CanonicalHuman {
  const key = claimed.verifiedEmail === null ? undefined : emailKey(claimed.verifiedEmail);
  // A verified address that matches nobody (quoted, lookalike, malformed) is refused: falling back to the id would
  // make the owner of a configured address one more person under an odd spelling of it.
  if (claimed.verifiedEmail !== null && key === undefined) return { ok: false, reason: 'principal.email_invalid' };
  // A token of an issuer the configured human is not bound to is refused, never taken as someone else: it would be
  // them under another name, or a second person with their id.
  const found = (p: Principal, by: 'id' | 'email'): CanonicalHuman => {
    if (p.kind !== 'human') return { ok: false, reason: 'principal.kind_mismatch' };
    if (issuer !== undefined && dir.mayName && !dir.mayName(p.id, issuer, by)) return { ok: false, reason: 'principal.issuer_not_allowed' };
    return { ok: true, id: p.id, configured: p, email: p.email ?? key ?? null };
  };
  const byId = dir.principal(claimed.id);
  // An id that is the verified email itself names them by that email.
  if (byId) return found(byId, key !== undefined && emailKey(claimed.id) === key ? 'email' : 'id');
  if (key === undefined) {
    // An id nobody configured that reads as a configured one (another case, a fullwidth letter) or hides characters
    // would be one more person under a name the cards show as theirs: refused, never a stranger.
    if (lookalikeId(claimed.id, dir)) return { ok: false, reason: 'principal.id_confusable' };
    // Known by this issuer's id claim alone: where humans also come from another issuer, the console's sign-in or the configuration, the same
    // person there would be one more reviewer (a quorum of one, or the human an agent acts for approving it).
    if (issuer !== undefined && dir.unlinkedAllowed && !dir.unlinkedAllowed(issuer)) return { ok: false, reason: 'principal.unlinked' };
    return { ok: true, id: claimed.id, configured: undefined, email: null };
  }
  const byEmail = dir.humanByEmail(key);
  if (byEmail) return found(byEmail, 'email');
  const emailAsId = dir.principal(key);
  if (emailAsId) return found(emailAsId, 'email');
  // An agent's configured address is the agent's: a person who proves that mailbox (the agent's own account at the
  // provider, or whoever runs it) would be a reviewer the review rules cannot tell from it, approving its requests.
  if (dir.agentByEmail?.(key)) return { ok: false, reason: 'principal.kind_mismatch' };
  return { ok: true, id: key, configured: undefined, email: key };
}

/**
 * The canonical id of the human an agent acts for, as a token names them. An
 * email there names the configured human with that address (compared as
 * above); this only ever keeps that human from reviewing, so no verification
 * is needed to match.
 *
 * @example
 * canonicalActsFor('Carol@Example.com', directory); // 'carol' when carol is configured with that email
 */
export function canonicalActsFor(value: string, dir: HumanDirectory): string {
  if (dir.principal(value)) return value;
  const key = emailKey(value);
  if (key === undefined) return value;
  return dir.humanByEmail(key)?.id ?? key;
}
