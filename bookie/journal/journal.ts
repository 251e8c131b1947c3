import { mkdir, unlink } from 'node:fs/promises';
import type { Logger } from '../../common';
import { ENTRY_METADATA_LENGTH, DEFAULT_MAX_FRAME_SIZE_BYTES } from '../../protocol';
import type { BookieConfig } from '../bookie-config';
import type { BookieMetrics } from '../bookie-metrics';
import type { JournalApi, JournalCallback, LogMark } from './journal-api';
import { JournalError } from './journal-errors';
import { JournalFile, journalCurrentDir, listJournalFiles } from './journal-file';
import type { JournalFileOptions } from './journal-file';
import {
  dataRecordBytes,
  metaRecordBytes,
  MetaEntryId,
  paddingRecordBytes,
  RECORD_LENGTH_BYTES,
  writeDataRecord,
  writeMetaRecord,
  writePaddingRecord,
} from './journal-format';
import { JournalGroup } from './journal-group';
import { JournalWriteBuffer } from './journal-write-buffer';
import { fsyncDirectory } from './fsync-directory';

/** The journal keys of BookieConfig; nettyMaxFrameSizeBytes bounds a record (replay refuses longer ones). */
export type JournalConfig = Pick<
  BookieConfig,
  | 'journalSyncData'
  | 'journalMaxGroupWaitMSec'
  | 'journalBufferedWritesThreshold'
  | 'journalAlignmentSize'
  | 'journalDirectWrites'
  | 'journalPreAllocSizeMB'
  | 'journalMaxSizeMB'
  | 'maxBackupJournals'
> &
  Partial<Pick<BookieConfig, 'nettyMaxFrameSizeBytes'>>;

export interface JournalOptions {
  journalDir: string;
  config: JournalConfig;
  logger: Logger;
  metrics: BookieMetrics;
}

/** With journalSyncData=false the journal still fdatasyncs this often (journalPageCacheFlushIntervalMSec). */
const PAGE_CACHE_FLUSH_INTERVAL_MS = 1000;
const MIB = 1024 * 1024;
const INT64_MAX = (1n << 63n) - 1n;

/**
 * The bookie's write-ahead log with group commit. Appends encode the record into a reused write buffer and
 * queue its callback; at the end of the event-loop turn (setImmediate) the whole group is written with
 * writeSync (a copy into the page cache, cheaper on the loop than a thread-pool hand-off) and made durable with
 * one fdatasync on libuv's thread pool; when it returns, the group's callbacks run in record order. Meanwhile the
 * loop goes on decoding requests and storing entries, and the records that arrive form the next group, written
 * and synced as soon as this sync returns: one sync at a time, groups growing with load. (A synchronous
 * fdatasync on the loop was measured to cost the loop about 30% of its time under a full load of adds.)
 *
 * A group closes at the end of the turn in which its first record arrived, sooner than journalMaxGroupWaitMSec
 * (only a file roll, or a write catching up with the zero-fill, holds it back longer): the journal never delays
 * a record to wait for more (BookKeeper's journal thread does; the key is accepted for compatibility). Bytes past
 * journalBufferedWritesThreshold are written (not synced) while the group is still open, to bound the buffer.
 *
 * With direct writes (journalDirectWrites; JournalFile says why) the group is gathered in aligned memory instead
 * and written with O_DIRECT on the thread pool, right before its fdatasync there: a direct write waits for the
 * device, which the loop must not.
 *
 * A failed write or fdatasync is final: every record not yet acknowledged gets the error, later records are
 * refused with it, and `onFailure` listeners learn of it. The sync is never retried: after a failed
 * fdatasync the kernel may have dropped the dirty pages, and a retry that succeeds proves nothing (fsyncgate).
 */
export class Journal implements JournalApi {
  private file!: JournalFile;
  private readonly currentDir: string;
  private readonly buffer = new JournalWriteBuffer();
  /** The group accepting records; `spareGroup` is the one being completed during a flush. */
  private group = new JournalGroup();
  private spareGroup = new JournalGroup();
  private syncedMark: LogMark;
  /** Offset up to which the current file is fdatasync'ed. */
  private syncedPosition = 0;
  /** The group whose fdatasync is running on the thread pool (its records wait for it); `syncSettled` ends with it. */
  private syncing: JournalGroup | undefined;
  private syncSettled: Promise<void> | undefined;
  private flushScheduled = false;
  private waitingForFill = false;
  private rolling: Promise<void> | undefined;
  private readonly filesClosing = new Set<Promise<void>>();
  private failure: JournalError | undefined;
  private closePromise: Promise<void> | undefined;
  private readonly failureListeners: Array<(error: Error) => void> = [];
  private readonly pageCacheFlushTimer: NodeJS.Timeout | undefined;
  private readonly fileOptions: JournalFileOptions;
  private readonly maxRecordBytes: number;
  private readonly logger: Logger;

  private constructor(
    private readonly journalDir: string,
    private readonly config: JournalConfig,
    logger: Logger,
    private readonly metrics: BookieMetrics,
  ) {
    this.currentDir = journalCurrentDir(journalDir);
    this.logger = logger.child({ component: 'journal', journalDir });
    this.maxRecordBytes = config.nettyMaxFrameSizeBytes ?? DEFAULT_MAX_FRAME_SIZE_BYTES;
    this.fileOptions = {
      preAllocBytes: config.journalPreAllocSizeMB * MIB,
      maxFileBytes: config.journalMaxSizeMB * MIB,
      onFillError: (error) => this.fail(error),
      // Direct writes are whole 512-byte blocks at least: only with an alignment that is a multiple of that.
      direct: config.journalDirectWrites && config.journalAlignmentSize % 512 === 0,
      alignmentBytes: config.journalAlignmentSize,
    };
    this.syncedMark = { logFileId: 0n, offset: 0n };
    if (!config.journalSyncData) {
      this.pageCacheFlushTimer = setInterval(() => this.syncWritten(), PAGE_CACHE_FLUSH_INTERVAL_MS);
      this.pageCacheFlushTimer.unref();
    }
  }

  /**
   * Opens a new journal file in `<journalDir>/current/` (created if missing) with logId = max(now in ms, last
   * existing logId + 1). Existing files are left for replay and checkpointComplete.
   */
  static async open(options: JournalOptions): Promise<Journal> {
    const journal = new Journal(options.journalDir, options.config, options.logger, options.metrics);
    await mkdir(journal.currentDir, { recursive: true });
    await fsyncDirectory(options.journalDir);
    const existing = await listJournalFiles(options.journalDir);
    const lastLogId = existing.at(-1)?.logId ?? 0n;
    try {
      await journal.startFile(lastLogId);
    } catch (error) {
      if (journal.pageCacheFlushTimer) clearInterval(journal.pageCacheFlushTimer);
      throw error;
    }
    return journal;
  }

  get pendingBytes(): number {
    return this.group.bytes;
  }

  get pendingRecords(): number {
    return this.group.callbacks.length;
  }

  /** Whether the current file is written with O_DIRECT (journalDirectWrites, where the file system takes it). */
  get directWrites(): boolean {
    return this.file.direct;
  }

  /** The file records are being appended to now. */
  get currentLogFileId(): bigint {
    return this.file.logId;
  }

  lastSyncedMark(): LogMark {
    return this.syncedMark;
  }

  /** `listener` is called once, after the failed records' callbacks, if a write or fdatasync fails. */
  onFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
  }

  logAddEntry(entry: Buffer, ackBeforeSync: boolean, callback: JournalCallback): void {
    if (this.refused(callback)) return;
    // The entryId's sign is the sign of its high 32 bits: no BigInt per record.
    if (entry.length < ENTRY_METADATA_LENGTH || entry.readInt32BE(8) < 0) {
      const reason = `a packed entry needs ${ENTRY_METADATA_LENGTH} bytes and an entryId >= 0`;
      this.reject(callback, new JournalError('InvalidRecord', reason));
      return;
    }
    const bytes = dataRecordBytes(entry);
    if (!this.fits(bytes, callback)) return;
    writeDataRecord(this.buffer.reserve(bytes), this.buffer.reservedAt, entry);
    this.appended(bytes, ackBeforeSync, callback);
  }

  logLedgerKey(ledgerId: bigint, masterKey: Buffer, callback: JournalCallback): void {
    this.logMeta(ledgerId, MetaEntryId.LEDGER_KEY, masterKey, callback);
  }

  logFence(ledgerId: bigint, callback: JournalCallback): void {
    this.logMeta(ledgerId, MetaEntryId.FENCE, undefined, callback);
  }

  logExplicitLac(ledgerId: bigint, lacBlob: Buffer, callback: JournalCallback): void {
    this.logMeta(ledgerId, MetaEntryId.EXPLICIT_LAC, lacBlob, callback);
  }

  forceLedger(_ledgerId: bigint, callback: JournalCallback): void {
    if (this.refused(callback)) return;
    this.group.addBarrier(callback);
    this.scheduleFlush();
  }

  /**
   * Deletes journal files wholly before `mark` (logId < mark.logFileId), keeping the newest
   * maxBackupJournals of them, as BookKeeper's Journal.checkpointComplete does. The current file is never
   * deleted.
   */
  async checkpointComplete(mark: LogMark): Promise<void> {
    const before = (await listJournalFiles(this.journalDir)).filter(
      (file) => file.logId < mark.logFileId && file.logId !== this.file.logId,
    );
    const deletable = before.slice(0, Math.max(0, before.length - this.config.maxBackupJournals));
    for (const file of deletable) {
      try {
        await unlink(file.path);
        this.logger.info({ logFileId: file.logId.toString(16) }, 'journal file deleted after checkpoint');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }

  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private logMeta(
    ledgerId: bigint,
    metaEntryId: bigint,
    blob: Buffer | undefined,
    callback: JournalCallback,
  ): void {
    if (this.refused(callback)) return;
    if (ledgerId < 0n || ledgerId > INT64_MAX) {
      this.reject(callback, new JournalError('InvalidRecord', `ledgerId ${ledgerId} is out of range`));
      return;
    }
    const bytes = metaRecordBytes(blob?.length);
    if (!this.fits(bytes, callback)) return;
    writeMetaRecord(this.buffer.reserve(bytes), this.buffer.reservedAt, ledgerId, metaEntryId, blob);
    this.appended(bytes, false, callback);
  }

  /** Refuses the record (calling back with the reason) after a failure or once closing. */
  private refused(callback: JournalCallback): boolean {
    const error =
      this.failure ??
      (this.closePromise === undefined
        ? undefined
        : new JournalError('JournalClosed', 'the journal is closed'));
    if (error === undefined) return false;
    this.reject(callback, error);
    return true;
  }

  private fits(bytes: number, callback: JournalCallback): boolean {
    const recordBytes = bytes - RECORD_LENGTH_BYTES;
    if (recordBytes <= this.maxRecordBytes) return true;
    const reason = `a record of ${recordBytes} bytes exceeds nettyMaxFrameSizeBytes ${this.maxRecordBytes}`;
    this.reject(callback, new JournalError('RecordTooLarge', reason));
    return false;
  }

  /** Refusals are delivered on the next tick, never from inside the append call. */
  private reject(callback: JournalCallback, error: Error): void {
    process.nextTick(callback, error);
  }

  private appended(bytes: number, ackBeforeSync: boolean, callback: JournalCallback): void {
    this.group.addRecord(bytes, ackBeforeSync || !this.config.journalSyncData, callback);
    this.scheduleFlush();
    if (this.buffer.bytes >= this.config.journalBufferedWritesThreshold) this.writeBuffered();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /**
   * Writes (without syncing) what is buffered, unless a roll or the zero-fill holds writes back. Not with direct
   * writes: they take whole blocks, and only a padded group is sure to end on one.
   */
  private writeBuffered(): void {
    if (this.rolling !== undefined || this.file.direct || !this.file.canWrite(this.buffer.bytes)) return;
    try {
      this.buffer.drainTo((chunk, length) => this.file.write(chunk, length));
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * Completes the open group: pad, write, call back early records, fdatasync, call back the rest. Held back
   * (and retried when possible) while the file rolls or while the write would reach the zero-fill in progress.
   */
  private flush(): void {
    const group = this.group;
    if (this.failure !== undefined || group.isEmpty || this.rolling !== undefined) return;
    // One fdatasync at a time: the group is flushed when the running one returns.
    if (this.syncing !== undefined) return;
    const file = this.file;
    const paddingBytes =
      group.records === 0
        ? 0
        : paddingRecordBytes(file.position + this.buffer.bytes, this.config.journalAlignmentSize);
    if (!file.canWrite(this.buffer.bytes + paddingBytes)) {
      this.flushAfterFill();
      return;
    }
    const started = performance.now();
    if (paddingBytes > 0)
      writePaddingRecord(this.buffer.reserve(paddingBytes), this.buffer.reservedAt, paddingBytes);
    try {
      this.buffer.drainTo((chunk, length) => file.write(chunk, length));
    } catch (error) {
      this.fail(error);
      return;
    }
    file.fillAhead(group.bytes);
    // Records appended by callbacks from here on go to the next group.
    this.group = this.spareGroup;
    this.spareGroup = group;
    const mustSync = this.config.journalSyncData ? group.records > 0 : group.forceSync;
    if (mustSync && this.syncedPosition < file.position) {
      const position = file.position;
      this.syncing = group;
      this.syncSettled = new Promise((settled) => {
        // In direct mode the group's bytes are written on the thread pool too (a direct write waits for the
        // device); its early records are acknowledged once they are written, as before.
        file.writeAndSyncInBackground(
          () => group.complete(true),
          (error, written) => {
            this.syncing = undefined;
            settled();
            if (written) {
              this.groupSynced(group, file, position, started, error);
              return;
            }
            // The write failed: no record of the group was acknowledged, the early ones included (a failure
            // before this one answered only the others).
            if (this.failure === undefined) this.fail(error, group, false);
            else group.complete(true, this.failure);
            group.clear();
          },
        );
      });
      return;
    }
    try {
      file.writeStaged();
    } catch (error) {
      this.fail(error, group, false);
      group.clear();
      return;
    }
    group.complete(true);
    this.groupDone(group, file);
  }

  private groupSynced(
    group: JournalGroup,
    file: JournalFile,
    position: number,
    started: number,
    error: Error | null,
  ): void {
    if (this.failure !== undefined) {
      // fail() already answered this group's waiting records.
      group.clear();
      return;
    }
    if (error !== null) {
      this.fail(error, group);
      group.clear();
      return;
    }
    this.synced(file, position, group.records);
    this.metrics.journalSyncLatency.observe((performance.now() - started) / 1000);
    this.groupDone(group, file);
  }

  /** The group is durable (or needs no sync): its records are acknowledged; the next group may go. */
  private groupDone(group: JournalGroup, file: JournalFile): void {
    group.complete(false);
    group.clear();
    this.metrics.journalQueueBytes.set(this.group.bytes);
    if (file.position >= this.fileOptions.maxFileBytes) this.roll();
    else if (!this.group.isEmpty) this.scheduleFlush();
  }

  private synced(file: JournalFile, position: number, records: number): void {
    this.syncedPosition = position;
    this.syncedMark = { logFileId: file.logId, offset: BigInt(position) };
    this.metrics.journalSyncs.inc();
    if (records > 0) this.metrics.journalRecordsPerSync.observe(records);
  }

  /** journalSyncData=false: the periodic fdatasync of what was written (acknowledged) since the last one. */
  private syncWritten(): void {
    if (
      this.failure !== undefined ||
      this.rolling !== undefined ||
      this.syncing !== undefined ||
      this.syncedPosition >= this.file.position
    )
      return;
    try {
      this.file.sync();
    } catch (error) {
      this.fail(error);
      return;
    }
    this.synced(this.file, this.file.position, 0);
  }

  private flushAfterFill(): void {
    if (this.waitingForFill) return;
    this.waitingForFill = true;
    void this.file.whenFillDone().then(() => {
      this.waitingForFill = false;
      this.scheduleFlush();
    });
  }

  /** Creates the next file (logId after `previousLogId`) and makes it the one written to. */
  private async startFile(previousLogId: bigint): Promise<void> {
    const now = BigInt(Date.now());
    const logId = now > previousLogId ? now : previousLogId + 1n;
    this.file = await JournalFile.create(this.currentDir, logId, this.fileOptions);
    this.syncedPosition = this.file.position;
    this.syncedMark = { logFileId: logId, offset: BigInt(this.file.position) };
    this.logger.info(
      { logFileId: logId.toString(16), path: this.file.path, directWrites: this.file.direct },
      'journal file opened',
    );
  }

  /**
   * Rolls to a new file once the current one is past journalMaxSizeMB. Appends keep buffering meanwhile; the
   * old file is synced first (it may hold acknowledged, unsynced records when journalSyncData=false).
   */
  private roll(): void {
    const old = this.file;
    this.rolling = (async () => {
      if (this.syncedPosition < old.position) {
        old.sync();
        this.synced(old, old.position, 0);
      }
      await this.startFile(old.logId);
    })().then(
      () => {
        this.rolling = undefined;
        this.closeInBackground(old);
        this.scheduleFlush();
      },
      (error: unknown) => {
        this.rolling = undefined;
        this.fail(error);
      },
    );
  }

  private closeInBackground(file: JournalFile): void {
    const closing = file.close().catch((error: unknown) => {
      this.logger.warn(
        { err: error, logFileId: file.logId.toString(16) },
        'closing a synced journal file failed',
      );
    });
    this.filesClosing.add(closing);
    void closing.finally(() => this.filesClosing.delete(closing));
  }

  /**
   * Makes the journal fail: from now on every record is refused with the error. Records not yet acknowledged
   * (those of `flushing` that are not early, or all of them when its write failed (`flushingWritten` false),
   * and the whole open group) get the error on the next tick, in order, then the failure listeners are called.
   */
  private fail(cause: unknown, flushing?: JournalGroup, flushingWritten = true): void {
    if (this.failure !== undefined) return;
    const reason = cause instanceof Error ? cause.message : String(cause);
    const error = new JournalError('JournalFailed', `journal write or fdatasync failed: ${reason}`, {
      cause,
    });
    this.failure = error;
    this.logger.error(
      { err: cause, logFileId: this.file.logId.toString(16) },
      'journal failed; refusing records',
    );
    if (this.pageCacheFlushTimer) clearInterval(this.pageCacheFlushTimer);
    const failed: JournalCallback[] = [];
    // The group in a background fdatasync (if any) precedes the one being flushed and the open one.
    this.syncing?.callbacks.forEach((callback, i) => this.syncing!.early[i] || failed.push(callback));
    flushing?.callbacks.forEach(
      (callback, i) => (flushingWritten && flushing.early[i]) || failed.push(callback),
    );
    failed.push(...this.group.callbacks);
    this.group.clear();
    this.buffer.drainTo(() => undefined);
    this.metrics.journalQueueBytes.set(0);
    process.nextTick(() => {
      for (const callback of failed) callback(error);
      for (const listener of this.failureListeners) listener(error);
    });
  }

  private async shutdown(): Promise<void> {
    if (this.failure === undefined) {
      // A barrier behind everything accepted: resolves once it is all durable (or failed).
      await new Promise<void>((resolve) => {
        this.group.addBarrier(() => resolve());
        this.scheduleFlush();
      });
    }
    if (this.pageCacheFlushTimer) clearInterval(this.pageCacheFlushTimer);
    await this.rolling;
    await this.syncSettled; // never close the descriptor under a running fdatasync
    await this.file.close();
    await Promise.all(this.filesClosing);
    this.logger.info(
      { logFileId: this.file.logId.toString(16), mark: this.syncedMark.offset.toString() },
      'journal closed',
    );
  }
}
