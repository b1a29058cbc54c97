import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './load.ts';

const dir = mkdtempSync(join(tmpdir(), 'cs-candidate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (candidate: string) => `principals:\n  - { id: alice, kind: human }\npolicy:\n  default: deny\n  candidate: ${candidate}\n`;

function problems(file: string): string[] {
  try {
    loadConfig(file, {});
  } catch (e) {
    return (e as { details: { problems: string[] } }).details.problems;
  }
  throw new Error('loaded');
}

describe('policy.candidate', () => {
  it('is read relative to the config file, validated and kept with the config', () => {
    writeFileSync(join(dir, 'next.yaml'), 'default: approve\nrules:\n  - { id: reads, when: "!facts.writes", effect: allow }\n');
    writeFileSync(join(dir, 'ok.yaml'), config('next.yaml'));
    const c = loadConfig(join(dir, 'ok.yaml'), {});
    expect(c.candidatePolicy).toEqual({ file: join(dir, 'next.yaml'), section: { default: 'approve', defaultTtl: 3600, rules: [{ id: 'reads', when: '!facts.writes', effect: 'allow', notify: [] }] } });
  });

  it('fails the load with the candidate file and the path in it', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'rules:\n  - { id: x, when: "facts.nope", effect: allow }\n  - { id: y, when: "true", effect: maybe }\n');
    writeFileSync(join(dir, 'c1.yaml'), config('bad.yaml'));
    const p = problems(join(dir, 'c1.yaml'));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(`policy.candidate: ${join(dir, 'bad.yaml')}: rules[1].effect: `);
    writeFileSync(join(dir, 'bad2.yaml'), 'rules:\n  - { id: x, when: "facts.nope", effect: allow }\n  - { id: y, when: "true", effect: approve, approvers: [{ principals: [mallory] }] }\n');
    writeFileSync(join(dir, 'c2.yaml'), config('bad2.yaml'));
    const p2 = problems(join(dir, 'c2.yaml'));
    expect(p2.some((x) => x.startsWith(`policy.candidate: ${join(dir, 'bad2.yaml')}: rules[1].approvers[0].principals[0]: mallory`))).toBe(true);
    expect(p2.some((x) => x.startsWith(`policy.candidate: ${join(dir, 'bad2.yaml')}: rules[0]`) && x.includes('nope'))).toBe(true);
    writeFileSync(join(dir, 'bad3.yaml'), 'rules:\n  - { id: y, when: "true", effect: approve, escalate: [{ after: 15m, to: { principals: [mallory] } }] }\n');
    writeFileSync(join(dir, 'c4.yaml'), config('bad3.yaml'));
    expect(problems(join(dir, 'c4.yaml'))).toEqual([`policy.candidate: ${join(dir, 'bad3.yaml')}: rules[0].escalate[0].to.principals[0]: mallory is not a configured human principal`]);
    writeFileSync(join(dir, 'c3.yaml'), config('missing.yaml'));
    expect(problems(join(dir, 'c3.yaml'))).toEqual([`policy.candidate: ${join(dir, 'missing.yaml')}: file not found`]);
  });
});
