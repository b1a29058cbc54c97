import { describe, expect, it } from 'vitest';
import { withoutSecrets } from './errors.ts';

describe('withoutSecrets', () => {
  it('masks the password of a URL and password= settings, and nothing else', () => {
    expect(withoutSecrets('connect ECONNREFUSED postgres://cs:hunter2@db.internal:5432/countersign')).toBe('connect ECONNREFUSED postgres://cs:***@db.internal:5432/countersign');
    expect(withoutSecrets('postgresql://cs:p%40ss%2Fw0rd@db/x and https://u:v@h/')).toBe('postgresql://cs:***@db/x and https://u:***@h/');
    expect(withoutSecrets("host=db user=cs password='s3 cret' dbname=x")).toBe('host=db user=cs password=*** dbname=x');
    expect(withoutSecrets('PASSWORD=abc;Host=db')).toBe('PASSWORD=***;Host=db');
    expect(withoutSecrets('no route to postgres://db.internal:5432/countersign as cs')).toBe('no route to postgres://db.internal:5432/countersign as cs');
  });

  it('reads a long message with no URL in it in linear time', () => {
    const text = 'a.'.repeat(512 * 1024);
    expect(withoutSecrets(text)).toBe(text);
    expect(withoutSecrets(`${text}x://u:p@h`)).toBe(`${text}x://u:***@h`);
  });
});
