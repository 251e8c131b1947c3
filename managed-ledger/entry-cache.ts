import assert from 'node:assert';
import type { Entry } from './cursor-host';
import type { Position } from './position';

export interface EntryCacheOptions {
  /** Payload bytes kept at most; 0 disables the cache. */
  maxSizeBytes: number;
  /** Entries cached longer than this are evicted by `evictOlderThan` (0: only by size and position). */
  evictionTimeThresholdMs: number;
}

/**
 * The recently added entries of one managed ledger, for cursors that tail it (Pulsar's per-ledger range cache).
 *
 * The cache holds a contiguous run of the log that ends at the last entry inserted: entries are inserted in
 * the order the managed ledger confirms them, and evicted only from the front (the oldest, lowest positions),
 * so "every entry from the first cached one to the last" is cached. A caller that cannot insert an entry (the
 * cache is off for it) must `clear()` so that a gap never hides inside the run.
 *
 * Storage is two parallel arrays used as a queue (a head index, compacted once half of them is dead): no
 * allocation per entry besides the array slot, lookups by binary search over positions.
 */
export class EntryCache {
  private readonly maxSizeBytes: number;
  private readonly evictionTimeThresholdMs: number;
  private entries: Entry[] = [];
  private insertedAtMs: number[] = [];
  private head = 0;
  private bytes = 0;

  constructor(options: EntryCacheOptions) {
    this.maxSizeBytes = options.maxSizeBytes;
    this.evictionTimeThresholdMs = options.evictionTimeThresholdMs;
  }

  /** Entries cached now. */
  get count(): number {
    return this.entries.length - this.head;
  }

  /** Payload bytes cached now. */
  get sizeBytes(): number {
    return this.bytes;
  }

  /** The first (oldest) cached position, if any. */
  firstPosition(): Position | undefined {
    return this.entries[this.head]?.position;
  }

  /**
   * Caches `entry`, which must come after every cached one. Evicts the oldest entries while the cache is over
   * its size; an entry larger than the whole cache is not kept (and empties it, to keep the run contiguous).
   */
  insert(entry: Entry, nowMs: number): void {
    if (this.maxSizeBytes <= 0) return;
    const last = this.entries[this.entries.length - 1];
    if (this.count > 0 && last !== undefined) {
      assert(entry.position.isAfter(last.position), 'entry cache: inserts must come in position order');
    }
    const size = entry.data.length;
    if (size > this.maxSizeBytes) {
      this.clear();
      return;
    }
    this.entries.push(entry);
    this.insertedAtMs.push(nowMs);
    this.bytes += size;
    while (this.bytes > this.maxSizeBytes) this.dropFirst();
  }

  /** The cached entry at `position`, if any. */
  get(position: Position): Entry | undefined {
    const i = this.lowerBound(position);
    const entry = this.entries[i];
    return entry !== undefined && i < this.entries.length && entry.position.equals(position)
      ? entry
      : undefined;
  }

  /**
   * The cached entries of ledger `ledgerId` from `firstEntryId` to `lastEntryId` that form one run: returns the
   * entry id the run starts at (or undefined when none of the range is cached) and pushes the entries to `out`.
   * Because the cache is a contiguous suffix of the log, the run always reaches `lastEntryId` when the range
   * lies before the last cached entry.
   */
  collect(ledgerId: bigint, firstEntryId: bigint, lastEntryId: bigint, out: Entry[]): bigint | undefined {
    let i = this.lowerBoundIds(ledgerId, firstEntryId);
    let start: bigint | undefined;
    let expected: bigint | undefined;
    for (; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      const p = entry.position;
      if (p.ledgerId !== ledgerId || p.entryId > lastEntryId) break;
      if (expected !== undefined && p.entryId !== expected) break;
      start ??= p.entryId;
      out.push(entry);
      expected = p.entryId + 1n;
    }
    return start;
  }

  /** Evicts every entry before `position` (what every active reader has passed). */
  evictBefore(position: Position): void {
    while (this.count > 0 && this.entries[this.head]!.position.isBefore(position)) this.dropFirst();
  }

  /** Evicts entries cached for longer than the eviction threshold. */
  evictOlderThanThreshold(nowMs: number): void {
    if (this.evictionTimeThresholdMs <= 0) return;
    const cutoff = nowMs - this.evictionTimeThresholdMs;
    while (this.count > 0 && this.insertedAtMs[this.head]! < cutoff) this.dropFirst();
  }

  /** Evicts the entries of ledgers below `ledgerId` (they were trimmed). */
  evictLedgersBefore(ledgerId: bigint): void {
    while (this.count > 0 && this.entries[this.head]!.position.ledgerId < ledgerId) this.dropFirst();
  }

  clear(): void {
    this.entries = [];
    this.insertedAtMs = [];
    this.head = 0;
    this.bytes = 0;
  }

  private dropFirst(): void {
    const entry = this.entries[this.head]!;
    this.entries[this.head] = undefined as unknown as Entry;
    this.bytes -= entry.data.length;
    this.head++;
    if (this.head === this.entries.length) {
      this.clear();
    } else if (this.head >= 1024 && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.insertedAtMs = this.insertedAtMs.slice(this.head);
      this.head = 0;
    }
  }

  private lowerBound(position: Position): number {
    return this.lowerBoundIds(position.ledgerId, position.entryId);
  }

  /** The index of the first cached entry at or after (ledgerId, entryId). */
  private lowerBoundIds(ledgerId: bigint, entryId: bigint): number {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = this.entries[mid]!.position;
      if (p.ledgerId < ledgerId || (p.ledgerId === ledgerId && p.entryId < entryId)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
