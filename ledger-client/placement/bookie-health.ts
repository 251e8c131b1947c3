import type { BookieView } from './placement-policy';

export interface BookieHealthOptions {
  /** False keeps every write set in its own order (BookKeeper's `reorderReadSequenceEnabled`). Default true. */
  reorder?: boolean;
  /** How long a recorded failure moves a bookie back. Default 5000 ms. */
  failureExpiryMs?: number;
  /** How long a bookie recorded as slow stays back. Default 5000 ms. */
  slowExpiryMs?: number;
  /** The clock, in ms; tests pass their own. */
  now?: () => number;
}

/** When a bookie that had trouble last failed and was last slow; -Infinity = never. */
interface Trouble {
  failedAtMs: number;
  slowAtMs: number;
}

/** The read order classes, best first. */
const HEALTHY = 0;
const SLOW = 1;
const FAILED = 2;
const UNREGISTERED = 3;
const CLASSES = 4;

/** Past this many tracked bookies, expired records are swept out on the next record. */
const SWEEP_THRESHOLD = 1024;

/**
 * How the bookies behaved lately, and the read order that follows from it (BookKeeper's reorderReadSequence).
 * Both placement policies share it.
 *
 * A write set is tried in this order, each class keeping write-set order (so reads of consecutive entries
 * still start on different bookies):
 * 1. registered bookies, writable or read-only (a read-only bookie serves reads as well as any), with no recent trouble;
 * 2. bookies recorded slow within `slowExpiryMs`;
 * 3. bookies recorded failed within `failureExpiryMs`;
 * 4. bookies not registered at all (gone, or never seen): the least likely to answer.
 *
 * A success clears a failure (the bookie answers again) but not slowness: a slow bookie's late answer is
 * still a success, and it should stay back until the slowness expires.
 */
export class BookieHealth {
  private readonly reorder: boolean;
  private readonly failureExpiryMs: number;
  private readonly slowExpiryMs: number;
  private readonly now: () => number;
  private readonly troubles = new Map<string, Trouble>();

  constructor(
    private readonly view: BookieView,
    options: BookieHealthOptions = {},
  ) {
    this.reorder = options.reorder ?? true;
    this.failureExpiryMs = options.failureExpiryMs ?? 5000;
    this.slowExpiryMs = options.slowExpiryMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  recordFailure(bookieId: string): void {
    this.trouble(bookieId).failedAtMs = this.now();
  }

  recordSlow(bookieId: string): void {
    this.trouble(bookieId).slowAtMs = this.now();
  }

  recordSuccess(bookieId: string): void {
    const trouble = this.troubles.get(bookieId);
    if (trouble === undefined) return;
    trouble.failedAtMs = -Infinity;
    if (!this.isRecent(trouble)) this.troubles.delete(bookieId);
  }

  /** Indexes into `writeSet` in the order to try them (see the class comment). */
  readOrder(writeSet: readonly string[]): number[] {
    const n = writeSet.length;
    const order = new Array<number>(n);
    // Fast path: every bookie healthy (the common case) is the write set's own order.
    let healthy = 0;
    for (let i = 0; i < n; i++) {
      if (!this.reorder || this.classOf(writeSet[i]!) === HEALTHY) order[healthy++] = i;
    }
    if (healthy === n) return order;
    for (let cls = SLOW; cls < CLASSES; cls++) {
      for (let i = 0; i < n; i++) if (this.classOf(writeSet[i]!) === cls) order[healthy++] = i;
    }
    return order;
  }

  private classOf(bookieId: string): number {
    if (!this.view.writable().has(bookieId) && !this.view.readOnly().has(bookieId)) return UNREGISTERED;
    const trouble = this.troubles.get(bookieId);
    if (trouble === undefined) return HEALTHY;
    const now = this.now();
    if (now - trouble.failedAtMs < this.failureExpiryMs) return FAILED;
    if (now - trouble.slowAtMs < this.slowExpiryMs) return SLOW;
    this.troubles.delete(bookieId);
    return HEALTHY;
  }

  private trouble(bookieId: string): Trouble {
    let trouble = this.troubles.get(bookieId);
    if (trouble === undefined) {
      if (this.troubles.size >= SWEEP_THRESHOLD) this.sweep();
      trouble = { failedAtMs: -Infinity, slowAtMs: -Infinity };
      this.troubles.set(bookieId, trouble);
    }
    return trouble;
  }

  /** Forgets bookies whose trouble has expired, so the map stays as small as the set of troubled bookies. */
  private sweep(): void {
    for (const [bookieId, trouble] of this.troubles)
      if (!this.isRecent(trouble)) this.troubles.delete(bookieId);
  }

  private isRecent(trouble: Trouble): boolean {
    const now = this.now();
    return now - trouble.failedAtMs < this.failureExpiryMs || now - trouble.slowAtMs < this.slowExpiryMs;
  }
}
