import assert from 'node:assert';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common';
import type { BookieMetrics } from '../bookie-metrics';
import { locationLogId, locationOffset } from './entry-location';
import { EntryLocationIndex } from './entry-location-index';
import type { IndexedEntry } from './entry-location-index';
import { RECORD_SIZE_BYTES } from './entry-log-format';
import { EntryLogMissingError } from './entry-log-readers';
import { EntryLogger } from './entry-logger';
import type { EntryLogStatus } from './entry-logger';
import { GarbageCollector } from './garbage-collector';
import type {
  CompactionHooks,
  GcOptions,
  GcReport,
  GcSettings,
  GarbageCollectionStatus,
} from './garbage-collector';
import { LedgerMetadataIndex } from './ledger-metadata-index';
import { WriteCacheFullError } from './ledger-storage-api';
import type { FlushOptions, LedgerInfo } from './ledger-storage-api';
import { PACKED_ENTRY_IDS_BYTES, readEntryIdNumber, storableEntryId } from './packed-entry-ids';
import { ReadAheadsInFlight } from './read-aheads-in-flight';
import { ReadCache } from './read-cache';
import { SerialLock } from './serial-lock';
import { CorruptEntryError, InvalidEntryError, StorageClosedError } from './storage-errors';
import { WriteCache } from './write-cache';
import type { WriteCacheVisitor } from './write-cache';

/*
 * DbLedgerStorage for one ledger directory (BookKeeper's SingleDirectoryDbLedgerStorage): two write caches, the
 * entry logs of `<ledgerDir>/current/`, the RocksDB indexes `<indexDir>/current/{locations,ledgers}`, a read
 * cache, and the garbage collector. DbLedgerStorage routes each ledger to one of these. The flush order and why
 * it is crash-safe are in README.md.
 */

/**
 * Bytes written to entry logs between two yields to the event loop during a flush: about 1 ms of work at 1 KiB
 * entries, so a journal sync that completes meanwhile is answered within a millisecond or so. At 4 MiB (about
 * 12 ms per stretch) the p99 of 1 KiB adds at 80% load was 80-130 ms; at 256 KiB 30-45 ms (bench/bookie-write).
 */
const FLUSH_YIELD_BYTES = 256 * 1024;
/**
 * A flush nobody waits for (the periodic checkpoint's, or the one an add starts when the active write cache fills
 * up) sleeps this long between stretches while it is ahead of the adds (see FLUSH_FINISH_FILL). On two cores
 * shared with other bookies and clients its CPU (~50 ms per 10 MB while the code is still cold) otherwise arrived
 * as one burst that starved the request path, in every bookie at once. bench/client-tail (1,000 appends/s, three
 * bookies): p99 6.6/10.3/10.5/7.2 ms against 7.6/12.8/13.9/15.4 unpaced, runs alternated; nearly every entry
 * slower than 7 ms fell in the checkpoint's 300 ms.
 */
const FLUSH_PAUSE_MS = 1;
/**
 * A paced flush aims to be done when the active write cache is this full: it pauses only while its share of the
 * frozen cache written is more than the active cache's fill divided by this. Under steady adds that spreads a
 * flush over about half the time the active cache takes to fill, instead of writing it at the disk's full speed
 * as soon as the cache swaps.
 */
const FLUSH_FINISH_FILL = 0.5;
/** Largest block read at once to fill the read cache. */
const READ_AHEAD_BYTES_MAX = 4 * 1024 * 1024;
/** How far past the start of the last entry of a read-ahead run the block reaches. */
const READ_AHEAD_TAIL_BYTES = 4096;
/** Largest packed entry an entry log record may hold (a write cache holds at most 64 MiB entries too). */
const ENTRY_BYTES_MAX = 64 * 1024 * 1024;
/** Reads that find their entry log deleted by compaction look the location up again, this many times. */
const READ_ATTEMPTS = 3;

export interface SingleDirectoryStorageOptions {
  ledgerDir: string;
  /** Where `current/locations` and `current/ledgers` live; the ledger directory unless configured. */
  indexDir: string;
  /** Size of each of the two write caches. */
  writeCacheBytes: number;
  readCacheBytes: number;
  readAheadBatchSize: number;
  /** The entry-location index's RocksDB memtable size. */
  locationIndexWriteBufferBytes: number;
  entryLogSizeLimit: number;
  /** Entry logs written with O_DIRECT where the file system takes it (entry-logger.ts says why). */
  entryLogDirectWrites: boolean;
  gc: GcSettings;
  logger: Logger;
  metrics: BookieMetrics;
  compactionHooks?: CompactionHooks | undefined;
}

export class SingleDirectoryDbLedgerStorage {
  readonly lock = new SerialLock();
  private readonly gcQueue = new SerialLock();
  private readonly collector: GarbageCollector;
  private active: WriteCache;
  private frozen: WriteCache;
  private readonly readCache: ReadCache;
  private readonly readAheadsInFlight = new ReadAheadsInFlight();
  /** True while a flush writes the frozen cache: addEntry must not swap then. */
  private flushing = false;
  /** Flushes asked for by someone who waits (not the periodic checkpoint), running or queued: no pauses. */
  private hurriedFlushes = 0;
  private closing = false;
  private lastFlushFailed = false;
  private flushRunning: Promise<void> | undefined;
  private flushQueued: Promise<void> | undefined;
  /** Bumped whenever locations are rewritten; a read-ahead that straddles a bump does not fill the cache. */
  private indexGeneration = 0;
  private closed = false;
  private readonly freedListeners: (() => void)[] = [];
  private readonly flushFailedListeners: ((error: unknown) => void)[] = [];

  private constructor(
    private readonly options: SingleDirectoryStorageOptions,
    readonly entryLogger: EntryLogger,
    readonly locationIndex: EntryLocationIndex,
    readonly ledgerIndex: LedgerMetadataIndex,
    private readonly logger: Logger,
  ) {
    this.active = new WriteCache(options.writeCacheBytes);
    this.frozen = new WriteCache(options.writeCacheBytes);
    this.readCache = new ReadCache(options.readCacheBytes);
    this.collector = new GarbageCollector(
      {
        ledgerDir: options.ledgerDir,
        lock: this.lock,
        entryLogger,
        locationIndex,
        ledgerIndex,
        isClosed: () => this.closed,
        deleteLedger: (ledgerId) => this.deleteLedger(ledgerId),
        indexChanged: () => this.indexGeneration++,
      },
      options.gc,
      logger,
      options.metrics,
      options.compactionHooks,
    );
  }

  static async open(options: SingleDirectoryStorageOptions): Promise<SingleDirectoryDbLedgerStorage> {
    const logger = options.logger.child({ component: 'db-ledger-storage', ledgerDir: options.ledgerDir });
    const indexRoot = join(options.indexDir, 'current');
    const ledgerIndex = await LedgerMetadataIndex.open(join(indexRoot, 'ledgers'));
    let locationIndex: EntryLocationIndex | undefined;
    try {
      locationIndex = await EntryLocationIndex.open(join(indexRoot, 'locations'), {
        writeBufferBytes: options.locationIndexWriteBufferBytes,
      });
      const entryLogger = await EntryLogger.open({
        dir: join(options.ledgerDir, 'current'),
        entryLogSizeLimit: options.entryLogSizeLimit,
        directWrites: options.entryLogDirectWrites,
        entryBytesMax: ENTRY_BYTES_MAX,
        logger,
      });
      // Bytes of ledgers the index does not know (deleted, or never indexed before a crash) are garbage.
      for (const log of entryLogger.collectableLogs())
        log.retainLedgers((ledgerId) => ledgerIndex.exists(ledgerId));
      logger.info(
        { ledgers: ledgerIndex.size, entryLogs: entryLogger.collectableLogs().length },
        'ledger storage opened',
      );
      return new SingleDirectoryDbLedgerStorage(options, entryLogger, locationIndex, ledgerIndex, logger);
    } catch (err) {
      await locationIndex?.close();
      await ledgerIndex.close();
      throw err;
    }
  }

  get ledgerDir(): string {
    return this.options.ledgerDir;
  }

  get writeCacheBytes(): number {
    return this.active.sizeBytes + this.frozen.sizeBytes;
  }

  // ---- entries ----

  addEntry(entry: Buffer, ledgerId: bigint, entryId: number): void {
    if (this.closed) throw new StorageClosedError();
    if (entry.length > this.active.maxEntryBytes) {
      throw new InvalidEntryError(
        `entry of ${entry.length} bytes is larger than the write cache can hold (${this.active.maxEntryBytes})`,
      );
    }
    if (this.active.put(ledgerId, entryId, entry)) return;
    if (this.frozen.isEmpty && !this.flushing) {
      // The active cache is full and no flush holds the other one: swap now and flush in the background.
      this.swapCaches();
      // An empty cache holds any entry up to maxEntryBytes.
      assert(this.active.put(ledgerId, entryId, entry), 'entry does not fit an empty write cache');
      this.flushInBackground({ hurry: false });
      return;
    }
    if (!this.flushing && !this.lastFlushFailed) this.flushInBackground({ hurry: true });
    throw new WriteCacheFullError();
  }

  /** See LedgerStorageApi.onWriteCacheFreed: called after every flush of this directory. */
  onWriteCacheFreed(listener: () => void): void {
    this.freedListeners.push(listener);
  }

  /** `listener` hears each failed flush of this directory (a full or failing disk), with its error. */
  onFlushFailed(listener: (error: unknown) => void): void {
    this.flushFailedListeners.push(listener);
  }

  /** Calls each listener with `arg`; one that throws is logged and the others still run. */
  private notify<T>(listeners: readonly ((arg: T) => void)[], arg: T, what: string): void {
    for (const listener of listeners) {
      try {
        listener(arg);
      } catch (err) {
        this.logger.error({ err }, `${what} listener failed`);
      }
    }
  }

  async getEntry(ledgerId: bigint, entryId: bigint): Promise<Buffer | undefined> {
    this.checkOpen();
    const id = entryId === -1n ? await this.lastEntryId(ledgerId) : storableEntryId(entryId);
    if (id === undefined) return undefined;
    // Caches before the index: a flush indexes an entry before dropping it from the frozen cache, so an entry
    // is always in one of them, and this order cannot miss it.
    const cached =
      this.active.get(ledgerId, id) ?? this.frozen.get(ledgerId, id) ?? this.readCache.get(ledgerId, id);
    if (cached !== undefined) {
      this.options.metrics.readCacheHits.inc();
      return cached;
    }
    this.options.metrics.readCacheMisses.inc();
    const readAhead = this.readAheadsInFlight.covering(ledgerId, id);
    if (readAhead !== undefined) {
      await readAhead;
      const readAheadCached = this.readCache.get(ledgerId, id);
      if (readAheadCached !== undefined) return readAheadCached;
    }
    const { readAheadBatchSize } = this.options;
    return this.readAheadsInFlight.track(ledgerId, id, readAheadBatchSize, this.readFromLog(ledgerId, id));
  }

  /** An entry missing from the caches: index scan from it, then read-ahead from its entry log. */
  private async readFromLog(ledgerId: bigint, id: number): Promise<Buffer | undefined> {
    for (let attempt = 1; ; attempt++) {
      const generation = this.indexGeneration;
      const indexed = await this.locationIndex.indexedFrom(ledgerId, id, this.options.readAheadBatchSize);
      if (indexed[0]?.entryId !== id) return undefined;
      try {
        return await this.readAhead(ledgerId, indexed, generation);
      } catch (err) {
        if (!(err instanceof EntryLogMissingError)) throw err;
        // Compaction moved the entry and deleted the log after we read the index: look again.
        if (attempt >= READ_ATTEMPTS) {
          throw new CorruptEntryError(`entry ${ledgerId}/${id} is indexed in a missing entry log`, {
            cause: err,
          });
        }
      }
    }
  }

  async getLastEntryId(ledgerId: bigint): Promise<bigint | undefined> {
    this.checkOpen();
    const last = await this.lastEntryId(ledgerId);
    return last === undefined ? undefined : BigInt(last);
  }

  async getEntryIds(ledgerId: bigint): Promise<bigint[]> {
    this.checkOpen();
    const cached = [...this.active.entryIds(ledgerId), ...this.frozen.entryIds(ledgerId)];
    const ids = new Set(await this.locationIndex.entryIds(ledgerId));
    for (const id of cached) ids.add(id);
    return [...ids].sort((a, b) => a - b).map((id) => BigInt(id));
  }

  private async lastEntryId(ledgerId: bigint): Promise<number | undefined> {
    const cached = Math.max(this.active.lastEntryId(ledgerId) ?? -1, this.frozen.lastEntryId(ledgerId) ?? -1);
    const indexed = (await this.locationIndex.lastEntry(ledgerId))?.entryId ?? -1;
    const last = Math.max(cached, indexed);
    return last < 0 ? undefined : last;
  }

  /**
   * Reads indexed[0] and, when the entries after it sit just after it in the same log, reads them in the same
   * block and puts them all in the read cache. The last entry's size is unknown until read: the block reaches a
   * little past its start, which holds it unless it is large.
   */
  private async readAhead(ledgerId: bigint, indexed: IndexedEntry[], generation: number): Promise<Buffer> {
    const first = indexed[0]!;
    const logId = locationLogId(first.location);
    const blockStart = locationOffset(first.location) - RECORD_SIZE_BYTES;
    const spanMax = Math.min(READ_AHEAD_BYTES_MAX, this.options.readCacheBytes / 4);
    let runEnd = 1;
    while (runEnd < indexed.length) {
      const next = indexed[runEnd]!.location;
      const previous = indexed[runEnd - 1]!.location;
      if (locationLogId(next) !== logId || next <= previous || locationOffset(next) - blockStart > spanMax)
        break;
      runEnd++;
    }
    if (runEnd === 1) {
      const entry = await this.entryLogger.readEntry(first.location, ledgerId, first.entryId);
      if (this.indexGeneration === generation)
        this.readCache.put(ledgerId, first.entryId, entry, 0, entry.length);
      return entry;
    }
    const blockEnd = locationOffset(indexed[runEnd - 1]!.location) + READ_AHEAD_TAIL_BYTES;
    const block = await this.entryLogger.readBlock(logId, blockStart, blockEnd - blockStart);
    const found = entryInBlock(block, blockStart, ledgerId, first);
    // Anything odd about the requested entry: let the plain read report it precisely.
    if (found === undefined) return this.entryLogger.readEntry(first.location, ledgerId, first.entryId);
    const entry = block.subarray(found.start, found.start + found.length);
    if (this.indexGeneration !== generation) return Buffer.from(entry); // not cached: it must not hold the block
    // The requested entry too: a reader going over the ledger again finds all of it cached. Ids the block does
    // not hold (another bookie's share of a striped ledger, entries past its end) are left absent.
    const spans = new Int32Array(2 * (indexed[runEnd - 1]!.entryId - first.entryId + 1)).fill(-1);
    spans[0] = found.start;
    spans[1] = found.length;
    for (let i = 1; i < runEnd; i++) {
      const next = indexed[i]!;
      const at = entryInBlock(block, blockStart, ledgerId, next);
      if (at === undefined) continue;
      const slot = 2 * (next.entryId - first.entryId);
      spans[slot] = at.start;
      spans[slot + 1] = at.length;
    }
    this.readCache.putBlock(ledgerId, block, first.entryId, spans);
    return entry;
  }

  // ---- ledgers ----

  getLedgerInfo(ledgerId: bigint): LedgerInfo | undefined {
    this.checkOpen();
    return this.ledgerIndex.get(ledgerId);
  }

  setMasterKey(ledgerId: bigint, masterKey: Buffer): void {
    this.checkOpen();
    this.ledgerIndex.setMasterKey(ledgerId, masterKey);
  }

  setFenced(ledgerId: bigint): boolean {
    this.checkOpen();
    return this.ledgerIndex.setFenced(ledgerId);
  }

  setExplicitLac(ledgerId: bigint, lacBlob: Buffer): void {
    this.checkOpen();
    this.ledgerIndex.setExplicitLac(ledgerId, lacBlob);
  }

  /**
   * Removes the ledger: cached entries at once; then, under the lock (no flush or compaction in between), its
   * locations and finally its record, each synced. A crash in between leaves the record, so GC deletes again.
   */
  deleteLedger(ledgerId: bigint): Promise<void> {
    this.checkOpen();
    return this.lock.run(async () => {
      this.active.deleteLedger(ledgerId);
      this.frozen.deleteLedger(ledgerId);
      this.readCache.deleteLedger(ledgerId);
      await this.locationIndex.deleteLedger(ledgerId);
      await this.ledgerIndex.delete(ledgerId);
      this.entryLogger.removeLedger(ledgerId);
      this.indexGeneration++;
    });
  }

  /** Ledgers with a record or with cached entries. */
  ledgerIds(): bigint[] {
    this.checkOpen();
    const ids = new Set(this.ledgerIndex.ledgerIds());
    for (const id of this.active.ledgerIds()) ids.add(id);
    for (const id of this.frozen.ledgerIds()) ids.add(id);
    return [...ids];
  }

  // ---- flush ----

  /** Resolves once everything added before the call is in entry logs and indexed (see the contract). */
  flush(options: FlushOptions = {}): Promise<void> {
    this.checkOpen();
    return options.background === true ? this.flushAll() : this.hurried(this.flushAll());
  }

  /** Counts the flush as hurried until it settles: a paced flush running meanwhile stops pausing. */
  private hurried(flush: Promise<void>): Promise<void> {
    this.hurriedFlushes++;
    return flush.finally(() => this.hurriedFlushes--);
  }

  /**
   * Between two stretches of a flush that has written `progress` (0..1) of the frozen cache: a pause while a paced
   * flush is ahead of the filling active cache, otherwise just a turn of the event loop.
   */
  private betweenStretches(progress: number): Promise<unknown> {
    const fill = this.active.sizeBytes / this.active.capacityBytes;
    const paced = this.hurriedFlushes === 0 && !this.closing && fill < progress * FLUSH_FINISH_FILL;
    if (!paced) return yieldToEventLoop();
    this.options.metrics.flushPauses.inc();
    return sleep(FLUSH_PAUSE_MS);
  }

  private flushAll(): Promise<void> {
    if (this.flushRunning === undefined) return this.startFlush();
    // A running flush may have swapped before our caller's adds: queue one more, shared by every caller
    // that arrives while this one runs.
    this.flushQueued ??= this.flushRunning
      .catch(() => undefined)
      .then(() => {
        this.flushQueued = undefined;
        return this.startFlush();
      });
    return this.flushQueued;
  }

  private startFlush(): Promise<void> {
    const run: Promise<void> = this.lock
      .run(() => this.flushOnce())
      .finally(() => {
        if (this.flushRunning === run) this.flushRunning = undefined;
        // The frozen cache is empty again (unless the flush failed): adds refused meanwhile may fit now.
        this.notify(this.freedListeners, undefined, 'write-cache freed');
      });
    this.flushRunning = run;
    return run;
  }

  /**
   * The active cache filled up: a flush paced to keep ahead of the adds (see betweenStretches), or one that
   * hurries when an add was already refused for want of space.
   */
  private flushInBackground(options: { hurry: boolean }): void {
    (options.hurry ? this.hurried(this.flushAll()) : this.flushAll()).catch((err: unknown) =>
      this.logger.error({ err }, 'background flush failed'),
    );
  }

  private async flushOnce(): Promise<void> {
    const started = process.hrtime.bigint();
    this.flushing = true;
    try {
      // A frozen cache left by a failed flush goes first; then what was added since.
      if (!this.frozen.isEmpty) await this.writeFrozen();
      this.swapCaches();
      await this.writeFrozen();
      this.lastFlushFailed = false;
    } catch (err) {
      this.lastFlushFailed = true;
      this.notify(this.flushFailedListeners, err, 'flush-failed');
      throw err;
    } finally {
      this.flushing = false;
      this.options.metrics.flushes.inc();
      this.options.metrics.flushLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  private swapCaches(): void {
    const full = this.active;
    this.active = this.frozen;
    this.frozen = full;
  }

  /**
   * The frozen cache, sorted by (ledgerId, entryId), into the current entry log; fdatasync; ledger records, then
   * locations, in synced RocksDB batches; only then drop the frozen cache. Until the locations are committed the
   * frozen cache keeps serving reads, and a crash leaves the journal (not yet checkpointed) to replay the adds.
   */
  private async writeFrozen(): Promise<void> {
    const cache = this.frozen;
    if (cache.isEmpty) {
      await this.ledgerIndex.flush();
      return;
    }
    const batch = this.locationIndex.newBatch();
    const ledgerIds = cache.ledgerIds();
    // What `bytes` will have counted at the end: every entry and its size field (replaced copies aside).
    const totalBytes = cache.sizeBytes + cache.count * RECORD_SIZE_BYTES;
    let bytes = 0;
    let bytesAtYield = 0;
    for (const ledgerId of ledgerIds) {
      this.ledgerIndex.ensure(ledgerId);
      const visit: WriteCacheVisitor = (entryId, segment, start, length) => {
        batch.put(ledgerId, entryId, this.entryLogger.append(ledgerId, segment, start, length));
        bytes += RECORD_SIZE_BYTES + length;
        return bytes - bytesAtYield >= FLUSH_YIELD_BYTES;
      };
      let from = 0;
      do {
        from = cache.forEachEntry(ledgerId, visit, from);
        if (bytes - bytesAtYield >= FLUSH_YIELD_BYTES) {
          // Let adds and reads run: a large flush must not stall the journal's acknowledgements.
          bytesAtYield = bytes;
          await this.betweenStretches(bytes / totalBytes);
          await this.entryLogger.writesSettled();
        }
      } while (from >= 0);
    }
    await this.entryLogger.sync();
    await this.ledgerIndex.flush();
    await batch.commit();
    this.entryLogger.markRotatedLogsIndexed();
    this.indexGeneration++;
    for (const ledgerId of ledgerIds) {
      const range = cache.entryRange(ledgerId)!;
      this.readCache.invalidate(ledgerId, range.first, range.last);
    }
    cache.clear();
    this.options.metrics.flushBytes.inc(bytes);
    this.logger.debug({ entries: batch.length, bytes }, 'flushed write cache');
  }

  // ---- garbage collection ----

  runGc(options: GcOptions): Promise<GcReport> {
    this.checkOpen();
    return this.gcQueue.run(() => this.collector.collect(options));
  }

  gcStatus(): GarbageCollectionStatus {
    return this.collector.status();
  }

  listEntryLogs(): EntryLogStatus[] {
    this.checkOpen();
    return this.entryLogger.status();
  }

  /** Flushes, waits for a running GC to stop, and closes logs and indexes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    let failure: unknown;
    try {
      await this.flushAll();
    } catch (err) {
      failure = err;
    }
    this.closed = true;
    await this.gcQueue.run(async () => undefined);
    await this.lock.run(async () => {
      for (const close of [
        () => this.entryLogger.close(),
        () => this.locationIndex.close(),
        () => this.ledgerIndex.close(),
      ]) {
        try {
          await close();
        } catch (err) {
          failure ??= err;
        }
      }
    });
    if (failure !== undefined) throw failure;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageClosedError();
  }
}

/** Where `entry` sits in a block read from `blockStart`, if it is wholly there and really that entry. */
function entryInBlock(
  block: Buffer,
  blockStart: number,
  ledgerId: bigint,
  entry: IndexedEntry,
): { start: number; length: number } | undefined {
  const at = locationOffset(entry.location) - RECORD_SIZE_BYTES - blockStart;
  if (at < 0 || at + RECORD_SIZE_BYTES > block.length) return undefined;
  const length = block.readInt32BE(at);
  const start = at + RECORD_SIZE_BYTES;
  if (length < PACKED_ENTRY_IDS_BYTES || start + length > block.length) return undefined;
  if (block.readBigInt64BE(start) !== ledgerId || readEntryIdNumber(block, start + 8) !== entry.entryId) {
    return undefined;
  }
  return { start, length };
}
