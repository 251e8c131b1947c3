import type { MessageRange } from '../ml-data-formats';
import { Position } from '../position';

/** One range `(lower, upper]`; mutable inside the set only (merges widen it in place). */
interface Range {
  lower: Position;
  upper: Position;
}

/** Counts the entries of `(lower, upper]` when the two are in different ledgers (the managed ledger knows). */
export type EntryCounter = (lower: Position, upper: Position) => number;

/** Room left on both sides when the array is re-centred, so inserts near either end shift few elements. */
const HEADROOM_MIN = 16;

/**
 * A cursor's individually deleted (acknowledged out of order) positions, kept as Pulsar keeps them: disjoint
 * open-closed ranges `(lower, upper]`, sorted, merged when they overlap or touch ((a, b] + (b, c] = (a, c]).
 *
 * Acknowledgements are the hot path, and they land mostly near the ends of the set: at the back (acks of recent
 * entries) and at the front (the gap after the mark-delete filling). The ranges are therefore a sorted slice
 * `[head, tail)` of an array with free slots on both sides: a lookup is a binary search, and an insert or a
 * removal shifts whichever side of it is shorter, so both ends cost O(1) moves (plus the search).
 */
export class PositionRangeSet {
  private slots: Array<Range | undefined> = [];
  private head = 0;
  private tail = 0;

  /** Number of ranges. */
  get size(): number {
    return this.tail - this.head;
  }

  isEmpty(): boolean {
    return this.tail === this.head;
  }

  clear(): void {
    this.slots = [];
    this.head = 0;
    this.tail = 0;
  }

  /** True when `p` lies in some range (lower < p ≤ upper). */
  contains(p: Position): boolean {
    const i = this.firstUpperAtOrAfter(p);
    if (i === this.tail) return false;
    return this.at(i).lower.compareTo(p) < 0;
  }

  /** The range that contains `p`, or undefined. */
  rangeContaining(p: Position): MessageRange | undefined {
    const i = this.firstUpperAtOrAfter(p);
    if (i === this.tail) return undefined;
    const range = this.at(i);
    return range.lower.compareTo(p) < 0 ? { lower: range.lower, upper: range.upper } : undefined;
  }

  /** The first range's lower end (no allocation: the acknowledgement path asks this on every ack). */
  firstLower(): Position | undefined {
    return this.head === this.tail ? undefined : this.at(this.head).lower;
  }

  firstUpper(): Position | undefined {
    return this.head === this.tail ? undefined : this.at(this.head).upper;
  }

  first(): MessageRange | undefined {
    if (this.isEmpty()) return undefined;
    const range = this.at(this.head);
    return { lower: range.lower, upper: range.upper };
  }

  last(): MessageRange | undefined {
    if (this.isEmpty()) return undefined;
    const range = this.at(this.tail - 1);
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
    const i = this.firstUpperAtOrAfter(lower);
    if (i === this.tail || this.at(i).lower.compareTo(upper) > 0) {
      this.insertAt(i, { lower, upper });
      return true;
    }
    const target = this.at(i);
    if (target.lower.compareTo(lower) <= 0 && target.upper.compareTo(upper) >= 0) return false;
    if (lower.compareTo(target.lower) < 0) target.lower = lower;
    // Swallow the following ranges that start at or before the new upper end.
    let j = i + 1;
    while (j < this.tail && this.at(j).lower.compareTo(upper) <= 0) j++;
    const lastMerged = this.at(j - 1);
    target.upper = upper.compareTo(lastMerged.upper) >= 0 ? upper : lastMerged.upper;
    if (j > i + 1) this.removeRun(i + 1, j);
    return true;
  }

  /**
   * Drops every position at or below `p`: ranges wholly at or below it go, a range that straddles it becomes
   * `(p, upper]`. Returns the entries dropped, counted with `count` (for ranges that span ledgers).
   */
  removeAtOrBelow(p: Position, count: EntryCounter): number {
    let removed = 0;
    let i = this.head;
    while (i < this.tail && this.at(i).upper.compareTo(p) <= 0) {
      const range = this.at(i);
      removed += countRange(range.lower, range.upper, count);
      this.slots[i] = undefined;
      i++;
    }
    this.head = i;
    if (i < this.tail) {
      const range = this.at(i);
      if (range.lower.compareTo(p) < 0) {
        removed += countRange(range.lower, p, count);
        range.lower = p;
      }
    }
    this.afterShrink();
    return removed;
  }

  /** Drops every position after `p` (a range that straddles it becomes `(lower, p]`). */
  removeAbove(p: Position): void {
    let i = this.tail;
    while (i > this.head && this.at(i - 1).lower.compareTo(p) >= 0) {
      i--;
      this.slots[i] = undefined;
    }
    this.tail = i;
    if (i > this.head) {
      const range = this.at(i - 1);
      if (range.upper.compareTo(p) > 0) range.upper = p;
    }
    this.afterShrink();
  }

  /** Entries covered by every range. */
  countEntries(count: EntryCounter): number {
    let total = 0;
    for (let i = this.head; i < this.tail; i++) {
      const range = this.at(i);
      total += countRange(range.lower, range.upper, count);
    }
    return total;
  }

  /** Entries covered in `(lower, upper]` only. */
  countEntriesIn(lower: Position, upper: Position, count: EntryCounter): number {
    let total = 0;
    for (let i = this.firstUpperAtOrAfter(lower); i < this.tail; i++) {
      const range = this.at(i);
      if (range.lower.compareTo(upper) >= 0) break;
      const from = Position.max(range.lower, lower);
      const to = Position.min(range.upper, upper);
      if (from.compareTo(to) < 0) total += countRange(from, to, count);
    }
    return total;
  }

  /** The ranges in order (at most `limit`), as fresh MessageRange values. */
  toArray(limit = Number.POSITIVE_INFINITY): MessageRange[] {
    const out: MessageRange[] = [];
    const end = Math.min(this.tail, this.head + limit);
    for (let i = this.head; i < end; i++) {
      const range = this.at(i);
      out.push({ lower: range.lower, upper: range.upper });
    }
    return out;
  }

  *[Symbol.iterator](): IterableIterator<MessageRange> {
    for (let i = this.head; i < this.tail; i++) {
      const range = this.at(i);
      yield { lower: range.lower, upper: range.upper };
    }
  }

  toString(): string {
    return `[${this.toArray()
      .map((r) => `(${r.lower.toString()}..${r.upper.toString()}]`)
      .join(',')}]`;
  }

  private at(i: number): Range {
    return this.slots[i]!;
  }

  /** Index (in slots) of the first range whose upper is ≥ p, or `tail`. */
  private firstUpperAtOrAfter(p: Position): number {
    let lo = this.head;
    let hi = this.tail;
    // Fast paths for the common cases: beyond the last range, or in/before the first one.
    if (lo === hi || this.at(hi - 1).upper.compareTo(p) < 0) return hi;
    if (this.at(lo).upper.compareTo(p) >= 0) return lo;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).upper.compareTo(p) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private insertAt(i: number, range: Range): void {
    const before = i - this.head;
    const after = this.tail - i;
    if (before < after) {
      if (this.head === 0) {
        this.recentre(1);
        i += this.head;
      }
      // Shift [head, i) one slot left.
      for (let k = this.head; k < i; k++) this.slots[k - 1] = this.slots[k];
      this.head--;
      this.slots[i - 1] = range;
    } else {
      // Shift [i, tail) one slot right (the array grows at the back by itself).
      for (let k = this.tail; k > i; k--) this.slots[k] = this.slots[k - 1];
      this.tail++;
      this.slots[i] = range;
    }
  }

  /** Removes the ranges at slots [from, to), shifting the shorter side. */
  private removeRun(from: number, to: number): void {
    const n = to - from;
    if (from - this.head < this.tail - to) {
      for (let k = from - 1; k >= this.head; k--) this.slots[k + n] = this.slots[k];
      for (let k = this.head; k < this.head + n; k++) this.slots[k] = undefined;
      this.head += n;
    } else {
      for (let k = to; k < this.tail; k++) this.slots[k - n] = this.slots[k];
      for (let k = this.tail - n; k < this.tail; k++) this.slots[k] = undefined;
      this.tail -= n;
    }
    this.afterShrink();
  }

  /**
   * Copies the ranges to a new array with free slots in front (at least `minHeadroom`, and half the size, so
   * a run of front inserts costs O(1) amortised). A caller holding a slot index i re-bases it to
   * `i - oldHead + head`.
   */
  private recentre(minHeadroom: number): void {
    const n = this.size;
    const headroom = Math.max(HEADROOM_MIN, minHeadroom, n >> 1);
    const slots: Array<Range | undefined> = new Array<Range | undefined>(headroom);
    for (let k = this.head; k < this.tail; k++) slots.push(this.slots[k]);
    this.slots = slots;
    this.head = headroom;
    this.tail = headroom + n;
  }

  /** Gives back the slots of a set that shrank a lot (keeps memory bounded after bursts). */
  private afterShrink(): void {
    if (this.head === this.tail) {
      if (this.slots.length > HEADROOM_MIN * 4) this.slots = [];
      this.head = 0;
      this.tail = 0;
    } else if (this.head > HEADROOM_MIN * 4 && this.head > 4 * this.size) {
      this.recentre(0);
    }
  }
}

function countRange(lower: Position, upper: Position, count: EntryCounter): number {
  return lower.ledgerId === upper.ledgerId ? Number(upper.entryId - lower.entryId) : count(lower, upper);
}
