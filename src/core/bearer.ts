/**
 * The shape of a bearer credential. A JWT (RFC 7519 §3: three base64url parts
 * joined by dots, the last empty when unsigned) goes to the issuer it names;
 * anything else is an API key. API keys never have that shape, so the test
 * tells the two apart without decoding anything.
 */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * @example
 * looksLikeJwt('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.sig'); // true
 * looksLikeJwt('cs_live_5b1f…');                            // false
 */
export function looksLikeJwt(bearer: string): boolean {
  return JWT_SHAPE.test(bearer);
}
