/*
 * Load drivers for the bookie benchmarks: a closed loop (a fixed number of requests in flight, each answer
 * issuing the next: the most the pair can do) and an open loop (requests issued at a fixed rate whatever the
 * answers do, latency counted from when each request was due, so a stall shows up in the percentiles instead
 * of slowing the sender down: no coordinated omission). Plus the adds the write benchmarks issue.
 */
import { DigestManager, DigestType, StatusCode, masterKey } from '../protocol';
import type { BookieClient } from '../test/harness';
import { percentile } from './measure';

/** Issues the i-th request; calls `done` once when it is answered (an error ends the run). */
export type Issue = (i: number, done: (error?: Error) => void) => void;

export interface LoadResult {
  ops: number;
  elapsedS: number;
  opsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

/** Latency samples in a growing typed array: no object per sample. */
class Latencies {
  private samples = new Float64Array(1 << 16);
  private count = 0;

  add(ms: number): void {
    if (this.count === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.count++] = ms;
  }

  result(elapsedS: number): LoadResult {
    const sorted = this.samples.subarray(0, this.count).sort();
    return {
      ops: this.count,
      elapsedS,
      opsPerSecond: this.count / elapsedS,
      latencyP50Ms: percentile(sorted, 0.5),
      latencyP99Ms: percentile(sorted, 0.99),
    };
  }
}

/** One run's bookkeeping: the latencies, and the first error, which ends the run. */
class RunState {
  readonly started = performance.now();
  private readonly latencies = new Latencies();
  private failed = false;

  constructor(private readonly reject: (error: Error) => void) {}

  get running(): boolean {
    return !this.failed;
  }

  /** Records the answer to a request timed from `since`; returns the time now, or undefined once failed. */
  answered(error: Error | undefined, since: number): number | undefined {
    if (this.failed) return undefined;
    if (error !== undefined) {
      this.failed = true;
      this.reject(error);
      return undefined;
    }
    const now = performance.now();
    this.latencies.add(now - since);
    return now;
  }

  result(now: number): LoadResult {
    return this.latencies.result((now - this.started) / 1000);
  }
}

/**
 * Keeps `inFlight` requests outstanding until `seconds` have passed or `count` requests were issued, and
 * resolves once every issued request is answered.
 */
export function closedLoop(
  options: { inFlight: number; seconds?: number; count?: number },
  issue: Issue,
): Promise<LoadResult> {
  const count = options.count ?? Number.MAX_SAFE_INTEGER;
  return new Promise((resolve, reject) => {
    const run = new RunState(reject);
    const deadline = run.started + (options.seconds ?? Number.POSITIVE_INFINITY) * 1000;
    let next = 0;
    let outstanding = 0;
    const start = (): void => {
      const sentAt = performance.now();
      outstanding++;
      issue(next++, (error) => {
        outstanding--;
        const now = run.answered(error, sentAt);
        if (now === undefined) return;
        if (next < count && now < deadline) start();
        else if (outstanding === 0) resolve(run.result(now));
      });
    };
    for (let i = 0; i < options.inFlight && next < count; i++) start();
  });
}

/**
 * Issues requests at `ratePerSecond` for `seconds` (in batches, every millisecond timer tick), then waits
 * for the answers. Each latency runs from the moment its request was due.
 */
export function openLoop(ratePerSecond: number, seconds: number, issue: Issue): Promise<LoadResult> {
  const total = Math.floor(ratePerSecond * seconds);
  return new Promise((resolve, reject) => {
    const run = new RunState(reject);
    let next = 0;
    let answered = 0;
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - run.started) / 1000) * ratePerSecond));
      while (next < due) {
        const dueAt = run.started + (next / ratePerSecond) * 1000;
        issue(next++, (error) => {
          const now = run.answered(error, dueAt);
          if (now !== undefined && ++answered === total) resolve(run.result(now));
        });
      }
      if (next < total && run.running) setTimeout(tick, 1);
    };
    tick();
  });
}

export const BENCH_PASSWORD = Buffer.from('bench');
export const BENCH_MASTER_KEY = masterKey(BENCH_PASSWORD);

/**
 * Adds to `ledgerCount` ledgers (ids from `firstLedgerId`) in turn, each entry packed with its CRC32C digest
 * as a real writer does, entry ids in order per ledger.
 */
export function addsTo(
  client: BookieClient,
  options: { firstLedgerId: number; ledgerCount: number; payload: Buffer },
): Issue {
  const { firstLedgerId, ledgerCount, payload } = options;
  const ledgers = Array.from({ length: ledgerCount }, (_, i) => {
    const ledgerId = BigInt(firstLedgerId + i);
    return {
      ledgerId,
      digest: DigestManager.create(ledgerId, BENCH_PASSWORD, DigestType.CRC32C),
      nextEntryId: 0,
    };
  });
  return (i, done) => {
    const ledger = ledgers[i % ledgerCount]!;
    const entryId = BigInt(ledger.nextEntryId++);
    const body = ledger.digest.packEntry(entryId, entryId - 1n, 0n, payload);
    client.sendAddEntry(
      { ledgerId: ledger.ledgerId, entryId, masterKey: BENCH_MASTER_KEY, body },
      (error, response) => {
        if (error !== undefined) done(error);
        else if (response!.status !== StatusCode.EOK)
          done(new Error(`add answered ${StatusCode[response!.status]}`));
        else done();
      },
    );
  };
}
