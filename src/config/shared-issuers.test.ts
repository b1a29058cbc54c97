import { describe, expect, it } from 'vitest';
import { CountersignError } from '../core/errors.ts';
import { parseConfig } from './load.ts';

function problems(text: string): string {
  try {
    parseConfig(text, 'countersign.yaml', {});
  } catch (e) {
    expect(e).toBeInstanceOf(CountersignError);
    expect((e as CountersignError).code).toBe('CONFIG_INVALID');
    return (e as CountersignError).message;
  }
  throw new Error('expected the config to be refused');
}

const issuer = (url: string, extra = '') => `identity: { issuers: [{ issuer: "${url}", audience: countersign, principal: { kind: agent, id: sub }${extra} }] }`;

// gitlab.com, Buildkite and HCP Terraform each sign the tokens of every tenant (project, organization, workspace) with
// one issuer, and a job asks for any audience it likes: only a tenant's id in the token tells the operator's own.
const SHARED = [
  { url: 'https://gitlab.com', pin: 'namespace_id: [1234]', also: ['project_id'], name: 'project_path' },
  { url: 'https://agent.buildkite.com', pin: 'organization_id: ["0b1c2d3e-aaaa-bbbb-cccc-000000000001"]', also: ['pipeline_id'], name: 'organization_slug' },
  { url: 'https://app.terraform.io', pin: 'terraform_organization_id: [org-AbC123]', also: ['terraform_project_id', 'terraform_workspace_id'], name: 'terraform_organization_name' },
];

describe('an issuer that every tenant of a CI or cloud service shares', () => {
  it('is refused without claims that pin the tenant by id, with or without a trailing slash or another case', () => {
    for (const s of SHARED) {
      for (const url of [s.url, `${s.url}/`, s.url.toUpperCase().replace('HTTPS', 'https')]) {
        expect(problems(issuer(url)), url).toContain('identity.issuers[0].claims:');
        expect(problems(issuer(url)), url).toContain('any audience');
        // A name is not an id: a deleted project's or organization's name can be taken again by someone else.
        expect(problems(issuer(url, `, claims: { ${s.name}: [acme] }`)), url).toContain('identity.issuers[0].claims:');
      }
    }
  });

  it('is taken once a claim pins the tenant by id', () => {
    for (const s of SHARED) {
      expect(parseConfig(issuer(s.url, `, claims: { ${s.pin} }`), 'x.yaml', {}).identity.issuers[0]).toMatchObject({ issuer: s.url });
      for (const claim of s.also) expect(parseConfig(issuer(s.url, `, claims: { ${claim}: ["42"] }`), 'x.yaml', {}).identity.issuers).toHaveLength(1);
    }
  });

  it('keeps the pinned values as text, and refuses an empty list or a claim path that is not one', () => {
    const c = parseConfig(issuer('https://gitlab.com', ', claims: { namespace_id: [1234, "5678"], project_path: [acme/app] }'), 'x.yaml', {});
    expect(c.identity.issuers[0]).toMatchObject({ claims: { namespace_id: ['1234', '5678'], project_path: ['acme/app'] } });
    expect(problems(issuer('https://idp.example.com', ', claims: { namespace_id: [] }'))).toContain('claims');
    expect(problems(issuer('https://idp.example.com', ', claims: { "a..b": [x] }'))).toContain('claims');
  });
});
