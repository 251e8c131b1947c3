import type { Logger } from '../common';
import {
  ENTRY_METADATA_LENGTH,
  LAC_METADATA_LENGTH,
  MASTER_KEY_LENGTH,
  StatusCode,
  encodeEntriesAvailability,
} from '../protocol';
import type { BookieConfig } from './bookie-config';
import { BookieError } from './bookie-errors';
import type { BookieMetrics } from './bookie-metrics';
import { ledgerDiskSpace } from './disk-monitor';
import { Checkpointer } from './checkpointer';
import type { JournalApi } from './journal/journal-api';
import { replayIntoStorage } from './journal-recovery';
import type { JournalFiles } from './journal-recovery';
import { LacTracker } from './lac-tracker';
import { LedgerHandles, journaled, keysMatch } from './ledger-handles';
import type {
  AddCallback,
  AddEntryRequest,
  BookieInfoResult,
  EntriesOfLedgerResult,
  LongPollRequest,
  ReadEntryResult,
  ReadLacResult,
  ReadOnlyListener,
} from './bookie-requests';
import { WriteCacheFullError } from './storage/ledger-storage-api';
import { ENTRY_ID_MAX } from './storage/packed-entry-ids';
import type { LedgerInfo, LedgerStorageApi } from './storage/ledger-storage-api';
import { WriteThrottle } from './write-throttle';

/** The largest entry id the storage can keep (2^53 - 1), for comparing with a request's. */
const ENTRY_ID_MAX_BIG = BigInt(ENTRY_ID_MAX);

/**
 * The bookie core: what a bookie does with each request, without sockets (the server in ./server decodes
 * frames and calls these methods). Reference: bookkeeper.md §1 (v3 operations) and §3 (add path, LAC, fencing).
 *
 * Add path: checks (size, ids, read-only, bound) → the ledger's info (created on first contact: master key into
 * storage, LEDGER_KEY into the journal) → master key (EUA) → fenced unless a recovery add (EFENCED) → entry
 * into the storage write cache → entry into the journal → acknowledged only from the journal's callback, i.e.
 * once the record is fdatasync'ed (or written, for DEFERRED_SYNC). When both write caches are full, the add
 * waits for a flush in the write throttle (write-throttle.ts, FIFO, up to dbStorage_maxThrottleTimeMs) and
 * goes on from the storage step when it is its turn; adds arriving meanwhile queue behind it.
 *
 * Every change of ledger state (key, fence, explicit LAC) is applied to storage *before* its journal record is
 * written, like the entries. A checkpoint records the journal's synced mark and then flushes storage; were a
 * record's effect applied after the record, a checkpoint between the two could move the mark past a fence that
 * storage never received, and a crash would lose it. Applied first, anything under the mark is in storage.
 *
 * Fencing: from the moment a fence starts, adds without RECOVERY_ADD are refused; the fence read is answered
 * once the FENCE record is durable. Adds accepted before the fence were journaled before it, and the journal
 * calls back in record order, so none of them is acknowledged after the fence.
 */

export interface BookieOptions {
  journal: JournalApi;
  storage: LedgerStorageApi;
  logger: Logger;
  metrics: BookieMetrics;
  config: BookieConfig;
  /** The journal's checkpoint mark and replay; see journal-files.ts for the ones on disk. */
  journalFiles: JournalFiles;
}

/** Ledgers whose LAC the tracker remembers; an evicted one is reloaded from storage when asked. */
const LAC_LEDGERS_MAX = 100_000;

/** An add waiting in the write throttle: checked already (key, fence), not yet stored nor journaled. */
interface ThrottledAdd {
  readonly info: LedgerInfo;
  readonly request: AddEntryRequest;
  readonly callback: AddCallback;
}

const LIFECYCLE_NEW = 0;
const LIFECYCLE_STARTED = 1;
const LIFECYCLE_CLOSED = 2;

/** Ids below 2^53 (every real one) compare as numbers, exactly. */
const SAFE_ID_LIMIT = 1n << 53n;
const TWO_POW_32 = 0x1_0000_0000;

/** Is the big-endian int64 at `offset` equal to `id`? Without allocating a bigint per add for ids below 2^53. */
function int64Is(body: Buffer, offset: number, id: bigint): boolean {
  if (id >= 0n && id < SAFE_ID_LIMIT) {
    const high = body.readUInt32BE(offset);
    return high < TWO_POW_32 / 2048 && high * TWO_POW_32 + body.readUInt32BE(offset + 4) === Number(id);
  }
  return body.readBigInt64BE(offset) === id;
}

export class Bookie {
  readonly config: BookieConfig;
  private readonly journal: JournalApi;
  private readonly storage: LedgerStorageApi;
  private readonly logger: Logger;
  private readonly metrics: BookieMetrics;
  private readonly journalFiles: JournalFiles;
  private readonly lac: LacTracker;
  private readonly checkpointer: Checkpointer;
  private readonly pendingAddsMax: number;
  private readonly pendingReadsMax: number;
  private pendingAddCount = 0;
  private pendingReadCount = 0;
  private readonly handles: LedgerHandles;
  /** Adds waiting for write-cache space; undefined with dbStorage_maxThrottleTimeMs=0 (refused at once). */
  private readonly throttle: WriteThrottle<ThrottledAdd> | undefined;
  private readOnly = false;
  private highPriorityWritesAllowed = false;
  private journalFailure: Error | undefined;
  private readonly readOnlyListeners: ReadOnlyListener[] = [];
  private lifecycle = LIFECYCLE_NEW;
  private drained: (() => void) | undefined;

  constructor(options: BookieOptions) {
    this.config = options.config;
    this.journal = options.journal;
    this.storage = options.storage;
    this.logger = options.logger.child({ component: 'bookie' });
    this.metrics = options.metrics;
    this.journalFiles = options.journalFiles;
    this.pendingAddsMax = options.config.maxPendingAddRequestsPerThread;
    this.pendingReadsMax = options.config.maxPendingReadRequestsPerThread;
    this.handles = new LedgerHandles({
      journal: this.journal,
      storage: this.storage,
      logger: this.logger,
      journalHealthy: () => this.journalFailure === undefined,
    });
    this.lac = new LacTracker({
      loadLac: (ledgerId) => this.loadLac(ledgerId),
      waitersMax: options.config.maxPendingReadRequestsPerThread,
      ledgersMax: LAC_LEDGERS_MAX,
    });
    this.checkpointer = new Checkpointer({
      journal: this.journal,
      storage: this.storage,
      lastMark: { write: (mark) => this.journalFiles.writeLastMark(mark) },
      flushIntervalMs: options.config.flushInterval,
      logger: this.logger,
    });
    const maxThrottleTimeMs = options.config.dbStorage_maxThrottleTimeMs;
    this.throttle =
      maxThrottleTimeMs > 0
        ? new WriteThrottle<ThrottledAdd>({
            maxThrottleTimeMs,
            metrics: this.metrics,
            handler: {
              retry: (add) => this.retryThrottled(add),
              expire: (add) => this.completeAdd(add.callback, StatusCode.ETOOMANYREQUESTS),
            },
          })
        : undefined;
    this.storage.onWriteCacheFreed(() => this.throttle?.retry());
    this.journal.onFailure((error) => this.journalFailed(error));
  }

  // ------------------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Replays the journals from the last checkpoint into storage, checkpoints (so the replayed records need not
   * be replayed again), then starts the periodic checkpoints. Requests are served only after this resolves.
   */
  async start(): Promise<void> {
    if (this.lifecycle !== LIFECYCLE_NEW)
      throw new BookieError('AlreadyStarted', 'the bookie was already started');
    const started = Date.now();
    let replayed;
    try {
      replayed = await replayIntoStorage(this.journalFiles, this.storage);
    } catch (error) {
      throw new BookieError('ReplayFailed', `journal replay failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      await this.checkpointer.checkpoint();
    } catch (error) {
      throw new BookieError('StartFailed', `checkpoint after replay failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.checkpointer.start();
    this.lifecycle = LIFECYCLE_STARTED;
    this.logger.info(
      {
        fromLogFileId: replayed.mark.logFileId.toString(16),
        fromOffset: replayed.mark.offset.toString(),
        entries: replayed.report.entries,
        metaRecords: replayed.report.metaRecords,
        files: replayed.report.files.length,
        durationMs: Date.now() - started,
      },
      'bookie started: journal replayed',
    );
  }

  /**
   * Ledgers garbage collection deleted: their LAC state goes (long polls on them end as aborted), so that a
   * later reader does not see the LAC of a ledger that no longer exists.
   */
  forgetLedgers(ledgerIds: readonly bigint[]): void {
    for (const ledgerId of ledgerIds) this.lac.forget(ledgerId);
  }

  /**
   * Stops: wakes long-poll readers, waits (up to `drainTimeoutMs`) for adds and reads in flight, checkpoints,
   * then closes the journal and storage, which the bookie owns from construction on.
   */
  async close(drainTimeoutMs = 5000): Promise<void> {
    if (this.lifecycle === LIFECYCLE_CLOSED) return;
    const wasStarted = this.lifecycle === LIFECYCLE_STARTED;
    this.lifecycle = LIFECYCLE_CLOSED;
    this.lac.close();
    await this.drain(drainTimeoutMs);
    // Adds still waiting for write-cache space were never stored nor journaled: nothing will take them now.
    this.throttle?.failAll((add) => this.completeAdd(add.callback, StatusCode.EIO));
    try {
      if (wasStarted && this.journalFailure === undefined) await this.checkpointer.stop();
      else await this.checkpointer.halt();
    } catch (error) {
      this.logger.error({ err: error }, 'final checkpoint failed; the next start replays the journal');
    } finally {
      await this.journal.close();
      await this.storage.close();
    }
    this.logger.info('bookie closed');
  }

  /** Runs a checkpoint now (tests, admin). */
  checkpoint(): Promise<void> {
    return this.checkpointer.checkpoint();
  }

  get isReadOnly(): boolean {
    return this.readOnly;
  }

  get pendingAdds(): number {
    return this.pendingAddCount;
  }

  get pendingReads(): number {
    return this.pendingReadCount;
  }

  /** Adds waiting for write-cache space (they count in pendingAdds too). */
  get throttledAdds(): number {
    return this.throttle?.waiting ?? 0;
  }

  /** Long-poll readers waiting for a LAC to advance. */
  get longPollWaiters(): number {
    return this.lac.waiters;
  }

  /**
   * Read-only: adds and WRITE_LAC answer EREADONLY; reads go on. `highPriorityWritesAllowed` lets adds with
   * priority > 0 (recovery, re-replication) through, as BookKeeper does when the disks still have room. After a
   * journal failure the bookie stays read-only whatever is asked.
   */
  setReadOnly(
    readOnly: boolean,
    options: { highPriorityWritesAllowed?: boolean; reason?: string } = {},
  ): void {
    const effective = readOnly || this.journalFailure !== undefined;
    this.highPriorityWritesAllowed =
      effective && this.journalFailure === undefined && (options.highPriorityWritesAllowed ?? false);
    if (effective === this.readOnly) return;
    this.readOnly = effective;
    const reason = options.reason ?? (effective ? 'requested' : 'writable again');
    this.logger.info({ readOnly: effective, reason }, 'bookie mode changed');
    for (const listener of this.readOnlyListeners) listener(effective, reason);
  }

  onReadOnlyChange(listener: ReadOnlyListener): void {
    this.readOnlyListeners.push(listener);
  }

  // ------------------------------------------------------------------------------------------------------
  // Add

  /** ADD_ENTRY. `callback` is called exactly once with the status to answer. */
  addEntry(request: AddEntryRequest, callback: AddCallback): void {
    const status = this.checkAdd(request);
    if (status !== StatusCode.EOK) {
      callback(status);
      return;
    }
    this.pendingAddCount++;
    const info = this.handles.peek(request.ledgerId);
    if (info !== undefined) {
      this.addToLedger(info, request, callback);
      return;
    }
    this.handles.forWrite(request.ledgerId, request.masterKey).then(
      (found) => {
        if (typeof found === 'number') this.completeAdd(callback, found);
        else this.addToLedger(found, request, callback);
      },
      (error: unknown) => {
        this.logger.error({ err: error, ledgerId: request.ledgerId }, 'add failed: ledger lookup');
        this.completeAdd(callback, StatusCode.EIO);
      },
    );
  }

  private checkAdd(request: AddEntryRequest): StatusCode {
    if (this.lifecycle !== LIFECYCLE_STARTED) return StatusCode.EIO;
    const { body, ledgerId, entryId } = request;
    // Negative ids are the journal's meta records (LEDGER_KEY = -0x1000, ...): an entry must never look like one.
    // Entry ids past 2^53 - 1 cannot be stored (the storage keeps them as doubles): a bad request, not EIO.
    if (
      ledgerId < 0n ||
      entryId < 0n ||
      entryId > ENTRY_ID_MAX_BIG ||
      request.masterKey.length !== MASTER_KEY_LENGTH ||
      body.length < ENTRY_METADATA_LENGTH ||
      !int64Is(body, 0, ledgerId) ||
      !int64Is(body, 8, entryId)
    ) {
      return StatusCode.EBADREQ;
    }
    if (this.readOnly && !(request.highPriority && this.highPriorityWritesAllowed))
      return StatusCode.EREADONLY;
    if (this.pendingAddCount >= this.pendingAddsMax) {
      this.metrics.addRejected.inc();
      return StatusCode.ETOOMANYREQUESTS;
    }
    return StatusCode.EOK;
  }

  private addToLedger(info: LedgerInfo, request: AddEntryRequest, callback: AddCallback): void {
    const { ledgerId } = request;
    if (!keysMatch(info.masterKey, request.masterKey)) {
      this.completeAdd(callback, StatusCode.EUA);
      return;
    }
    if (this.handles.isFenced(ledgerId, info) && !request.recoveryAdd) {
      this.completeAdd(callback, StatusCode.EFENCED);
      return;
    }
    const throttle = this.throttle;
    if (throttle !== undefined && !throttle.isEmpty) {
      // Adds are waiting for write-cache space: this one goes behind them, never before (FIFO, so in order
      // per ledger too).
      throttle.enqueue({ info, request, callback });
      return;
    }
    if (this.storeAndJournal(request, callback)) return;
    // Both write caches are full (storage has started a flush); a checkpoint drains them as well.
    this.checkpointer.requestSoon();
    if (throttle !== undefined) {
      throttle.enqueue({ info, request, callback });
      return;
    }
    this.metrics.throttledWrites.inc();
    this.metrics.rejectedWrites.inc();
    this.completeAdd(callback, StatusCode.ETOOMANYREQUESTS);
  }

  /**
   * A throttled add's turn came (a flush ended). The ledger may have been fenced while it waited: it is then
   * refused like an add arriving now, since it is neither stored nor journaled yet — journaled after the FENCE
   * record, it could be acknowledged after the fence was answered.
   */
  private retryThrottled(add: ThrottledAdd): boolean {
    const { request, callback } = add;
    const info = this.storage.peekLedgerInfo(request.ledgerId) ?? add.info;
    if (this.handles.isFenced(request.ledgerId, info) && !request.recoveryAdd) {
      this.completeAdd(callback, StatusCode.EFENCED);
      return true;
    }
    if (this.storeAndJournal(request, callback)) return true;
    // Still full: the flush that ended freed too little, or failed; make sure another one comes.
    this.checkpointer.requestSoon();
    return false;
  }

  /**
   * The entry into the write cache, then its record into the journal; acknowledged from the journal's
   * callback. False, with nothing done, when both write caches are full.
   */
  private storeAndJournal(request: AddEntryRequest, callback: AddCallback): boolean {
    const { ledgerId, body } = request;
    try {
      this.storage.addEntry(body);
    } catch (error) {
      if (error instanceof WriteCacheFullError) return false;
      this.logger.error({ err: error, ledgerId, entryId: request.entryId }, 'add failed: ledger storage');
      this.completeAdd(callback, StatusCode.EIO);
      return true;
    }
    try {
      this.journal.logAddEntry(body, request.ackBeforeSync, (error) => {
        if (error !== undefined) {
          this.completeAdd(callback, StatusCode.EIO);
          return;
        }
        this.lac.advance(ledgerId, body.readBigInt64BE(16));
        this.metrics.addBytes.inc(body.length);
        this.completeAdd(callback, StatusCode.EOK);
      });
    } catch (error) {
      this.logger.error({ err: error, ledgerId, entryId: request.entryId }, 'add failed: journal refused it');
      this.completeAdd(callback, StatusCode.EIO);
    }
    return true;
  }

  private completeAdd(callback: AddCallback, status: StatusCode): void {
    this.pendingAddCount--;
    this.checkDrained();
    callback(status);
  }

  // ------------------------------------------------------------------------------------------------------
  // Reads

  /** READ_ENTRY; entryId -1 = the last entry this bookie has. */
  async readEntry(ledgerId: bigint, entryId: bigint): Promise<ReadEntryResult> {
    const refused = this.checkRead();
    if (refused !== undefined) return { status: refused };
    this.pendingReadCount++;
    try {
      return await this.read(ledgerId, entryId);
    } catch (error) {
      this.logger.error({ err: error, ledgerId, entryId }, 'read failed');
      return { status: StatusCode.EIO };
    } finally {
      this.completeRead();
    }
  }

  /**
   * A fencing read (READ_ENTRY with FENCE_LEDGER): checks the master key, fences the ledger (creating it if
   * the bookie has never seen it, so the old writer is refused here too), and answers like a read once the
   * fence is durable. ENOENTRY is a valid answer (the client counts it).
   */
  async fenceAndRead(ledgerId: bigint, entryId: bigint, masterKey: Buffer): Promise<ReadEntryResult> {
    const refused = this.checkRead();
    if (refused !== undefined) return { status: refused };
    if (ledgerId < 0n || masterKey.length !== MASTER_KEY_LENGTH) return { status: StatusCode.EBADREQ };
    this.pendingReadCount++;
    try {
      const info = await this.handles.forWrite(ledgerId, masterKey);
      if (typeof info === 'number') return { status: info };
      if (!keysMatch(info.masterKey, masterKey)) return { status: StatusCode.EUA };
      const fenced = await this.handles.fence(ledgerId, info);
      if (fenced !== StatusCode.EOK) return { status: fenced };
      return await this.read(ledgerId, entryId);
    } catch (error) {
      this.logger.error({ err: error, ledgerId }, 'fence failed');
      return { status: StatusCode.EIO };
    } finally {
      this.completeRead();
    }
  }

  /**
   * A long-poll read (READ_ENTRY with previousLAC): answers at once if the known LAC is past previousLAC,
   * otherwise when it advances or after timeOutMs. With piggyback, also returns entry previousLAC + 1.
   */
  async readLongPoll(request: LongPollRequest): Promise<ReadEntryResult> {
    const { ledgerId, previousLAC, piggyback } = request;
    if (this.lifecycle !== LIFECYCLE_STARTED) return { status: StatusCode.EIO };
    if (piggyback && request.entryId !== -1n) return { status: StatusCode.EBADREQ };
    try {
      const known = await this.lac.get(ledgerId);
      if (known === undefined) return { status: StatusCode.ENOLEDGER };
      if (known <= previousLAC) {
        const waiting = this.lac.waitForAdvance(ledgerId, previousLAC, request.timeOutMs, request.signal);
        if (waiting === undefined) return { status: StatusCode.ETOOMANYREQUESTS };
        if ((await waiting) === 'aborted') return { status: StatusCode.EIO };
      }
      const maxLAC = this.lac.peek(ledgerId) ?? known;
      const updatedAtMs = this.lac.lastUpdateMs(ledgerId);
      const lacUpdateTimestamp =
        updatedAtMs === undefined || updatedAtMs === 0 ? undefined : BigInt(updatedAtMs);
      if (!piggyback) return { ...(await this.read(ledgerId, request.entryId)), maxLAC, lacUpdateTimestamp };
      if (maxLAC <= previousLAC) return { status: StatusCode.EOK, maxLAC, lacUpdateTimestamp };
      // The entry after previousLAC; its absence here is not an error (another bookie of the ensemble has it).
      const entryId = previousLAC + 1n;
      const body = await this.storage.getEntry(ledgerId, entryId);
      if (body !== undefined) this.metrics.readBytes.inc(body.length);
      return { status: StatusCode.EOK, entryId, body, maxLAC, lacUpdateTimestamp };
    } catch (error) {
      this.logger.error({ err: error, ledgerId }, 'long-poll read failed');
      return { status: StatusCode.EIO };
    }
  }

  private checkRead(): StatusCode | undefined {
    if (this.lifecycle !== LIFECYCLE_STARTED) return StatusCode.EIO;
    if (this.pendingReadCount >= this.pendingReadsMax) return StatusCode.ETOOMANYREQUESTS;
    return undefined;
  }

  private completeRead(): void {
    this.pendingReadCount--;
    this.checkDrained();
  }

  private async read(ledgerId: bigint, entryId: bigint): Promise<ReadEntryResult> {
    if (ledgerId < 0n) return { status: StatusCode.ENOLEDGER };
    const body = entryId < -1n ? undefined : await this.storage.getEntry(ledgerId, entryId);
    const maxLAC = await this.lac.get(ledgerId);
    if (body !== undefined) {
      this.metrics.readBytes.inc(body.length);
      return { status: StatusCode.EOK, body, maxLAC };
    }
    const info = this.storage.peekLedgerInfo(ledgerId) ?? (await this.storage.getLedgerInfo(ledgerId));
    return { status: info === undefined ? StatusCode.ENOLEDGER : StatusCode.ENOENTRY, maxLAC };
  }

  /** A ledger's LAC from storage: the LAC field of its last entry, or its explicit LAC if higher. */
  private async loadLac(ledgerId: bigint): Promise<bigint | undefined> {
    if (ledgerId < 0n) return undefined;
    const info = this.storage.peekLedgerInfo(ledgerId) ?? (await this.storage.getLedgerInfo(ledgerId));
    const last = await this.storage.getEntry(ledgerId, -1n);
    if (info === undefined && last === undefined) return undefined;
    let lac = last !== undefined && last.length >= ENTRY_METADATA_LENGTH ? last.readBigInt64BE(16) : -1n;
    const explicit = info?.explicitLac;
    if (explicit !== undefined && explicit.length >= LAC_METADATA_LENGTH) {
      const explicitLac = explicit.readBigInt64BE(8);
      if (explicitLac > lac) lac = explicitLac;
    }
    return lac;
  }

  // ------------------------------------------------------------------------------------------------------
  // LAC, force, info, entry lists

  /**
   * WRITE_LAC: keeps the writer's digest-protected LAC blob (ledgerId(8) | lac(8) | digest) as the explicit
   * LAC, journaled; the ledger's LAC advances to the blob's value once the record is durable.
   */
  async writeLac(ledgerId: bigint, masterKey: Buffer, lacBlob: Buffer): Promise<StatusCode> {
    if (this.lifecycle !== LIFECYCLE_STARTED) return StatusCode.EIO;
    if (this.readOnly) return StatusCode.EREADONLY;
    if (
      ledgerId < 0n ||
      masterKey.length !== MASTER_KEY_LENGTH ||
      lacBlob.length < LAC_METADATA_LENGTH ||
      lacBlob.readBigInt64BE(0) !== ledgerId
    ) {
      return StatusCode.EBADREQ;
    }
    try {
      const info = await this.handles.forWrite(ledgerId, masterKey);
      if (typeof info === 'number') return info;
      if (!keysMatch(info.masterKey, masterKey)) return StatusCode.EUA;
      const blob = Buffer.from(lacBlob);
      await this.storage.setExplicitLac(ledgerId, blob);
      const status = await journaled(this.logger, (callback) =>
        this.journal.logExplicitLac(ledgerId, blob, callback),
      );
      if (status === StatusCode.EOK) this.lac.advance(ledgerId, blob.readBigInt64BE(8));
      return status;
    } catch (error) {
      this.logger.error({ err: error, ledgerId }, 'write LAC failed');
      return StatusCode.EIO;
    }
  }

  /** READ_LAC: the explicit LAC blob and the last entry, whichever exist (the client takes the max). */
  async readLac(ledgerId: bigint): Promise<ReadLacResult> {
    const refused = this.checkRead();
    if (refused !== undefined) return { status: refused };
    if (ledgerId < 0n) return { status: StatusCode.ENOLEDGER };
    this.pendingReadCount++;
    try {
      const info = this.storage.peekLedgerInfo(ledgerId) ?? (await this.storage.getLedgerInfo(ledgerId));
      const lastEntryBody = await this.storage.getEntry(ledgerId, -1n);
      if (info === undefined && lastEntryBody === undefined) return { status: StatusCode.ENOLEDGER };
      const lacBody = info?.explicitLac;
      if (lacBody === undefined && lastEntryBody === undefined) return { status: StatusCode.ENOENTRY };
      return { status: StatusCode.EOK, lacBody, lastEntryBody };
    } catch (error) {
      this.logger.error({ err: error, ledgerId }, 'read LAC failed');
      return { status: StatusCode.EIO };
    } finally {
      this.completeRead();
    }
  }

  /** FORCE_LEDGER: answers once everything journaled before it is durable (the DEFERRED_SYNC barrier). */
  forceLedger(ledgerId: bigint): Promise<StatusCode> {
    if (this.lifecycle !== LIFECYCLE_STARTED) return Promise.resolve(StatusCode.EIO);
    return journaled(this.logger, (callback) => this.journal.forceLedger(ledgerId, callback));
  }

  /** GET_BOOKIE_INFO: total and free bytes of the file systems holding the ledger directories. */
  async getBookieInfo(): Promise<BookieInfoResult> {
    try {
      const { totalBytes, freeBytes } = await ledgerDiskSpace(this.config.ledgerDirectories);
      return {
        status: StatusCode.EOK,
        totalDiskCapacity: BigInt(totalBytes),
        freeDiskSpace: BigInt(freeBytes),
      };
    } catch (error) {
      this.logger.error({ err: error }, 'bookie info failed');
      return { status: StatusCode.EIO };
    }
  }

  /** GET_LIST_OF_ENTRIES_OF_LEDGER: the entry ids stored here, as AvailabilityOfEntriesOfLedger bytes. */
  async getListOfEntriesOfLedger(ledgerId: bigint): Promise<EntriesOfLedgerResult> {
    const refused = this.checkRead();
    if (refused !== undefined) return { status: refused };
    if (ledgerId < 0n) return { status: StatusCode.ENOLEDGER };
    this.pendingReadCount++;
    try {
      const entryIds = await this.storage.getEntryIds(ledgerId);
      if (entryIds.length === 0 && (await this.storage.getLedgerInfo(ledgerId)) === undefined) {
        return { status: StatusCode.ENOLEDGER };
      }
      return { status: StatusCode.EOK, availability: encodeEntriesAvailability(entryIds) };
    } catch (error) {
      this.logger.error({ err: error, ledgerId }, 'list of entries failed');
      return { status: StatusCode.EIO };
    } finally {
      this.completeRead();
    }
  }

  // ------------------------------------------------------------------------------------------------------
  // Journal failure and draining

  /** The journal failed a write or sync: nothing can be made durable any more, so stop taking writes. */
  private journalFailed(error: Error): void {
    if (this.journalFailure !== undefined) return;
    this.journalFailure = error;
    this.logger.error({ err: error }, 'journal failed; the bookie is read-only until restarted');
    this.setReadOnly(true, { reason: 'journal failure' });
  }

  private drain(timeoutMs: number): Promise<void> {
    if (this.pendingAddCount === 0 && this.pendingReadCount === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn(
          { pendingAdds: this.pendingAddCount, pendingReads: this.pendingReadCount },
          'closing with requests still in flight',
        );
        this.drained = undefined;
        resolve();
      }, timeoutMs);
      this.drained = () => {
        clearTimeout(timer);
        this.drained = undefined;
        resolve();
      };
    });
  }

  private checkDrained(): void {
    if (this.drained !== undefined && this.pendingAddCount === 0 && this.pendingReadCount === 0)
      this.drained();
  }
}
