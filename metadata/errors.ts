import { LedgerlineError } from '../common';

/** The metadata layer's error family. */
export class MetadataError extends LedgerlineError {}

/** A compare-and-set lost: the key's version changed, or it exists where it must not. Re-read and retry. */
export class BadVersionError extends MetadataError {
  constructor(key: string, detail: string, options: { cause?: unknown } = {}) {
    super('BadVersion', `version mismatch on ${key}: ${detail}`, { ...options, retriable: true });
  }
}

export class NoSuchKeyError extends MetadataError {
  constructor(key: string) {
    super('NoSuchKey', `no such key: ${key}`);
  }
}

/** The store cannot be reached or answered with an error; the operation may or may not have been applied. */
export class MetadataUnavailableError extends MetadataError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('MetadataUnavailable', message, { ...options, retriable: true });
  }
}

/** A metadataServiceUri that names no store we know, or is malformed. */
export class BadMetadataUriError extends MetadataError {
  constructor(uri: string, detail: string) {
    super('BadMetadataUri', `bad metadataServiceUri "${uri}": ${detail}`);
  }
}

export class SessionLostError extends MetadataError {
  constructor(sessionId: string, options: { cause?: unknown } = {}) {
    super('SessionLost', `metadata session ${sessionId} was lost`, { ...options, retriable: true });
  }
}
