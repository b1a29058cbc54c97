/**
 * The ports: small interfaces the core owns and the adapters implement.
 * The service layer depends on these and nothing else from the outside.
 */
import type { ActionInput, SqlInput } from './action.ts';
import type { ConnectionInfo } from './connection.ts';
import type { ErrorCode } from './errors.ts';
import type { Facts } from './facts.ts';
import type { ToolPin } from './mcp/pins.ts';
import type { RefusalReason } from './refusals.ts';
import type { ToolAcceptors } from './mcp/acceptors.ts';
import type { ToolDefinition } from './mcp/tool.ts';
import type { Principal } from './principal.ts';
import type { PreviewOutcome } from './preview.ts';
import type { CapturedUndo, UndoOutcome } from './undo.ts';
import type { RequestRecord, RequestStatus } from './request.ts';
import type { Role } from './roles.ts';
import type { SessionState } from './session-shown.ts';

export type { MetaCondition, Mutation, RequestQuery, RequestStore, AuditLogStore, SessionStore, OutboxStore, ToolPinStore, KnownHumanStore, PasskeyStore, GrantStore, Store, AuditQuery, StoredCheckpoint } from './store-ports.ts';

/** Time, injected so tests can freeze it. */
export interface Clock {
  now(): Date;
}

/** Ids, injected so tests can predict them. */
export interface IdGenerator {
  requestId(): string;
  /** A secret of 256 random bits (base64url): session tokens, CSRF tokens. */
  token(): string;
}

/** What running an action produced. `ok: false` means the target reported an error. */
export interface ExecutionResult {
  readonly ok: boolean;
  /** What the agent gets back (bounded in size by the executor). */
  readonly output: unknown;
  /** A short, non-sensitive summary for the audit log (status code, row count, exit code). */
  readonly summary: Readonly<Record<string, unknown>>;
  /** Set when ok is false: a message safe to show the agent. */
  readonly error?: { readonly code: ErrorCode; readonly message: string };
  /** SQL writes: the changed rows' before-image for a later revert (core/undo.ts), or why there is none. */
  readonly undo?: UndoOutcome;
}

/** How a run goes, as the policy in force when it runs and the request have it. */
export interface ExecuteOptions {
  readonly readOnly: boolean;
  /** The rules that let this write run without an undo (Decision.noUndo): no before-image is captured, so no row limit applies. */
  readonly noUndo?: readonly string[];
  /**
   * A revert's run: the undo it puts back (the original request's), given only when the statement is exactly that
   * undo's revert (core/undo.ts revertSql). Its own undo is then read from what the statement wrote.
   */
  readonly reverting?: CapturedUndo;
  /** MCP calls: the hash of the tool's definition the call was judged by (facts.mcp.definitionHash); it runs on that one only. */
  readonly definitionHash?: string;
  /** The request waited for a decision (held for review): what it runs on is looked at again, not taken from before the wait. */
  readonly waited?: boolean;
}

/**
 * One configured connection as the service sees it: its public info, how to
 * derive facts from an input, and how to run an action on it. The secrets
 * live inside the closure the adapter made, never here.
 */
export interface ConnectionHandle {
  readonly info: ConnectionInfo;
  /** Throws CountersignError('INPUT_UNPARSEABLE') when the input cannot be parsed. */
  facts(input: ActionInput): Facts;
  /**
   * Analyses off the calling thread what facts() would take long to derive on it (a long SQL text), so that facts()
   * answers it from memory; undefined when there is nothing such. Rejects as facts() throws (INPUT_UNPARSEABLE too
   * when the input could not be analysed in time; TOO_MANY_ANALYSES when `owner`, the principal it is analysed for,
   * already has its share of the analysing thread).
   */
  prepareFacts?(input: ActionInput, owner?: string): Promise<void> | undefined;
  execute(input: ActionInput, opts: ExecuteOptions): Promise<ExecutionResult>;
  /** The input as the audit log keeps it: values this connection knows are secret, masked. */
  maskForAudit?(input: ActionInput, mask: (value: string) => string): ActionInput;
  /** The longest one run can take (the connection's own timeouts); bounds an execution claim. */
  readonly maxRunMs: number;
  /**
   * Where and as whom it runs, as a fingerprint that holds no secret (`sha256:…` of its URL, database or command):
   * a request runs only on the target it was submitted, and approved, for.
   */
  readonly target?: string;
  /** MCP connections: the upstream's tools, which facts are derived from. */
  readonly catalog?: ToolCatalog;
  /**
   * Postgres connections: an upstream connection of its own for one wire client session. `owner` (the client's
   * principal id) is whose share of the long-SQL analysis thread the session's runs take, as its submissions do.
   */
  openWireSession?(toClient: (bytes: Uint8Array, now?: boolean) => void | Promise<void>, owner?: string): Promise<WireUpstream>;
  /**
   * Postgres connections with preview on: runs a held write once in a transaction that is always rolled back and
   * reports what it would change, or why it was not run (an effect the rollback would not undo). Never throws.
   */
  preview?(input: ActionInput): Promise<PreviewOutcome>;
}

/**
 * The tools of one upstream MCP server, kept up to date so that facts (which
 * are synchronous) can be derived from them, and the pins they are checked against.
 */
export interface ToolCatalog {
  /** The tools as the upstream listed them last (empty before the first listing). */
  tools(): readonly ToolDefinition[];
  /** Lists the upstream's tools again (concurrent calls share one listing); throws UPSTREAM_UNAVAILABLE. */
  refresh(): Promise<readonly ToolDefinition[]>;
  /** `listener` runs when the upstream says its tool list changed. */
  onListChanged(listener: () => void): void;
  /** The pins of this connection as stored now; facts compare each tool with its pin. */
  setPins(pins: readonly ToolPin[]): void;
  pins(): readonly ToolPin[];
  /** How long a held call waits for a decision before the agent is told to come back. */
  readonly waitSeconds: number;
  /** Who may accept a changed definition (`pinning.acceptors`, else the groups and principals `pinning.approvers` names); empty: nobody. */
  readonly acceptors: ToolAcceptors;
}

/**
 * Where an action submitted from a live client session runs: on that
 * session's own upstream connection (its SET, temporary tables, prepared
 * statements and transaction), instead of the connection's pool. The surface
 * that owns the session supplies it; the service only calls it after a claim.
 */
export interface SessionRunner {
  run(input: ActionInput, opts: ExecuteOptions): Promise<ExecutionResult>;
  /** The longest one run can take; bounds the claim as a connection's maxRunMs does. */
  readonly maxRunMs: number;
  /**
   * A digest of the session state that gives the action's text its meaning
   * (who runs it, where names resolve, settings, the session's own objects):
   * recorded with a held action, which then resumes only where it is the same;
   * and what of it differs from a new session's, for its reviewers.
   * Undefined when the session cannot show it (a failed transaction block).
   */
  state?(): Promise<SessionState | undefined>;
}

/** One message of a wire client's, as the surface hands it on: its exact bytes and what kind of answer it gets. */
export interface WirePart {
  readonly raw: Uint8Array;
  readonly kind: 'parse' | 'bind' | 'describe' | 'execute' | 'close' | 'query';
  /** The prepared statement a Parse makes, a Bind binds or a Describe describes ('' the unnamed one; none for a portal's Describe). */
  readonly statement?: string;
  /**
   * Told, before run or sync returns, whether the upstream accepted this
   * message (answered without an error). Not called when it was never sent
   * (refused, skipped by the gateway) or was skipped after an earlier error.
   */
  readonly accepted?: () => void;
}

/** What ran, for the audit log: command tags, never rows. `relayed`: the client has already seen the error. */
export type WireOutcome = ExecutionResult & { readonly relayed: boolean };

/**
 * One upstream database connection held for one client session of the
 * Postgres wire listener. Answers meant for the client go to the `toClient`
 * it was opened with, except ReadyForQuery, which the surface sends itself;
 * `now` marks answers the client must not wait for (a NOTICE, CopyInResponse,
 * CopyBothResponse), which the surface writes at once instead of holding
 * them for the ReadyForQuery. A promise back from `toClient` says the client
 * has not read what it was sent yet: the upstream is not read until it resolves.
 */
/** The abort reason of a wire client's CancelRequest (its going away is another reason, and cancels nothing). */
export const CLIENT_CANCEL = 'canceling statement due to user request';

export interface WireUpstream {
  /** ParameterStatus values the upstream sent at startup, for the client. */
  readonly parameters: ReadonlyMap<string, string>;
  /** The transaction status as of the last ReadyForQuery: idle, in a block, in a failed block. */
  status(): 'I' | 'T' | 'E';
  /**
   * Runs one statement: `parts` are the client's Query, or its Parse/Bind/Describe
   * held back since the last statement and then its Execute; `input` is what
   * they say, as judged. Runs it under the gateway's transaction or savepoint
   * and session check; the client sees the statement's answers only.
   * `signal`, aborted with CLIENT_CANCEL, is the client's CancelRequest: before
   * the statement goes upstream nothing is sent for it (REQUEST_CANCELLED);
   * while it is there, the cancel is sent to the upstream backend.
   * `copyIn`: for a COPY FROM STDIN, the CopyData messages and CopyDone the
   * gateway read from the client before judging it (input.copy is their
   * digest); sent when the upstream asks for them. Without them, an upstream
   * that asks for COPY data gets a CopyFail: no data goes upstream unjudged.
   */
  run(input: SqlInput, plan: { readonly parts: readonly WirePart[]; readonly readOnly: boolean; readonly signal?: AbortSignal; readonly copyIn?: Uint8Array }): Promise<WireOutcome>;
  /**
   * Sends messages with no Execute (up to the client's Sync or Flush) and then a Sync, for a Flush too (its answer is
   * the gateway's), in a read-only transaction or savepoint after the session check of a read: the reason, when that
   * check refused and none of them was sent.
   */
  sync(parts: readonly WirePart[]): Promise<string | undefined>;
  /**
   * After the gateway answered a statement with an error without running it
   * (refused, held, a failed check) inside the client's transaction block:
   * fails the block on the upstream, as a statement's own error would, so a
   * COMMIT cannot keep the rest of it.
   */
  fail(): Promise<void>;
  /** Called once if the upstream connection is lost. */
  onLost(listener: () => void): void;
  /** Back to the pool when reusable (nothing but reads ran and a reset succeeds), else closed. */
  release(): Promise<void>;
  /** SessionRunner.state of this session: undefined in a failed block, or when the upstream did not answer. */
  state(): Promise<SessionState | undefined>;
}

export interface Connections {
  get(name: string): ConnectionHandle | undefined;
  list(): readonly ConnectionInfo[];
}

/** Resolves a presented credential to a principal; and principals by id. */
/**
 * The outcome of presenting a credential. A refusal carries a stable reason
 * (`key.unknown`, `token.expired`, …) for the audit log, never the credential.
 */
export type Authentication =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: RefusalReason; readonly issuer?: string };

export interface Identity {
  /** Verifies a bearer credential (API key or JWT); never throws for a bad one. */
  authenticate(bearer: string): Promise<Authentication>;
  principal(id: string): Principal | undefined;
  /** The configured human with this email (compared as core/human-identity.ts emailKey does), if any. */
  humanByEmail(email: string): Principal | undefined;
  /** The configured agent with this email, or whose email this one is a sub-address of (core/human-identity.ts HumanDirectory). */
  agentByEmail(email: string): Principal | undefined;
  /** The roles this principal holds (core/roles.ts): none for an agent. */
  roles(p: Principal): Role[];
  /** Whether the configuration holds the API key `ref` names (core/session.ts apiKeyRef) for principal `id`. */
  holdsKey(id: string, ref: string): boolean;
  /** Whether a token of `issuer` may name the configured principal `id` (see core/human-identity.ts HumanDirectory). */
  mayName(id: string, issuer: string, by: 'id' | 'email'): boolean;
  /** The configured principal whose id has this idFold (core/human-identity.ts), if any. */
  principalLike(fold: string): Principal | undefined;
  /** Whether `issuer` may name a human by its id claim alone (see core/human-identity.ts HumanDirectory). */
  unlinkedAllowed(issuer: string): boolean;
  /** Whether `issuer` is the one place humans come from (see core/human-identity.ts HumanDirectory). */
  soleHumanPlace(issuer: string): boolean;
  /** Whether the configuration takes tokens of `issuer` for humans (see core/human-identity.ts HumanDirectory). */
  issuesHumans(issuer: string): boolean;
  /** Whether the group mapping in force for `issuer` grants `group` (see core/human-identity.ts HumanDirectory). */
  mapsGroup(issuer: string, providerGroups: readonly string[] | undefined, group: string): boolean;
  /** Whether the configuration takes tokens of `issuer` for principals of `kind` (see core/human-identity.ts HumanDirectory). */
  takesTokensOf(issuer: string, kind: 'agent' | 'human'): boolean;
}

/** Signs checkpoints of the audit log; the private key never leaves the adapter. */
export interface CheckpointSigner {
  /** The log's origin line, also the key's name. */
  readonly origin: string;
  /** Signs a checkpoint note text; returns the signed note and the key id used. */
  sign(text: string): { note: string; keyId: string };
  /** Verifier keys (C2SP form) of every key that ever signed, for bundles and auditors. */
  verifierKeys(): string[];
  /**
   * The largest checkpoint this key's holder signed, kept beside the key, out of the database's reach: a head
   * it is not a prefix of (history rewritten, or the log cut, and the checkpoint rows deleted) is never signed.
   */
  lastSigned(): { size: number; root: string } | null;
  /** Records a checkpoint just signed, unless a larger one is recorded already. */
  recordSigned(checkpoint: { size: number; root: string }): void;
}

/**
 * Wakes waiters when a request changes: in this process, and in the other
 * processes on the same store (PostgreSQL LISTEN/NOTIFY across replicas, IPC
 * between the workers of one machine).
 */
export interface Notifier {
  /** Call after the change is committed: another process reads the request back from the store. */
  publish(request: RequestRecord): void;
  subscribe(requestId: string, listener: (request: RequestRecord) => void): () => void;
  /** Every change to any request (the console's inbox). */
  subscribeAll(listener: (request: RequestRecord) => void): () => void;
}

/**
 * Background work that must run in one process at a time among the replicas
 * and workers sharing a store (expiry sweeps, checkpoints). A lease is taken
 * or renewed by each call, and passes to another process when its holder
 * goes (its connection closes, or it stops renewing before the lease expires).
 */
export interface Leases {
  /** True when this process holds `job` now (taken or renewed by this call); false while another does, or the store is busy. */
  tryLead(job: string): Promise<boolean>;
  /** Gives up every lease this process holds, so another takes over at once. */
  close(): Promise<void>;
}

/**
 * What the gateway counts and times, named by what happened. Label values
 * are bounded sets only: connection names and kinds come from the config,
 * statuses, effects and refusal reasons from closed unions; never a request
 * id, a principal's id or anything a principal wrote. Never throws.
 */
export interface Metrics {
  /** A request reached a final status (succeeded, failed, denied, expired, cancelled); `effect`: the policy's at submission. */
  requestSettled(connection: string, effect: 'allow' | 'deny' | 'approve', status: RequestStatus): void;
  /** Humans decided a held request (quorum approved it, or a reviewer denied it), `seconds` after it was submitted. */
  decided(outcome: 'approved' | 'denied', seconds: number): void;
  /** One run on a connection's upstream took `seconds`; `ok`: the target reported no error. */
  upstream(kind: string, connection: string, seconds: number, ok: boolean): void;
  /** A policy rule failed to evaluate (an error or an exceeded bound) and so denied; `rule`: its configured id. */
  policyError(rule: string): void;
  /** A store write that committed audit events took `seconds` (the transaction, as the caller waited for it). */
  auditAppend(seconds: number): void;
  /** A presented credential was refused, for this reason, on this surface (`rest`, `mcp`, `console`, `postgres`). */
  authFailure(reason: RefusalReason, surface: string): void;
  /** A wait was refused because its principal held `server.maxWaitsPerPrincipal` open, on this surface (`rest`, `mcp`). */
  waitRefused(surface: string): void;
}

/** Where the service reports what it does not return (background failures). */
export interface Log {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}
