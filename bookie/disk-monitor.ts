import assert from 'node:assert';
import { stat, statfs } from 'node:fs/promises';
import { ConfigError, type Logger } from '../common';
import type { BookieMetrics } from './bookie-metrics';

/** What the disk monitor reads about the filesystem holding a dir. */
export interface DiskSpaceSample {
  totalBytes: number;
  /** Bytes this process may still write (statfs f_bavail: excludes blocks reserved for root). */
  usableBytes: number;
  /** Identifies the filesystem, so that dirs sharing one are counted once in totals. */
  filesystemId: string;
}

/** Reads a dir's filesystem space; injectable so tests can play any disk. */
export type DiskSpaceSource = (dir: string) => Promise<DiskSpaceSample>;

/** The real source: statfs(2) for the space, the device id of the dir for the filesystem. */
export const statfsDiskSpace: DiskSpaceSource = async (dir) => {
  const [fs, st] = await Promise.all([statfs(dir), stat(dir)]);
  return {
    totalBytes: fs.blocks * fs.bsize,
    usableBytes: fs.bavail * fs.bsize,
    filesystemId: String(st.dev),
  };
};

/** Total and usable bytes of the file systems holding `dirs`, each file system counted once. */
export async function ledgerDiskSpace(
  dirs: readonly string[],
  source: DiskSpaceSource = statfsDiskSpace,
): Promise<{ totalBytes: number; freeBytes: number }> {
  const samples = await Promise.all(dirs.map((dir) => source(dir)));
  const byFilesystem = new Map(samples.map((s) => [s.filesystemId, s]));
  let totalBytes = 0;
  let freeBytes = 0;
  for (const sample of byFilesystem.values()) {
    totalBytes += sample.totalBytes;
    freeBytes += sample.usableBytes;
  }
  return { totalBytes, freeBytes };
}

/**
 * - `writable`: below diskUsageWarnThreshold;
 * - `warn`: above diskUsageWarnThreshold, still writable (BookKeeper forces a GC here);
 * - `full`: went above diskUsageThreshold and has not yet come back below diskUsageLwmThreshold;
 * - `failed`: its space cannot be read (missing dir, I/O error); not writable.
 */
export type LedgerDirStatus = 'writable' | 'warn' | 'full' | 'failed';

export interface LedgerDirReport {
  dir: string;
  status: LedgerDirStatus;
  /** Used fraction, 1 - usable / total; undefined when the check failed. */
  usage: number | undefined;
  usableBytes: number;
}

export interface DiskCheckReport {
  dirs: LedgerDirReport[];
  /** The index dirs that are not also ledger dirs (indexDirectories), checked with the same thresholds. */
  indexDirs: LedgerDirReport[];
  /** Ledger dirs that new entry logs may go to (status writable or warn), in configuration order. */
  writableDirs: string[];
  /** No ledger dir is writable: the bookie is read-only (or stops, with readOnlyModeEnabled=false). */
  allFull: boolean;
  /**
   * There are index dirs of their own and none is writable: the entry-location index cannot take a flush, so the
   * bookie is read-only too (BookKeeper's LedgerDirsMonitor checks its index dirs as it does its ledger dirs).
   */
  indexDirsFull: boolean;
  highPriorityWritesAvailable: boolean;
}

/** The part of the bookie's state manager that the disk monitor drives (BookieStateManager implements it). */
export interface DiskStateTarget {
  transitionToReadOnly(reason: 'disks-full'): Promise<void>;
  transitionToWritable(reason: 'disks-full'): Promise<void>;
  setHighPriorityWritesAvailable(available: boolean): void;
}

export interface DiskMonitorOptions {
  ledgerDirs: readonly string[];
  /** indexDirectories: dirs of the RocksDB indexes, when configured apart from the ledger dirs. */
  indexDirs?: readonly string[];
  /** diskCheckInterval */
  diskCheckIntervalMs: number;
  /** diskUsageThreshold: a dir above this fraction is full. */
  diskUsageThreshold: number;
  /** diskUsageWarnThreshold: a dir above this fraction is almost full. */
  diskUsageWarnThreshold: number;
  /** diskUsageLwmThreshold: a full dir is writable again once below this fraction. */
  diskUsageLwmThreshold: number;
  /**
   * minUsableSizeForHighPriorityWrites: while every dir is full, high-priority (recovery) adds are still
   * accepted if some dir has at least this many usable bytes. Default 0.
   */
  minUsableSizeForHighPriorityWritesBytes?: number;
  state: DiskStateTarget;
  metrics: BookieMetrics;
  logger: Logger;
  diskSpace?: DiskSpaceSource;
}

function isWritable(report: LedgerDirReport): boolean {
  return report.status === 'writable' || report.status === 'warn';
}

function checkFraction(name: string, value: number): void {
  if (!(value > 0 && value < 1)) {
    throw new ConfigError(`${name}=${value} is invalid: expected a fraction strictly between 0 and 1`);
  }
}

/**
 * BookKeeper's LedgerDirsMonitor: every diskCheckInterval ms, reads the space of each ledger dir's filesystem, and
 * of the index dir when it is configured apart (indexDirectories). A dir is full above diskUsageThreshold and stays
 * full until it drops below diskUsageLwmThreshold (the hysteresis keeps a dir near the threshold from flapping).
 * When no ledger dir is writable, or the index dir is full, the bookie goes read-only; once both have room again,
 * it goes back to writable (unless something else keeps it read-only).
 *
 * Checks never overlap: the next one is scheduled when the previous one ends.
 */
export class DiskMonitor {
  private readonly logger: Logger;
  private readonly diskSpaceSource: DiskSpaceSource;
  private readonly statuses = new Map<string, LedgerDirStatus>();
  private lastReport: DiskCheckReport | undefined;
  private inFlight: Promise<DiskCheckReport> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;
  private readonly listeners = new Set<(report: DiskCheckReport) => void>();

  constructor(private readonly options: DiskMonitorOptions) {
    checkFraction('diskUsageThreshold', options.diskUsageThreshold);
    checkFraction('diskUsageWarnThreshold', options.diskUsageWarnThreshold);
    checkFraction('diskUsageLwmThreshold', options.diskUsageLwmThreshold);
    if (options.diskUsageLwmThreshold > options.diskUsageThreshold) {
      throw new ConfigError(
        `diskUsageLwmThreshold=${options.diskUsageLwmThreshold} is invalid: expected at most ` +
          `diskUsageThreshold=${options.diskUsageThreshold}`,
      );
    }
    if (options.ledgerDirs.length === 0) throw new ConfigError('ledgerDirectories is empty');
    this.logger = options.logger.child({ component: 'disk-monitor' });
    this.diskSpaceSource = options.diskSpace ?? statfsDiskSpace;
  }

  /** Runs a first check now (its report is returned), then one every diskCheckInterval ms until close(). */
  async start(): Promise<DiskCheckReport> {
    assert(!this.started, 'DiskMonitor.start() called twice');
    this.started = true;
    const report = await this.check();
    this.schedule();
    return report;
  }

  /** The ledger dirs currently writable (from the last check; all of them before the first). */
  writableLedgerDirs(): string[] {
    return this.lastReport?.writableDirs ?? [...this.options.ledgerDirs];
  }

  /** Calls `listener` after every check. Returns a function that removes it. */
  onCheck(listener: (report: DiskCheckReport) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Checks every ledger dir now and applies the outcome to the bookie state. Concurrent calls share one check.
   * The bookie may call it on an ENOSPC instead of waiting for the next interval.
   */
  check(): Promise<DiskCheckReport> {
    this.inFlight ??= this.runCheck().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /**
   * Total and free bytes of the ledger disks, each filesystem counted once (GetBookieInfo, /api/v1/bookie/info).
   * Free is what the bookie can still write.
   */
  diskSpace(): Promise<{ totalBytes: number; freeBytes: number }> {
    return ledgerDiskSpace(this.options.ledgerDirs, this.diskSpaceSource);
  }

  /** Stops the periodic checks; a check in progress completes. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.check()
        .catch((error: unknown) => this.logger.error({ err: error }, 'disk check failed'))
        .finally(() => this.schedule());
    }, this.options.diskCheckIntervalMs);
    this.timer.unref();
  }

  private async runCheck(): Promise<DiskCheckReport> {
    const { ledgerDirs } = this.options;
    const ownIndexDirs = (this.options.indexDirs ?? []).filter((dir) => !ledgerDirs.includes(dir));
    const [dirs, indexDirs] = await Promise.all([
      Promise.all(ledgerDirs.map((dir) => this.checkDir(dir))),
      Promise.all(ownIndexDirs.map((dir) => this.checkDir(dir))),
    ]);
    const writableDirs = dirs.filter(isWritable).map((d) => d.dir);
    const allFull = writableDirs.length === 0;
    const indexDirsFull = indexDirs.length > 0 && !indexDirs.some(isWritable);
    const minUsable = this.options.minUsableSizeForHighPriorityWritesBytes ?? 0;
    const highPriorityWritesAvailable =
      !indexDirsFull && (!allFull || dirs.some((d) => d.status !== 'failed' && d.usableBytes >= minUsable));
    const report: DiskCheckReport = {
      dirs,
      indexDirs,
      writableDirs,
      allFull,
      indexDirsFull,
      highPriorityWritesAvailable,
    };
    this.lastReport = report;
    this.options.metrics.writableDirs.set(writableDirs.length);

    const { state } = this.options;
    state.setHighPriorityWritesAvailable(highPriorityWritesAvailable);
    if (allFull || indexDirsFull) await state.transitionToReadOnly('disks-full');
    else await state.transitionToWritable('disks-full');
    for (const listener of this.listeners) {
      try {
        listener(report);
      } catch (error) {
        this.logger.error({ err: error }, 'disk check listener threw');
      }
    }
    return report;
  }

  private async checkDir(dir: string): Promise<LedgerDirReport> {
    const previous = this.statuses.get(dir) ?? 'writable';
    let report: LedgerDirReport;
    try {
      const sample = await this.diskSpaceSource(dir);
      const usage = sample.totalBytes > 0 ? 1 - sample.usableBytes / sample.totalBytes : 1;
      report = { dir, status: this.statusFor(previous, usage), usage, usableBytes: sample.usableBytes };
    } catch (error) {
      if (previous !== 'failed') this.logger.error({ err: error, dir }, 'cannot read disk space of dir');
      report = { dir, status: 'failed', usage: undefined, usableBytes: 0 };
    }
    if (report.status !== previous) this.logTransition(report, previous);
    this.statuses.set(dir, report.status);
    return report;
  }

  private statusFor(previous: LedgerDirStatus, usage: number): LedgerDirStatus {
    const { diskUsageThreshold, diskUsageWarnThreshold, diskUsageLwmThreshold } = this.options;
    if (usage > diskUsageThreshold) return 'full';
    if (previous === 'full' && usage >= diskUsageLwmThreshold) return 'full';
    return usage > diskUsageWarnThreshold ? 'warn' : 'writable';
  }

  private logTransition(report: LedgerDirReport, previous: LedgerDirStatus): void {
    const fields = { dir: report.dir, usage: report.usage, previous };
    if (report.status === 'full') this.logger.error(fields, 'dir is full');
    else if (report.status === 'warn') this.logger.warn(fields, 'dir is almost full');
    else if (report.status === 'writable') this.logger.info(fields, 'dir is writable');
  }
}
