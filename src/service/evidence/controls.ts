/**
 * Which section of the evidence report speaks to which control. The mapping
 * is ours, not the standard's: each row says in one line why the section is
 * evidence for the control, so an auditor can accept or reject it on sight.
 */
import type { ControlRow, Framework } from './types.ts';

export const FRAMEWORK_TITLES: Readonly<Record<Framework, string>> = {
  soc2: 'SOC 2 (AICPA Trust Services Criteria)',
  iso27001: 'ISO/IEC 27001:2022 Annex A',
  gdpr: 'GDPR (Regulation (EU) 2016/679)',
};

const CONTROLS: Readonly<Record<Framework, readonly ControlRow[]>> = {
  soc2: [
    {
      control: 'CC6.1',
      title: 'Logical access security',
      sections: ['privileged-actions', 'integrity'],
      rationale: 'Every privileged action ran through the gateway with credentials only the gateway holds, each attributed to an authenticated principal.',
    },
    {
      control: 'CC6.2',
      title: 'Authorization before access is granted',
      sections: ['privileged-actions', 'denied', 'expired'],
      rationale: 'Each action was authorised by policy or by named human approvers before it ran; unapproved ones were denied or expired and never ran.',
    },
    {
      control: 'CC6.3',
      title: 'Role-based access, least privilege and segregation of duties',
      sections: ['separation-of-duties', 'privileged-actions', 'break-glass'],
      rationale: 'Approvers come from the groups the rule names, and no requester or the human an agent acts for approved their own request.',
    },
    {
      control: 'CC7.2',
      title: 'Monitoring for anomalies',
      sections: ['denied', 'expired', 'integrity'],
      rationale: 'Refused, expired and withdrawn attempts are recorded in a hash-chained log whose signed checkpoints make later edits detectable.',
    },
    {
      control: 'CC8.1',
      title: 'Change management',
      sections: ['policy-changes'],
      rationale: 'Every change of the access policy is an audit event with the old and new version, the rules and who loaded it.',
    },
  ],
  iso27001: [
    {
      control: 'A.5.15',
      title: 'Access control',
      sections: ['privileged-actions', 'denied'],
      rationale: 'Rules decide each action on facts parsed from it; what the policy denies never reaches the target.',
    },
    {
      control: 'A.5.18',
      title: 'Access rights',
      sections: ['privileged-actions', 'separation-of-duties', 'expired'],
      rationale: 'Access is granted per action by named approvers and lapses when not granted in time; nothing standing is handed to the agent.',
    },
    {
      control: 'A.8.2',
      title: 'Privileged access rights',
      sections: ['privileged-actions', 'separation-of-duties'],
      rationale: 'Each privileged action lists who asked, for whom, who approved it and under which rule and policy version.',
    },
    {
      control: 'A.8.15',
      title: 'Logging',
      sections: ['integrity', 'privileged-actions', 'denied'],
      rationale: 'The events behind this report are hash-chained and covered by the signed Merkle checkpoints listed, so the report ties to a verifiable bundle.',
    },
    {
      control: 'A.8.32',
      title: 'Change management',
      sections: ['policy-changes'],
      rationale: 'Policy versions in force are recorded when loaded, and each action names the policy hash it was decided and executed under.',
    },
  ],
  gdpr: [
    {
      control: 'Art. 30',
      title: 'Records of processing activities',
      sections: ['privileged-actions'],
      rationale: 'Actions on connections tagged as personal data, with who performed them, for whom, why, and when.',
    },
    {
      control: 'Art. 32',
      title: 'Security of processing',
      sections: ['separation-of-duties', 'denied', 'expired', 'integrity'],
      rationale: 'Human approval with separation of duties, refusal of what the policy forbids, and a tamper-evident record of every step.',
    },
  ],
};

/**
 * @example
 * controlsFor('soc2').map((c) => c.control); // ['CC6.1', 'CC6.2', 'CC6.3', 'CC7.2', 'CC8.1']
 */
export function controlsFor(framework: Framework): readonly ControlRow[] {
  return CONTROLS[framework];
}
