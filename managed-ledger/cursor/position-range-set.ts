import type { MessageRange } from '../ml-data-formats';
import { Position } from '../position';

/**
 * One range `(lower, upper]`; mutable inside the set only (merges widen it in place, through the setters).
 *
 * With out-of-order acks each step of a lookup lands on a range allocated at some random earlier moment: a cache
 * miss. Reading `upper.ledgerId` and `upper.entryId` would be two or three more dependent misses (the Position,
 * then each bigint on the heap), so a range keeps the ids of both ends next to it: the ledger id (a bigint shared
 * by the positions of a ledger, hot in the cache) and the entry id as a double. Measured on 200,000 shuffled
 * acks: half the CPU per add.
 */
class Range {
  lower: Position;
  upper: Position;
  lowerLedgerId: bigint;
  /** `lower.entryId` as a double: exact up to 2^53, and never wrong in order (ties beyond are re-checked). */
  lowerEntryId: number;
  upperLedgerId: bigint;
  upperEntryId: number;

  constructor(lower: Position, upper: Position) {
    this.lower = lower;
    this.lowerLedgerId = lower.ledgerId;
    this.lowerEntryId = Number(lower.entryId);
    this.upper = upper;
    this.upperLedgerId = upper.ledgerId;
    this.upperEntryId = Number(upper.entryId);
  }

  setLower(lower: Position): void {
    this.lower = lower;
    this.lowerLedgerId = lower.ledgerId;
    this.lowerEntryId = Number(lower.entryId);
  }

  setUpper(upper: Position): void {
    this.upper = upper;
    this.upperLedgerId = upper.ledgerId;
    this.upperEntryId = Number(upper.entryId);
  }

  /** `lower` compared with `p` (whose entry id as a double is `entryId`): negative, 0 or positive. */
  compareLower(p: Position, entryId: number): number {
    return compareIds(this.lowerLedgerId, this.lowerEntryId, this.lower, p, entryId);
  }

  /** `upper` compared with `p` (whose entry id as a double is `entryId`): negative, 0 or positive. */
  compareUpper(p: Position, entryId: number): number {
    return compareIds(this.upperLedgerId, this.upperEntryId, this.upper, p, entryId);
  }
}

/** Position.compareTo on the ids a Range keeps, falling back to the bigints when two doubles tie beyond 2^53. */
function compareIds(
  ledgerId: bigint,
  entryId: number,
  exact: Position,
  p: Position,
  pEntryId: number,
): number {
  if (ledgerId !== p.ledgerId) return ledgerId < p.ledgerId ? -1 : 1;
  if (entryId !== pEntryId) return entryId < pEntryId ? -1 : 1;
  return Math.abs(entryId) > Number.MAX_SAFE_INTEGER ? exact.compareTo(p) : 0;
}

/** Counts the entries of `(lower, upper]` when the two are in different ledgers (the managed ledger knows). */
export type EntryCounter = (lower: Position, upper: Position) => number;

/**
 * Most ranges a chunk holds: a fuller one is split in two. An insert moves up to this many slots (about 2 ns
 * each: pointer stores pay V8's write barrier), and a split moves the chunk list (n / 64 slots at most, once
 * every 64 inserts into a chunk at worst). Measured on 200,000 shuffled single-entry acks: 64 and 128 cost
 * about the same per ack, 512 a third more, 1,024 more still; 128 keeps the chunk list short up to millions of
 * ranges.
 */
const CHUNK_RANGES_MAX = 128;

/**
 * A cursor's individually deleted (acknowledged out of order) positions, kept as Pulsar keeps them: disjoint
 * open-closed ranges `(lower, upper]`, sorted, merged when they overlap or touch ((a, b] + (b, c] = (a, c]).
 *
 * Acknowledgements are the hot path and land anywhere: out-of-order acks of a large backlog insert in the
 * middle of tens of thousands of ranges. The ranges are therefore kept in order in chunks of at most
 * `chunkRangesMax` (a two-level B-tree): a lookup is a binary search over the chunks' last ranges, then inside
 * one chunk; an insert or a removal splices one chunk (at most `chunkRangesMax` moves); a full chunk splits in
 * two, which splices the chunk list (n / chunkRangesMax moves, once every chunkRangesMax / 2 inserts at worst).
 * Removing from the front as the mark-delete advances drops whole chunks at once. Nothing is ever empty: a chunk
 * that empties goes, and neighbours that together fit in half a chunk are joined.
 */
export class PositionRangeSet {
  private readonly chunkRangesMax: number;
  /** The ranges in order, cut into non-empty chunks. */
  private chunks: Range[][] = [];
  private rangeCount = 0;
  /** Where the last `locate` landed: chunk index and index in that chunk (no allocation per lookup). */
  private foundChunk = 0;
  private foundIndex = 0;

  /** `chunkRangesMax` (≥ 2) is for tests that want chunks split and joined with a handful of ranges. */
  constructor(options: { chunkRangesMax?: number } = {}) {
    const max = options.chunkRangesMax ?? CHUNK_RANGES_MAX;
    if (!Number.isSafeInteger(max) || max < 2) {
      throw new RangeError(`chunkRangesMax must be an integer ≥ 2, got ${String(max)}`);
    }
    this.chunkRangesMax = max;
  }

  /** Number of ranges. */
  get size(): number {
    return this.rangeCount;
  }

  isEmpty(): boolean {
    return this.rangeCount === 0;
  }

  clear(): void {
    this.chunks = [];
    this.rangeCount = 0;
  }

  /** True when `p` lies in some range (lower < p ≤ upper). */
  contains(p: Position): boolean {
    return this.locate(p) && this.found().compareLower(p, Number(p.entryId)) < 0;
  }

  /** The range that contains `p`, or undefined. */
  rangeContaining(p: Position): MessageRange | undefined {
    if (!this.locate(p)) return undefined;
    const range = this.found();
    return range.lower.compareTo(p) < 0 ? { lower: range.lower, upper: range.upper } : undefined;
  }

  /** The first range's lower end (no allocation: the acknowledgement path asks this on every ack). */
  firstLower(): Position | undefined {
    return this.chunks[0]?.[0]?.lower;
  }

  firstUpper(): Position | undefined {
    return this.chunks[0]?.[0]?.upper;
  }

  first(): MessageRange | undefined {
    const range = this.chunks[0]?.[0];
    return range === undefined ? undefined : { lower: range.lower, upper: range.upper };
  }

  last(): MessageRange | undefined {
    const chunk = this.chunks[this.chunks.length - 1];
    if (chunk === undefined) return undefined;
    const range = chunk[chunk.length - 1]!;
    return { lower: range.lower, upper: range.upper };
  }

  /**
   * Adds `(lower, upper]`, merging it with every range it overlaps or touches. Returns false (and changes
   * nothing) when the set already covered it.
   */
  add(lower: Position, upper: Position): boolean {
    if (lower.compareTo(upper) >= 0) {
      throw new RangeError(`empty range (${lower.toString()}, ${upper.toString()}]`);
    }
    // The first range that could merge: its upper is at or after `lower` (touching counts).
    if (!this.locate(lower)) {
      this.append(new Range(lower, upper));
      return true;
    }
    const c = this.foundChunk;
    const i = this.foundIndex;
    const chunk = this.chunks[c]!;
    const target = chunk[i]!;
    const upperEntryId = Number(upper.entryId);
    if (target.compareLower(upper, upperEntryId) > 0) {
      chunk.splice(i, 0, new Range(lower, upper));
      this.rangeCount++;
      if (chunk.length > this.chunkRangesMax) this.split(c);
      return true;
    }
    const lowerEntryId = Number(lower.entryId);
    const startsBefore = target.compareLower(lower, lowerEntryId) <= 0;
    if (startsBefore && target.compareUpper(upper, upperEntryId) >= 0) return false;
    if (!startsBefore) target.setLower(lower);
    // Swallow the following ranges that start at or before the new upper end (possibly over several chunks).
    let lastMerged = target;
    let swallowed = 0;
    for (let k = c, j = i + 1; k < this.chunks.length; k++, j = 0) {
      const ranges = this.chunks[k]!;
      while (j < ranges.length && ranges[j]!.compareLower(upper, upperEntryId) <= 0) {
        lastMerged = ranges[j]!;
        swallowed++;
        j++;
      }
      if (j < ranges.length) break;
    }
    target.setUpper(upper.compareTo(lastMerged.upper) >= 0 ? upper : lastMerged.upper);
    if (swallowed > 0) this.removeAfter(c, i, swallowed);
    return true;
  }

  /**
   * Drops every position at or below `p`: ranges wholly at or below it go, a range that straddles it becomes
   * `(p, upper]`. Returns the entries dropped, counted with `count` (for ranges that span ledgers).
   */
  removeAtOrBelow(p: Position, count: EntryCounter): number {
    let removed = 0;
    // Whole chunks first, then the ranges of the first chunk left.
    let chunksGone = 0;
    let rangesGone = 0;
    while (chunksGone < this.chunks.length) {
      const chunk = this.chunks[chunksGone]!;
      if (chunk[chunk.length - 1]!.upper.compareTo(p) > 0) break;
      for (const range of chunk) removed += countRange(range.lower, range.upper, count);
      rangesGone += chunk.length;
      chunksGone++;
    }
    if (chunksGone > 0) this.chunks.splice(0, chunksGone);
    const chunk = this.chunks[0];
    if (chunk !== undefined) {
      let i = 0;
      while (chunk[i]!.upper.compareTo(p) <= 0) {
        removed += countRange(chunk[i]!.lower, chunk[i]!.upper, count);
        i++;
      }
      if (i > 0) chunk.splice(0, i);
      rangesGone += i;
      const range = chunk[0]!;
      if (range.lower.compareTo(p) < 0) {
        removed += countRange(range.lower, p, count);
        range.setLower(p);
      }
    }
    this.rangeCount -= rangesGone;
    return removed;
  }

  /** Drops every position after `p` (a range that straddles it becomes `(lower, p]`). */
  removeAbove(p: Position): void {
    let chunkEnd = this.chunks.length;
    while (chunkEnd > 0 && this.chunks[chunkEnd - 1]![0]!.lower.compareTo(p) >= 0) {
      chunkEnd--;
      this.rangeCount -= this.chunks[chunkEnd]!.length;
    }
    this.chunks.length = chunkEnd;
    const chunk = this.chunks[chunkEnd - 1];
    if (chunk === undefined) return;
    let end = chunk.length;
    while (chunk[end - 1]!.lower.compareTo(p) >= 0) end--;
    this.rangeCount -= chunk.length - end;
    chunk.length = end;
    const range = chunk[end - 1]!;
    if (range.upper.compareTo(p) > 0) range.setUpper(p);
  }

  /** Entries covered by every range. */
  countEntries(count: EntryCounter): number {
    let total = 0;
    for (const chunk of this.chunks) {
      for (const range of chunk) total += countRange(range.lower, range.upper, count);
    }
    return total;
  }

  /** Entries covered in `(lower, upper]` only. */
  countEntriesIn(lower: Position, upper: Position, count: EntryCounter): number {
    if (!this.locate(lower)) return 0;
    let total = 0;
    for (let c = this.foundChunk, i = this.foundIndex; c < this.chunks.length; c++, i = 0) {
      const chunk = this.chunks[c]!;
      for (; i < chunk.length; i++) {
        const range = chunk[i]!;
        if (range.lower.compareTo(upper) >= 0) return total;
        const from = Position.max(range.lower, lower);
        const to = Position.min(range.upper, upper);
        if (from.compareTo(to) < 0) total += countRange(from, to, count);
      }
    }
    return total;
  }

  /** The ranges in order (at most `limit`), as fresh MessageRange values. */
  toArray(limit = Number.POSITIVE_INFINITY): MessageRange[] {
    const out: MessageRange[] = [];
    const wanted = Math.min(limit, this.rangeCount);
    for (const chunk of this.chunks) {
      for (const range of chunk) {
        if (out.length >= wanted) return out;
        out.push({ lower: range.lower, upper: range.upper });
      }
    }
    return out;
  }

  *[Symbol.iterator](): IterableIterator<MessageRange> {
    for (const chunk of this.chunks) {
      for (const range of chunk) yield { lower: range.lower, upper: range.upper };
    }
  }

  toString(): string {
    return `[${this.toArray()
      .map((r) => `(${r.lower.toString()}..${r.upper.toString()}]`)
      .join(',')}]`;
  }

  /** Number of chunks (for tests of the layout). */
  chunkCount(): number {
    return this.chunks.length;
  }

  /**
   * Finds the first range whose upper is ≥ p: true and `foundChunk`/`foundIndex` set, or false when every
   * range ends before p.
   */
  private locate(p: Position): boolean {
    const chunks = this.chunks;
    const n = chunks.length;
    if (n === 0) return false;
    const entryId = Number(p.entryId);
    const lastChunk = chunks[n - 1]!;
    // Fast paths for the common cases: beyond the last range, or in/before the first one.
    if (lastChunk[lastChunk.length - 1]!.compareUpper(p, entryId) < 0) return false;
    let lo = 0;
    if (chunks[0]![0]!.compareUpper(p, entryId) < 0) {
      // The first chunk whose last upper is ≥ p (the last chunk's is).
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const chunk = chunks[mid]!;
        if (chunk[chunk.length - 1]!.compareUpper(p, entryId) < 0) lo = mid + 1;
        else hi = mid;
      }
    }
    const chunk = chunks[lo]!;
    let from = 0;
    let to = chunk.length - 1;
    while (from < to) {
      const mid = (from + to) >>> 1;
      if (chunk[mid]!.compareUpper(p, entryId) < 0) from = mid + 1;
      else to = mid;
    }
    this.foundChunk = lo;
    this.foundIndex = from;
    return true;
  }

  private found(): Range {
    return this.chunks[this.foundChunk]![this.foundIndex]!;
  }

  /** Adds a range after every other one. */
  private append(range: Range): void {
    const c = this.chunks.length - 1;
    const chunk = this.chunks[c];
    this.rangeCount++;
    if (chunk === undefined) {
      this.chunks.push([range]);
      return;
    }
    chunk.push(range);
    if (chunk.length > this.chunkRangesMax) this.split(c);
  }

  /**
   * Splits a full chunk. Appending at the back (acks in order) leaves the first part full, so a long run of
   * appends fills chunks instead of leaving them half empty; elsewhere it splits in halves.
   */
  private split(c: number): void {
    const chunk = this.chunks[c]!;
    const keep = c === this.chunks.length - 1 ? this.chunkRangesMax : chunk.length >>> 1;
    this.chunks.splice(c + 1, 0, chunk.splice(keep));
  }

  /** Removes the `n` ranges that follow chunk `c`'s range `i` (they may run over several chunks). */
  private removeAfter(c: number, i: number, n: number): void {
    this.rangeCount -= n;
    const chunk = this.chunks[c]!;
    const inFirst = Math.min(n, chunk.length - i - 1);
    chunk.splice(i + 1, inFirst);
    let left = n - inFirst;
    let wholeChunks = 0;
    while (left > 0 && this.chunks[c + 1 + wholeChunks]!.length <= left) {
      left -= this.chunks[c + 1 + wholeChunks]!.length;
      wholeChunks++;
    }
    if (wholeChunks > 0) this.chunks.splice(c + 1, wholeChunks);
    if (left > 0) this.chunks[c + 1]!.splice(0, left);
    // Chunks only shrink here: join chunk c with the next one when both fit in half a chunk, so merges that
    // swallow many ranges cannot leave a long list of nearly empty chunks behind.
    const next = this.chunks[c + 1];
    if (next !== undefined && chunk.length + next.length <= this.chunkRangesMax >>> 1) {
      for (const range of next) chunk.push(range);
      this.chunks.splice(c + 1, 1);
    }
  }
}

function countRange(lower: Position, upper: Position, count: EntryCounter): number {
  return lower.ledgerId === upper.ledgerId ? Number(upper.entryId - lower.entryId) : count(lower, upper);
}
