import { describe, expect, it } from 'vitest';
import { isMultipartType, readMultipart } from './multipart-fields.ts';

const TYPE = 'multipart/form-data; boundary=b';
const part = (disposition: string, value: string) => `--b\r\nContent-Disposition: form-data; ${disposition}\r\n\r\n${value}\r\n`;

describe('readMultipart', () => {
  it('reads the parts as fields, repeated names as lists, names quoted, as tokens or in RFC 2231 UTF-8', () => {
    const body = `${part('name="a"', '1')}${part('name=a', '2')}${part("name*=utf-8''%C3%A9", 'x')}${part('name="f"; filename="r.csv"', 'id\r\n1')}--b--\r\n`;
    expect(readMultipart(body, TYPE)).toEqual({ fields: { a: ['1', '2'], é: ['x'], f: ['id\r\n1'] } });
    expect(readMultipart(`${part('name="a"', '1')}--b--`, 'multipart/form-data; boundary="b"')).toEqual({ fields: { a: ['1'] } });
  });

  it('refuses what readers may read apart', () => {
    for (const [body, type] of [
      [`${part('name="a"', '1').replaceAll('\r\n', '\n')}--b--`, TYPE],
      [`x${part('name="a"', '1')}--b--`, TYPE],
      [`${part('name="a"', '1')}--b--x`, TYPE],
      [`${part('name="a"', '1\n--b')}--b--`, TYPE],
      [`${part('name="a"; name="b"', '1')}--b--`, TYPE],
      [`${part("name*=utf-16le''a", '1')}--b--`, TYPE],
      [`${part("name*=utf-8''%FF", '1')}--b--`, TYPE],
      [`${part('name="a"', '1')}--b--`, 'multipart/form-data'],
      // Werkzeug reads an unquoted boundary=b=x as b.
      [`--b=x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b=x--`, 'multipart/form-data; boundary=b=x'],
      [`${part('name="a"', '1')}--b--`, `${TYPE}; boundary=c`],
      // Werkzeug reads boundary*= over boundary=, and joins boundary*0= to it.
      [`${part('name="a"', '1')}--b--`, `${TYPE}; boundary*=utf-8''c`],
      [`${part('name="a"', '1')}--b--`, `${TYPE}; Boundary *0=c`],
      ['--b\r\nContent-Disposition: form-data; name="a"\r\nX-Other: 1\r\n\r\n1\r\n--b--', TYPE],
    ] as const) {
      expect(readMultipart(body, type), JSON.stringify(body)).toHaveProperty('refused');
    }
  });

  it('knows the media type only as the type itself', () => {
    expect(isMultipartType('Multipart/Form-Data; boundary=b')).toBe(true);
    expect(isMultipartType('text/plain; x=multipart/form-data')).toBe(false);
  });
});
