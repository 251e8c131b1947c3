import { LedgerlineError } from '../common';

/**
 * The managed ledger's errors, named after Pulsar's ManagedLedgerException subclasses so broker code and logs
 * read like Pulsar's. `code` is the stable name to branch on; `cause` carries the ledger-client or metadata error.
 */
export const ML_ERROR_CODES = [
  /** Another owner updated the metadata (lost compare-and-set): this instance can do nothing more. */
  'ManagedLedgerFenced',
  /** The managed ledger was terminated: no more writes. */
  'ManagedLedgerTerminated',
  /** The managed ledger (or the factory) was closed. */
  'ManagedLedgerAlreadyClosed',
  /** The managed ledger does not exist (and was not to be created). */
  'ManagedLedgerNotFound',
  /** A write to BookKeeper failed and could not be retried on a new ledger. */
  'ManagedLedgerWriteFailed',
  /** The metadata store failed or timed out. */
  'MetaStoreException',
  /** A BookKeeper operation (read, create, open) failed. */
  'BookKeeperException',
  /** A read found no entries to return. */
  'NoMoreEntriesToRead',
  /** A position outside the managed ledger (or before a cursor's mark-delete) was given. */
  'InvalidCursorPosition',
  /** The cursor was closed or deleted. */
  'CursorAlreadyClosed',
  /** A cursor by that name does not exist. */
  'CursorNotFound',
  /** A read-or-wait was cancelled, or another read is already waiting on the cursor. */
  'ConcurrentWaitCallback',
  /** Bad arguments or configuration. */
  'InvalidArgument',
  /** The data for a position was deleted (trimmed) and cannot be read. */
  'NonRecoverableLedger',
] as const;

export type ManagedLedgerErrorCode = (typeof ML_ERROR_CODES)[number];

export class ManagedLedgerError extends LedgerlineError {
  declare readonly code: ManagedLedgerErrorCode;

  constructor(
    code: ManagedLedgerErrorCode,
    message: string,
    options: { cause?: unknown; retriable?: boolean } = {},
  ) {
    super(code, message, options);
  }
}

export function isManagedLedgerError(err: unknown, code?: ManagedLedgerErrorCode): err is ManagedLedgerError {
  return err instanceof ManagedLedgerError && (code === undefined || err.code === code);
}
