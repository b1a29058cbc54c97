/**
 * The store's ports: state and audit, as small ports by concept (core/ports.ts
 * re-exports them beside the other ports).
 */
import type { AuditColumns, AuditDraft, AuditEvent } from './audit.ts';
import type { PinChange, ToolPin } from './mcp/pins.ts';
import type { ChannelMessage } from './channel.ts';
import type { KnownHuman } from './known-human.ts';
import type { ChannelHealth, OutboxDelivery } from './outbox.ts';
import type { RequestRecord, RequestStatus } from './request.ts';
import type { Review } from './review.ts';
import type { Session } from './session.ts';
import type { Passkey, StepUpChallenge } from './step-up.ts';
import type { Grant } from './grant.ts';

/**
 * The result of a guarded change to one request: the new record (if it
 * changes), a review to add, and the audit events that commit with it.
 */
export interface Mutation<T> {
  readonly result: T;
  readonly next?: RequestRecord;
  readonly review?: Review;
  readonly audit: readonly AuditDraft[];
  /** A scoped grant the change creates (an approval that offered one), stored in the same transaction. */
  readonly grant?: Grant;
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

/** A write that holds only while a meta value stands (the config in force: service/config-in-force.ts). */
export interface MetaCondition {
  readonly key: string;
  readonly value: string;
  /** What is thrown when the stored value is `found` instead. */
  refuse(found: string | undefined): Error;
}

/** Requests and their reviews. */
export interface RequestStore {
  /**
   * Throws IdempotencyKeyTaken (core/idempotency.ts), having written nothing, when the request has an
   * idempotencyKey its principal already holds a request under: of racing inserts, exactly one wins.
   * `onlyIf`: as mutateRequest's (an action allowed outright recorded as running only under the config in force).
   */
  insertRequest(request: RequestRecord, audit: readonly AuditDraft[], onlyIf?: MetaCondition): Promise<void>;
  /**
   * Reads the request under a lock, calls `fn` (pure, synchronous) and writes
   * what it returns atomically. If `fn` throws, nothing is written.
   * `known`: the record as this caller last wrote it, when it likely still
   * stands; a store may call `fn` on it and write only if the stored version
   * is still `known.version` (a round trip less), else it reads as usual.
   * `onlyIf`: written only while the meta value under its key is its value, read in the same transaction (a change of
   * it committed first is seen; one made after waits for this write); else its refusal is thrown, nothing written.
   */
  mutateRequest<T>(id: string, fn: (current: RequestRecord) => Mutation<T>, known?: RequestRecord, onlyIf?: MetaCondition): Promise<T>;
  getRequest(id: string): Promise<RequestRecord | undefined>;
  /**
   * The newest request of this principal id with this digest and one of these statuses that `mine` accepts (an
   * agent's retry finds its request): the digest binds the id, not the token issuer, so another issuer's workload of
   * the same id may hold newer ones, which `mine` passes over. Without `mine`, the newest.
   */
  findRequestByDigest(principalId: string, digest: string, status: readonly RequestStatus[], mine?: (r: RequestRecord) => boolean): Promise<RequestRecord | undefined>;
  /** The request this principal submitted under this idempotency key, if any (there is at most one). */
  findRequestByIdempotencyKey(principalId: string, key: string): Promise<RequestRecord | undefined>;
  listRequests(query: RequestQuery): Promise<RequestRecord[]>;
  /** Ids of pending requests whose expiry is at or before `now`. */
  dueForExpiry(now: Date, limit: number): Promise<string[]>;
  /** Ids of pending requests, not yet due for expiry, with an escalation rung due at or before `now`, soonest first. */
  escalationsDue(now: Date, limit: number): Promise<string[]>;
  /** How many requests are pending and when the oldest of them was created (ISO; null when none): one indexed read, for metrics. */
  pendingSummary(): Promise<{ count: number; oldest: string | null }>;
  /** How many requests of this principal id are pending, counting no further than `limit` (a per-principal cap). */
  pendingOf(principalId: string, limit: number): Promise<number>;
}

/** The audit log, its Merkle tree, its signed checkpoints and the store's own settings (meta). */
export interface AuditLogStore {
  /** Appends events that change no request; `meta` keys are set in the same transaction. */
  appendAudit(audit: readonly AuditDraft[], meta?: Readonly<Record<string, string>>): Promise<void>;
  /** Audit events with seq ≥ fromSeq, in order. */
  readAudit(fromSeq: number, limit: number): Promise<AuditEvent[]>;
  /** The same rows as stored, unparsed: for exports and verification, which need only the bytes. */
  readAuditRaw(fromSeq: number, limit: number): Promise<{ seq: number; body: string; hash: string }[]>;
  /**
   * The columns the same rows are found by (a request's history, audit search, a period's start), as stored:
   * outside the hashed body, so verification holds them to it.
   */
  readAuditColumns(fromSeq: number, limit: number): Promise<AuditColumns[]>;
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
   * With `onlyIf`, none unless the meta value under `key` is `value` as the lease is taken (one statement or
   * transaction with it; a change of that value waits for a lease in progress): a process whose config another
   * replaced leases nothing, however recent its own reading of the config in force.
   */
  claimDeliveries(now: Date, limit: number, leaseMs: number, onlyIf?: { readonly key: string; readonly value: string }): Promise<OutboxDelivery[]>;
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
  /**
   * Every human met at sign-in: what links a name an agent gives the human it acts for (a provider subject or
   * username) to a person, where no index can (names compare folded, core/human-identity.ts nameFold). One row per
   * person who ever signed in to the console.
   */
  knownHumans(): Promise<KnownHuman[]>;
}

/** Passkeys of humans (public material only) and the open step-up challenges (core/step-up.ts). */
export interface PasskeyStore {
  /** Stores a new passkey with its audit events, in one transaction; a credential id already stored is refused (throws). */
  insertPasskey(passkey: Passkey, audit: readonly AuditDraft[]): Promise<void>;
  getPasskey(id: string): Promise<Passkey | undefined>;
  /** One human's passkeys, oldest first. */
  passkeysOf(human: string): Promise<Passkey[]>;
  /** Deletes a passkey of this human; its audit events are written only when it existed (false: nothing deleted). */
  deletePasskey(human: string, id: string, audit: readonly AuditDraft[]): Promise<boolean>;
  /** Sets a passkey's signature counter to `next` only while it is still `previous` (compare-and-set); true when set. */
  advancePasskeyCounter(id: string, previous: number, next: number): Promise<boolean>;
  /** Stores a challenge, dropping the ones expired at `now`. */
  insertChallenge(challenge: StepUpChallenge, now: Date): Promise<void>;
  /** Removes and returns a challenge: of concurrent takes of one challenge exactly one gets it (single use). */
  takeChallenge(challenge: string): Promise<StepUpChallenge | undefined>;
  /**
   * Stores a challenge unless one of its key is stored, dropping the ones expired at `now` first; true when stored.
   * Of concurrent inserts of one key, on any processes and replicas, exactly one stores it (a mark that something
   * was used once: a single sign-on's flow, service/login-flow.ts).
   */
  insertChallengeOnce(challenge: StepUpChallenge, now: Date): Promise<boolean>;
}

/** Scoped grants (core/grant.ts). One is created by the request mutation that approves its request (Mutation.grant). */
export interface GrantStore {
  /**
   * Consumes one use of grant `id` if at `now` (ISO) it is unrevoked, unexpired and not used up, in one compare-and-set
   * that is right across processes and replicas, and in the same transaction inserts the request `stamp` makes of the
   * grant as it stands after this use, with its audit events. `request` is that request before stamping (its terms).
   * Undefined, having written nothing, when the grant does not stand. Throws IdempotencyKeyTaken as insertRequest does.
   */
  useGrant(id: string, now: string, request: RequestRecord, stamp: (grant: Grant) => { request: RequestRecord; audit: readonly AuditDraft[] }): Promise<RequestRecord | undefined>;
  getGrant(id: string): Promise<Grant | undefined>;
  /** The grants of this shape that stand at `now` (ISO): unrevoked, unexpired, with uses left; oldest first. */
  activeGrants(shape: string, now: string): Promise<Grant[]>;
  /** Grants, newest first; of one request only with `requestId`. */
  listGrants(query: { readonly requestId?: string; readonly limit?: number }): Promise<Grant[]>;
  /**
   * Marks a grant revoked, with `audit` in the same transaction, unless it already is (then nothing is written).
   * Undefined when there is no such grant; else the grant as stored after, and whether this call revoked it.
   */
  revokeGrant(id: string, revoked: { readonly by: string; readonly at: string }, audit: readonly AuditDraft[]): Promise<{ grant: Grant; changed: boolean } | undefined>;
}

/** Every port of one database, as the composition root opens it. */
export interface Store extends RequestStore, AuditLogStore, SessionStore, OutboxStore, ToolPinStore, KnownHumanStore, PasskeyStore, GrantStore {
  /**
   * The time on the store's own clock, for a store that processes on several machines share (PostgreSQL): they take
   * their time from it, so that time to live and run deadlines do not depend on whose machine clock judges them.
   * Absent on a store of one machine (SQLite), whose processes share that machine's clock.
   */
  storeTime?(): Promise<Date>;
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
