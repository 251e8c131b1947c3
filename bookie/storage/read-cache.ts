/*
 * The read-ahead cache (BookKeeper's ReadCache, reference §3): blocks read ahead from entry logs, bounded in bytes.
 * Nothing is copied in or out: the cache keeps the block a read-ahead read (which never changes afterwards) and
 * hands out views of its entries. A block counts against the budget in full, whatever share of it is entries of
 * the ledger, since that is the memory it holds.
 *
 * The budget is split into a few segments used as a ring: blocks go into the current segment; when it is full
 * the oldest segment is emptied and becomes current, which evicts a whole segment's worth of blocks at once at
 * no per-entry cost. Each segment indexes its blocks as runs: per ledger, the runs it holds (entry id range,
 * block, where each entry sits in it), sorted by first entry id and not overlapping, so a lookup is a binary
 * search. Segments are looked up newest first, so a newer run shadows an older one.
 *
 * Per entry there is no copy, no map insertion and no allocation on the way in, and one view on the way out.
 * (The copying design this replaced spent about 2 µs per 1 KiB entry in the copy into a segment, most of it
 * first touches of the segment's pages, and regrew a Map of every entry each time a segment was recycled.)
 */

const SEGMENT_BYTES_MAX = 16 * 1024 * 1024;
const SEGMENTS_MIN = 2;
/** A span slot of an entry id the run does not hold. */
const ABSENT = -1;

/**
 * Entries [first, last] of one ledger in `block`: entry first+i at block[spans[2i], spans[2i] + spans[2i+1]),
 * or absent when spans[2i+1] is ABSENT (another ledger's entry sat between, or it was invalidated).
 */
class Run {
  constructor(
    readonly first: number,
    readonly last: number,
    readonly block: Buffer,
    readonly spans: Int32Array,
  ) {}
}

class Segment {
  /** Bytes of the blocks held. */
  bytes = 0;
  /** ledgerId -> its runs in this segment, sorted by `first`, disjoint. */
  readonly index = new Map<bigint, Run[]>();

  clear(): void {
    this.bytes = 0;
    this.index.clear();
  }
}

/** The index of the last run whose first entry is <= entryId, or -1. */
function runAtOrBefore(runs: Run[], entryId: number): number {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (runs[mid]!.first <= entryId) lo = mid + 1;
    else hi = mid - 1;
  }
  return hi;
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
    return this.segments.reduce((sum, segment) => sum + segment.bytes, 0);
  }

  /**
   * Caches the entries of one ledger that `block` holds, from entry `first` on: entry first+i at
   * block[spans[2i], spans[2i] + spans[2i+1]), absent where spans[2i+1] is -1. The cache keeps `block` and
   * `spans` (neither may change afterwards) and counts block.length against its budget. A block larger than a
   * segment is not cached.
   */
  putBlock(ledgerId: bigint, block: Buffer, first: number, spans: Int32Array): void {
    const count = spans.length >>> 1;
    if (count === 0 || block.length > this.segmentBytes) return;
    let segment = this.segments[this.current]!;
    if (segment.bytes + block.length > this.segmentBytes) {
      this.current = (this.current + 1) % this.segments.length;
      segment = this.segments[this.current]!;
      segment.clear();
    }
    const run = new Run(first, first + count - 1, block, spans);
    const runs = segment.index.get(ledgerId);
    if (runs === undefined) {
      segment.index.set(ledgerId, [run]);
    } else {
      // Runs of this segment that overlap the new one go: the new one shadows them (the block stays counted
      // until the segment is recycled).
      let from = runAtOrBefore(runs, run.first);
      if (from < 0 || runs[from]!.last < run.first) from++;
      let to = from;
      while (to < runs.length && runs[to]!.first <= run.last) to++;
      if (from === runs.length) runs.push(run);
      else runs.splice(from, to - from, run);
    }
    segment.bytes += block.length;
  }

  /** Caches one entry, source[start, start+length); as putBlock, it keeps `source` and counts all of it. */
  put(ledgerId: bigint, entryId: number, source: Buffer, start: number, length: number): void {
    this.putBlock(ledgerId, source, entryId, Int32Array.of(start, length));
  }

  /** The cached entry, a view of the block it was read in (which no one may change), or undefined. */
  get(ledgerId: bigint, entryId: number): Buffer | undefined {
    const count = this.segments.length;
    for (let i = 0; i < count; i++) {
      const runs = this.segments[(this.current - i + count) % count]!.index.get(ledgerId);
      if (runs === undefined) continue;
      const at = runAtOrBefore(runs, entryId);
      if (at < 0) continue;
      const run = runs[at]!;
      if (entryId > run.last) continue;
      const slot = 2 * (entryId - run.first);
      const length = run.spans[slot + 1]!;
      if (length === ABSENT) continue;
      const start = run.spans[slot]!;
      return run.block.subarray(start, start + length);
    }
    return undefined;
  }

  /** Drops the ledger's cached entries in [first, last] (they were just rewritten). */
  invalidate(ledgerId: bigint, first: number, last: number): void {
    for (const segment of this.segments) {
      const runs = segment.index.get(ledgerId);
      if (runs === undefined) continue;
      for (const run of runs) {
        const from = Math.max(first, run.first);
        const to = Math.min(last, run.last);
        for (let entryId = from; entryId <= to; entryId++) run.spans[2 * (entryId - run.first) + 1] = ABSENT;
      }
    }
  }

  deleteLedger(ledgerId: bigint): void {
    for (const segment of this.segments) segment.index.delete(ledgerId);
  }
}
