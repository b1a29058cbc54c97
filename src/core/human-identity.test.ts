import { describe, expect, it } from 'vitest';
import { human, agent } from '../../test/support/fixtures.ts';
import { canonicalActsFor, canonicalHuman, emailKey, humanKey, idFold, inboxSpelling, mailboxOf, readsAs, sameIdentity, type HumanDirectory } from './human-identity.ts';
import { grantedGroups } from './group-mapping.ts';
import type { Principal } from './principal.ts';

const alice: Principal = { ...human('alice', ['sre']), email: 'Alice@Example.com' };
const bot: Principal = { ...agent('bot', null), email: 'bot@example.com' };
const configured = [alice, bot];
const dir: HumanDirectory = {
  principal: (id) => configured.find((p) => p.id === id),
  humanByEmail: (key) => configured.find((p) => p.kind === 'human' && p.email !== null && emailKey(p.email) === key),
  agentByEmail: (key) => configured.find((p) => p.kind === 'agent' && p.email !== null && [key, mailboxOf(key)].includes(emailKey(p.email) ?? '')),
};

describe('emailKey', () => {
  it('folds case and Unicode normal form', () => {
    expect(emailKey(' ALICE@example.COM ')).toBe('alice@example.com');
    expect(emailKey('jose\u0301@example.com')).toBe(emailKey('jos\u00e9@example.com'));
  });

  it('matches nobody for lookalike, compatibility or invisible characters, or a malformed address', () => {
    for (const e of ['\uff41lice@example.com', 'alice@\u212aexample.com', 'al\u200dice@example.com', '\u0130lice@example.com', 'alice', 'a lice@example.com', 'a@b@c']) {
      expect(emailKey(e), e).toBeUndefined();
    }
  });
});

describe('emailKey: one mailbox, one key', () => {
  it('compares a domain in its ASCII form: Unicode and punycode spellings, any case, a trailing root dot', () => {
    const key = emailKey('alice@xn--exmple-cua.com');
    expect(key).toBe('alice@xn--exmple-cua.com');
    for (const e of ['alice@ex\u00e4mple.com', 'alice@EX\u00c4MPLE.COM', 'alice@exa\u0308mple.com', 'Alice@XN--EXMPLE-CUA.COM', 'alice@ex\u00e4mple.com.']) expect(emailKey(e), e).toBe(key);
    expect(emailKey('alice@example.com.')).toBe('alice@example.com');
  });

  it('keeps sub-addresses (other ids), ß and ss, and dotless i apart', () => {
    expect(emailKey('alice+ops@example.com')).not.toBe(emailKey('alice@example.com'));
    expect(emailKey('stra\u00dfe@example.com')).not.toBe(emailKey('strasse@example.com'));
    expect(emailKey('al\u0131ce@example.com')).not.toBe(emailKey('alice@example.com'));
  });

  it('matches nobody for a quoted local part, a domain literal, an invalid punycode label or a domain with URL syntax', () => {
    for (const e of ['"alice"@example.com', 'alice@[127.0.0.1]', 'alice@xn--zz.com', 'alice@example.com/x', 'alice@example.com:80', 'alice@exa%6dple.com', 'alice@example..com', 'alice@.example.com', 'alice@example.com..']) {
      expect(emailKey(e), e).toBeUndefined();
    }
  });
});

describe('sameIdentity: a sub-address is its mailbox only where that refuses', () => {
  it('takes alice+ops@ as alice@ with { mailbox: true }, never otherwise', () => {
    expect(mailboxOf('alice+ops@example.com')).toBe('alice@example.com');
    expect(mailboxOf('alice@example.com')).toBe('alice@example.com');
    expect(mailboxOf('+ops@example.com')).toBe('+ops@example.com');
    // Gmail reads its local part without dots, and googlemail.com is gmail.com; elsewhere a dot is part of the address.
    expect(mailboxOf('a.lice+ops@googlemail.com')).toBe('alice@gmail.com');
    expect(mailboxOf('a.lice@example.com')).toBe('a.lice@example.com');
    expect(mailboxOf('...@gmail.com')).toBe('...@gmail.com');
    expect(inboxSpelling('ci.bot+x@googlemail.com')).toBe('cibot+x@gmail.com');
    expect(mailboxOf('ops@dana.fastmail.com')).toBe('dana@fastmail.com');
    expect(mailboxOf('dana+x@fastmail.com')).toBe('dana@fastmail.com');
    expect(mailboxOf('ops@dana.example.com')).toBe('ops@dana.example.com');
    expect(sameIdentity({ id: 'a.lice@gmail.com' }, { id: 'x', email: 'alice@googlemail.com' }, { mailbox: true })).toBe(true);
    expect(sameIdentity({ id: 'a.lice@gmail.com' }, { id: 'x', email: 'alice@googlemail.com' })).toBe(false);
    const tagged = { id: 'alice+ops@example.com' };
    const alice = { id: 'alice', email: 'Alice@Example.com' };
    expect(sameIdentity(tagged, alice)).toBe(false);
    expect(sameIdentity(tagged, alice, { mailbox: true })).toBe(true);
    expect(sameIdentity({ id: 'x', email: 'alice+a@example.com' }, { id: 'y', email: 'alice+b@example.com' }, { mailbox: true })).toBe(true);
    expect(sameIdentity({ id: 'alice@example.com' }, { id: 'alice@example.org' }, { mailbox: true })).toBe(false);
  });

  it('takes one chat account for one person, whatever email it had at each click', () => {
    expect(sameIdentity({ id: 'alice', chatAccount: 'slack:U1' }, { id: 'bob', chatAccount: 'slack:U1' })).toBe(true);
    expect(sameIdentity({ id: 'alice', chatAccount: 'slack:U1' }, { id: 'bob', chatAccount: 'slack:U2' })).toBe(false);
    expect(sameIdentity({ id: 'alice', chatAccount: 'slack:U1' }, { id: 'bob', chatAccount: 'teams:U1' })).toBe(false);
  });
});

describe('canonicalHuman', () => {
  it('refuses a verified email that matches nobody (rather than falling back to an id): it would be one more person', () => {
    expect(canonicalHuman({ id: 'sub-9', verifiedEmail: '"alice"@example.com' }, dir)).toEqual({ ok: false, reason: 'principal.email_invalid' });
    expect(canonicalHuman({ id: 'sub-9', verifiedEmail: '\uff41lice@example.com' }, dir)).toEqual({ ok: false, reason: 'principal.email_invalid' });
  });

  it('names the configured human by an IDN address in either spelling', () => {
    const erin: Principal = { ...human('erin', ['sre']), email: 'erin@ex\u00e4mple.com' };
    const d: HumanDirectory = { principal: () => undefined, humanByEmail: (key) => (emailKey(erin.email ?? '') === key ? erin : undefined) };
    expect(canonicalHuman({ id: 'sub-3', verifiedEmail: 'ERIN@xn--exmple-cua.com' }, d)).toMatchObject({ ok: true, id: 'erin' });
  });

  it('is the configured human by id, then by verified email compared case-insensitively', () => {
    expect(canonicalHuman({ id: 'alice', verifiedEmail: null }, dir)).toMatchObject({ ok: true, id: 'alice' });
    expect(canonicalHuman({ id: '00u1xyz', verifiedEmail: 'ALICE@example.com' }, dir)).toMatchObject({ ok: true, id: 'alice', configured: alice });
  });

  it('without a verified email never matches by email', () => {
    expect(canonicalHuman({ id: '00u1xyz', verifiedEmail: null }, dir)).toMatchObject({ ok: true, id: '00u1xyz', configured: undefined });
  });

  it('is the normalised verified email for a human the config does not name', () => {
    expect(canonicalHuman({ id: 'sub-1', verifiedEmail: 'Dana@Example.com' }, dir)).toEqual({ ok: true, id: 'dana@example.com', configured: undefined, email: 'dana@example.com' });
  });

  it('refuses a token of an issuer the configured human may not be named by, by id or by email', () => {
    const boundTo = (issuers: Record<string, string[]>, sole: boolean): HumanDirectory => ({
      ...dir,
      mayName: (id, issuer, by) => (issuers[id] ? issuers[id].includes(issuer) : by === 'email' || sole),
    });
    const a = 'https://a.example.com';
    const b = 'https://b.example.com';
    const d = boundTo({ alice: [a] }, false);
    expect(canonicalHuman({ id: 'alice', verifiedEmail: null }, d, a)).toMatchObject({ ok: true, id: 'alice' });
    expect(canonicalHuman({ id: 'alice', verifiedEmail: null }, d, b)).toEqual({ ok: false, reason: 'principal.issuer_not_allowed' });
    expect(canonicalHuman({ id: '00u-x', verifiedEmail: 'alice@example.com' }, d, b)).toEqual({ ok: false, reason: 'principal.issuer_not_allowed' });
    // Unlisted with several issuers: by verified email, as ever; by id, never.
    const open = boundTo({}, false);
    expect(canonicalHuman({ id: '00u-x', verifiedEmail: 'alice@example.com' }, open, b)).toMatchObject({ ok: true, id: 'alice' });
    expect(canonicalHuman({ id: 'alice', verifiedEmail: null }, open, b)).toEqual({ ok: false, reason: 'principal.issuer_not_allowed' });
    expect(canonicalHuman({ id: 'alice', verifiedEmail: null }, boundTo({}, true), b)).toMatchObject({ ok: true, id: 'alice' });
    // No issuer (a configured credential, a chat account): not a token's word.
    expect(canonicalHuman({ id: 'alice', verifiedEmail: null }, d)).toMatchObject({ ok: true, id: 'alice' });
  });

  it('refuses an unconfigured id that reads as a configured one, or hides characters, rather than make a stranger of it', () => {
    const d: HumanDirectory = { ...dir, principalLike: (fold) => configured.find((p) => idFold(p.id) === fold) };
    for (const id of ['Alice', 'ALICE', '\uff41lice', 'alice\u200b', 'al ice']) {
      expect(canonicalHuman({ id, verifiedEmail: null }, d), id).toEqual({ ok: false, reason: 'principal.id_confusable' });
    }
    // The same id with her verified email is her; a plain other id is someone else.
    expect(canonicalHuman({ id: 'Alice', verifiedEmail: 'alice@example.com' }, d)).toMatchObject({ ok: true, id: 'alice' });
    expect(canonicalHuman({ id: 'alicia', verifiedEmail: null }, d)).toMatchObject({ ok: true, id: 'alicia', configured: undefined });
  });

  it('refuses a human known by its issuer’s id claim alone where humans also come from elsewhere; takes one where that issuer is the only place', () => {
    const only = (issuer: string): HumanDirectory => ({ ...dir, unlinkedAllowed: (i) => i === issuer });
    const none: HumanDirectory = { ...dir, unlinkedAllowed: () => false };
    expect(canonicalHuman({ id: '00u-dee', verifiedEmail: null }, none, 'https://two.example')).toEqual({ ok: false, reason: 'principal.unlinked' });
    expect(canonicalHuman({ id: '00u-dee', verifiedEmail: null }, only('https://one.example'), 'https://one.example')).toMatchObject({ ok: true, id: '00u-dee' });
    // Linked ones stay: a configured id, a verified email.
    expect(canonicalHuman({ id: 'alice', verifiedEmail: null }, none, 'https://two.example')).toMatchObject({ ok: true, id: 'alice' });
    expect(canonicalHuman({ id: '00u-dee', verifiedEmail: 'dee@example.com' }, none, 'https://two.example')).toMatchObject({ ok: true, id: 'dee@example.com' });
  });

  it('never resolves to an agent, by id or by an agent’s email', () => {
    expect(canonicalHuman({ id: 'bot', verifiedEmail: null }, dir)).toEqual({ ok: false, reason: 'principal.kind_mismatch' });
    // Whoever proves the agent's own mailbox (or a sub-address of it) is the agent, not one more person.
    expect(canonicalHuman({ id: 'sub-2', verifiedEmail: 'Bot@example.com' }, dir)).toEqual({ ok: false, reason: 'principal.kind_mismatch' });
    expect(canonicalHuman({ id: 'sub-2', verifiedEmail: 'bot+ci@example.com' }, dir)).toEqual({ ok: false, reason: 'principal.kind_mismatch' });
  });
});

describe('canonicalActsFor and humanKey', () => {
  it('names the configured human by an email in any case', () => {
    expect(canonicalActsFor('ALICE@example.com', dir)).toBe('alice');
    expect(canonicalActsFor('alice', dir)).toBe('alice');
    expect(canonicalActsFor('Dana@Example.com', dir)).toBe('dana@example.com');
    expect(humanKey('Dana@Example.com')).toBe(humanKey('dana@example.com'));
  });
});

describe('grantedGroups', () => {
  it('grants only mapped groups unless the provider’s groups are trusted', () => {
    expect(grantedGroups(['admins', 'okta-dba'], { 'okta-dba': ['dba'] }, false)).toEqual(['dba']);
    expect(grantedGroups(['admins', 'okta-dba'], { 'okta-dba': ['dba'] }, true)).toEqual(['admins', 'okta-dba', 'dba']);
    expect(grantedGroups(['constructor', '__proto__'], {}, false)).toEqual([]);
  });
});

describe('readsAs', () => {
  const folded: HumanDirectory = { ...dir, principalLike: (fold) => configured.find((p) => idFold(p.id) === fold) };

  it('finds the configured principal a name reads as: another case, compatibility or hidden characters, by id or email', () => {
    for (const n of ['Alice', 'ALICE', '\uff41lice', 'alice\u200b', ' alice', '\uff41lice@example.com', 'ALICE@EXAMPLE.COM']) expect(readsAs(n, folded)?.id, n).toBe('alice');
    expect(readsAs('BOT', folded)?.id).toBe('bot');
  });

  it('finds nobody for another name', () => {
    for (const n of ['alicia', 'al1ce', 'alice+ops@example.com', 'bob@example.com']) expect(readsAs(n, folded), n).toBeUndefined();
  });
});
