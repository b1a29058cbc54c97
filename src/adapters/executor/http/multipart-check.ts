/**
 * A text body under the multipart type is read by policy as its fields
 * (core/multipart-fields.ts) only when it has the one shape every reader
 * takes alike, and goes under the type the action declares: the
 * connection's own Content-Type wins and is what the upstream reads.
 */
import { isMultipartType, readMultipart } from '../../../core/multipart-fields.ts';

/**
 * Refuses (through `refuse`, which throws) a body under the multipart type that policy would not read as the upstream does.
 *
 * @example
 * checkMultipart('a=1', 'multipart/form-data; boundary=b', 'multipart/form-data; boundary=b', refuse); // throws: does not begin …
 */
export function checkMultipart(text: string, ownType: string, contentType: string, refuse: (why: string) => never): void {
  const own = isMultipartType(ownType);
  const sent = isMultipartType(contentType);
  if (!own && !sent) return;
  if (own !== sent || ownType.trim() !== contentType.trim()) {
    refuse(`body is declared ${JSON.stringify(ownType.split(';')[0]!.slice(0, 100))} but goes under the connection's Content-Type ${JSON.stringify(contentType.slice(0, 100))}, which the upstream reads: policy would read other fields than it (declare the connection's Content-Type in the action's headers, exactly)`);
  }
  const reading = readMultipart(text, contentType);
  if ('refused' in reading) refuse(`body declared multipart/form-data is not read as one by every reader, so policy cannot judge its fields: ${reading.refused}`);
}
