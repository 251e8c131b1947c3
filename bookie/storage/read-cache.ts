/*
 * The read-ahead cache (BookKeeper's ReadCache, reference §3): entries read ahead from entry logs, bounded in
 * bytes. The budget is split into a few segments used as a ring: entries are copied into the current segment;
 * when it is full the oldest segment is emptied and becomes current, which evicts a whole segment's worth of
 * entries at once at no per-entry cost. Each segment has its own index, ledgerId -> entryId -> packed
 * (offset, length), looked up newest first so a newer copy shadows an older one.
 *
 * A large entry (VIEW_BYTES_MIN and up) is not copied in or out: the segment keeps a view of the buffer it was
 * read into, which never changes, and hands that view out. It counts against the segment's budget all the same,
 * so it is evicted with the segment.
 */

const SEGMENT_BYTES_MAX = 16 * 1024 * 1024;
const SEGMENTS_MIN = 2;
/** offset * 2^25 + length: both stay below 2^25 since a segment is at most 16 MiB. */
const LENGTH_SPAN = 2 ** 25;
/**
 * Entries this large are kept as views of their source buffer (copying them cost more than reading them); storage
 * hands such an entry out as a view of its block too, since the block is kept alive for it anyway.
 */
export const VIEW_BYTES_MIN = 64 * 1024;

class Segment {
  bytes: Buffer | undefined;
  position = 0;
  /** entryId -> packed (offset, length) in `bytes`, or the entry itself (a view) when it is large. */
  readonly index = new Map<bigint, Map<number, number | Buffer>>();

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

  /**
   * Caches source[start, start+length): a copy, or for a large entry a view, so `source` must never change
   * afterwards. Entries larger than a segment are not cached.
   */
  put(ledgerId: bigint, entryId: number, source: Buffer, start: number, length: number): void {
    if (length > this.segmentBytes) return;
    let segment = this.segments[this.current]!;
    if (segment.position + length > this.segmentBytes) {
      this.current = (this.current + 1) % this.segments.length;
      segment = this.segments[this.current]!;
      segment.clear();
    }
    let entries = segment.index.get(ledgerId);
    if (entries === undefined) {
      entries = new Map();
      segment.index.set(ledgerId, entries);
    }
    if (length >= VIEW_BYTES_MIN) {
      entries.set(entryId, source.subarray(start, start + length));
    } else {
      segment.bytes ??= Buffer.allocUnsafeSlow(this.segmentBytes);
      source.copy(segment.bytes, segment.position, start, start + length);
      entries.set(entryId, segment.position * LENGTH_SPAN + length);
    }
    segment.position += length;
  }

  /** The cached entry (a copy, or for a large one the cached view, which no one may change), or undefined. */
  get(ledgerId: bigint, entryId: number): Buffer | undefined {
    const count = this.segments.length;
    for (let i = 0; i < count; i++) {
      const segment = this.segments[(this.current - i + count) % count]!;
      const packed = segment.index.get(ledgerId)?.get(entryId);
      if (packed === undefined) continue;
      if (typeof packed !== 'number') return packed;
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
