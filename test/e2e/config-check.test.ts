/**
 * `countersign config check` refuses a policy whose conditions read fields
 * that do not exist, listing every problem of every rule with the known
 * fields and the closest, before anything starts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = resolve('bin/countersign.js');
const dir = mkdtempSync(join(tmpdir(), 'cs-config-check-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configCheck(yaml: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return new Promise((done) => {
    const p = spawn(process.execPath, [BIN, 'config', 'check', '--config', file], { cwd: dir, env: { ...process.env, PORT: '' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

const config = (rules: string) => `connections:
  - { name: orders-db, kind: postgres, url: "postgres://app@127.0.0.1:5432/orders" }
  - { name: api, kind: http, url: "http://127.0.0.1:9" }
policy:
  default: deny
  rules:
${rules}`;

describe('countersign config check', () => {
  it('refuses misspelled facts, naming every rule, path and the known fields at once', async () => {
    const r = await configCheck(
      config(`    - { id: sql-reads, when: "facts.sql.read_only", effect: allow }
    - { id: gets, when: 'facts.http.methd == "GET"', effect: allow }
    - { id: slugs, when: '!facts.http.path.matches("^(?=/)")', effect: deny }
`),
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      'policy.rules[0] (id sql-reads): facts.sql.read_only: no such field; facts.sql has statements, tables, readOnly, writes, ddl, privilege, unboundedWrite, functions (did you mean facts.sql.readOnly?)',
    );
    expect(r.stderr).toContain('policy.rules[1] (id gets): facts.http.methd: no such field; facts.http has method, path, query (did you mean facts.http.method?)');
    expect(r.stderr).toContain('policy.rules[2] (id slugs): matches("^(?=/)"): not an RE2 pattern');
  });

  it('accepts the same policy spelled right', async () => {
    const r = await configCheck(
      config(`    - { id: sql-reads, when: "facts.sql.readOnly", effect: allow }
    - { id: gets, when: 'facts.http.method == "GET"', effect: allow }
    - { id: slugs, when: '!facts.http.path.matches("^/([a-z0-9]+-?)+$")', effect: deny }
`),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/OK — 0 principals, 2 connections, 3 rules \(default deny\), policy sha256:[0-9a-f]{64}\n$/);
    expect(r.code).toBe(0);
  });
});

describe('countersign config check with a candidate policy (policy.candidate)', () => {
  const withCandidate = (file: string) => config(`    - { id: gets, when: 'facts.http.method == "GET"', effect: allow }\n`).replace('  default: deny\n', `  default: deny\n  candidate: ${file}\n`);

  it('refuses a candidate that does not compile, naming its file (beside the config) and the path in it', async () => {
    writeFileSync(join(dir, 'next-bad.yaml'), `rules:\n  - { id: gets, when: 'facts.http.methd == "GET"', effect: allow }\n`);
    const r = await configCheck(withCandidate('next-bad.yaml'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`policy.candidate: ${join(dir, 'next-bad.yaml')}: rules[0] (id gets): facts.http.methd: no such field`);
  });

  it('accepts a good one and names it', async () => {
    writeFileSync(join(dir, 'next.yaml'), `default: approve\nrules:\n  - { id: gets, when: 'facts.http.method == "GET"', effect: allow }\n`);
    const r = await configCheck(withCandidate('next.yaml'));
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`; candidate ${join(dir, 'next.yaml')}: 1 rules \\(default approve\\), policy sha256:[0-9a-f]{64}\\n$`));
    expect(r.code).toBe(0);
  });
});
