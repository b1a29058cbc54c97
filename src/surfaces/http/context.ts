/** What the HTTP app carries per request: the authenticated principal and a trace id. */
import type { LoginConfig } from '../../config/identity-schema.ts';
import type { Principal } from '../../core/principal.ts';

/** How the web console runs; from the config's `console:` section and the configured principals. */
export interface ConsoleSettings {
  readonly enabled: boolean;
  readonly sessionTtlSeconds: number;
  /** true: cookies always Secure; undefined: Secure when the request came over TLS. */
  readonly secureCookies?: boolean;
  /** The only origin console forms may come from; default: the request's own. */
  readonly origin?: string;
  /** Principal ids the policy simulator offers. */
  readonly principals: readonly string[];
  /** Single sign-on with an OpenID Provider (identity.login). */
  readonly login?: LoginConfig;
  /** identity.clockSkewSeconds: the tolerance for an ID token's iat, as for bearer tokens. */
  readonly clockSkewSeconds?: number;
}

export type AppEnv = {
  Variables: {
    principal: Principal;
    /**
     * Resolves while the request's bearer still names `principal`, throws UNAUTHENTICATED once it does not (a token
     * past its `exp`, a key the identity no longer holds): checked again by answers that outlive the request.
     */
    credential: () => Promise<void>;
    traceId: string;
    /** The most bytes a JSON body may have (server.bodyLimitBytes). */
    bodyLimit: number;
    console: ConsoleSettings;
    /** The most events one exported period may hold (audit.maxExportEvents). */
    exportLimit: number;
  };
};
