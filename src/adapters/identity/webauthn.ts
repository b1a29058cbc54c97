/**
 * The passkey ceremonies with @simplewebauthn/server: user verification is
 * required at every step, the origin and RP id are the configured ones, and
 * whatever the library refuses (or throws on) is STEP_UP_REQUIRED with a
 * short reason, never the response's contents.
 */
import { createHash } from 'node:crypto';
import type { AuthenticationResponseJSON, AuthenticatorTransportFuture, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { PasskeyCeremony, RelyingParty } from '../../core/passkey-ceremony.ts';
import { stepUpRefused } from '../../core/step-up.ts';
import { lazyModule } from '../lazy-module.ts';

const TIMEOUT_MS = 120_000;

// Loaded at the first ceremony, not at start: with its certificate parsers it is 4 MB of heap that a gateway whose
// humans never register a passkey would hold for nothing.
const webauthn = lazyModule(() => import('@simplewebauthn/server'));
const TRANSPORTS = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);
const transportsOf = (t: readonly string[]) => t.filter((x): x is AuthenticatorTransportFuture => TRANSPORTS.has(x));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

async function verified<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw stepUpRefused(`the passkey ${what} did not verify (${e instanceof Error ? e.message.slice(0, 200) : 'malformed'})`);
  }
}

/**
 * @example
 * const ceremony = createPasskeyCeremony(() => ({ rpId: 'countersign.example.com', rpName: 'Countersign', origins: ['https://countersign.example.com'] }));
 */
export function createPasskeyCeremony(relyingParty: () => RelyingParty): PasskeyCeremony {
  return {
    relyingParty,
    async registrationOptions(human, exclude) {
      const rp = relyingParty();
      const { generateRegistrationOptions } = await webauthn();
      const options = await generateRegistrationOptions({
        rpName: rp.rpName,
        rpID: rp.rpId,
        userName: human,
        // Opaque and stable per human: the authenticator replaces its own earlier passkey of the same human.
        userID: new Uint8Array(createHash('sha256').update(`countersign-human:${human}`).digest()),
        timeout: TIMEOUT_MS,
        attestationType: 'none',
        excludeCredentials: exclude.map((p) => ({ id: p.id, transports: transportsOf(p.transports) })),
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
      });
      return { challenge: options.challenge, options: options as unknown as Record<string, unknown> };
    },
    async verifyRegistration(response, challenge) {
      if (!isObject(response)) throw stepUpRefused('the passkey registration is not a credential');
      const rp = relyingParty();
      const { verifyRegistrationResponse } = await webauthn();
      const result = await verified('registration', () =>
        verifyRegistrationResponse({
          response: response as unknown as RegistrationResponseJSON,
          expectedChallenge: challenge,
          expectedOrigin: [...rp.origins],
          expectedRPID: rp.rpId,
          requireUserVerification: true,
        }),
      );
      if (!result.verified) throw stepUpRefused('the passkey registration did not verify');
      const c = result.registrationInfo.credential;
      return { id: c.id, publicKey: Buffer.from(c.publicKey).toString('base64url'), counter: c.counter, transports: c.transports ?? [] };
    },
    async authenticationOptions(allow) {
      const { generateAuthenticationOptions } = await webauthn();
      const options = await generateAuthenticationOptions({
        rpID: relyingParty().rpId,
        allowCredentials: allow.map((p) => ({ id: p.id, transports: transportsOf(p.transports) })),
        userVerification: 'required',
        timeout: TIMEOUT_MS,
      });
      return { challenge: options.challenge, options: options as unknown as Record<string, unknown> };
    },
    async verifyAuthentication(response, challenge, passkey) {
      if (!isObject(response)) throw stepUpRefused('the passkey confirmation is not a credential');
      const rp = relyingParty();
      const { verifyAuthenticationResponse } = await webauthn();
      const result = await verified('confirmation', () =>
        verifyAuthenticationResponse({
          response: response as unknown as AuthenticationResponseJSON,
          expectedChallenge: challenge,
          expectedOrigin: [...rp.origins],
          expectedRPID: rp.rpId,
          credential: { id: passkey.id, publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')), counter: passkey.counter, transports: transportsOf(passkey.transports) },
          requireUserVerification: true,
        }),
      );
      if (!result.verified || !result.authenticationInfo.userVerified) throw stepUpRefused('the passkey confirmation did not verify the user');
      return { counter: result.authenticationInfo.newCounter };
    },
  };
}
