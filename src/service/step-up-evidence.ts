/**
 * Step-up evidence: what the review use case accepts as "this reviewer just
 * confirmed with a passkey". Only verifyAssertion (step-up.ts) makes one, after
 * the ceremony verified; the review use case accepts only evidence made here,
 * for this reviewer, this request and this digest, so no surface can fill the
 * field in by itself.
 */
export interface StepUpEvidence {
  readonly method: 'webauthn';
  readonly credentialId: string;
  readonly human: string;
  readonly requestId: string;
  readonly digest: string;
}

const minted = new WeakSet<StepUpEvidence>();

/** Evidence of a verified assertion (step-up.ts only). */
export function mintStepUp(e: StepUpEvidence): StepUpEvidence {
  const frozen = Object.freeze({ ...e });
  minted.add(frozen);
  return frozen;
}

/** Whether `e` is evidence this process minted, for exactly this human, request and digest. */
export function stepUpHolds(e: StepUpEvidence | undefined, human: string, requestId: string, digest: string): e is StepUpEvidence {
  return e !== undefined && minted.has(e) && e.human === human && e.requestId === requestId && e.digest === digest;
}
