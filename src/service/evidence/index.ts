/** The evidence report: a period of the audit log, read as evidence for one compliance framework. */
export { buildEvidence, type EvidenceOptions } from './report.ts';
export { evidenceOfPeriod, type EvidenceOfPeriodOptions } from './of-period.ts';
export { controlsFor, FRAMEWORK_TITLES } from './controls.ts';
export {
  FRAMEWORKS,
  type CheckpointEntry,
  type ControlRow,
  type Coverage,
  type DecisionTimes,
  type EvidenceReport,
  type EvidenceSummary,
  type Framework,
  type Outcome,
  type PolicyChange,
  type RequestEntry,
  type SectionId,
  type SodStats,
} from './types.ts';
