import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { HotCounter, HotHistogram } from '../common';
import type { CounterCell } from '../common';

/**
 * The bookie's Prometheus metrics, named after BookKeeper's (reference §7). One instance per bookie, built
 * on a Registry the entry point owns (no global registry), passed down to the journal, storage and server.
 */
export class BookieMetrics {
  readonly registry: Registry;

  // server (bookkeeper_server_*)
  /** Per request: cells bumped by the request processor (hot-metrics). */
  readonly requests: HotCounter<'operation' | 'status'>;
  readonly requestLatency: HotHistogram<'operation'>;
  readonly addRejected: Counter;
  readonly serverStatus: Gauge;
  readonly connections: Gauge;
  // bookie
  readonly addBytes: CounterCell;
  readonly readBytes: CounterCell;
  // journal
  readonly journalSyncs: Counter;
  readonly journalSyncLatency: Histogram;
  readonly journalRecordsPerSync: Histogram;
  readonly journalQueueBytes: Gauge;
  // storage
  readonly writeCacheBytes: Gauge;
  readonly flushes: Counter;
  readonly flushLatency: Histogram;
  readonly flushBytes: Counter;
  readonly flushPauses: Counter;
  readonly readCacheHits: CounterCell;
  readonly readCacheMisses: CounterCell;
  readonly throttledWrites: Counter;
  readonly rejectedWrites: Counter;
  readonly throttledWriteLatency: Histogram<'success'>;
  readonly throttledWritesWaiting: Gauge;
  // gc / disks
  readonly gcLedgersDeleted: Counter;
  readonly gcEntryLogsDeleted: Counter;
  readonly compactions: Counter<'kind'>;
  readonly reclaimedBytes: Counter<'kind'>;
  readonly writableDirs: Gauge;

  constructor(registry = new Registry()) {
    this.registry = registry;
    const r = [registry];
    const latencyBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
    this.requests = new HotCounter({
      name: 'bookkeeper_server_requests_total',
      help: 'v3 requests completed, by operation (ADD_ENTRY, READ_ENTRY, ...) and status (EOK, EFENCED, ...)',
      labelNames: ['operation', 'status'],
      registers: r,
    });
    this.requestLatency = new HotHistogram({
      name: 'bookkeeper_server_request_latency_seconds',
      help: 'time from request decoded to response queued, by operation',
      buckets: latencyBuckets,
      registers: r,
    });
    this.addRejected = new Counter({
      name: 'bookkeeper_server_ADD_ENTRY_REJECTED',
      help: 'adds refused with ETOOMANYREQUESTS (too many pending)',
      registers: r,
    });
    this.serverStatus = new Gauge({
      name: 'bookkeeper_server_SERVER_STATUS',
      help: '1 writable, 0 read-only, -1 not registered',
      registers: r,
    });
    this.connections = new Gauge({
      name: 'bookkeeper_server_connections',
      help: 'open client connections',
      registers: r,
    });
    this.addBytes = new HotCounter({
      name: 'bookie_BOOKIE_ADD_ENTRY_BYTES',
      help: 'bytes of entries added',
      registers: r,
    }).cell();
    this.readBytes = new HotCounter({
      name: 'bookie_BOOKIE_READ_ENTRY_BYTES',
      help: 'bytes of entries read',
      registers: r,
    }).cell();
    this.journalSyncs = new Counter({
      name: 'bookie_journal_JOURNAL_SYNC',
      help: 'journal fdatasync calls',
      registers: r,
    });
    this.journalSyncLatency = new Histogram({
      name: 'bookie_journal_JOURNAL_SYNC_latency_seconds',
      help: 'journal write + fdatasync time per group',
      buckets: latencyBuckets,
      registers: r,
    });
    this.journalRecordsPerSync = new Histogram({
      name: 'bookie_journal_JOURNAL_FORCE_WRITE_BATCH_ENTRIES',
      help: 'records made durable by one fdatasync (group commit size)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
      registers: r,
    });
    this.journalQueueBytes = new Gauge({
      name: 'bookie_journal_JOURNAL_QUEUE_SIZE_bytes',
      help: 'bytes appended to the journal and not yet durable',
      registers: r,
    });
    this.writeCacheBytes = new Gauge({
      name: 'bookie_dbstorage_write_cache_size_bytes',
      help: 'bytes held in the write caches',
      registers: r,
    });
    this.flushes = new Counter({
      name: 'bookie_dbstorage_flush_total',
      help: 'write-cache flushes (checkpoints)',
      registers: r,
    });
    this.flushLatency = new Histogram({
      name: 'bookie_dbstorage_flush_latency_seconds',
      help: 'write-cache flush time',
      buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    });
    this.flushBytes = new Counter({
      name: 'bookie_dbstorage_flush_size_bytes',
      help: 'bytes written to entry logs by flushes',
      registers: r,
    });
    this.flushPauses = new Counter({
      name: 'bookie_dbstorage_flush_pauses_total',
      help: 'pauses periodic flushes took between stretches of work, leaving the CPU to requests (1 ms each)',
      registers: r,
    });
    this.readCacheHits = new HotCounter({
      name: 'bookie_dbstorage_read_cache_hits',
      help: 'reads served from the write or read cache',
      registers: r,
    }).cell();
    this.readCacheMisses = new HotCounter({
      name: 'bookie_dbstorage_read_cache_misses',
      help: 'reads that went to an entry log',
      registers: r,
    }).cell();
    this.throttledWrites = new Counter({
      name: 'bookie_dbstorage_throttled_write_requests',
      help: 'adds that found the write caches full and waited for a flush (dbStorage_maxThrottleTimeMs)',
      registers: r,
    });
    this.rejectedWrites = new Counter({
      name: 'bookie_dbstorage_rejected_write_requests',
      help: 'adds refused with ETOOMANYREQUESTS because the write caches stayed full for dbStorage_maxThrottleTimeMs',
      registers: r,
    });
    this.throttledWriteLatency = new Histogram({
      name: 'bookie_dbstorage_throttled_write_seconds',
      help: 'time an add waited for write-cache space, by outcome (success: stored; false: refused)',
      labelNames: ['success'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    });
    this.throttledWritesWaiting = new Gauge({
      name: 'bookie_dbstorage_throttled_write_requests_waiting',
      help: 'adds waiting for write-cache space now',
      registers: r,
    });
    this.gcLedgersDeleted = new Counter({
      name: 'bookie_gc_DELETED_LEDGER_COUNT',
      help: 'ledgers removed locally because they were deleted from metadata',
      registers: r,
    });
    this.gcEntryLogsDeleted = new Counter({
      name: 'bookie_gc_DELETED_ENTRY_LOG_COUNT',
      help: 'entry logs deleted because they held no live data',
      registers: r,
    });
    this.compactions = new Counter({
      name: 'bookie_gc_COMPACTION_TOTAL',
      help: 'entry logs compacted, by kind (minor, major)',
      labelNames: ['kind'],
      registers: r,
    });
    this.reclaimedBytes = new Counter({
      name: 'bookie_gc_RECLAIMED_SPACE_BYTES',
      help: 'bytes reclaimed, by kind (deletion, compaction)',
      labelNames: ['kind'],
      registers: r,
    });
    this.writableDirs = new Gauge({
      name: 'bookie_writable_dirs',
      help: 'ledger directories below the disk usage threshold',
      registers: r,
    });
  }
}
