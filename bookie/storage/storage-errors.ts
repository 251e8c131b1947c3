import { LedgerlineError } from '../../common';

/** The ledger storage's error family. WriteCacheFullError (the contract's back-pressure signal) stands apart. */
export class StorageError extends LedgerlineError {}

/** addEntry refused the bytes: too short for the ids, negative ids, or larger than a write cache can hold. */
export class InvalidEntryError extends StorageError {
  constructor(message: string) {
    super('InvalidEntry', message);
  }
}

/**
 * What an entry log holds at an indexed location is not the entry the index promised: the size int is out of
 * bounds or the ledgerId/entryId in the body differ. That read fails; the bookie stays up (the server answers EIO).
 */
export class CorruptEntryError extends StorageError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('CorruptEntry', message, options);
  }
}

/** A RocksDB index record that cannot be decoded; the storage refuses to open rather than guess. */
export class CorruptIndexError extends StorageError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('CorruptIndex', message, options);
  }
}

export class StorageClosedError extends StorageError {
  constructor() {
    super('StorageClosed', 'ledger storage is closed');
  }
}
