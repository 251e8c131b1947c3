import type { Entry, ManagedLedger, Position } from '../../../managed-ledger';
import type { PersistentTopic } from '../../service';
import { entryOffsets, entryToBatch, lastOffsetOf } from './entry-batches';
import type { EntryOffsets } from './entry-batches';

/** Cached "entry before offset o" positions per partition (sequential fetches skip the search). */
const POSITION_CACHE_SIZE = 256;
/** A read ahead nobody fetched within this long is dropped (its entries released). */
const READ_AHEAD_TTL_MS = 5_000;
/** The most entries one managed-ledger read asks for while filling a fetch. */
const READ_BATCH_ENTRIES_MAX = 8;

/** What one partition's fetch returns: whole batches, their total size. */
export interface PartitionRead {
  batches: Buffer[];
  bytes: number;
}

/**
 * One Kafka partition over its topic's managed ledger (KoP's offset handling, kafka.md §5). Every entry carries
 * the running index of its last message, so an entry's offsets are [index - (count - 1), index]; the high
 * watermark is the last confirmed entry's index + 1; the log start offset is the first stored entry's base.
 * Offset → entry is a binary search (a non-durable cursor's findNewestMatching on "last offset < target", then
 * the next entry), remembered per next offset so that a consumer reading on finds its entry without a search.
 */
export class PartitionLog {
  /** offset o → the position of the entry whose last offset is o - 1 (o's entry is the next one). */
  private readonly before = new Map<bigint, Position>();
  private watermark: { at: Position; value: bigint } | undefined;
  private start: { at: Position; value: bigint } | undefined;
  /** A running average of the entries' sizes: how many to read for the bytes a fetch still has room for. */
  private entryBytesAverage = 0;
  /**
   * The entries after the last fetch's, being read while the consumer handles that fetch (a consumer reading a
   * backlog asks for them next): one per partition, at most a fetch's worth, dropped after READ_AHEAD_TTL_MS.
   * Entries never change once written, so what it holds is always right for its position.
   */
  private ahead: { from: Position; entries: Promise<Entry[] | undefined>; timer: NodeJS.Timeout } | undefined;

  constructor(readonly topic: PersistentTopic) {}

  private get ledger(): ManagedLedger {
    return this.topic.managedLedger;
  }

  /** The offset after the last acknowledged entry's last message. */
  async highWatermark(): Promise<bigint> {
    const last = this.ledger.getLastConfirmedEntry();
    if (!this.ledger.isValidPosition(last)) return this.topic.getLastIndex() + 1n;
    if (this.watermark !== undefined && this.watermark.at.equals(last)) return this.watermark.value;
    const [entry] = await this.ledger.readEntries(last, 1);
    const value = (entry === undefined ? this.topic.getLastIndex() : lastOffsetOf(entry.data)) + 1n;
    this.watermark = { at: last, value };
    this.remember(value, last);
    return value;
  }

  /** The base offset of the first entry still stored; the high watermark when none is. */
  async logStartOffset(): Promise<bigint> {
    const first = this.ledger.getNextValidPosition(this.ledger.getFirstPosition());
    if (!this.ledger.isValidPosition(first)) return this.highWatermark();
    if (this.start !== undefined && this.start.at.equals(first)) return this.start.value;
    const [entry] = await this.ledger.readEntries(first, 1);
    const offsets = entry === undefined ? undefined : entryOffsets(entry.data);
    if (offsets === undefined) return this.highWatermark();
    this.start = { at: first, value: offsets.baseOffset };
    return offsets.baseOffset;
  }

  /**
   * The position of the entry holding `offset` (log start <= offset < high watermark, checked by the caller):
   * from the cache, else by binary search.
   */
  async positionOf(offset: bigint): Promise<Position | undefined> {
    // A consumer from the beginning (offset 0 or auto.offset.reset=earliest): the first entry, with no search.
    if (
      this.start !== undefined &&
      offset === this.start.value &&
      this.ledger.isValidPosition(this.start.at)
    ) {
      return this.start.at;
    }
    const cached = this.before.get(offset);
    if (cached !== undefined && this.ledger.isValidPosition(cached)) {
      const next = this.ledger.getNextValidPosition(cached);
      return this.ledger.isValidPosition(next) ? next : undefined;
    }
    const found = await this.findNewest((entry) => lastOffsetOf(entry.data) < offset);
    const first = this.ledger.getNextValidPosition(this.ledger.getFirstPosition());
    const position = found === undefined ? first : this.ledger.getNextValidPosition(found);
    return this.ledger.isValidPosition(position) ? position : undefined;
  }

  /**
   * Whole batches from the one holding `offset` on, while they fit in `maxBytes`; the first batch even if it does
   * not when `atLeastOne` (KIP-74: a consumer must be able to make progress past a large batch).
   */
  async read(offset: bigint, maxBytes: number, atLeastOne: boolean): Promise<PartitionRead> {
    const result: PartitionRead = { batches: [], bytes: 0 };
    let position = await this.positionOf(offset);
    let after: Position | undefined;
    // Entries read that did not fit: the start of the next fetch, kept for it rather than read a second time.
    let unsent: Entry[] = [];
    reading: while (position !== undefined) {
      if (result.batches.length > 0 && maxBytes - result.bytes < this.entryBytesAverage) {
        // The next entry would most likely not fit: the consumer does not wait for it, it is read ahead.
        after = position;
        break;
      }
      const entries = await this.entriesAt(position, this.entriesFor(maxBytes - result.bytes));
      if (entries.length === 0) break;
      for (const [i, entry] of entries.entries()) {
        this.entryBytesAverage += (entry.data.length - this.entryBytesAverage) / 8;
        const offsets = entryOffsets(entry.data);
        if (offsets === undefined || offsets.lastOffset < offset) continue;
        const batch = await entryToBatch(offsets);
        if (result.bytes + batch.length > maxBytes && !(atLeastOne && result.batches.length === 0)) {
          after = entry.position;
          unsent = entries.slice(i);
          break reading;
        }
        result.batches.push(batch);
        result.bytes += batch.length;
        this.remember(offsets.lastOffset + 1n, entry.position);
      }
      const last = entries[entries.length - 1]!.position;
      const next = this.ledger.getNextValidPosition(last);
      position = this.ledger.isValidPosition(next) ? next : undefined;
      after = position;
    }
    if (result.batches.length > 0 && after !== undefined) this.readAhead(after, maxBytes, unsent);
    return result;
  }

  /** Entries from `position`: the read ahead when it started there and found some, else a read now. */
  private async entriesAt(position: Position, count: number): Promise<Entry[]> {
    const ahead = this.ahead;
    if (ahead !== undefined && ahead.from.equals(position)) {
      this.dropReadAhead();
      const entries = await ahead.entries;
      // Empty (the consumer had caught up when it was read) or failed: read again now.
      if (entries !== undefined && entries.length > 0) return entries.slice(0, count);
    }
    return this.ledger.readEntries(position, count);
  }

  /**
   * Starts reading a fetch's worth of entries from `from` (a stored entry) for the consumer's next fetch; `have`
   * are the first of them when the last fetch read them already (entries from `from` on, in order).
   */
  private readAhead(from: Position, maxBytes: number, have: Entry[]): void {
    this.dropReadAhead();
    const wanted = this.entriesFor(maxBytes);
    const next = have.length === 0 ? from : this.ledger.getNextValidPosition(have[have.length - 1]!.position);
    let entries: Promise<Entry[] | undefined>;
    if (have.length >= wanted || !this.ledger.isValidPosition(next)) {
      if (have.length === 0) return;
      entries = Promise.resolve(have);
    } else {
      entries = this.ledger.readEntries(next, wanted - have.length).then(
        (more) => have.concat(more),
        () => (have.length === 0 ? undefined : have),
      );
    }
    // dropReadAhead clears the timer of any read ahead it replaces: a timer that fires is the current one's.
    const timer = setTimeout(() => (this.ahead = undefined), READ_AHEAD_TTL_MS);
    timer.unref();
    this.ahead = { from, entries, timer };
  }

  private dropReadAhead(): void {
    if (this.ahead === undefined) return;
    clearTimeout(this.ahead.timer);
    this.ahead = undefined;
  }

  /**
   * How many entries to read for `bytesLeft` of room: one when their size is not known yet or one already fills it
   * (a consumer of large batches must not have eight read for the one it gets), else as many as fit, at most 8.
   */
  private entriesFor(bytesLeft: number): number {
    if (this.entryBytesAverage <= 0) return 1;
    return Math.max(1, Math.min(READ_BATCH_ENTRIES_MAX, Math.floor(bytesLeft / this.entryBytesAverage)));
  }

  /**
   * ListOffsets by timestamp: the base offset of the first entry published at or after `timestampMs` (a binary
   * search on publish time), undefined when there is none.
   */
  async offsetForTimestamp(timestampMs: number): Promise<EntryOffsets | undefined> {
    const found = await this.findNewest(
      (entry) => (entryOffsets(entry.data)?.publishTime ?? Number.MAX_SAFE_INTEGER) < timestampMs,
    );
    const position =
      found === undefined
        ? this.ledger.getNextValidPosition(this.ledger.getFirstPosition())
        : this.ledger.getNextValidPosition(found);
    if (!this.ledger.isValidPosition(position)) return undefined;
    const [entry] = await this.ledger.readEntries(position, 1);
    return entry === undefined ? undefined : entryOffsets(entry.data);
  }

  /** Calls `listener` once when the next entry is added; returns the cancel. */
  onNextAdd(listener: () => void): () => void {
    return this.ledger.onNextAdd(listener);
  }

  /** A binary search over every stored entry through a short-lived non-durable cursor (KoP's asyncFindPosition). */
  private async findNewest(predicate: (entry: Entry) => boolean): Promise<Position | undefined> {
    const cursor = this.ledger.newNonDurableCursor('earliest');
    try {
      return await cursor.findNewestMatching(predicate);
    } finally {
      await this.ledger.deleteCursor(cursor.name).catch(() => undefined);
    }
  }

  private remember(nextOffset: bigint, position: Position): void {
    if (this.before.size >= POSITION_CACHE_SIZE && !this.before.has(nextOffset)) {
      const oldest = this.before.keys().next().value;
      if (oldest !== undefined) this.before.delete(oldest);
    }
    this.before.set(nextOffset, position);
  }
}
