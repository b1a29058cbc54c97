/**
 * The one error of the wire protocol layer. Its `sqlstate` is what the
 * listener puts in the FATAL ErrorResponse before it closes the connection:
 * every ProtocolError ends the session, because after one the byte stream can
 * no longer be trusted to be framed the way the client meant.
 */

/** SQLSTATEs this layer raises (PostgreSQL's errcodes.txt). */
export const SQLSTATE = {
  protocolViolation: '08P01',
  programLimitExceeded: '54000',
  featureNotSupported: '0A000',
  characterNotInRepertoire: '22021',
  invalidParameterValue: '22023',
  internalError: 'XX000',
} as const;

/**
 * Bad input from the other end of a PostgreSQL connection.
 *
 * @example
 * throw new ProtocolError('08P01', 'invalid message length');
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly sqlstate: string;

  constructor(sqlstate: string, message: string) {
    super(message);
    this.sqlstate = sqlstate;
  }
}

/** A 08P01 protocol_violation. */
export const violation = (message: string): ProtocolError => new ProtocolError(SQLSTATE.protocolViolation, message);
