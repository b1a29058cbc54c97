import fc from 'fast-check';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { describe, expect, it } from 'vitest';
import { backend, BackendFramer, noticeFields } from './protocol.ts';

/** What pg-protocol's own parser (node-postgres's) reads from `bytes`. */
function parsed(bytes: Buffer): BackendMessage[] {
  const out: BackendMessage[] = [];
  new Parser().parse(bytes, (msg) => out.push(msg));
  return out;
}

const text = fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => s.replaceAll('\0', ''));

describe('backend messages', () => {
  it('parse with node-postgres into the fields they were built from', () => {
    expect(parsed(backend.authOk())).toMatchObject([{ name: 'authenticationOk', length: 8 }]);
    expect(parsed(backend.authCleartext())).toMatchObject([{ name: 'authenticationCleartextPassword' }]);
    expect(parsed(backend.parameterStatus('server_version', '17.0'))).toMatchObject([
      { name: 'parameterStatus', parameterName: 'server_version', parameterValue: '17.0' },
    ]);
    expect(parsed(backend.backendKeyData(1234, Buffer.from([0xde, 0xad, 0xbe, 0xef])))).toMatchObject([
      { name: 'backendKeyData', processID: 1234, secretKey: -559038737 },
    ]);
    for (const status of ['I', 'T', 'E'] as const) {
      expect(parsed(backend.readyForQuery(status))).toMatchObject([{ name: 'readyForQuery', status }]);
    }
    expect(parsed(backend.commandComplete('INSERT 0 1'))).toMatchObject([{ name: 'commandComplete', text: 'INSERT 0 1' }]);
    const bare = Buffer.concat([backend.emptyQuery(), backend.parseComplete(), backend.bindComplete(), backend.closeComplete(), backend.noData()]);
    expect(parsed(bare).map((m) => m.name)).toEqual(['emptyQuery', 'parseComplete', 'bindComplete', 'closeComplete', 'noData']);
  });

  it('write errors and notices with the fields node-postgres reads, the severity twice', () => {
    const error = backend.error({ severity: 'ERROR', code: '42501', message: 'denied by policy', detail: 'rule no-ddl', hint: 'ask for review' });
    expect(parsed(error)).toMatchObject([
      { name: 'error', severity: 'ERROR', code: '42501', message: 'denied by policy', detail: 'rule no-ddl', hint: 'ask for review' },
    ]);
    const [frame] = new BackendFramer().push(error);
    expect(noticeFields(frame!.body)).toEqual({ S: 'ERROR', V: 'ERROR', C: '42501', M: 'denied by policy', D: 'rule no-ddl', H: 'ask for review' });
    const notice = backend.notice({ severity: 'NOTICE', code: '01000', message: 'waiting for approval' });
    expect(parsed(notice)).toMatchObject([{ name: 'notice', severity: 'NOTICE', code: '01000', message: 'waiting for approval', detail: undefined }]);
  });

  it('round-trip any text through node-postgres', () => {
    fc.assert(
      fc.property(text, text, fc.option(text, { nil: undefined }), fc.constantFrom('ERROR', 'FATAL') as fc.Arbitrary<'ERROR' | 'FATAL'>, (message, name, detail, severity) => {
        expect(parsed(backend.error({ severity, code: 'XX000', message, detail }))).toMatchObject([{ severity, code: 'XX000', message, detail }]);
        expect(parsed(backend.parameterStatus(name, message))).toMatchObject([{ parameterName: name, parameterValue: message }]);
        expect(parsed(backend.commandComplete(message))).toMatchObject([{ text: message }]);
      }),
    );
  });

  it('cannot be made to carry forged fields by a NUL in the text', () => {
    const error = backend.error({ severity: 'ERROR', code: '42501', message: 'x\0C00000\0Mallowed' });
    const [frame] = new BackendFramer().push(error);
    expect(noticeFields(frame!.body)).toEqual({ S: 'ERROR', V: 'ERROR', C: '42501', M: 'x\uFFFDC00000\uFFFDMallowed' });
  });

  it('answer an SSL request with one unframed byte', () => {
    expect(backend.sslRefused()).toEqual(Buffer.from('N'));
    expect(backend.sslAccepted()).toEqual(Buffer.from('S'));
  });

  it('write NegotiateProtocolVersion as the protocol lays it out', () => {
    const bytes = backend.negotiateProtocolVersion(0, ['_pq_.a', '_pq_.b']);
    const [frame] = new BackendFramer().push(bytes);
    expect(frame?.type).toBe('v');
    expect(frame?.body).toEqual(Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 2]), Buffer.from('_pq_.a\0_pq_.b\0')]));
  });
});
