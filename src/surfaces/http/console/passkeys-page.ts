/**
 * The Passkeys page (`/account/passkeys`): the signed-in human's passkeys for
 * step-up approvals, a form to register one (the script passkeys.js runs the
 * ceremony) and a Remove button per passkey (the script confirms with a
 * passkey first). The first passkey needs a recent sign-in, another one and
 * every removal a confirmation with a passkey held already: the use cases
 * (service/passkeys.ts) refuse otherwise. An administrator opens another
 * human's passkeys at `/account/passkeys?human=<id>` and removes them without
 * a passkey (the recovery after losing every authenticator).
 */
import { Hono } from 'hono';
import { FIRST_PASSKEY_LOGIN_SECONDS } from '../../../core/step-up.ts';
import type { Deps } from '../../../service/deps.ts';
import { listPasskeys, MAX_LABEL, passkeyRegistrationOptions, passkeyRemovalOptions, passkeysOfHuman, registerPasskey, removePasskey } from '../../../service/passkeys.ts';
import type { AppEnv } from '../context.ts';
import { ident, when } from './format.ts';
import { consoleForm, consolePage, type Who } from './handlers.ts';
import { html } from './html.ts';
import { hasAnyRole } from '../../../core/roles.ts';
import { credentialField, jsonAnswer } from './json-answer.ts';
import { csrfField, page } from './layout.ts';

const DONE: Readonly<Record<string, string>> = { registered: 'Your passkey is registered.', removed: 'The passkey is removed.' };

const notice = (done: string | undefined) => (done && DONE[done] ? html`<div class="notice ok" role="status"><p>${DONE[done]}</p></div>` : '');
const HEAD = html`<thead><tr><th scope="col">Label</th><th scope="col">Registered</th><th scope="col">Credential</th><th scope="col">Action</th></tr></thead>`;

/** An administrator's view of another human's passkeys: each removable without a passkey. */
async function renderOf(deps: Deps, who: Who, human: string, done: string | undefined) {
  const theirs = await passkeysOfHuman(deps, who.principal, human);
  const rows = theirs.map(
    (p) => html`<tr><td>${p.label}</td><td>${when(p.createdAt)}</td><td><code class="id">${p.id.slice(0, 12)}…</code></td><td>
<form method="post" action="/account/passkeys/${encodeURIComponent(p.id)}/remove">${csrfField(who.viewer)}<input type="hidden" name="human" value="${human}"><button type="submit" class="link" aria-label="Remove passkey ${p.label} of ${human}">Remove</button></form></td></tr>`,
  );
  const body = html`${notice(done)}
<h1>Passkeys of ${ident(human)}</h1>
<p>As an administrator you may remove another human's passkeys without a passkey, for someone who lost every authenticator: they then register a new one after a fresh sign-in. Each removal is audited with your name.</p>
${rows.length ? html`<div class="table-wrap"><table>${HEAD}<tbody>${rows}</tbody></table></div>` : html`<p class="none" id="no-passkeys">${ident(human)} has no passkey.</p>`}
<p><a href="/account/passkeys">Your own passkeys</a></p>`;
  return page({ title: `Passkeys of ${human}`, viewer: who.viewer, active: 'passkeys', body });
}

async function render(deps: Deps, who: Who, done: string | undefined) {
  const mine = await listPasskeys(deps, who.principal);
  const rows = mine.map(
    (p) => html`<tr><td>${p.label}</td><td>${when(p.createdAt)}</td><td><code class="id">${p.id.slice(0, 12)}…</code></td><td>
<form method="post" action="/account/passkeys/${encodeURIComponent(p.id)}/remove" data-passkey-remove="/account/passkeys/${encodeURIComponent(p.id)}/remove/options">${csrfField(who.viewer)}<button type="submit" class="link" aria-label="Remove passkey ${p.label}">Remove</button></form></td></tr>`,
  );
  const admin = hasAnyRole(who.viewer.roles, ['admin'])
    ? html`<section aria-labelledby="h-others"><h2 id="h-others">Another human's passkeys</h2>
<form method="get" action="/account/passkeys" class="review"><label for="human">Human id</label><input type="text" id="human" name="human" required autocomplete="off">
<div class="buttons"><button type="submit">Show their passkeys</button></div></form></section>`
    : '';
  const body = html`${notice(done)}
<h1>Passkeys</h1>
<p>Some requests need every approval confirmed with a passkey (rules with <code>stepUp: webauthn</code>). A passkey is a key your device or security key holds and unlocks with your fingerprint, face or PIN; a stolen chat or console session cannot use it.</p>
<section aria-labelledby="h-mine"><h2 id="h-mine">Your passkeys</h2>
${rows.length ? html`<div class="table-wrap"><table>${HEAD}<tbody>${rows}</tbody></table></div><p class="small">Removing one asks for one of your passkeys first. If you lost them all, an administrator can remove them.</p><p class="small" id="passkey-remove-status" role="status" aria-live="polite"></p>` : html`<p class="none" id="no-passkeys">You have no passkey yet.</p>`}
</section>
<section aria-labelledby="h-add"><h2 id="h-add">Register a passkey</h2>
<p class="small">${mine.length ? 'You will confirm with a passkey you already hold first.' : `Your first passkey needs a sign-in of the last ${FIRST_PASSKEY_LOGIN_SECONDS / 60} minutes; if yours is older, sign out and in again.`}</p>
<form method="post" action="/account/passkeys" data-passkey-register="/account/passkeys/options" class="review">
  ${csrfField(who.viewer)}
  <label for="label">Label <span class="small">(to tell your passkeys apart)</span></label>
  <input type="text" id="label" name="label" maxlength="${MAX_LABEL}" value="${mine.length ? '' : 'my passkey'}" autocomplete="off">
  <p class="small" data-passkey-status role="status" aria-live="polite"></p>
  <div class="buttons"><button type="submit" class="approve">Register a passkey</button></div>
</form></section>${admin}`;
  return page({ title: 'Passkeys', viewer: who.viewer, active: 'passkeys', body, passkeys: true });
}

export function passkeyPageRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    '/account/passkeys',
    consolePage(deps, async (c, who) => {
      const human = c.req.query('human')?.trim();
      const done = c.req.query('done');
      return c.html((human && human !== who.principal.id ? await renderOf(deps, who, human, done) : await render(deps, who, done)).value);
    }),
  );
  app.post(
    '/account/passkeys/options',
    consoleForm(deps, (c, who) => jsonAnswer(c, () => passkeyRegistrationOptions(deps, { human: who.principal, sessionCreatedAt: who.session.createdAt, sessionMethod: who.session.method }))),
  );
  app.post(
    '/account/passkeys',
    consoleForm(deps, (c, who, form) =>
      jsonAnswer(c, async () => {
        const confirmation = credentialField(form, 'confirmation');
        await registerPasskey(deps, {
          human: who.principal,
          sessionCreatedAt: who.session.createdAt,
          sessionMethod: who.session.method,
          label: form.get('label') ?? '',
          response: credentialField(form, 'credential'),
          ...(confirmation !== undefined ? { confirmation } : {}),
        });
        return { redirect: '/account/passkeys?done=registered' };
      }),
    ),
  );
  app.post(
    '/account/passkeys/:id/remove/options',
    consoleForm(deps, (c, who) => jsonAnswer(c, async () => ({ options: await passkeyRemovalOptions(deps, who.principal, c.req.param('id') ?? '') }))),
  );
  // With a confirmation (the script): a JSON answer. Without one: an administrator's removal of another human's
  // passkey, or a plain form that the use case refuses for one's own.
  app.post(
    '/account/passkeys/:id/remove',
    consoleForm(deps, async (c, who, form) => {
      const id = c.req.param('id') ?? '';
      const human = form.get('human')?.trim() || who.principal.id;
      const confirmation = credentialField(form, 'confirmation');
      if (confirmation !== undefined) {
        return jsonAnswer(c, async () => {
          await removePasskey(deps, { by: who.principal, id, confirmation });
          return { redirect: '/account/passkeys?done=removed' };
        });
      }
      await removePasskey(deps, { by: who.principal, human, id });
      return c.redirect(human === who.principal.id ? '/account/passkeys?done=removed' : `/account/passkeys?human=${encodeURIComponent(human)}&done=removed`, 303);
    }),
  );
  return app;
}
