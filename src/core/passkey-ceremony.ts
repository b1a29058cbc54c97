/**
 * The WebAuthn ceremonies as a port: options for the browser, and the
 * verification of what the browser's authenticator answered. The adapter
 * (adapters/identity/webauthn.ts) holds the relying party's settings and
 * the library; a failed verification is always STEP_UP_REQUIRED.
 */
import type { Passkey } from './step-up.ts';

/** The relying party: its id (a host name, never an IP address), its name, and the origins its pages are served from. */
export interface RelyingParty {
  readonly rpId: string;
  readonly rpName: string;
  readonly origins: readonly string[];
}

/** Options as JSON for `navigator.credentials.create/get` (PublicKeyCredential*OptionsJSON), with their challenge. */
export interface CeremonyOptions {
  readonly challenge: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** A new credential as verified: public material only. */
export interface NewCredential {
  readonly id: string;
  readonly publicKey: string;
  readonly counter: number;
  readonly transports: readonly string[];
}

export interface PasskeyCeremony {
  relyingParty(): RelyingParty;
  /** Options to create a passkey for `human`, excluding the ones they have; user verification required. */
  registrationOptions(human: string, exclude: readonly Passkey[]): Promise<CeremonyOptions>;
  /** Verifies a registration answering `challenge` (origin, RP id, user verification); throws STEP_UP_REQUIRED otherwise. */
  verifyRegistration(response: unknown, challenge: string): Promise<NewCredential>;
  /** Options to confirm with one of `allow`; user verification required. */
  authenticationOptions(allow: readonly Passkey[]): Promise<CeremonyOptions>;
  /** Verifies an assertion by `passkey` answering `challenge`; returns the authenticator's new counter or throws STEP_UP_REQUIRED. */
  verifyAuthentication(response: unknown, challenge: string, passkey: Passkey): Promise<{ counter: number }>;
}
