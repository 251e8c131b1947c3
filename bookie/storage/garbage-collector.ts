import type { Logger } from '../../common';
import type { BookieMetrics } from '../bookie-metrics';
import type { EntryLogMetadata } from './entry-log-metadata';
import type { EntryLocation } from './entry-location';
import type { EntryLocationIndex } from './entry-location-index';
import type { EntryLogger } from './entry-logger';
import type { LedgerMetadataIndex } from './ledger-metadata-index';
import { ENTRY_ID_MAX } from './packed-entry-ids';
import type { SerialLock } from './serial-lock';

/*
 * Garbage collection of one ledger directory (BookKeeper's GarbageCollectorThread; reference §3):
 *
 * 1. Ledgers. Every local ledger is looked up in the metadata store; those absent are looked up a second time
 *    after the whole pass (as BookKeeper's verifyMetadataOnGC), and only a ledger absent both times is deleted
 *    locally. A failing lookup aborts the run before anything is deleted.
 * 2. Entry logs whose ledgers are all deleted are removed: deleteLedger already removed their index entries.
 * 3. Compaction, when due (interval elapsed, or forced): a log whose usage (live bytes / total bytes) is below
 *    the major (or minor) threshold has its live entries copied into the current log, and is then deleted.
 *
 * Compaction is crash-safe at every step. Entries are copied in batches; for each batch, under the storage lock:
 *   (1) re-check that the index still points at the old copy (a flush or a deleteLedger may have changed it),
 *   (2) append the copies to the current log, (3) fdatasync the log, (4) write the new locations in one synced
 *   RocksDB batch. The old log is deleted only after every batch is indexed. A crash before (4) leaves the index
 *   on the old log, which still exists (the copies are unreferenced garbage); a crash after (4) leaves it on
 *   synced copies. The index never points at a deleted log, and at every instant one of the two copies is valid.
 *   Only the current log is ever appended to and it is never compacted, so nothing can start pointing into a
 *   log while it is being compacted. A log whose scan stops before its end (corruption) is left alone.
 */

export type CompactionKind = 'minor' | 'major';
/** Points between compaction steps where a test may stop the process (or throw to simulate a crash). */
export type CompactionStep = 'appended' | 'synced' | 'indexed' | 'before-delete';

export interface CompactionHooks {
  onStep(step: CompactionStep, logId: number): void | Promise<void>;
}

export interface GcOptions {
  /** Whether the ledger still exists in the metadata store. A rejection aborts the run. */
  ledgerExistsInMetadata: (ledgerId: bigint) => Promise<boolean>;
  forceMinor?: boolean;
  forceMajor?: boolean;
}

export interface CompactionReport {
  readonly ledgerDir: string;
  readonly logId: number;
  readonly kind: CompactionKind;
  /** Usage of the log when it was picked. */
  readonly usage: number;
  readonly entriesMoved: number;
  readonly bytesMoved: number;
  /** The old log's size less what was copied out of it. */
  readonly bytesReclaimed: number;
}

export interface GcReport {
  ledgersDeleted: bigint[];
  entryLogsDeleted: Array<{ ledgerDir: string; logId: number; bytes: number }>;
  compactions: CompactionReport[];
  /** The kind of compaction this run did, if it was due or forced. */
  compactionKind: CompactionKind | undefined;
  reclaimedBytes: number;
}

/** One directory's collector as BookKeeper's GarbageCollectionStatus (`/api/v1/bookie/gc_details`). */
export interface GarbageCollectionStatus {
  ledgerDir: string;
  /** A run with forceMajor or forceMinor is going on. */
  forceCompacting: boolean;
  majorCompacting: boolean;
  minorCompacting: boolean;
  /** When the last major / minor compaction ended, ms since the epoch; 0 = never. */
  lastMajorCompactionTime: number;
  lastMinorCompactionTime: number;
  /** Entry logs compacted so far by each kind. */
  majorCompactionCounter: number;
  minorCompactionCounter: number;
}

export function emptyGcReport(): GcReport {
  return {
    ledgersDeleted: [],
    entryLogsDeleted: [],
    compactions: [],
    compactionKind: undefined,
    reclaimedBytes: 0,
  };
}

export interface GcSettings {
  minorCompactionThreshold: number;
  /** Seconds; 0 disables scheduled minor compaction. */
  minorCompactionInterval: number;
  majorCompactionThreshold: number;
  majorCompactionInterval: number;
}

/** What a directory's storage lends its collector. */
export interface GcTarget {
  readonly ledgerDir: string;
  readonly lock: SerialLock;
  readonly entryLogger: EntryLogger;
  readonly locationIndex: EntryLocationIndex;
  readonly ledgerIndex: LedgerMetadataIndex;
  isClosed(): boolean;
  deleteLedger(ledgerId: bigint): Promise<void>;
  /** Called after compaction rewrote locations (read-ahead results in flight are then not cached). */
  indexChanged(): void;
}

/** Bytes of live entries copied per locked, synced batch. */
const COMPACTION_BATCH_BYTES = 4 * 1024 * 1024;

interface LiveEntry {
  readonly ledgerId: bigint;
  readonly entryId: number;
  readonly location: EntryLocation;
  readonly bytes: Buffer;
}

export class GarbageCollector {
  /** When compaction of each kind was last due (start, then each run): the schedule's reference point. */
  private lastMinorMs: number;
  private lastMajorMs: number;
  private readonly progress: GarbageCollectionStatus;
  private readonly logger: Logger;

  constructor(
    private readonly target: GcTarget,
    private readonly settings: GcSettings,
    logger: Logger,
    private readonly metrics: BookieMetrics,
    private readonly hooks: CompactionHooks | undefined,
  ) {
    this.logger = logger.child({ component: 'garbage-collector' });
    // As BookKeeper: the first scheduled compaction comes one interval after start.
    this.lastMinorMs = this.lastMajorMs = Date.now();
    this.progress = {
      ledgerDir: target.ledgerDir,
      forceCompacting: false,
      majorCompacting: false,
      minorCompacting: false,
      lastMajorCompactionTime: 0,
      lastMinorCompactionTime: 0,
      majorCompactionCounter: 0,
      minorCompactionCounter: 0,
    };
  }

  status(): GarbageCollectionStatus {
    return { ...this.progress };
  }

  async collect(options: GcOptions): Promise<GcReport> {
    const report = emptyGcReport();
    await this.collectLedgers(options, report);
    await this.deleteEmptyLogs(report);
    const kind = this.dueCompaction(options);
    if (kind === undefined) return report;
    report.compactionKind = kind;
    const { progress } = this;
    progress.forceCompacting = options.forceMajor === true || options.forceMinor === true;
    progress[kind === 'major' ? 'majorCompacting' : 'minorCompacting'] = true;
    try {
      await this.compact(kind, report);
    } finally {
      progress.forceCompacting = progress.majorCompacting = progress.minorCompacting = false;
    }
    const now = Date.now();
    this.lastMinorMs = now;
    if (kind === 'major') {
      this.lastMajorMs = now;
      progress.lastMajorCompactionTime = now;
      progress.majorCompactionCounter += report.compactions.length;
    } else {
      progress.lastMinorCompactionTime = now;
      progress.minorCompactionCounter += report.compactions.length;
    }
    return report;
  }

  private async collectLedgers(options: GcOptions, report: GcReport): Promise<void> {
    const missing: bigint[] = [];
    for (const ledgerId of this.target.ledgerIndex.ledgerIds()) {
      if (!(await options.ledgerExistsInMetadata(ledgerId))) missing.push(ledgerId);
    }
    for (const ledgerId of missing) {
      if (this.target.isClosed()) return;
      if (await options.ledgerExistsInMetadata(ledgerId)) continue;
      await this.target.deleteLedger(ledgerId);
      report.ledgersDeleted.push(ledgerId);
      this.metrics.gcLedgersDeleted.inc();
      this.logger.info({ ledgerId: ledgerId.toString() }, 'deleted a ledger that is gone from metadata');
    }
  }

  private async deleteEmptyLogs(report: GcReport): Promise<void> {
    for (const log of this.target.entryLogger.collectableLogs()) {
      if (this.target.isClosed()) return;
      if (log.remainingBytes > 0) continue;
      const bytes = await this.target.lock.run(async () => this.target.entryLogger.deleteLog(log.logId));
      report.entryLogsDeleted.push({ ledgerDir: this.target.ledgerDir, logId: log.logId, bytes });
      report.reclaimedBytes += bytes;
      this.metrics.gcEntryLogsDeleted.inc();
      this.metrics.reclaimedBytes.inc({ kind: 'deletion' }, bytes);
    }
  }

  private dueCompaction(options: GcOptions): CompactionKind | undefined {
    const { settings } = this;
    const now = Date.now();
    const due = (intervalSeconds: number, lastMs: number): boolean =>
      intervalSeconds > 0 && now - lastMs >= intervalSeconds * 1000;
    if (
      settings.majorCompactionThreshold > 0 &&
      (options.forceMajor === true || due(settings.majorCompactionInterval, this.lastMajorMs))
    ) {
      return 'major';
    }
    if (
      settings.minorCompactionThreshold > 0 &&
      (options.forceMinor === true || due(settings.minorCompactionInterval, this.lastMinorMs))
    ) {
      return 'minor';
    }
    return undefined;
  }

  private async compact(kind: CompactionKind, report: GcReport): Promise<void> {
    const threshold =
      kind === 'major' ? this.settings.majorCompactionThreshold : this.settings.minorCompactionThreshold;
    const candidates = this.target.entryLogger
      .collectableLogs()
      .filter((log) => log.remainingBytes > 0 && log.usage < threshold)
      .sort((a, b) => a.usage - b.usage);
    for (const log of candidates) {
      if (this.target.isClosed()) return;
      const compaction = await this.compactLog(log, kind);
      if (compaction === undefined) continue;
      report.compactions.push(compaction);
      report.reclaimedBytes += compaction.bytesReclaimed;
      this.metrics.compactions.inc({ kind });
      this.metrics.reclaimedBytes.inc({ kind: 'compaction' }, compaction.bytesReclaimed);
    }
  }

  /** Moves the log's live entries into the current log, then deletes it. Undefined if it was left alone. */
  private async compactLog(
    log: EntryLogMetadata,
    kind: CompactionKind,
  ): Promise<CompactionReport | undefined> {
    const { entryLogger, ledgerIndex, locationIndex } = this.target;
    const logId = log.logId;
    const usage = log.usage;
    let pending: LiveEntry[] = [];
    let pendingBytes = 0;
    let entriesMoved = 0;
    let bytesMoved = 0;
    const commitPending = async (): Promise<void> => {
      const batch = pending;
      pending = [];
      pendingBytes = 0;
      const moved = await this.moveEntries(logId, batch);
      entriesMoved += moved.entries;
      bytesMoved += moved.bytes;
    };
    const complete = await entryLogger.scan(logId, async (chunk) => {
      const candidates = chunk.entries.filter(
        (entry) =>
          entry.entryId >= 0n && entry.entryId <= BigInt(ENTRY_ID_MAX) && ledgerIndex.exists(entry.ledgerId),
      );
      const keys = candidates.map((entry) => ({ ledgerId: entry.ledgerId, entryId: Number(entry.entryId) }));
      const indexed = await locationIndex.getLocations(keys);
      candidates.forEach((entry, i) => {
        if (indexed[i] !== entry.location) return;
        pending.push({
          ledgerId: entry.ledgerId,
          entryId: keys[i]!.entryId,
          location: entry.location,
          bytes: chunk.bytes.subarray(entry.start, entry.start + entry.length),
        });
        pendingBytes += entry.length;
      });
      if (pendingBytes >= COMPACTION_BATCH_BYTES) await commitPending();
    });
    if (pending.length > 0) await commitPending();
    if (!complete) {
      // Entries past the unreadable point may be live: keep the log (its moved entries are harmless copies).
      this.logger.error({ logId }, 'entry log could not be scanned to its end; not deleting it');
      return undefined;
    }
    await this.hooks?.onStep('before-delete', logId);
    const bytes = await this.target.lock.run(async () => entryLogger.deleteLog(logId));
    this.logger.info({ logId, kind, usage, entriesMoved, bytesMoved }, 'compacted entry log');
    return {
      ledgerDir: this.target.ledgerDir,
      logId,
      kind,
      usage,
      entriesMoved,
      bytesMoved,
      bytesReclaimed: Math.max(0, bytes - bytesMoved),
    };
  }

  /** One crash-safe batch: re-check, append, sync, index (see the top of this file). */
  private moveEntries(logId: number, entries: LiveEntry[]): Promise<{ entries: number; bytes: number }> {
    const { entryLogger, ledgerIndex, locationIndex } = this.target;
    return this.target.lock.run(async () => {
      const indexed = await locationIndex.getLocations(entries);
      const batch = locationIndex.newBatch();
      let bytes = 0;
      entries.forEach((entry, i) => {
        if (indexed[i] !== entry.location || !ledgerIndex.exists(entry.ledgerId)) return;
        const location = entryLogger.append(entry.ledgerId, entry.bytes, 0, entry.bytes.length);
        batch.put(entry.ledgerId, entry.entryId, location);
        bytes += entry.bytes.length;
      });
      if (batch.length === 0) return { entries: 0, bytes: 0 };
      await this.hooks?.onStep('appended', logId);
      await entryLogger.sync();
      await this.hooks?.onStep('synced', logId);
      await batch.commit();
      entryLogger.markRotatedLogsIndexed();
      this.target.indexChanged();
      await this.hooks?.onStep('indexed', logId);
      return { entries: batch.length, bytes };
    });
  }
}
