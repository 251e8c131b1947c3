/**
 * The read-aheads in progress, per ledger, each with the range of entries it is about to put in the read cache.
 * A sequential reader pipelines reads of consecutive entries; without this, every read that arrives before the
 * first read-ahead completes misses the read cache too, and scans the index and reads the same block again
 * (measured over TCP with 256 reads in flight: 1,500 reads/s from entry logs). A miss inside a range in progress
 * waits for that read-ahead and looks in the read cache again; only if the entry is still not there (the run of
 * entries was cut short, or an index change kept the read-ahead from caching) does it read on its own.
 */
export class ReadAheadsInFlight {
  private readonly byLedger = new Map<bigint, InFlight[]>();

  /** Settles (never rejects) when the read-ahead in progress whose range holds the entry is done; if any. */
  covering(ledgerId: bigint, entryId: number): Promise<void> | undefined {
    const inFlight = this.byLedger.get(ledgerId);
    if (inFlight === undefined) return undefined;
    for (const readAhead of inFlight) {
      if (entryId >= readAhead.fromEntryId && entryId < readAhead.toEntryId) return readAhead.settled;
    }
    return undefined;
  }

  /** Tracks `read`, a read-ahead of up to `count` entries from `fromEntryId`, until it settles; returns it. */
  track<T>(ledgerId: bigint, fromEntryId: number, count: number, read: Promise<T>): Promise<T> {
    const readAhead: InFlight = {
      fromEntryId,
      toEntryId: fromEntryId + count,
      settled: read.then(
        () => this.untrack(ledgerId, readAhead),
        () => this.untrack(ledgerId, readAhead),
      ),
    };
    const inFlight = this.byLedger.get(ledgerId);
    if (inFlight === undefined) this.byLedger.set(ledgerId, [readAhead]);
    else inFlight.push(readAhead);
    return read;
  }

  private untrack(ledgerId: bigint, readAhead: InFlight): void {
    const inFlight = this.byLedger.get(ledgerId);
    if (inFlight === undefined) return;
    const index = inFlight.indexOf(readAhead);
    if (index >= 0) inFlight.splice(index, 1);
    if (inFlight.length === 0) this.byLedger.delete(ledgerId);
  }
}

interface InFlight {
  fromEntryId: number;
  /** Exclusive. */
  toEntryId: number;
  settled: Promise<void>;
}
