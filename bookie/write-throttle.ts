import assert from 'node:assert';
import type { BookieMetrics } from './bookie-metrics';

/**
 * The wait of adds that found the write caches full, as BookKeeper's SingleDirectoryDbLedgerStorage does it
 * (`triggerFlushAndAddEntry`): instead of refusing at once, an add waits for a flush to free a cache, up to
 * `dbStorage_maxThrottleTimeMs`, and only then fails (the bookie answers ETOOMANYREQUESTS).
 *
 * BookKeeper blocks the writing thread; here the event loop must go on (the flush and the journal run on it),
 * so the adds wait in a FIFO queue instead:
 *   1. an add that the storage refuses is queued, and so is every add that arrives while the queue is not
 *      empty — it must not overtake the ones already waiting (an entry is never stored, nor journaled, before
 *      an add of its ledger accepted earlier);
 *   2. when a flush ends (storage's onWriteCacheFreed), `retry()` gives the adds back to the bookie from the
 *      head, in order, until one is refused again: that one stays the head, the rest stay behind it;
 *   3. one timer, for the head: every add whose time is up leaves the queue from the head and is failed. All
 *      wait the same time, so deadlines grow along the queue and the expired ones are always a prefix.
 *
 * Waiting adds count as pending adds (maxPendingAddRequestsPerThread), which bounds the queue. There is one
 * queue per bookie: with several ledger directories an add whose directory has room still waits behind one whose
 * directory is full, as in BookKeeper, where the blocked add holds its write thread and the ledgers behind it.
 */

/** What the queue asks of the bookie for each add it holds. */
export interface ThrottledAddHandler<T> {
  /**
   * Tries the add again: true when the add is finished with (stored and handed to the journal, or answered
   * otherwise), false when the write cache is still full (the add stays at the head of the queue).
   */
  retry(add: T): boolean;
  /** The add waited `dbStorage_maxThrottleTimeMs` in vain; it has left the queue. */
  expire(add: T): void;
}

interface Waiting<T> {
  readonly add: T;
  readonly since: number;
  readonly deadline: number;
}

export class WriteThrottle<T> {
  private readonly maxThrottleTimeMs: number;
  private readonly handler: ThrottledAddHandler<T>;
  private readonly metrics: BookieMetrics;
  /** The FIFO: `queue[head]` is the oldest waiting add (no shift() per add). */
  private queue: (Waiting<T> | undefined)[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Deadline the timer is set for. */
  private timerDeadline = Number.POSITIVE_INFINITY;
  private retrying = false;

  constructor(options: {
    maxThrottleTimeMs: number;
    handler: ThrottledAddHandler<T>;
    metrics: BookieMetrics;
  }) {
    assert(options.maxThrottleTimeMs > 0, 'a write throttle needs a positive maxThrottleTimeMs');
    this.maxThrottleTimeMs = options.maxThrottleTimeMs;
    this.handler = options.handler;
    this.metrics = options.metrics;
  }

  get waiting(): number {
    return this.queue.length - this.head;
  }

  get isEmpty(): boolean {
    return this.queue.length === this.head;
  }

  /** Queues an add behind those waiting; it is retried when a flush frees a cache, or expired. */
  enqueue(add: T): void {
    const since = performance.now();
    this.queue.push({ add, since, deadline: since + this.maxThrottleTimeMs });
    this.metrics.throttledWrites.inc();
    this.metrics.throttledWritesWaiting.set(this.waiting);
    this.armTimer();
  }

  /**
   * A write cache was freed: retries from the head, in order, until one is refused again. An add that the
   * bookie finishes synchronously may make a flush end only asynchronously, so this is never re-entered; a
   * call while it runs is a no-op (the running loop goes on until the cache is full again).
   */
  retry(): void {
    if (this.retrying || this.isEmpty) return;
    this.retrying = true;
    try {
      this.expireDue(performance.now());
      while (!this.isEmpty) {
        const waiting = this.queue[this.head]!;
        if (!this.handler.retry(waiting.add)) break;
        this.dequeue();
        this.metrics.throttledWriteLatency.observe(
          { success: 'true' },
          (performance.now() - waiting.since) / 1000,
        );
      }
    } finally {
      this.retrying = false;
      this.metrics.throttledWritesWaiting.set(this.waiting);
      this.armTimer();
    }
  }

  /** Removes every waiting add, in order, handing each to `fail` (the bookie is closing). */
  failAll(fail: (add: T) => void): void {
    this.clearTimer();
    while (!this.isEmpty) fail(this.dequeue().add);
    this.metrics.throttledWritesWaiting.set(0);
  }

  private dequeue(): Waiting<T> {
    const waiting = this.queue[this.head]!;
    this.queue[this.head++] = undefined;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return waiting;
  }

  /** Fails the adds at the head whose time is up. */
  private expireDue(now: number): void {
    while (!this.isEmpty) {
      const waiting = this.queue[this.head]!;
      if (waiting.deadline > now) return;
      this.dequeue();
      this.metrics.rejectedWrites.inc();
      this.metrics.throttledWriteLatency.observe({ success: 'false' }, (now - waiting.since) / 1000);
      this.handler.expire(waiting.add);
    }
  }

  /** One timer, for the head's deadline. */
  private armTimer(): void {
    if (this.isEmpty) {
      this.clearTimer();
      return;
    }
    const deadline = this.queue[this.head]!.deadline;
    if (this.timer !== undefined && this.timerDeadline === deadline) return;
    this.clearTimer();
    this.timerDeadline = deadline;
    // Timers fire on whole milliseconds, possibly a fraction early: an early wake-up finds nothing due and re-arms.
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, Math.ceil(deadline - performance.now())));
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerDeadline = Number.POSITIVE_INFINITY;
    this.expireDue(performance.now());
    this.metrics.throttledWritesWaiting.set(this.waiting);
    this.armTimer();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDeadline = Number.POSITIVE_INFINITY;
  }
}
