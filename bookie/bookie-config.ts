import { z } from 'zod';
import { setting } from '../common';

/**
 * A bookie's configuration, with BookKeeper's key names and defaults (bk_server.conf / ServerConfiguration).
 * `conf/bookie.conf` documents each key; every key can be overridden by an environment variable of the same name.
 */
export const bookieConfigSchema = z.object({
  bookiePort: setting.port(3181),
  /** The id the bookie registers under; default `<advertisedAddress or 127.0.0.1>:<bookiePort>`. */
  bookieId: setting.string(''),
  advertisedAddress: setting.string(''),
  listeningInterface: setting.string('0.0.0.0'),
  /**
   * Also serve clients in this process without a socket (BookKeeper's local transport): the standalone turns it on
   * for its bookies, so its broker's ledger client reaches them with no TCP and no encoding of responses.
   */
  enableLocalTransport: setting.boolean(false),
  journalDirectories: setting.list(['data/bk/journal'], { minItems: 1 }),
  ledgerDirectories: setting.list(['data/bk/ledgers'], { minItems: 1 }),
  indexDirectories: setting.list([]),
  metadataServiceUri: setting.string('etcd://127.0.0.1:2379/ledgers'),
  /** Session (lease) timeout for the bookie's registration, ms; the lease TTL is this / 1000 seconds. */
  zkTimeout: setting.integer(10000, { min: 1000 }),
  httpServerEnabled: setting.boolean(true),
  httpServerPort: setting.port(8000),
  nettyMaxFrameSizeBytes: setting.integer(5242880, { min: 1024 }),
  journalSyncData: setting.boolean(true),
  journalMaxGroupWaitMSec: setting.integer(2, { min: 0 }),
  journalBufferedWritesThreshold: setting.integer(524288, { min: 0 }),
  journalAlignmentSize: setting.integer(512, { min: 512 }),
  journalDirectWrites: setting.boolean(true),
  journalPreAllocSizeMB: setting.integer(16, { min: 1 }),
  journalMaxSizeMB: setting.integer(2048, { min: 1 }),
  maxBackupJournals: setting.integer(5, { min: 0 }),
  flushInterval: setting.integer(10000, { min: 100 }),
  entryLogSizeLimit: setting.integer(1073741824, { min: 1048576 }),
  entryLogDirectWrites: setting.boolean(true),
  dbStorage_writeCacheMaxSizeMb: setting.integer(64, { min: 1 }),
  /**
   * How long an add that finds both write caches full waits for a flush to free one before it is refused
   * with ETOOMANYREQUESTS (BookKeeper's default); 0 refuses at once.
   */
  dbStorage_maxThrottleTimeMs: setting.integer(10000, { min: 0 }),
  dbStorage_readAheadCacheMaxSizeMb: setting.integer(64, { min: 1 }),
  dbStorage_readAheadCacheBatchSize: setting.integer(100, { min: 1 }),
  /** The entry-location index's memtable (BookKeeper's default, 64 MB; RocksDB's own is 4). */
  dbStorage_rocksDB_writeBufferSizeMB: setting.integer(64, { min: 1, max: 4095 }),
  gcWaitTime: setting.integer(600000, { min: 1000 }),
  minorCompactionThreshold: setting.number(0.2, { min: 0, max: 1 }),
  minorCompactionInterval: setting.integer(3600, { min: 0 }),
  majorCompactionThreshold: setting.number(0.8, { min: 0, max: 1 }),
  majorCompactionInterval: setting.integer(86400, { min: 0 }),
  diskUsageThreshold: setting.fraction(0.95),
  diskUsageWarnThreshold: setting.fraction(0.9),
  diskUsageLwmThreshold: setting.fraction(0.9),
  diskCheckInterval: setting.integer(10000, { min: 100 }),
  readOnlyModeEnabled: setting.boolean(true),
  /** Start read-only and stay so until restarted. */
  forceReadOnlyBookie: setting.boolean(false),
  /** Ledger and index dirs may be added to an existing bookie (new ones must be empty). */
  allowStorageExpansion: setting.boolean(false),
  maxPendingAddRequestsPerThread: setting.integer(10000, { min: 1 }),
  maxPendingReadRequestsPerThread: setting.integer(10000, { min: 1 }),
});

export type BookieConfig = z.infer<typeof bookieConfigSchema>;
