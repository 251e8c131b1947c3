import type { Registry } from 'prom-client';
import type { LogMark } from '../journal/journal-api';
import type { ReadOnlyReason } from '../state';
import type { GarbageCollectionStatus, GcOptions } from '../storage';

/**
 * What the admin HTTP server needs from the bookie. The core Bookie implements it (mostly by handing over its
 * parts: the state manager, the metrics registry, the disk monitor, the GC); the server knows nothing else.
 */
export interface AdminTarget {
  readonly bookieId: string;
  /** The bookie's state; BookieStateManager implements it. */
  readonly state: AdminState;
  /** Served at /metrics (BookieMetrics.registry). */
  readonly metricsRegistry: Registry;
  /** Total and free bytes of the ledger disks (DiskMonitor.diskSpace). */
  diskSpace(): Promise<{ totalBytes: number; freeBytes: number }>;
  /** The garbage collector; see AdminGc. */
  readonly gc: AdminGc;
  /** The bookie's files by kind (listBookieDiskFiles over the configured dirs does it). */
  listDiskFiles(): Promise<BookieDiskFiles>;
  /** Each journal's last log mark: the checkpoint from which replay would start, one per journal dir. */
  lastLogMarks(): Promise<LogMark[]>;
}

/** The part of BookieStateManager the admin API reads and drives. */
export interface AdminState {
  readonly readOnlyModeEnabled: boolean;
  isRunning(): boolean;
  isShuttingDown(): boolean;
  isReadOnly(): boolean;
  isForcedReadOnly(): boolean;
  isAvailableForHighPriorityWrites(): boolean;
  /** Why the bookie is read-only now ('admin' is the reason this API sets and clears). */
  readOnlyReasons(): ReadOnlyReason[];
  transitionToReadOnly(reason: 'admin'): Promise<void>;
  transitionToWritable(reason: 'admin'): Promise<void>;
  forceReadOnly(): Promise<void>;
}

/** BookKeeper's forceGC(forceMajor, forceMinor): unset means "as the thresholds decide". */
export type GcRequest = Pick<GcOptions, 'forceMajor' | 'forceMinor'>;

/** One ledger dir's garbage collector, as /gc_details shows it: the storage's own status record. */
export type GcStatus = GarbageCollectionStatus;

export interface AdminGc {
  /** Starts a forced GC pass in the background; returns at once. */
  trigger(request: GcRequest): void;
  /** True while a forced GC pass runs. */
  isInForceGc(): boolean;
  status(): GcStatus[];
}

/** File names (not paths) of each kind, oldest first, as BookKeeper's listfilesondisc shows them. */
export interface BookieDiskFiles {
  /** `<hex id>.txn` in the journal dirs' current/. */
  journal: string[];
  /** `<hex id>.log` in the ledger dirs' current/. */
  entryLog: string[];
  /** `*.idx` in the index (else ledger) dirs' current/; DbLedgerStorage keeps its index in RocksDB, so none. */
  index: string[];
}
