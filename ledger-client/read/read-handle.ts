import type { Logger } from '../../common';
import type { LedgerMetadata, LedgerMetadataEvent, VersionedLedgerMetadata, Watch } from '../../metadata';
import type { DigestManager } from '../../protocol';
import type { ClientContext } from '../client-context';
import { BKError } from '../errors';
import type { LedgerEntries, LedgerEntry, LedgerView } from './ledger-view';
import { longPollLastConfirmed } from './long-poll-op';
import { PendingReadOp } from './pending-read-op';
import { readLastConfirmed } from './read-lac-op';
import type { LastConfirmedResult } from './read-lac-op';
import { metadataError } from './read-errors';

/** The answer of readLastAddConfirmedAndEntry. */
export interface LastConfirmedAndEntry {
  lastAddConfirmed: bigint;
  /** The entry asked for, when it is confirmed. */
  entry?: LedgerEntry;
}

export interface TailOptions {
  /** The first entry to yield (default 0). */
  startEntryId?: bigint;
  /** How long each long poll waits at a bookie for the LAC to move (default 10 000 ms). */
  longPollTimeoutMs?: number;
  /** Entries fetched per read once the reader is behind the LAC (default 100). */
  batchSize?: number;
  /**
   * Long-poll every bookie of the entry's write set at once (default true). With false, one bookie is asked
   * and the next only after firstSpeculativeReadLACTimeout (1500 ms): a bookie that lags the ack quorum then
   * holds the reader back that long (measured with bench/client-tail.ts on three bookies: p50 2 s).
   */
  parallel?: boolean;
}

/**
 * A ledger opened for reading (BookKeeper's ReadHandle). Reads stop at the LAC this handle knows: from the
 * metadata when the ledger is closed, else from the bookies (readLastAddConfirmed and long polls); a handle
 * opened without recovery keeps its metadata current through a watch, so a tailing reader learns of the close.
 */
export interface ReadHandle extends AsyncIterable<LedgerEntry> {
  readonly ledgerId: bigint;
  getLedgerMetadata(): LedgerMetadata;
  /** Entries first..last, all at or below the LAC; beyond it → ReadException, bad range → IncorrectParameter. */
  read(firstEntryId: bigint, lastEntryId: bigint): Promise<LedgerEntries>;
  /** Like read but may go past the LAC (entries that are not confirmed yet, and may never be). */
  readUnconfirmed(firstEntryId: bigint, lastEntryId: bigint): Promise<LedgerEntries>;
  /** Asks every bookie of the last ensemble and waits for quorum coverage; the LAC this handle now knows. */
  readLastAddConfirmed(): Promise<bigint>;
  /** The first verified answer of one bookie of the last ensemble; the LAC this handle now knows. */
  tryReadLastAddConfirmed(): Promise<bigint>;
  /** Long poll: waits up to `timeoutMs` for entry `entryId` to be confirmed, and returns it when it is. */
  readLastAddConfirmedAndEntry(
    entryId: bigint,
    timeoutMs: number,
    parallel?: boolean,
  ): Promise<LastConfirmedAndEntry>;
  getLastAddConfirmed(): bigint;
  /** Bytes of payload up to the LAC (exact once closed; for an open ledger, as far as this handle has seen). */
  getLength(): bigint;
  isClosed(): boolean;
  /**
   * Yields every entry from `startEntryId` on, waiting for new ones, until the ledger is closed and read out, or
   * this handle is closed.
   */
  tail(options?: TailOptions): AsyncGenerator<LedgerEntry, void, undefined>;
  /** Stops the metadata watch and ends tailing iterators; later reads fail with IllegalOpException. */
  close(): Promise<void>;
}

const DEFAULT_TAIL_LONG_POLL_MS = 10000;
const DEFAULT_TAIL_BATCH = 100;
/** After a long poll that told nothing (no bookie knows the ledger yet), wait this long before the next. */
const NO_NEWS_BACKOFF_MS = 200;

export class LedgerReadHandle implements ReadHandle, LedgerView {
  readonly ctx: ClientContext;
  readonly ledgerId: bigint;
  readonly logger: Logger;
  readonly digest: DigestManager;
  private current: LedgerMetadata;
  private version: bigint;
  private lastAddConfirmed: bigint;
  private length: bigint;
  /** The highest entry whose cumulative length this handle has seen (for getLength on an open ledger). */
  private lengthEntryId = -1n;
  private watch: Watch | undefined;
  private closed = false;
  private deleted = false;
  /** Tailing iterators waiting for news: metadata changes and close wake them. */
  private readonly wakeups = new Set<() => void>();

  constructor(
    ctx: ClientContext,
    ledgerId: bigint,
    versioned: VersionedLedgerMetadata,
    digest: DigestManager,
    logger: Logger,
  ) {
    this.ctx = ctx;
    this.ledgerId = ledgerId;
    this.logger = logger;
    this.digest = digest;
    this.current = versioned.metadata;
    this.version = versioned.version;
    this.lastAddConfirmed = -1n;
    this.length = 0n;
    if (versioned.metadata.state === 'CLOSED') this.adoptClose(versioned.metadata);
  }

  /** Keeps the metadata current (plain opens), so `isClosed` and tailing iterators see a close. */
  async watchMetadata(): Promise<void> {
    this.watch = await this.ctx.ledgerManager.watchLedger(this.ledgerId, (event) =>
      this.onMetadataEvent(event),
    );
    // A change between the first read and the watch would be missed: read once more now the watch is on.
    try {
      this.updateMetadata(await this.ctx.ledgerManager.readLedgerMetadata(this.ledgerId));
    } catch (error) {
      await this.close();
      throw metadataError('watching its metadata', this.ledgerId, error);
    }
  }

  metadata(): LedgerMetadata {
    return this.current;
  }

  getLedgerMetadata(): LedgerMetadata {
    return this.current;
  }

  getLastAddConfirmed(): bigint {
    return this.lastAddConfirmed;
  }

  getLength(): bigint {
    return this.length;
  }

  isClosed(): boolean {
    return this.current.state === 'CLOSED';
  }

  async read(firstEntryId: bigint, lastEntryId: bigint): Promise<LedgerEntries> {
    this.checkUsable();
    this.checkRange(firstEntryId, lastEntryId);
    if (lastEntryId > this.lastAddConfirmed) {
      throw new BKError(
        'ReadException',
        `ledger ${this.ledgerId}: cannot read entries ${firstEntryId}..${lastEntryId} past the last add confirmed ${this.lastAddConfirmed}`,
        { ledgerId: this.ledgerId, entryId: lastEntryId },
      );
    }
    return this.readEntries(firstEntryId, lastEntryId);
  }

  async readUnconfirmed(firstEntryId: bigint, lastEntryId: bigint): Promise<LedgerEntries> {
    this.checkUsable();
    this.checkRange(firstEntryId, lastEntryId);
    // A closed ledger ends at lastEntryId: whatever a bookie holds beyond it was never part of the ledger.
    if (this.isClosed() && lastEntryId > this.current.lastEntryId) {
      throw new BKError(
        'ReadException',
        `ledger ${this.ledgerId} is closed at entry ${this.current.lastEntryId}; cannot read up to ${lastEntryId}`,
        { ledgerId: this.ledgerId, entryId: lastEntryId },
      );
    }
    return this.readEntries(firstEntryId, lastEntryId);
  }

  async readLastAddConfirmed(): Promise<bigint> {
    this.checkUsable();
    if (this.isClosed()) return this.lastAddConfirmed;
    this.learn(await readLastConfirmed(this, { mode: 'coverage' }));
    return this.lastAddConfirmed;
  }

  async tryReadLastAddConfirmed(): Promise<bigint> {
    this.checkUsable();
    if (this.isClosed()) return this.lastAddConfirmed;
    this.learn(await readLastConfirmed(this, { mode: 'first' }));
    return this.lastAddConfirmed;
  }

  async readLastAddConfirmedAndEntry(
    entryId: bigint,
    timeoutMs: number,
    parallel = false,
  ): Promise<LastConfirmedAndEntry> {
    this.checkUsable();
    if (typeof entryId !== 'bigint' || entryId < 0n) {
      throw new BKError(
        'IncorrectParameterException',
        `ledger ${this.ledgerId}: bad entry id ${String(entryId)}`,
        {
          ledgerId: this.ledgerId,
        },
      );
    }
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
      throw new BKError(
        'IncorrectParameterException',
        `ledger ${this.ledgerId}: bad timeout ${timeoutMs} ms`,
        {
          ledgerId: this.ledgerId,
        },
      );
    }
    if (this.isClosed() && entryId > this.lastAddConfirmed)
      return { lastAddConfirmed: this.lastAddConfirmed };
    if (entryId > this.lastAddConfirmed) {
      const polled = await longPollLastConfirmed(this, entryId, timeoutMs, parallel);
      if (polled.lastAddConfirmed !== undefined) this.advance(polled.lastAddConfirmed);
      if (polled.entry !== undefined && entryId <= this.lastAddConfirmed) {
        return { lastAddConfirmed: this.lastAddConfirmed, entry: polled.entry };
      }
      if (entryId > this.lastAddConfirmed) return { lastAddConfirmed: this.lastAddConfirmed };
    }
    // Confirmed, but the bookie that answered did not hold it (or the long poll was not needed).
    const [entry] = await this.readEntries(entryId, entryId);
    return { lastAddConfirmed: this.lastAddConfirmed, entry };
  }

  [Symbol.asyncIterator](): AsyncGenerator<LedgerEntry, void, undefined> {
    return this.tail();
  }

  async *tail(options: TailOptions = {}): AsyncGenerator<LedgerEntry, void, undefined> {
    let next = options.startEntryId ?? 0n;
    const longPollTimeoutMs = options.longPollTimeoutMs ?? DEFAULT_TAIL_LONG_POLL_MS;
    const batch = BigInt(options.batchSize ?? DEFAULT_TAIL_BATCH);
    const parallel = options.parallel ?? true;
    for (;;) {
      // A handle closed under a tailing loop ends it, as the ledger's close does.
      if (this.closed) return;
      this.checkUsable();
      if (next <= this.lastAddConfirmed) {
        const last = this.lastAddConfirmed < next + batch - 1n ? this.lastAddConfirmed : next + batch - 1n;
        for (const entry of await this.readEntries(next, last)) {
          yield entry;
          next = entry.entryId + 1n;
        }
        continue;
      }
      if (this.isClosed()) return;
      const news = await this.waitForNews(next, longPollTimeoutMs, parallel);
      if (news === 'closed') return;
      if (news !== undefined) {
        yield news;
        next = news.entryId + 1n;
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    const watch = this.watch;
    this.watch = undefined;
    await watch?.close();
  }

  /** Updates this handle from a read of the metadata done elsewhere (recovery hands over its result). */
  updateMetadata(versioned: VersionedLedgerMetadata): void {
    if (versioned.version <= this.version) return;
    this.current = versioned.metadata;
    this.version = versioned.version;
    if (versioned.metadata.state === 'CLOSED') this.adoptClose(versioned.metadata);
    this.wake();
  }

  private onMetadataEvent(event: LedgerMetadataEvent): void {
    if (event.type === 'changed') {
      this.updateMetadata({ metadata: event.metadata, version: event.version });
    } else if (event.type === 'deleted') {
      this.logger.info('ledger deleted while open for reading');
      this.deleted = true;
      this.wake();
    }
  }

  /**
   * Waits for entry `entryId` with a long poll, and returns early when the metadata changes (a close) or the
   * handle is closed. The long poll then finishes on its own; its answer still advances the LAC.
   */
  private async waitForNews(
    entryId: bigint,
    longPollTimeoutMs: number,
    parallel: boolean,
  ): Promise<LedgerEntry | 'closed' | undefined> {
    let wake!: () => void;
    const woken = new Promise<'woken'>((resolve) => {
      wake = () => resolve('woken');
    });
    this.wakeups.add(wake);
    try {
      const polled = longPollLastConfirmed(this, entryId, longPollTimeoutMs, parallel).then((result) => {
        if (result.lastAddConfirmed !== undefined) this.advance(result.lastAddConfirmed);
        return result;
      });
      polled.catch(() => undefined);
      const outcome = await Promise.race([polled, woken]);
      if (outcome === 'woken') {
        if (this.closed) return 'closed';
        this.checkUsable();
        return this.isClosed() && entryId > this.lastAddConfirmed ? 'closed' : undefined;
      }
      if (outcome.entry !== undefined && entryId <= this.lastAddConfirmed) return outcome.entry;
      if (outcome.lastAddConfirmed === undefined) await Promise.race([delay(NO_NEWS_BACKOFF_MS), woken]);
      return undefined;
    } finally {
      this.wakeups.delete(wake);
    }
  }

  private async readEntries(firstEntryId: bigint, lastEntryId: bigint): Promise<LedgerEntries> {
    const { entries, lastLength } = await PendingReadOp.read(this, firstEntryId, lastEntryId);
    if (lastEntryId <= this.lastAddConfirmed) this.noteLength(lastEntryId, lastLength);
    return entries;
  }

  private learn(result: LastConfirmedResult): void {
    this.advance(result.lastAddConfirmed);
    for (const entry of result.entries) {
      if (entry.entryId === this.lastAddConfirmed) this.noteLength(entry.entryId, entry.length);
    }
  }

  private advance(lastAddConfirmed: bigint): void {
    if (this.isClosed() || lastAddConfirmed <= this.lastAddConfirmed) return;
    this.lastAddConfirmed = lastAddConfirmed;
  }

  private noteLength(entryId: bigint, length: bigint): void {
    if (this.isClosed() || entryId <= this.lengthEntryId) return;
    this.lengthEntryId = entryId;
    this.length = length;
  }

  private adoptClose(metadata: LedgerMetadata): void {
    this.lastAddConfirmed = metadata.lastEntryId;
    this.length = metadata.length;
    this.lengthEntryId = metadata.lastEntryId;
  }

  private wake(): void {
    for (const wake of this.wakeups) wake();
  }

  private checkUsable(): void {
    if (this.closed) {
      throw new BKError('IllegalOpException', `ledger ${this.ledgerId}: the read handle is closed`, {
        ledgerId: this.ledgerId,
      });
    }
    if (this.ctx.isClosed()) {
      throw new BKError('ClientClosedException', `ledger ${this.ledgerId}: the client is closed`, {
        ledgerId: this.ledgerId,
      });
    }
    if (this.deleted) {
      throw new BKError(
        'NoSuchLedgerExistsOnMetadataServerException',
        `ledger ${this.ledgerId} was deleted while open for reading`,
        { ledgerId: this.ledgerId },
      );
    }
  }

  private checkRange(firstEntryId: bigint, lastEntryId: bigint): void {
    if (
      typeof firstEntryId !== 'bigint' ||
      typeof lastEntryId !== 'bigint' ||
      firstEntryId < 0n ||
      firstEntryId > lastEntryId
    ) {
      throw new BKError(
        'IncorrectParameterException',
        `ledger ${this.ledgerId}: bad entry range ${String(firstEntryId)}..${String(lastEntryId)}`,
        { ledgerId: this.ledgerId },
      );
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
