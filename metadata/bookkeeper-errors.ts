import { MetadataError } from './errors';

/**
 * Errors of BookKeeper's metadata on top of the store: ledgers, cluster layout, bookie registration and cookies.
 * Version conflicts use the store's `BadVersionError`; everything here is a `MetadataError`.
 */

/** A ledger metadata value (or one about to be written) that is malformed or breaks an invariant. */
export class BadLedgerMetadataError extends MetadataError {
  constructor(detail: string, options: { cause?: unknown } = {}) {
    super('BadLedgerMetadata', `bad ledger metadata: ${detail}`, options);
  }
}

export class LedgerExistsError extends MetadataError {
  constructor(readonly ledgerId: bigint) {
    super('LedgerExists', `ledger ${ledgerId} already exists`);
  }
}

export class NoSuchLedgerError extends MetadataError {
  constructor(readonly ledgerId: bigint) {
    super('NoSuchLedger', `no such ledger: ${ledgerId}`);
  }
}

/** Every id bucket is exhausted (2^56 ids each); never expected in practice. */
export class LedgerIdExhaustedError extends MetadataError {
  constructor(scope: string) {
    super('LedgerIdExhausted', `all ledger id buckets under ${scope}/buckets are exhausted`);
  }
}

/** The scope holds no BookKeeper cluster: run initNewCluster first. */
export class ClusterNotInitializedError extends MetadataError {
  constructor(scope: string) {
    super('ClusterNotInitialized', `BookKeeper is not initialized under '${scope}' yet (run initNewCluster)`);
  }
}

/** The layout value cannot be parsed or names a layout this code does not speak. */
export class BadLedgerLayoutError extends MetadataError {
  constructor(detail: string) {
    super('BadLedgerLayout', `bad ledger layout: ${detail}`);
  }
}

/** A destructive cluster operation was given the instance id of another cluster. */
export class InstanceIdMismatchError extends MetadataError {
  constructor(scope: string, given: string, actual: string) {
    super(
      'InstanceIdMismatch',
      `instance id ${given} does not match ${actual}, the instance id under '${scope}'`,
    );
  }
}

/** Nuking a cluster while bookies are still registered would pull the ground from under them. */
export class BookiesStillRegisteredError extends MetadataError {
  constructor(scope: string, bookieIds: readonly string[]) {
    super(
      'BookiesStillRegistered',
      `bookies are still registered under '${scope}/bookies' (${bookieIds.join(', ')}); stop them first`,
    );
  }
}

/** The registration key is held by another session that did not expire within the wait. */
export class BookieAlreadyRegisteredError extends MetadataError {
  constructor(bookieId: string, key: string, waitedMs: number) {
    super(
      'BookieAlreadyRegistered',
      `another session still holds the registration of bookie ${bookieId} at ${key} after waiting ${waitedMs} ms`,
      { retriable: true },
    );
  }
}

export class CookieNotFoundError extends MetadataError {
  constructor(readonly bookieId: string) {
    super('CookieNotFound', `no cookie for bookie ${bookieId}`);
  }
}

/** A cookie's text cannot be parsed. */
export class BadCookieError extends MetadataError {
  constructor(detail: string, options: { cause?: unknown } = {}) {
    super('BadCookie', `bad cookie: ${detail}`, options);
  }
}

/** A bookie's cookies disagree (other bookie id, journal or ledger dirs, or cluster instance id). */
export class InvalidCookieError extends MetadataError {
  constructor(detail: string) {
    super('InvalidCookie', `cookie mismatch: ${detail}`);
  }
}
