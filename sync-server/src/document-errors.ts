/** Refusals of the document layer; the internal API turns them into HTTP answers. */

/** LOCK-1: the document holds updates the reviewer has not seen; carries the server's state vector. */
export class LockConflictError extends Error {
  override name = 'LockConflictError';
  constructor(
    message: string,
    readonly stateVector: Uint8Array,
  ) {
    super(message);
  }
}

export class DocumentStateError extends Error {
  override name = 'DocumentStateError';
  constructor(
    message: string,
    readonly code: 'locked' | 'not-empty' | 'bad-request' | 'unavailable',
  ) {
    super(message);
  }
}
