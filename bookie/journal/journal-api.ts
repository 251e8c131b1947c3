/*
 * The journal's contract with the rest of the bookie. The journal is the write-ahead log that makes an add
 * durable: a record is acknowledged (its callback called without an error) only after the bytes are written
 * AND fdatasync'ed, unless the caller asked for ack-before-sync (DEFERRED_SYNC, or journalSyncData=false).
 * Many records share one fdatasync (group commit). Callbacks fire in record order.
 *
 * Implementation: ./journal.ts (file format: ./journal-format.ts, BookKeeper's V6 layout, reference §3).
 */

/** A position in the journal: the file id (hex file name `<id>.txn`) and the byte offset after a record. */
export interface LogMark {
  readonly logFileId: bigint;
  readonly offset: bigint;
}

export const LOG_MARK_ZERO: LogMark = { logFileId: 0n, offset: 0n };

export function compareLogMarks(a: LogMark, b: LogMark): number {
  if (a.logFileId !== b.logFileId) return a.logFileId < b.logFileId ? -1 : 1;
  if (a.offset !== b.offset) return a.offset < b.offset ? -1 : 1;
  return 0;
}

/** Called once per record: `error` undefined = durable (or written, for ack-before-sync records). */
export type JournalCallback = (error?: Error) => void;

/** What replay hands back, in journal order, for records after the checkpoint mark. */
export interface JournalReplayVisitor {
  /** A data record: the packed entry exactly as added (ledgerId/entryId at offsets 0/8). */
  entry(entry: Buffer): void | Promise<void>;
  ledgerKey(ledgerId: bigint, masterKey: Buffer): void | Promise<void>;
  fence(ledgerId: bigint): void | Promise<void>;
  explicitLac(ledgerId: bigint, lacBlob: Buffer): void | Promise<void>;
}

/** Where a journal file stopped making sense: a torn write (crash) or junk. Replay kept what came before. */
export interface TruncatedTail {
  file: string;
  offset: bigint;
  reason: string;
}

export interface ReplayReport {
  /** Records replayed, by kind. */
  entries: number;
  metaRecords: number;
  /** Files scanned, oldest first. */
  files: string[];
  /** Set when a file ended in a torn or junk tail; replay kept the valid prefix. The newest such file. */
  truncatedTail?: TruncatedTail;
  /** Every file that ended in a torn or junk tail, oldest first (one per crash not yet checkpointed past). */
  truncatedTails: TruncatedTail[];
}

export interface JournalApi {
  /**
   * Appends a data record (the packed entry). `ackBeforeSync`: call back after the write, before the sync
   * (DEFERRED_SYNC); the record is still synced with the next group.
   */
  logAddEntry(entry: Buffer, ackBeforeSync: boolean, callback: JournalCallback): void;
  /** LEDGER_KEY meta record (metaEntryId -0x1000): the master key a ledger was first written with. */
  logLedgerKey(ledgerId: bigint, masterKey: Buffer, callback: JournalCallback): void;
  /** FENCE meta record (-0x2000); the fence read is answered only after this is durable. */
  logFence(ledgerId: bigint, callback: JournalCallback): void;
  /** EXPLICIT_LAC meta record (-0x8000) carrying the digest-protected LAC blob. */
  logExplicitLac(ledgerId: bigint, lacBlob: Buffer, callback: JournalCallback): void;
  /** FORCE_LEDGER barrier: calls back when everything appended before it is durable. Writes nothing. */
  forceLedger(ledgerId: bigint, callback: JournalCallback): void;
  /** The mark just past the last durable record; a checkpoint may record it once storage is flushed. */
  lastSyncedMark(): LogMark;
  /** After a checkpoint at `mark`: journal files wholly before it (beyond maxBackupJournals) may be deleted. */
  checkpointComplete(mark: LogMark): Promise<void>;
  /** Bytes appended but not yet durable, and records waiting; for backpressure and metrics. */
  readonly pendingBytes: number;
  readonly pendingRecords: number;
  /**
   * `listener` learns once that a write or fdatasync failed (after the failed records' callbacks): the
   * journal refuses every later record, so the bookie must go read-only or exit.
   */
  onFailure(listener: (error: Error) => void): void;
  /**
   * Stops accepting records, syncs what was accepted (their callbacks fire), closes the file. Records after
   * a failed sync get the error; the journal then refuses new records (the bookie goes read-only or exits).
   */
  close(): Promise<void>;
}
