import type { Logger } from '../common';
import type { JournalApi, LogMark } from './journal/journal-api';
import type { LedgerStorageApi } from './storage/ledger-storage-api';

/**
 * BookKeeper's SyncThread: every `flushIntervalMs` (and when asked, e.g. the write cache filled up, and on
 * close) it makes ledger storage durable up to a journal mark and records that mark, so replay can start there
 * and older journal files can go.
 *
 * The order is what makes it safe:
 *   1. mark = journal.lastSyncedMark() — every record before it is durable, and the bookie applied each
 *      record's effect to storage (entry, key, fence, explicit LAC) before it journaled the record;
 *   2. storage.flush() — so everything before the mark is now in entry logs and the RocksDB index;
 *   3. write the mark to `lastMark` (atomically) — a crash before this replays from the older mark, harmless;
 *   4. journal.checkpointComplete(mark) — only now may journal files before the mark be deleted.
 */

export interface LastMarkStore {
  write(mark: LogMark): Promise<void>;
}

export interface CheckpointerOptions {
  journal: JournalApi;
  storage: LedgerStorageApi;
  lastMark: LastMarkStore;
  flushIntervalMs: number;
  logger: Logger;
}

export class Checkpointer {
  private readonly journal: JournalApi;
  private readonly storage: LedgerStorageApi;
  private readonly lastMark: LastMarkStore;
  private readonly flushIntervalMs: number;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** A checkpoint asked for while one runs: it starts when that one ends, shared by everyone who asks meanwhile. */
  private queued: Promise<void> | undefined;
  private queuedBackground = false;
  private stopped = false;

  constructor(options: CheckpointerOptions) {
    this.journal = options.journal;
    this.storage = options.storage;
    this.lastMark = options.lastMark;
    this.flushIntervalMs = options.flushIntervalMs;
    this.logger = options.logger;
  }

  /** Starts the periodic checkpoints. */
  start(): void {
    this.schedule(this.flushIntervalMs);
  }

  /**
   * Runs a checkpoint that starts after this call (joining one already queued). Rejects if it fails; the
   * periodic checkpoints log failures instead and try again at the next interval. `background` (the periodic
   * checkpoint) lets the storage pace its flush; a queued checkpoint is paced only if every caller allows it.
   */
  checkpoint(options: { background?: boolean } = {}): Promise<void> {
    const background = options.background === true;
    if (this.queued !== undefined) {
      this.queuedBackground &&= background;
      return this.queued;
    }
    if (this.running === undefined) return this.begin(background);
    this.queuedBackground = background;
    const queued = this.running.then(
      () => this.begin(this.queuedBackground),
      () => this.begin(this.queuedBackground),
    );
    this.queued = queued;
    return queued;
  }

  /** Asks for a checkpoint soon (the write cache is full); failures are logged. */
  requestSoon(): void {
    if (this.stopped || this.queued !== undefined || this.running !== undefined) return;
    this.schedule(0);
  }

  /**
   * Stops the timer and waits for the checkpoints already started or queued, without a last one (the journal
   * failed: a mark written now could claim records it never synced). Their failures are logged, not thrown.
   */
  async halt(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await (this.queued ?? this.running)?.catch((error: unknown) =>
      this.logger.warn({ err: error }, 'checkpoint failed while halting'),
    );
  }

  /** Stops the timer, waits for a running checkpoint, then runs a last one. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.checkpoint();
  }

  private begin(background: boolean): Promise<void> {
    this.queued = undefined;
    const run = this.run(background).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async run(background: boolean): Promise<void> {
    const mark = this.journal.lastSyncedMark();
    const started = process.hrtime.bigint();
    await this.storage.flush({ background });
    await this.lastMark.write(mark);
    await this.journal.checkpointComplete(mark);
    this.logger.debug(
      {
        logFileId: mark.logFileId.toString(16),
        offset: mark.offset.toString(),
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
      },
      'checkpoint complete',
    );
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // The interval's checkpoint may pace itself; one asked for now (the write cache is full) may not.
      this.checkpoint({ background: delayMs > 0 })
        .catch((error: unknown) =>
          this.logger.error({ err: error }, 'checkpoint failed; retrying at the next interval'),
        )
        .finally(() => this.schedule(this.flushIntervalMs));
    }, delayMs);
    this.timer.unref();
  }
}
