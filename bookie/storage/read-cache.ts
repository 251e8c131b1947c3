/*
 * The read-ahead cache (BookKeeper's ReadCache, reference §3): entries read ahead from entry logs, bounded in
 * bytes. The budget is split into a few segments used as a ring: entries are copied into the current segment;
 * when it is full the oldest segment is emptied and becomes current, which evicts a whole segment's worth of
 * entries at once at no per-entry cost. Each segment has its own index, ledgerId -> entryId -> packed
 * (offset, length), looked up newest first so a newer copy shadows an older one.
 */

const SEGMENT_BYTES_MAX = 16 * 1024 * 1024;
const SEGMENTS_MIN = 2;
/** offset * 2^25 + length: both stay below 2^25 since a segment is at most 16 MiB. */
const LENGTH_SPAN = 2 ** 25;

class Segment {
  bytes: Buffer | undefined;
  position = 0;
  readonly index = new Map<bigint, Map<number, number>>();

  clear(): void {
    this.position = 0;
    this.index.clear();
  }
}

export class ReadCache {
  private readonly segments: Segment[];
  private readonly segmentBytes: number;
  private current = 0;

  constructor(readonly capacityBytes: number) {
    const count = Math.max(SEGMENTS_MIN, Math.ceil(capacityBytes / SEGMENT_BYTES_MAX));
    this.segmentBytes = Math.floor(capacityBytes / count);
    this.segments = Array.from({ length: count }, () => new Segment());
  }

  /** Bytes held, across segments. */
  get sizeBytes(): number {
    return this.segments.reduce((sum, segment) => sum + segment.position, 0);
  }

  /** Caches a copy of source[start, start+length). Entries larger than a segment are not cached. */
  put(ledgerId: bigint, entryId: number, source: Buffer, start: number, length: number): void {
    if (length > this.segmentBytes) return;
    let segment = this.segments[this.current]!;
    if (segment.position + length > this.segmentBytes) {
      this.current = (this.current + 1) % this.segments.length;
      segment = this.segments[this.current]!;
      segment.clear();
    }
    segment.bytes ??= Buffer.allocUnsafeSlow(this.segmentBytes);
    source.copy(segment.bytes, segment.position, start, start + length);
    let entries = segment.index.get(ledgerId);
    if (entries === undefined) {
      entries = new Map();
      segment.index.set(ledgerId, entries);
    }
    entries.set(entryId, segment.position * LENGTH_SPAN + length);
    segment.position += length;
  }

  /** A copy of the cached entry, or undefined. */
  get(ledgerId: bigint, entryId: number): Buffer | undefined {
    const count = this.segments.length;
    for (let i = 0; i < count; i++) {
      const segment = this.segments[(this.current - i + count) % count]!;
      const packed = segment.index.get(ledgerId)?.get(entryId);
      if (packed === undefined) continue;
      const offset = Math.floor(packed / LENGTH_SPAN);
      const length = packed % LENGTH_SPAN;
      const copy = Buffer.allocUnsafe(length);
      segment.bytes!.copy(copy, 0, offset, offset + length);
      return copy;
    }
    return undefined;
  }

  /** Drops the ledger's cached entries in [first, last] (they were just rewritten). */
  invalidate(ledgerId: bigint, first: number, last: number): void {
    for (const segment of this.segments) {
      const entries = segment.index.get(ledgerId);
      if (entries === undefined) continue;
      if (last - first + 1 <= entries.size) {
        for (let entryId = first; entryId <= last; entryId++) entries.delete(entryId);
      } else {
        for (const entryId of entries.keys())
          if (entryId >= first && entryId <= last) entries.delete(entryId);
      }
      if (entries.size === 0) segment.index.delete(ledgerId);
    }
  }

  deleteLedger(ledgerId: bigint): void {
    for (const segment of this.segments) segment.index.delete(ledgerId);
  }
}
