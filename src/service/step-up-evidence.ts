/**
 * Step-up evidence: what the review and break-glass use cases accept as "this
 * human just confirmed with a passkey". Only step-up.ts and
 * break-glass-step-up.ts make one, after the ceremony verified; the use cases
 * accept only evidence made here, for this purpose, this human, this request
 * and this digest, so no surface can fill the field in by itself.
 */
export interface StepUpEvidence {
  readonly method: 'webauthn';
  /** What the passkey confirmed: an approval, or breaking the glass. */
  readonly purpose: 'approve' | 'break-glass';
  readonly credentialId: string;
  readonly human: string;
  readonly requestId: string;
  readonly digest: string;
}

const minted = new WeakSet<StepUpEvidence>();

/** Evidence of a verified assertion (step-up.ts and break-glass-step-up.ts only). */
export function mintStepUp(e: StepUpEvidence): StepUpEvidence {
  const frozen = Object.freeze({ ...e });
  minted.add(frozen);
  return frozen;
}

/** Whether `e` is evidence this process minted, for exactly this purpose, human, request and digest. */
export function stepUpHolds(e: StepUpEvidence | undefined, purpose: StepUpEvidence['purpose'], human: string, requestId: string, digest: string): e is StepUpEvidence {
  return e !== undefined && minted.has(e) && e.purpose === purpose && e.human === human && e.requestId === requestId && e.digest === digest;
}
