/**
 * The ports: small interfaces the core owns and the adapters implement.
 * The service layer depends on these and nothing else from the outside.
 */
import type { ActionInput, SqlInput } from './action.ts';
import type { AuditDraft, AuditEvent } from './audit.ts';
import type { ConnectionInfo } from './connection.ts';
import type { ErrorCode } from './errors.ts';
import type { Facts } from './facts.ts';
import type { PinChange, ToolPin } from './mcp/pins.ts';
import type { RefusalReason } from './refusals.ts';
import type { ToolAcceptors } from './mcp/acceptors.ts';
import type { ToolDefinition } from './mcp/tool.ts';
import type { ChannelMessage } from './channel.ts';
import type { KnownHuman } from './known-human.ts';
import type { ChannelHealth, OutboxDelivery } from './outbox.ts';
import type { Principal } from './principal.ts';
import type { RequestRecord, RequestStatus } from './request.ts';
import type { Review } from './review.ts';
import type { Session } from './session.ts';

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
  execute(input: ActionInput, opts: { readOnly: boolean }): Promise<ExecutionResult>;
  /** The input as the audit log keeps it: values this connection knows are secret, masked. */
  maskForAudit?(input: ActionInput, mask: (value: string) => string): ActionInput;
  /** The longest one run can take (the connection's own timeouts); bounds an execution claim. */
  readonly maxRunMs: number;
  /** MCP connections: the upstream's tools, which facts are derived from. */
  readonly catalog?: ToolCatalog;
  /** Postgres connections: an upstream connection of its own for one wire client session. */
  openWireSession?(toClient: (bytes: Uint8Array) => void): Promise<WireUpstream>;
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
  run(input: ActionInput, opts: { readOnly: boolean }): Promise<ExecutionResult>;
  /** The longest one run can take; bounds the claim as a connection's maxRunMs does. */
  readonly maxRunMs: number;
}

/** One message of a wire client's, as the surface hands it on: its exact bytes and what kind of answer it gets. */
export interface WirePart {
  readonly raw: Uint8Array;
  readonly kind: 'parse' | 'bind' | 'describe' | 'execute' | 'close' | 'query';
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
 * it was opened with, except ReadyForQuery, which the surface sends itself.
 */
export interface WireUpstream {
  /** ParameterStatus values the upstream sent at startup, for the client. */
  readonly parameters: ReadonlyMap<string, string>;
  /** The transaction status as of the last ReadyForQuery: idle, in a block, in a failed block. */
  status(): 'I' | 'T' | 'E';
  /** The upstream waits for the client's COPY data. */
  copying(): boolean;
  /**
   * Runs one statement: `parts` are the client's Query, or its Parse/Bind/Describe
   * held back since the last statement and then its Execute; `input` is what
   * they say, as judged. Runs it under the gateway's transaction or savepoint
   * and session check; the client sees the statement's answers only.
   */
  run(input: SqlInput, plan: { readonly parts: readonly WirePart[]; readonly readOnly: boolean }): Promise<WireOutcome>;
  /** Sends messages that run nothing (up to the client's Sync or Flush) and then a Sync (`flush`: a Flush). */
  sync(parts: readonly WirePart[], opts?: { flush?: boolean }): Promise<void>;
  /**
   * After the gateway answered a statement with an error without running it
   * (refused, held, a failed check) inside the client's transaction block:
   * fails the block on the upstream, as a statement's own error would, so a
   * COMMIT cannot keep the rest of it.
   */
  fail(): Promise<void>;
  /** COPY data, done or fail from the client, straight through. */
  copy(raw: Uint8Array): void;
  /** Cancels what runs on the upstream now (a CancelRequest on a connection of its own). */
  cancel(): Promise<void>;
  /** Called once if the upstream connection is lost. */
  onLost(listener: () => void): void;
  /** Back to the pool when reusable (nothing but reads ran and a reset succeeds), else closed. */
  release(): Promise<void>;
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
}

/**
 * The result of a guarded change to one request: the new record (if it
 * changes), a review to add, and the audit events that commit with it.
 */
export interface Mutation<T> {
  readonly result: T;
  readonly next?: RequestRecord;
  readonly review?: Review;
  readonly audit: readonly AuditDraft[];
}

export interface RequestQuery {
  readonly status?: readonly RequestStatus[];
  /** Requests whose requester or acting-for human is this id. */
  readonly involving?: string;
  readonly connection?: string;
  /** `key` or `key=value` of the connection's tags (a list tag matches any of its values). */
  readonly tag?: string;
  /** ISO times of creation: from inclusive, to exclusive. */
  readonly from?: string;
  readonly to?: string;
  /** Only requests created before this one (paging, newest first). */
  readonly before?: string;
  readonly limit?: number;
}

/**
 * State and audit, as small ports by concept. Every write commits its audit
 * events in the same transaction; if the audit write fails, the state change
 * does not happen. An adapter (SQLite, PostgreSQL) implements them all over
 * one database, so a write of one port and its audit events share a transaction.
 */

/** Requests and their reviews. */
export interface RequestStore {
  /**
   * Throws IdempotencyKeyTaken (core/idempotency.ts), having written nothing, when the request has an
   * idempotencyKey its principal already holds a request under: of racing inserts, exactly one wins.
   */
  insertRequest(request: RequestRecord, audit: readonly AuditDraft[]): Promise<void>;
  /**
   * Reads the request under a lock, calls `fn` (pure, synchronous) and writes
   * what it returns atomically. If `fn` throws, nothing is written.
   * `known`: the record as this caller last wrote it, when it likely still
   * stands; a store may call `fn` on it and write only if the stored version
   * is still `known.version` (a round trip less), else it reads as usual.
   */
  mutateRequest<T>(id: string, fn: (current: RequestRecord) => Mutation<T>, known?: RequestRecord): Promise<T>;
  getRequest(id: string): Promise<RequestRecord | undefined>;
  /** The newest request of this principal with this digest and one of these statuses (an agent's retry finds its request). */
  findRequestByDigest(principalId: string, digest: string, status: readonly RequestStatus[]): Promise<RequestRecord | undefined>;
  /** The request this principal submitted under this idempotency key, if any (there is at most one). */
  findRequestByIdempotencyKey(principalId: string, key: string): Promise<RequestRecord | undefined>;
  listRequests(query: RequestQuery): Promise<RequestRecord[]>;
  /** Ids of pending requests whose expiry is at or before `now`. */
  dueForExpiry(now: Date, limit: number): Promise<string[]>;
  /** How many requests are pending and when the oldest of them was created (ISO; null when none): one indexed read, for metrics. */
  pendingSummary(): Promise<{ count: number; oldest: string | null }>;
}

/** The audit log, its Merkle tree, its signed checkpoints and the store's own settings (meta). */
export interface AuditLogStore {
  /** Appends events that change no request; `meta` keys are set in the same transaction. */
  appendAudit(audit: readonly AuditDraft[], meta?: Readonly<Record<string, string>>): Promise<void>;
  /** Audit events with seq ≥ fromSeq, in order. */
  readAudit(fromSeq: number, limit: number): Promise<AuditEvent[]>;
  /** The same rows as stored, unparsed: for exports and verification, which need only the bytes. */
  readAuditRaw(fromSeq: number, limit: number): Promise<{ seq: number; body: string; hash: string }[]>;
  /** The audit log's length and its RFC 6962 Merkle root (hex); leaf i is the event with seq i + 1. */
  treeHead(): Promise<{ size: number; root: string }>;
  /**
   * The audit log's length alone. The root may need events rehashed (the store keeps only the larger subtrees), so
   * a log that lost an event has no root to give, yet still a length: what an export of it, or its status, needs.
   */
  auditSize(): Promise<number>;
  /** Root of the first `size` events (size ≤ the log's length). */
  rootAt(size: number): Promise<string>;
  /** RFC 6962 audit path of leaf `index` in the tree of `size` leaves (hex). */
  inclusionProof(index: number, size: number): Promise<string[]>;
  /** RFC 6962 consistency proof between the trees of `from` and `to` leaves (hex). */
  consistencyProof(from: number, to: number): Promise<string[]>;
  /** The perfect subtrees that make up the tree of `size` leaves, left to right (a bundle's prefix). */
  treeEdge(size: number): Promise<{ level: number; index: number; hash: string }[]>;
  insertCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  /** Checkpoints with size ≥ fromSize, smallest first; or only the latest one. */
  checkpoints(query: { fromSize?: number; latest?: boolean; limit?: number }): Promise<StoredCheckpoint[]>;
  getMeta(key: string): Promise<string | undefined>;
  /** Sets `key` to `value` unless it has a value already; returns the value in force either way (one atomic step). */
  claimMeta(key: string, value: string): Promise<string>;
  /** The first seq whose event was written at or after `time` (ISO); the log's length + 1 when none was. */
  firstSeqAtOrAfter(time: string): Promise<number>;
  /** Audit events matching every given filter, oldest first. */
  searchAudit(query: AuditQuery): Promise<AuditEvent[]>;
}

/** Console sessions. */
export interface SessionStore {
  /** Stores a new console session with its audit events, in one transaction. */
  insertSession(session: Session, audit: readonly AuditDraft[]): Promise<void>;
  getSession(key: string): Promise<Session | undefined>;
  /**
   * Deletes a session; its audit events are written (in the same transaction)
   * only when it existed, so a session ends once however often it is ended.
   */
  deleteSession(key: string, audit: readonly AuditDraft[]): Promise<boolean>;
  /** Keys of sessions whose expiry is at or before `now`. */
  expiredSessions(now: Date, limit: number): Promise<string[]>;
}

/** The outbox of channel deliveries (written with the audit events that cause them) and where channels posted. */
export interface OutboxStore {
  /**
   * Outbox: deliveries due at `now`, at most one per (channel, request) and
   * only the oldest one owed, so a channel sees a request's events in order;
   * each is leased for `leaseMs` (its next attempt moves on) so no other worker takes it meanwhile.
   */
  claimDeliveries(now: Date, limit: number, leaseMs: number): Promise<OutboxDelivery[]>;
  /** Marks a delivery made; it is never tried again. */
  completeDelivery(id: string): Promise<void>;
  /** Records a failed attempt; `retryAt` null sets the delivery aside for good (dead). */
  failDelivery(id: string, error: string, retryAt: string | null): Promise<void>;
  /** How each channel that ever had a delivery stands. */
  outboxHealth(): Promise<ChannelHealth[]>;
  /** Remembers where a channel posted a message for a request. */
  addChannelMessage(message: ChannelMessage): Promise<void>;
  channelMessages(requestId: string, channel: string): Promise<ChannelMessage[]>;
}

/** The accepted definitions of upstream MCP tools. */
export interface ToolPinStore {
  /** The tool pins of one connection, or of all. */
  toolPins(connection?: string): Promise<ToolPin[]>;
  /**
   * Reads the pins of one connection under the write lock, calls `fn` (pure)
   * and writes the pins it returns with their audit events, atomically.
   */
  mutateToolPins<T>(connection: string, fn: (current: readonly ToolPin[]) => PinChange<T>): Promise<T>;
}

/** Humans met at sign-in. */
export interface KnownHumanStore {
  /** Records (or refreshes) a human met at sign-in, keyed by verified email. */
  rememberHuman(human: KnownHuman): Promise<void>;
  knownHumanByEmail(email: string): Promise<KnownHuman | undefined>;
  knownHumanById(id: string): Promise<KnownHuman | undefined>;
}

/** Every port of one database, as the composition root opens it. */
export interface Store extends RequestStore, AuditLogStore, SessionStore, OutboxStore, ToolPinStore, KnownHumanStore {
  close(): Promise<void>;
}

/**
 * Filters over the audit log. Request-level filters (principal, actsFor,
 * connection, tag, effect, rule, status) match the events of requests that
 * have them; `reviewer` matches review events by that human.
 */
export interface AuditQuery {
  /** ISO times: from inclusive, to exclusive. */
  readonly from?: string;
  readonly to?: string;
  /** Event types, e.g. ['review.recorded', 'request.approved']. */
  readonly types?: readonly string[];
  readonly principal?: string;
  readonly actsFor?: string;
  readonly reviewer?: string;
  readonly connection?: string;
  /** `key=value`, matched against the connection's tags (a list tag matches any of its values). */
  readonly tag?: string;
  /** The policy's effect at submission: allow, deny or approve. */
  readonly effect?: string;
  readonly rule?: string;
  /** The request's status now. */
  readonly status?: string;
  readonly requestId?: string;
  /** Only events with seq greater than this (paging). */
  readonly afterSeq?: number;
  readonly limit?: number;
}

/** A signed tree head of the audit log: a C2SP checkpoint in a signed note. */
export interface StoredCheckpoint {
  readonly size: number;
  /** Merkle root, hex. */
  readonly root: string;
  /** The signing key's id (8 hex digits). */
  readonly keyId: string;
  /** The whole signed note, exactly as signed. */
  readonly note: string;
  readonly createdAt: string;
}

/** Signs checkpoints of the audit log; the private key never leaves the adapter. */
export interface CheckpointSigner {
  /** The log's origin line, also the key's name. */
  readonly origin: string;
  /** Signs a checkpoint note text; returns the signed note and the key id used. */
  sign(text: string): { note: string; keyId: string };
  /** Verifier keys (C2SP form) of every key that ever signed, for bundles and auditors. */
  verifierKeys(): string[];
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
}

/** Where the service reports what it does not return (background failures). */
export interface Log {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}
