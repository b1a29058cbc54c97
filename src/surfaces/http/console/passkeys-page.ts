/**
 * The Passkeys page (`/account/passkeys`): the signed-in human's passkeys for
 * step-up approvals, a form to register one (the script passkeys.js runs the
 * ceremony) and a Remove button per passkey. The first passkey needs a recent
 * sign-in and another one a confirmation with a passkey held already: the
 * use cases (service/passkeys.ts) refuse otherwise.
 */
import { Hono } from 'hono';
import { FIRST_PASSKEY_LOGIN_SECONDS } from '../../../core/step-up.ts';
import type { Deps } from '../../../service/deps.ts';
import { listPasskeys, MAX_LABEL, passkeyRegistrationOptions, registerPasskey, removePasskey } from '../../../service/passkeys.ts';
import type { AppEnv } from '../context.ts';
import { when } from './format.ts';
import { consoleForm, consolePage, type Who } from './handlers.ts';
import { html } from './html.ts';
import { credentialField, jsonAnswer } from './json-answer.ts';
import { csrfField, page } from './layout.ts';

const DONE: Readonly<Record<string, string>> = { registered: 'Your passkey is registered.', removed: 'The passkey is removed.' };

async function render(deps: Deps, who: Who, done: string | undefined) {
  const mine = await listPasskeys(deps, who.principal);
  const rows = mine.map(
    (p) => html`<tr><td>${p.label}</td><td>${when(p.createdAt)}</td><td><code class="id">${p.id.slice(0, 12)}…</code></td><td>
<form method="post" action="/account/passkeys/${encodeURIComponent(p.id)}/remove">${csrfField(who.viewer)}<button type="submit" class="link" aria-label="Remove passkey ${p.label}">Remove</button></form></td></tr>`,
  );
  const body = html`${done && DONE[done] ? html`<div class="notice ok" role="status"><p>${DONE[done]}</p></div>` : ''}
<h1>Passkeys</h1>
<p>Some requests need every approval confirmed with a passkey (rules with <code>stepUp: webauthn</code>). A passkey is a key your device or security key holds and unlocks with your fingerprint, face or PIN; a stolen chat or console session cannot use it.</p>
<section aria-labelledby="h-mine"><h2 id="h-mine">Your passkeys</h2>
${rows.length ? html`<div class="table-wrap"><table><thead><tr><th scope="col">Label</th><th scope="col">Registered</th><th scope="col">Credential</th><th scope="col">Action</th></tr></thead><tbody>${rows}</tbody></table></div>` : html`<p class="none" id="no-passkeys">You have no passkey yet.</p>`}
</section>
<section aria-labelledby="h-add"><h2 id="h-add">Register a passkey</h2>
<p class="small">${mine.length ? 'You will confirm with a passkey you already hold first.' : `Your first passkey needs a sign-in of the last ${FIRST_PASSKEY_LOGIN_SECONDS / 60} minutes; if yours is older, sign out and in again.`}</p>
<form method="post" action="/account/passkeys" data-passkey-register="/account/passkeys/options" class="review">
  ${csrfField(who.viewer)}
  <label for="label">Label <span class="small">(to tell your passkeys apart)</span></label>
  <input type="text" id="label" name="label" maxlength="${MAX_LABEL}" value="${mine.length ? '' : 'my passkey'}" autocomplete="off">
  <p class="small" data-passkey-status role="status" aria-live="polite"></p>
  <div class="buttons"><button type="submit" class="approve">Register a passkey</button></div>
</form></section>`;
  return page({ title: 'Passkeys', viewer: who.viewer, active: 'passkeys', body, passkeys: true });
}

export function passkeyPageRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/account/passkeys', consolePage(deps, async (c, who) => c.html((await render(deps, who, c.req.query('done'))).value)));
  app.post(
    '/account/passkeys/options',
    consoleForm(deps, (c, who) => jsonAnswer(c, () => passkeyRegistrationOptions(deps, { human: who.principal, sessionCreatedAt: who.session.createdAt }))),
  );
  app.post(
    '/account/passkeys',
    consoleForm(deps, (c, who, form) =>
      jsonAnswer(c, async () => {
        const confirmation = credentialField(form, 'confirmation');
        await registerPasskey(deps, {
          human: who.principal,
          sessionCreatedAt: who.session.createdAt,
          label: form.get('label') ?? '',
          response: credentialField(form, 'credential'),
          ...(confirmation !== undefined ? { confirmation } : {}),
        });
        return { redirect: '/account/passkeys?done=registered' };
      }),
    ),
  );
  app.post(
    '/account/passkeys/:id/remove',
    consoleForm(deps, async (c, who) => {
      await removePasskey(deps, who.principal, c.req.param('id') ?? '');
      return c.redirect('/account/passkeys?done=removed', 303);
    }),
  );
  return app;
}
