/** What every use case needs: the ports, the current policy, time and ids. */
import type { CompiledPolicy } from '../core/policy/compile.ts';
import type { CheckpointSigner, Clock, Connections, IdGenerator, Identity, Log, Metrics, Notifier, Store } from '../core/ports.ts';
import type { Tracer } from '../core/tracing.ts';
import type { PasskeyEnrolment } from '../core/step-up.ts';
import type { PasskeyCeremony } from '../core/passkey-ceremony.ts';
import type { WaitSlots } from './wait-slots.ts';
import type { ConfigInForce } from './config-in-force.ts';
import type { SignInGroups } from '../core/group-mapping.ts';

export interface Deps {
  readonly store: Store;
  readonly connections: Connections;
  readonly identity: Identity;
  /** The policy in force now (a getter, so a reload is seen by the next call). */
  readonly policy: () => CompiledPolicy;
  /** A candidate policy shadowed beside the live one (`policy.candidate`): evaluated, never enforced. */
  readonly candidate?: CompiledPolicy;
  /**
   * Whether this process's config is the one in force on its store (the one the last gateway started with): checked
   * before anything is decided or run (absent: a process that joins a gateway, which checks the policy itself).
   */
  readonly inForce?: ConfigInForce;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly notifier: Notifier;
  readonly log: Log;
  /** What the gateway counts and times (the no-op adapter when metrics are off). */
  readonly metrics: Metrics;
  /** Spans of the steps of a use case, and the request they are about (a no-op scope when tracing is off). */
  readonly tracer: Tracer;
  /** How sensitive values are kept in audit payloads: `mask` (an HMAC) at the input `paths` the config lists, and agent header values. */
  readonly sensitive: { readonly mask: (value: string) => string; readonly paths: readonly string[]; /** A per-deployment key for `label` (audit-hmac.ts), the same on every replica; no mask gives it away. */ readonly derive: (label: string) => Buffer };
  /** Signs checkpoints of the audit log. */
  readonly signer: CheckpointSigner;
  /** The WebAuthn ceremonies of step-up approvals (absent: no passkey can be registered, and step-up requests cannot be approved). */
  readonly passkeys?: PasskeyCeremony;
  /** Which console sign-ins may enrol a human's first passkey (console.webauthn.enrolment; default `any-sign-in`). */
  readonly passkeyEnrolment?: PasskeyEnrolment;
  /** A request's page in the console, where a step-up approval is confirmed (absent: the console is off). */
  readonly consoleUrl?: (requestId: string) => string;
  /** How long groups remembered from a console sign-in count for a chat click (identity.login.groupsMaxAge; default 12h). */
  readonly groupsMaxAgeSeconds?: number;
  /**
   * The provider humans sign in through (identity.login.issuer; absent: none). A single sign-on session from any other
   * (the provider was removed or replaced) speaks for no one.
   */
  readonly signInIssuer?: string;
  /**
   * How the provider's groups become groups here (identity.login groupMap and trustGroups), as configured now: a
   * sign-in's groups are mapped with it at each use (service/session-resolve.ts, chat-reviewer.ts).
   */
  readonly signInGroups?: SignInGroups;
  /**
   * `countersign login`'s browser sign-in is offered (identity.login.cli, with the console on). Not offered (turned off,
   * or never on), a credential it gave (`csl_…`) ends at its next use, as a removed key does.
   */
  readonly cliSignIn?: boolean;
  /**
   * Grace beyond a connection's time bound before another process settles a run as interrupted (server.runGrace;
   * default RUN_GRACE_MS in execute.ts). A claimed run that cannot start within it is not started.
   */
  readonly runGraceMs?: number;
  /** Held requests each principal may have pending at once (server.maxPendingPerPrincipal; absent: no cap). */
  readonly maxPendingPerPrincipal?: number;
  /** The waits each principal may hold open at once (server.maxWaitsPerPrincipal; absent: no cap). */
  readonly waits?: WaitSlots;
  /** How often a waiter reads its request again in case a wake-up was missed (default 1000 ms). */
  readonly waitPollMs?: number;
}
