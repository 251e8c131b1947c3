import type { Logger } from '../common';
import { LedgerlineError } from '../common';
import {
  createMetadataStore,
  getInstanceId,
  isClusterInitialized,
  LedgerManager,
  RegistrationManager,
} from '../metadata';
import type { MetadataStore } from '../metadata';
import type { Bookie } from './bookie';
import type { BookieConfig } from './bookie-config';
import { BookieMetrics } from './bookie-metrics';
import { DiskMonitor } from './disk-monitor';
import { BookieHttpServer, listBookieDiskFiles } from './http';
import type { AdminGc, AdminTarget, GcRequest } from './http';
import { checkAndWriteCookies } from './identity';
import { readLastMark } from './journal';
import { openBookieParts } from './open-bookie';
import { BookieServer } from './server';
import { BookieStateManager } from './state';
import type { DbLedgerStorage } from './storage';

/**
 * A whole bookie process, assembled from its parts in the order that keeps clients safe:
 *
 *   metadata store → cluster initialized? → cookies checked in every dir and in the store (identity)
 *   → ledger storage and journal opened → journal replayed from the last checkpoint (Bookie.start)
 *   → v3 server listening → registered under bookies/writable (or readonly) → disk monitor, GC, HTTP.
 *
 * Clients find a bookie only through its registration, so it is registered only once it can serve. Stopping
 * runs the other way: unregister first (clients stop placing ledgers here), stop accepting and finish the
 * requests in flight, checkpoint, close the files, close the store.
 */

export interface BookieServiceOptions {
  config: BookieConfig;
  logger: Logger;
  /** Called once when the bookie must stop (e.g. it had to go read-only with readOnlyModeEnabled=false). */
  onFatal?: (error: Error) => void;
  /**
   * A metadata store (with its scope) to use instead of opening metadataServiceUri's; the caller keeps and
   * closes it. Standalone runs its bookies in one process over one embedded store, whose RocksDB directory
   * only one opener may hold.
   */
  metadata?: { store: MetadataStore; scope: string };
}

export class BookieStartError extends LedgerlineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('BookieStartFailed', message, { cause: options.cause });
  }
}

/** The id a bookie registers under: bookieId, else `<advertisedAddress or 127.0.0.1>:<bookiePort>`. */
export function bookieIdOf(
  config: Pick<BookieConfig, 'bookieId' | 'advertisedAddress' | 'bookiePort'>,
): string {
  if (config.bookieId !== '') return config.bookieId;
  const host = config.advertisedAddress !== '' ? config.advertisedAddress : '127.0.0.1';
  return `${host}:${config.bookiePort}`;
}

export class BookieService {
  private gcTimer: NodeJS.Timeout | undefined;
  private gcRun: Promise<void> | undefined;
  /** The pass queued behind the running one (see runGc), and the options its callers asked for. */
  private gcNext: Promise<void> | undefined;
  private gcNextRequest: GcRequest | undefined;
  private forcedGc = false;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly bookieId: string,
    readonly config: BookieConfig,
    readonly metrics: BookieMetrics,
    private readonly logger: Logger,
    private readonly store: MetadataStore,
    private readonly storage: DbLedgerStorage,
    readonly bookie: Bookie,
    private readonly server: BookieServer,
    readonly state: BookieStateManager,
    private readonly diskMonitor: DiskMonitor,
    private readonly ledgers: LedgerManager,
    private http: BookieHttpServer | undefined,
    private readonly ownsStore: boolean,
  ) {}

  /** The v3 protocol port actually bound (differs from bookiePort only when that is 0). */
  get port(): number {
    return this.server.address().port;
  }

  get httpPort(): number | undefined {
    return this.http?.port;
  }

  static async start(options: BookieServiceOptions): Promise<BookieService> {
    const { config } = options;
    const bookieId = bookieIdOf(config);
    const logger = options.logger.child({ bookieId });
    const metrics = new BookieMetrics();
    const ownsStore = options.metadata === undefined;
    const { store, scope } =
      options.metadata ?? (await createMetadataStore(config.metadataServiceUri, { logger }));
    const cleanup: Array<() => Promise<unknown>> = ownsStore ? [() => store.close()] : [];
    try {
      if (!(await isClusterInitialized(store, scope))) {
        throw new BookieStartError(
          `the cluster at ${config.metadataServiceUri} is not initialized: run \`ledgerline shell initnewcluster\` first`,
        );
      }
      const instanceId = await getInstanceId(store, scope);
      const registrationManager = new RegistrationManager(store, scope, logger);
      const identity = await checkAndWriteCookies({
        bookieId,
        journalDirs: config.journalDirectories,
        ledgerDirs: config.ledgerDirectories,
        indexDirs: config.indexDirectories,
        registrationManager,
        instanceId,
        allowStorageExpansion: config.allowStorageExpansion,
        logger,
      });
      logger.info({ outcome: identity.outcome }, 'bookie identity checked');

      const { bookie, journal, storage } = await openBookieParts({ config, logger, metrics });
      // The bookie owns the journal and storage: closing it closes them.
      cleanup.unshift(() => bookie.close());
      await bookie.start();

      const server = new BookieServer({
        bookie,
        config,
        metrics,
        logger,
        localBookieId: config.enableLocalTransport ? bookieId : undefined,
      });
      await server.start();
      cleanup.unshift(() => server.close());

      const state = new BookieStateManager({
        bookieId,
        store,
        scope,
        metrics,
        logger,
        ttlSeconds: Math.max(1, Math.round(config.zkTimeout / 1000)),
        readOnlyModeEnabled: config.readOnlyModeEnabled,
        forceReadOnly: config.forceReadOnlyBookie,
      });
      state.onStateChange((s) =>
        bookie.setReadOnly(s.readOnly, {
          highPriorityWritesAllowed: s.availableForHighPriorityWrites,
          reason: s.readOnlyReasons.join(',') || 'writable',
        }),
      );
      journal.onFailure(() => {
        void state.transitionToReadOnly('storage-error').catch((err: unknown) => {
          logger.error({ err }, 'cannot go read-only after a journal failure');
        });
      });
      if (options.onFatal !== undefined) state.onFatal(options.onFatal);
      // Built (its thresholds checked) before the bookie registers: a bad setting must stop the start unseen.
      const diskMonitor = new DiskMonitor({
        ledgerDirs: config.ledgerDirectories,
        // The storage keeps its indexes in the first index dir only (open-bookie.ts).
        indexDirs: config.indexDirectories.slice(0, 1),
        diskCheckIntervalMs: config.diskCheckInterval,
        diskUsageThreshold: config.diskUsageThreshold,
        diskUsageWarnThreshold: config.diskUsageWarnThreshold,
        diskUsageLwmThreshold: config.diskUsageLwmThreshold,
        state,
        metrics,
        logger,
      });
      cleanup.unshift(() => state.shutdown());
      await state.start();
      cleanup.unshift(async () => diskMonitor.close());
      await diskMonitor.start();
      // A flush that failed may have met a full disk: check now rather than at the next interval, so that the
      // bookie goes read-only (and clients move their ensembles) before the write caches fill up.
      storage.onFlushFailed(() => {
        diskMonitor.check().catch((err: unknown) => logger.error({ err }, 'disk check after a failed flush'));
      });

      const service = new BookieService(
        bookieId,
        config,
        metrics,
        logger,
        store,
        storage,
        bookie,
        server,
        state,
        diskMonitor,
        new LedgerManager(store, scope, logger),
        undefined,
        ownsStore,
      );
      if (config.httpServerEnabled) {
        const http = new BookieHttpServer({ target: service.adminTarget(), logger });
        cleanup.unshift(() => http.close());
        await http.listen(config.httpServerPort, config.listeningInterface);
        service.http = http;
      }
      service.scheduleGc();
      logger.info(
        { port: service.port, httpPort: service.httpPort, readOnly: state.isReadOnly() },
        'bookie started',
      );
      return service;
    } catch (error) {
      for (const step of cleanup) {
        try {
          await step();
        } catch (cleanupError) {
          logger.warn({ err: cleanupError }, 'cleanup after a failed start');
        }
      }
      throw error;
    }
  }

  /** Unregister, stop serving (finishing what is in flight), checkpoint, close. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  /**
   * Runs one GC pass now (BookKeeper's forceGC); resolves when it is done. While a pass runs (the scheduled one,
   * perhaps without the caller's options), one more follows it, shared by every caller that arrives meanwhile
   * with their options combined: a forced compaction is never folded into a pass that does not compact.
   */
  runGc(request: GcRequest = {}): Promise<void> {
    if (this.gcRun === undefined) return this.startGc(request);
    this.gcNextRequest = {
      forceMajor: this.gcNextRequest?.forceMajor === true || request.forceMajor === true,
      forceMinor: this.gcNextRequest?.forceMinor === true || request.forceMinor === true,
    };
    this.gcNext ??= this.gcRun.then(() => {
      const next = this.gcNextRequest ?? {};
      this.gcNext = undefined;
      this.gcNextRequest = undefined;
      return this.startGc(next);
    });
    return this.gcNext;
  }

  private startGc(request: GcRequest): Promise<void> {
    this.gcRun = this.storage
      .runGc({ ...request, ledgerExistsInMetadata: (ledgerId) => this.ledgers.ledgerExists(ledgerId) })
      .then((report) => {
        this.bookie.forgetLedgers(report.ledgersDeleted);
        if (report.ledgersDeleted.length > 0 || report.reclaimedBytes > 0) {
          this.logger.info(
            {
              ledgersDeleted: report.ledgersDeleted.length,
              entryLogsDeleted: report.entryLogsDeleted.length,
              compactions: report.compactions.length,
              reclaimedBytes: report.reclaimedBytes,
            },
            'garbage collection',
          );
        }
      })
      .catch((err: unknown) => this.logger.warn({ err }, 'garbage collection failed'))
      .finally(() => {
        this.gcRun = undefined;
      });
    return this.gcRun;
  }

  private scheduleGc(): void {
    // A scheduled pass is skipped while another runs; only a forced one (runGc from the admin API) waits its turn.
    this.gcTimer = setInterval(() => {
      if (this.gcRun === undefined) void this.runGc();
    }, this.config.gcWaitTime);
    this.gcTimer.unref();
  }

  private adminTarget(): AdminTarget {
    const gc: AdminGc = {
      trigger: (request) => {
        this.forcedGc = true;
        void this.runGc(request).finally(() => {
          this.forcedGc = false;
        });
      },
      isInForceGc: () => this.forcedGc,
      status: () => this.storage.gcStatus(),
    };
    return {
      bookieId: this.bookieId,
      state: this.state,
      metricsRegistry: this.metrics.registry,
      diskSpace: () => this.diskMonitor.diskSpace(),
      gc,
      listDiskFiles: () =>
        listBookieDiskFiles({
          journalDirs: this.config.journalDirectories,
          ledgerDirs: this.config.ledgerDirectories,
          indexDirs: this.config.indexDirectories,
        }),
      lastLogMarks: async () => [await readLastMark(this.config.ledgerDirectories, { logger: this.logger })],
    };
  }

  private async doStop(): Promise<void> {
    this.logger.info('bookie stopping');
    clearInterval(this.gcTimer);
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['unregister', () => this.state.shutdown()],
      ['stop serving', () => this.server.close()],
      ['finish garbage collection', async () => this.gcNext ?? this.gcRun],
      ['close the bookie (checkpoint, journal, storage)', () => this.bookie.close()],
      ['stop the disk monitor', async () => this.diskMonitor.close()],
      ['close the HTTP server', async () => this.http?.close()],
      ['close the metadata store', async () => (this.ownsStore ? this.store.close() : undefined)],
    ];
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (err) {
        this.logger.error({ err }, `bookie stop: cannot ${what}`);
      }
    }
    this.logger.info('bookie stopped');
  }
}
