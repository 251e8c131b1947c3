import { LedgerlineError } from '../../common';

export type JournalErrorCode =
  /** A write or fdatasync failed; the journal refuses every later record (the bookie goes read-only or exits). */
  | 'JournalFailed'
  /** The journal was closed; no more records are accepted. */
  | 'JournalClosed'
  /** A record the journal will not write: a packed entry too short or with a negative entryId. */
  | 'InvalidRecord'
  /** A record longer than replay would accept (nettyMaxFrameSizeBytes); writing it would lose it on replay. */
  | 'RecordTooLarge'
  /** A journal file whose header is not "BKLG" with a version we read (5 or 6): not ours, or corrupted. */
  | 'BadJournalHeader'
  /** The lastMark checkpoint file could not be written in one of the ledger directories. */
  | 'LastMarkWriteFailed';

/** The journal's error family. I/O failures keep the system error (EIO, ENOSPC, ...) in `cause`. */
export class JournalError extends LedgerlineError {
  declare readonly code: JournalErrorCode;

  constructor(code: JournalErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}
