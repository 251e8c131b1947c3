import assert from 'node:assert';
import { join } from 'node:path';
import type { Logger } from '../../common';
import type { BookieConfig } from '../bookie-config';
import type { BookieMetrics } from '../bookie-metrics';
import type { EntryLogStatus } from './entry-logger';
import { emptyGcReport } from './garbage-collector';
import type { CompactionHooks, GcOptions, GcReport, GarbageCollectionStatus } from './garbage-collector';
import type { FlushOptions, LedgerInfo, LedgerStorageApi } from './ledger-storage-api';
import { readStoredEntryId, readStoredLedgerId } from './packed-entry-ids';
import { SingleDirectoryDbLedgerStorage } from './single-directory-db-ledger-storage';

/*
 * DbLedgerStorage (reference §3): the bookie's ledger storage. One SingleDirectoryDbLedgerStorage per ledger
 * directory, each with its own write caches, entry logs, RocksDB indexes and read cache (the configured memory
 * is divided between them). A ledger lives in directory `ledgerId mod ledgerDirs.length`, as in BookKeeper, so
 * the list of ledger directories must not change once data is written (the bookie's cookie guards that).
 */

/** The configuration keys storage reads (BookKeeper names; bookie-config.ts). */
export type DbLedgerStorageConfig = Pick<
  BookieConfig,
  | 'entryLogSizeLimit'
  | 'entryLogDirectWrites'
  | 'dbStorage_writeCacheMaxSizeMb'
  | 'dbStorage_readAheadCacheMaxSizeMb'
  | 'dbStorage_readAheadCacheBatchSize'
  | 'dbStorage_rocksDB_writeBufferSizeMB'
  | 'minorCompactionThreshold'
  | 'minorCompactionInterval'
  | 'majorCompactionThreshold'
  | 'majorCompactionInterval'
>;

export interface DbLedgerStorageOptions {
  ledgerDirs: readonly string[];
  /**
   * Where the RocksDB indexes go; default: in each ledger directory (`<ledgerDir>/current/{locations,ledgers}`).
   * With one ledger directory they go to `<indexDir>/current/`, with several to `<indexDir>/ledger-dir-<i>/current/`.
   */
  indexDir?: string | undefined;
  config: DbLedgerStorageConfig;
  logger: Logger;
  metrics: BookieMetrics;
  /** For tests: called between compaction steps; throwing there simulates a crash at that point. */
  compactionHooks?: CompactionHooks;
}

/** An entry log as listed for `/api/v1/bookie/list_disk_file`. */
export interface EntryLogListing extends EntryLogStatus {
  readonly ledgerDir: string;
}

const MIB = 1024 * 1024;
/** How often (in adds) the write-cache gauge is refreshed between flushes: a gauge update per add costs. */
const GAUGE_REFRESH_ADDS = 1024;

export class DbLedgerStorage implements LedgerStorageApi {
  private addsSinceGauge = 0;

  private constructor(
    private readonly directories: readonly SingleDirectoryDbLedgerStorage[],
    private readonly metrics: BookieMetrics,
  ) {}

  static async open(options: DbLedgerStorageOptions): Promise<DbLedgerStorage> {
    const { ledgerDirs, indexDir, config } = options;
    assert(ledgerDirs.length > 0, 'at least one ledger directory');
    const count = ledgerDirs.length;
    const indexDirOf = (i: number): string =>
      indexDir === undefined ? ledgerDirs[i]! : count === 1 ? indexDir : join(indexDir, `ledger-dir-${i}`);
    const opened: SingleDirectoryDbLedgerStorage[] = [];
    try {
      for (const [i, ledgerDir] of ledgerDirs.entries()) {
        opened.push(
          await SingleDirectoryDbLedgerStorage.open({
            ledgerDir,
            indexDir: indexDirOf(i),
            writeCacheBytes: Math.floor((config.dbStorage_writeCacheMaxSizeMb * MIB) / count / 2),
            readCacheBytes: Math.floor((config.dbStorage_readAheadCacheMaxSizeMb * MIB) / count),
            readAheadBatchSize: config.dbStorage_readAheadCacheBatchSize,
            locationIndexWriteBufferBytes: config.dbStorage_rocksDB_writeBufferSizeMB * MIB,
            entryLogSizeLimit: config.entryLogSizeLimit,
            entryLogDirectWrites: config.entryLogDirectWrites,
            gc: {
              minorCompactionThreshold: config.minorCompactionThreshold,
              minorCompactionInterval: config.minorCompactionInterval,
              majorCompactionThreshold: config.majorCompactionThreshold,
              majorCompactionInterval: config.majorCompactionInterval,
            },
            logger: options.logger,
            metrics: options.metrics,
            compactionHooks: options.compactionHooks,
          }),
        );
      }
    } catch (err) {
      await Promise.allSettled(opened.map((directory) => directory.close()));
      throw err;
    }
    return new DbLedgerStorage(opened, options.metrics);
  }

  private directoryOf(ledgerId: bigint): SingleDirectoryDbLedgerStorage {
    // The common single-directory case skips the bigint arithmetic on the add path.
    if (this.directories.length === 1) return this.directories[0]!;
    return this.directories[Number(ledgerId % BigInt(this.directories.length))]!;
  }

  addEntry(entry: Buffer): void {
    const ledgerId = readStoredLedgerId(entry);
    const entryId = readStoredEntryId(entry);
    this.directoryOf(ledgerId).addEntry(entry, ledgerId, entryId);
    if (++this.addsSinceGauge >= GAUGE_REFRESH_ADDS) this.refreshGauge();
  }

  onWriteCacheFreed(listener: () => void): void {
    for (const directory of this.directories) directory.onWriteCacheFreed(listener);
  }

  /** `listener` hears each failed flush of any directory, with its error. */
  onFlushFailed(listener: (error: unknown) => void): void {
    for (const directory of this.directories) directory.onFlushFailed(listener);
  }

  getEntry(ledgerId: bigint, entryId: bigint): Promise<Buffer | undefined> {
    return this.directoryOf(ledgerId).getEntry(ledgerId, entryId);
  }

  getLastEntryId(ledgerId: bigint): Promise<bigint | undefined> {
    return this.directoryOf(ledgerId).getLastEntryId(ledgerId);
  }

  getEntryIds(ledgerId: bigint): Promise<bigint[]> {
    return this.directoryOf(ledgerId).getEntryIds(ledgerId);
  }

  async getLedgerInfo(ledgerId: bigint): Promise<LedgerInfo | undefined> {
    return this.directoryOf(ledgerId).getLedgerInfo(ledgerId);
  }

  /** Every stored ledger's record is in memory (loaded at open), so this answers for all of them. */
  peekLedgerInfo(ledgerId: bigint): LedgerInfo | undefined {
    return this.directoryOf(ledgerId).getLedgerInfo(ledgerId);
  }

  async setMasterKey(ledgerId: bigint, masterKey: Buffer): Promise<void> {
    this.directoryOf(ledgerId).setMasterKey(ledgerId, masterKey);
  }

  async setFenced(ledgerId: bigint): Promise<boolean> {
    return this.directoryOf(ledgerId).setFenced(ledgerId);
  }

  async setExplicitLac(ledgerId: bigint, lacBlob: Buffer): Promise<void> {
    this.directoryOf(ledgerId).setExplicitLac(ledgerId, lacBlob);
  }

  deleteLedger(ledgerId: bigint): Promise<void> {
    return this.directoryOf(ledgerId).deleteLedger(ledgerId);
  }

  async listLedgers(): Promise<bigint[]> {
    return this.directories
      .flatMap((directory) => directory.ledgerIds())
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async flush(options: FlushOptions = {}): Promise<void> {
    this.refreshGauge();
    try {
      await Promise.all(this.directories.map((directory) => directory.flush(options)));
    } finally {
      this.refreshGauge();
    }
  }

  get writeCacheBytes(): number {
    return this.directories.reduce((sum, directory) => sum + directory.writeCacheBytes, 0);
  }

  /**
   * One garbage-collection pass over every directory (garbage-collector.ts): deletes ledgers absent from
   * metadata on two lookups, entry logs left without live ledgers, and compacts when due or forced.
   */
  async runGc(options: GcOptions): Promise<GcReport> {
    const report = emptyGcReport();
    for (const directory of this.directories) {
      const part = await directory.runGc(options);
      report.ledgersDeleted.push(...part.ledgersDeleted);
      report.entryLogsDeleted.push(...part.entryLogsDeleted);
      report.compactions.push(...part.compactions);
      report.compactionKind ??= part.compactionKind;
      report.reclaimedBytes += part.reclaimedBytes;
    }
    return report;
  }

  /** Each directory's collector: running, last compactions, counters (for `/api/v1/bookie/gc_details`). */
  gcStatus(): GarbageCollectionStatus[] {
    return this.directories.map((directory) => directory.gcStatus());
  }

  /** Every entry log of every directory, by directory then log id. */
  listEntryLogs(): EntryLogListing[] {
    return this.directories.flatMap((directory) =>
      directory.listEntryLogs().map((log) => ({ ...log, ledgerDir: directory.ledgerDir })),
    );
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.directories.map((directory) => directory.close()));
    this.refreshGauge();
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  private refreshGauge(): void {
    this.addsSinceGauge = 0;
    this.metrics.writeCacheBytes.set(this.writeCacheBytes);
  }
}
