/** The domain, pure: named exports of everything the other layers use. */
export { parseInput, redactInput, OPERATION_BY_KIND, type Action, type ActionInput, type SqlInput, type HttpInput, type ExecInput } from './action.ts';
export { chainEvent, createChainVerifier, GENESIS_HASH, type AuditDraft, type AuditEvent, type ChainProblem } from './audit.ts';
export { CONNECTION_KINDS, type ConnectionInfo, type ConnectionKind, type TagValue } from './connection.ts';
export { actionDigest, canonicalJson, sha256Hex } from './digest.ts';
export { CountersignError, ERROR_CODES, isCountersignError, type ErrorCode } from './errors.ts';
export { makeFacts, type Facts, type SqlFacts, type HttpFacts, type ExecFacts, type SqlStatementFacts } from './facts.ts';
export { compilePolicy, type CompiledPolicy } from './policy/compile.ts';
export { evaluatePolicy } from './policy/evaluate.ts';
export { policyVariables, type PolicyContext } from './policy/variables.ts';
export type { ApproverRequirement, Decision, Effect } from './policy/decision.ts';
export type { PolicySpec, RuleSpec, ApproverSpec } from './policy/spec.ts';
export { principalView, type Principal, type PrincipalKind } from './principal.ts';
export { canTransition, transition, REQUEST_STATUSES, TERMINAL_STATUSES, type RequestRecord, type RequestStatus, type RequestError } from './request.ts';
export { isSessionExpired, sessionKey, sessionRef, type Session } from './session.ts';
export { assertMayReview, fills, isRequesterSide, quorumMet, remainingApprovals, type Review, type Verdict } from './review.ts';
export type { Clock, Connections, ConnectionHandle, ExecutionResult, Identity, IdGenerator, Log, Mutation, Notifier, RequestQuery, Store } from './ports.ts';
export {
  consistencyProof,
  createFrontier,
  EMPTY_ROOT,
  Frontier,
  hashFromHex,
  inclusionProof,
  leafHash,
  memorySource,
  rightEdge,
  rootAt,
  toHex,
  verifyConsistency,
  verifyInclusion,
  type FrontierNode,
  type SubtreeSource,
} from './merkle/index.ts';
export { formatCheckpoint, keyId, openNote, parseCheckpoint, parseVerifierKey, signNote, verifierKey, type Checkpoint, type NoteVerifier } from './note.ts';
