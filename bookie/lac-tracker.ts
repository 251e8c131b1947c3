import assert from 'node:assert';

/**
 * The last add confirmed (LAC) this bookie knows per ledger, and the long-poll readers waiting for it to move.
 *
 * A ledger's LAC is the highest of: the LAC piggybacked in each acknowledged add (offset 16 of the packed
 * entry) and the explicit LAC of WRITE_LAC. It only ever moves forward. A ledger not seen since start (or
 * evicted) is loaded through `loadLac`, which the bookie answers from storage: the LAC field of the ledger's
 * last stored entry and its explicit LAC. That keeps it monotonic across restarts and evictions, because the
 * writer's piggybacked LAC grows with the entry id, so the last entry carries the highest one.
 *
 * Waiters are bounded (`waitersMax`) and each holds one timer, cleared when it is woken, times out, or is
 * aborted (its connection closed); nothing outlives `close()`.
 */

/** A ledger's known LAC; undefined from `loadLac` means the bookie has no such ledger. -1n = none yet. */
export type LoadLac = (ledgerId: bigint) => Promise<bigint | undefined>;

export type WaitOutcome = 'advanced' | 'timeout' | 'aborted';

interface Waiter {
  readonly previousLac: bigint;
  readonly resolve: (outcome: WaitOutcome) => void;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface LedgerLac {
  lac: bigint;
  /** Wall-clock ms of the last advance (the response's lacUpdateTimestamp). */
  updatedAtMs: number;
  loaded: boolean;
  loading: Promise<bigint | undefined> | undefined;
  waiters: Waiter[] | undefined;
}

/** setTimeout fires at once for delays above a signed 32-bit ms count; longer polls are cut to that (~24 days). */
const TIMER_DELAY_MAX_MS = 0x7fff_ffff;

export interface LacTrackerOptions {
  loadLac: LoadLac;
  /** Long-poll readers waiting at once, over all ledgers. */
  waitersMax: number;
  /** Ledgers remembered; beyond it the oldest without waiters are forgotten (and reloaded when asked). */
  ledgersMax: number;
}

export class LacTracker {
  private readonly ledgers = new Map<bigint, LedgerLac>();
  private readonly loadLac: LoadLac;
  private readonly waitersMax: number;
  private readonly ledgersMax: number;
  private waiterCount = 0;

  constructor(options: LacTrackerOptions) {
    assert(options.waitersMax >= 0 && options.ledgersMax >= 1);
    this.loadLac = options.loadLac;
    this.waitersMax = options.waitersMax;
    this.ledgersMax = options.ledgersMax;
  }

  get waiters(): number {
    return this.waiterCount;
  }

  /** The LAC if it is known without I/O. */
  peek(ledgerId: bigint): bigint | undefined {
    const state = this.ledgers.get(ledgerId);
    return state !== undefined && state.loaded ? state.lac : undefined;
  }

  lastUpdateMs(ledgerId: bigint): number | undefined {
    return this.ledgers.get(ledgerId)?.updatedAtMs;
  }

  /** The ledger's LAC (-1n when it has none yet), loading it on a miss; undefined if the ledger is unknown. */
  async get(ledgerId: bigint): Promise<bigint | undefined> {
    const state = this.ledgers.get(ledgerId);
    if (state !== undefined && state.loaded) return state.lac;
    return this.load(ledgerId);
  }

  /** Moves the ledger's LAC up to `lac` if that is higher, waking the readers it satisfies. */
  advance(ledgerId: bigint, lac: bigint): void {
    const state = this.ledgers.get(ledgerId);
    if (state === undefined) {
      // Not loaded: remember the advance; a later load keeps the higher of the two.
      this.insert(ledgerId, {
        lac,
        updatedAtMs: Date.now(),
        loaded: false,
        loading: undefined,
        waiters: undefined,
      });
      return;
    }
    if (lac <= state.lac) return;
    state.lac = lac;
    state.updatedAtMs = Date.now();
    const waiters = state.waiters;
    if (waiters === undefined) return;
    let kept = 0;
    for (const waiter of waiters) {
      if (waiter.previousLac < lac) this.finish(waiter, 'advanced');
      else waiters[kept++] = waiter;
    }
    waiters.length = kept;
    if (kept === 0) state.waiters = undefined;
  }

  /**
   * Waits until the ledger's LAC exceeds `previousLac`, `timeoutMs` passes, or `signal` aborts. Returns
   * undefined (without waiting) when `waitersMax` readers already wait: the caller answers ETOOMANYREQUESTS.
   * Call after `get()`, so the ledger is loaded.
   */
  waitForAdvance(
    ledgerId: bigint,
    previousLac: bigint,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<WaitOutcome> | undefined {
    const state = this.ledgers.get(ledgerId);
    assert(state !== undefined && state.loaded, 'waitForAdvance before get()');
    if (state.lac > previousLac) return Promise.resolve('advanced');
    if (signal?.aborted) return Promise.resolve('aborted');
    if (timeoutMs <= 0) return Promise.resolve('timeout');
    if (this.waiterCount >= this.waitersMax) return undefined;
    return new Promise<WaitOutcome>((resolve) => {
      const waiter: Waiter = { previousLac, resolve, timer: undefined, signal, onAbort: undefined };
      waiter.timer = setTimeout(
        () => {
          this.remove(ledgerId, waiter);
          this.finish(waiter, 'timeout');
        },
        Math.min(timeoutMs, TIMER_DELAY_MAX_MS),
      );
      if (signal !== undefined) {
        waiter.onAbort = () => {
          this.remove(ledgerId, waiter);
          this.finish(waiter, 'aborted');
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      (state.waiters ??= []).push(waiter);
      this.waiterCount++;
    });
  }

  /** Drops what is known about a ledger (deleted), waking its readers as aborted. */
  forget(ledgerId: bigint): void {
    const state = this.ledgers.get(ledgerId);
    if (state === undefined) return;
    for (const waiter of state.waiters ?? []) this.finish(waiter, 'aborted');
    this.ledgers.delete(ledgerId);
  }

  /** Wakes every reader (as aborted) and clears their timers. */
  close(): void {
    for (const ledgerId of [...this.ledgers.keys()]) this.forget(ledgerId);
  }

  private async load(ledgerId: bigint): Promise<bigint | undefined> {
    let state = this.ledgers.get(ledgerId);
    if (state?.loading !== undefined) return state.loading;
    const loading = this.loadLac(ledgerId).then(
      (stored) => {
        const current = this.ledgers.get(ledgerId);
        if (current === undefined) return stored;
        current.loading = undefined;
        if (stored === undefined && !current.loaded && current.updatedAtMs === 0) {
          // Unknown ledger, and no add advanced it meanwhile (which would have created it).
          if (current.waiters === undefined) this.ledgers.delete(ledgerId);
          return undefined;
        }
        if (stored !== undefined && stored > current.lac) current.lac = stored;
        current.loaded = true;
        return current.lac;
      },
      (error: unknown) => {
        const current = this.ledgers.get(ledgerId);
        if (current !== undefined) {
          current.loading = undefined;
          if (!current.loaded && current.waiters === undefined) this.ledgers.delete(ledgerId);
        }
        throw error;
      },
    );
    if (state === undefined) {
      state = this.insert(ledgerId, { lac: -1n, updatedAtMs: 0, loaded: false, loading, waiters: undefined });
    } else {
      state.loading = loading;
    }
    return loading;
  }

  private insert(ledgerId: bigint, state: LedgerLac): LedgerLac {
    this.ledgers.set(ledgerId, state);
    if (this.ledgers.size > this.ledgersMax) this.evictOldest();
    return state;
  }

  /** Forgets the oldest-inserted ledger that nobody waits on and that is not loading. */
  private evictOldest(): void {
    for (const [ledgerId, state] of this.ledgers) {
      if (state.waiters === undefined && state.loading === undefined) {
        this.ledgers.delete(ledgerId);
        return;
      }
    }
  }

  private remove(ledgerId: bigint, waiter: Waiter): void {
    const state = this.ledgers.get(ledgerId);
    const waiters = state?.waiters;
    if (state === undefined || waiters === undefined) return;
    const index = waiters.indexOf(waiter);
    if (index >= 0) waiters.splice(index, 1);
    if (waiters.length === 0) state.waiters = undefined;
  }

  private finish(waiter: Waiter, outcome: WaitOutcome): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.timer = undefined;
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    waiter.onAbort = undefined;
    this.waiterCount--;
    waiter.resolve(outcome);
  }
}
