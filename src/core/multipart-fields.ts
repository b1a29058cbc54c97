/**
 * A multipart/form-data body (RFC 7578) as its fields, for policy. Flask,
 * Express (multer, busboy), Rails, PHP and Spring read such a body's parts
 * as form fields, so a rule on `action.input.body.amount` must read them
 * too: as text, `has(action.input.body.amount)` was false, and a rule holding
 * large amounts for approval let a multipart `amount=5000` through.
 *
 * Only the one shape every reader takes alike is read: the boundary of the
 * Content-Type, the body beginning with its delimiter (no preamble) and
 * ending with the closing one (then at most a CRLF), CRLF line ends, each
 * part with one `Content-Disposition: form-data; name="…"` (the name
 * quoted, a token, or RFC 2231's in UTF-8; and a `filename`) and at most a `Content-Type`, and no delimiter inside a
 * part (readers that split at a bare LF would see another part there). Any
 * other body under the multipart type is refused before policy
 * (http/facts.ts): readers disagree on it, and policy would judge one
 * reading while the upstream acted on another.
 */

/** The fields of a multipart body, each a list of its values in order; or why it is not read. */
export type MultipartReading = { readonly fields: Readonly<Record<string, readonly string[]>> } | { readonly refused: string };

/**
 * Whether a Content-Type's media type is multipart/form-data (any case, before any parameter).
 *
 * @example
 * isMultipartType('Multipart/Form-Data; boundary=x'); // true
 * isMultipartType('text/plain; note=multipart/form-data'); // false
 */
export function isMultipartType(contentType: string): boolean {
  return contentType.split(';')[0]!.trim().toLowerCase() === 'multipart/form-data';
}

// RFC 2046 §5.1.1: 1 to 70 characters of bchars, quoted or not.
const BOUNDARY = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s"]*))/gi;
// Unquoted, a token (RFC 9110 §5.6.2): the bchars `=?/:,()` end one, and Werkzeug reads `boundary=b=x` as `b`, whose
// delimiter lines inside a part of `b=x` would be other parts to it. Such a boundary is read only quoted.
const TOKEN_BOUNDARY = /^[0-9A-Za-z'+_.-]+$/;
// A boundary in RFC 2231 form (`boundary*=utf-8''c`, `boundary*0=c`): Werkzeug reads it over (or joined to) `boundary=`.
const EXTENDED_BOUNDARY = /;\s*boundary\s*\*/i;
const BCHARS = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const HEADER = /^([A-Za-z0-9-]+):[ \t]*(.*?)[ \t]*$/;
// One parameter of a Content-Disposition: `name="x"`, `name=token`, or RFC 2231's `name*=utf-8'lang'%xx…`.
const PARAMETER = /^;[ \t]*(name|filename)(\*?)=(?:"([^"\\]*)"|([^";\s]+))[ \t]*/i;
const TOKEN = /^[\w!#$%&'*+.^`|~-]+$/;
const EXTENDED = /^(?:utf-8|us-ascii)'[A-Za-z0-9-]*'((?:%[0-9A-Fa-f]{2}|[\w!#$&+.^`|~-])+)$/i;

/** The part's name from its Content-Disposition, as every reader takes it; undefined when they may not all. */
function dispositionName(value: string): string | undefined {
  if (!/^form-data[ \t]*;/i.test(value)) return undefined;
  let rest = value.slice(value.indexOf(';'));
  const seen = new Map<string, string>();
  while (rest !== '') {
    const m = PARAMETER.exec(rest);
    if (!m) return undefined;
    rest = rest.slice(m[0].length);
    const key = `${m[1]!.toLowerCase()}${m[2]}`;
    if (seen.has(key)) return undefined;
    let text = m[3] ?? m[4]!;
    if (m[2] === '*') {
      const extended = m[4] === undefined ? null : EXTENDED.exec(m[4]);
      if (!extended) return undefined;
      try {
        text = decodeURIComponent(extended[1]!);
      } catch {
        return undefined;
      }
    } else if (m[4] !== undefined && !TOKEN.test(m[4])) return undefined;
    seen.set(key, text);
  }
  // A name given both plainly and as name*=: readers differ on which one counts.
  if (seen.has('name') && seen.has('name*')) return undefined;
  return seen.get('name') ?? seen.get('name*');
}

/**
 * @example
 * readMultipart('--b\r\nContent-Disposition: form-data; name="amount"\r\n\r\n5000\r\n--b--', 'multipart/form-data; boundary=b');
 * // { fields: { amount: ['5000'] } }
 */
export function readMultipart(text: string, contentType: string): MultipartReading {
  const matches = [...contentType.matchAll(BOUNDARY)];
  const boundaries = matches.map((m) => m[1] ?? m[2] ?? '');
  const unquoted = matches.some((m) => m[2] !== undefined && !TOKEN_BOUNDARY.test(m[2]));
  if (boundaries.length !== 1 || unquoted || EXTENDED_BOUNDARY.test(contentType) || !BCHARS.test(boundaries[0]!)) return { refused: 'its Content-Type names no boundary, or more than one, or one RFC 2046 does not allow, or one unquoted that is no token (which readers cut short), or one in RFC 2231 form (which Werkzeug reads over the plain one)' };
  const delimiter = `--${boundaries[0]!}`;
  const close = `\r\n${delimiter}--`;
  const end = text.lastIndexOf(close);
  if (!text.startsWith(`${delimiter}\r\n`) || end === -1) return { refused: 'it does not begin with the boundary delimiter and end with the closing one' };
  const epilogue = text.slice(end + close.length);
  if (epilogue !== '' && epilogue !== '\r\n') return { refused: 'text follows its closing delimiter' };
  const fields = Object.create(null) as Record<string, string[]>;
  for (const part of text.slice(delimiter.length + 2, end).split(`\r\n${delimiter}\r\n`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split === -1) return { refused: 'a part has no blank line after its headers' };
    const value = part.slice(split + 4);
    if (value.includes(delimiter)) return { refused: 'a part holds the boundary delimiter, where readers that split at a bare line feed see another part' };
    let name: string | undefined;
    let typed = false;
    for (const line of part.slice(0, split).split('\r\n')) {
      const header = HEADER.exec(line);
      if (!header || /[\r\n]/.test(line)) return { refused: 'a part has a header line that is not `Name: value`' };
      const key = header[1]!.toLowerCase();
      if (key === 'content-disposition' && name === undefined) {
        name = dispositionName(header[2]!);
        if (name === undefined) return { refused: 'a part\'s Content-Disposition is not `form-data; name="…"` (with a `filename="…"`), its name given once, quoted, a token or in UTF-8 as RFC 2231 writes it' };
      } else if (key === 'content-type' && !typed) typed = true;
      else return { refused: `a part has a ${JSON.stringify(header[1]!.slice(0, 60))} header (only one Content-Disposition and one Content-Type are read)` };
    }
    if (name === undefined) return { refused: 'a part has no Content-Disposition' };
    (fields[name] ??= []).push(value);
  }
  return { fields };
}
