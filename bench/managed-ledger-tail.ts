/*
 * bench/managed-ledger-tail: how soon a tailing cursor receives an entry after ManagedLedger.addEntry
 * acknowledged it.
 *
 *   npm run build && node dist/bench/managed-ledger-tail.js [--seconds 10] [--rate 1000] [--bookies 3]
 *
 * `bookies` real `ledgerline bookie` processes on etcd (client-cluster.ts); in this process one managed ledger
 * (E=Qw=`bookies`, Qa=2, or 1/1/1 on one bookie, as client-tail.ts) appends 1 KiB entries at `rate`/s (open
 * loop), and a durable cursor tails it the way a dispatcher does: readEntriesOrWait(100) in a loop,
 * mark-deleting each batch's last entry without waiting (default rate limit). Writer and reader share this
 * process's event loop, and the reader is served from the entry cache. One JSON line, ml_tail_latency: p50/p99/max
 * ms from the moment an add's promise resolved to the moment readEntriesOrWait resolved with that entry, over
 * the entries added after a one-second warm-up (an entry delivered before its add's promise ran counts as 0).
 * Target (issue 5): p99 <= 10 ms at 1,000 entries/s.
 */
import { openLoop } from './bookie-load';
import { quorumsFor, runBench, withManagedLedgerBench } from './managed-ledger-setup';
import { argValue, printResult, round } from './measure';

const seconds = Number(argValue('seconds', '10'));
const rate = Number(argValue('rate', '1000'));
const bookies = Number(argValue('bookies', '3'));
const WARM_UP_SECONDS = 1;
const ENTRY_BYTES = 1024;
const READ_BATCH = 100;

/**
 * Per entry index: when its add resolved and when the reader got it. Latency = received - added, for the
 * entries past the warm-up; an entry received before its add's promise ran counts as 0 (seenBeforeAck).
 */
class DeliveryTimes {
  private readonly addedAt: Float64Array;
  private readonly receivedAt: Float64Array;
  received = 0;

  constructor(
    readonly total: number,
    private readonly firstMeasured: number,
  ) {
    this.addedAt = new Float64Array(total);
    this.receivedAt = new Float64Array(total);
  }

  added(i: number): void {
    this.addedAt[i] = performance.now();
  }

  delivered(i: number, now: number): void {
    this.receivedAt[i] = now;
    this.received++;
  }

  summary(): Record<string, number> {
    const latencies: number[] = [];
    let seenBeforeAck = 0;
    for (let i = this.firstMeasured; i < this.total; i++) {
      const received = this.receivedAt[i]!;
      if (received === 0) continue;
      const latency = received - this.addedAt[i]!;
      if (this.addedAt[i] === 0 || latency < 0) {
        seenBeforeAck++;
        latencies.push(0);
      } else latencies.push(latency);
    }
    latencies.sort((x, y) => x - y);
    const at = (q: number): number =>
      round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0, 2);
    return {
      entries: latencies.length,
      seenBeforeAck,
      latencyP50Ms: at(0.5),
      latencyP99Ms: at(0.99),
      latencyMaxMs: at(1),
    };
  }
}

async function main(): Promise<void> {
  const quorums = quorumsFor(bookies);
  await withManagedLedgerBench(bookies, quorums, async ({ factory }) => {
    const ml = await factory.open('bench/tail');
    const cursor = await ml.openCursor('tail', { initialPosition: 'latest' });
    const times = new DeliveryTimes(
      Math.floor(rate * (seconds + WARM_UP_SECONDS)),
      Math.floor(rate * WARM_UP_SECONDS),
    );
    let markDeleteErrors = 0;
    let stalled = false;
    const tailing = (async () => {
      while (times.received < times.total && !stalled) {
        const entries = await cursor.readEntriesOrWait(READ_BATCH);
        const now = performance.now();
        // The entry's index is in its first four bytes.
        for (const entry of entries) times.delivered(entry.data.readUInt32BE(0), now);
        const last = entries[entries.length - 1];
        if (last !== undefined) cursor.markDelete(last.position).catch(() => markDeleteErrors++);
      }
    })().catch((error: unknown) => {
      // Cancelling a stalled reader's wait rejects it: expected then, a failure otherwise.
      if (!stalled) throw error;
    });

    const written = await openLoop(rate, seconds + WARM_UP_SECONDS, (i, done) => {
      const data = Buffer.alloc(ENTRY_BYTES, 7);
      data.writeUInt32BE(i, 0);
      ml.addEntry(data).then(
        () => {
          times.added(i);
          done();
        },
        (error: unknown) => done(error as Error),
      );
    });
    // A reader that stops receiving (a lost wake-up) ends the run after five seconds, with what it received.
    let timer: NodeJS.Timeout | undefined;
    stalled = await Promise.race([
      tailing.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 5000))),
    ]);
    clearTimeout(timer);
    if (stalled) cursor.cancelPendingReadRequest();

    printResult({
      bench: 'ml_tail_latency',
      bookies,
      ensembleSize: quorums.managedLedgerDefaultEnsembleSize,
      writeQuorumSize: quorums.managedLedgerDefaultWriteQuorum,
      ackQuorumSize: quorums.managedLedgerDefaultAckQuorum,
      entryBytes: ENTRY_BYTES,
      targetAppendsPerSecond: rate,
      appendsPerSecond: round(written.opsPerSecond),
      ...times.summary(),
      ...(stalled && { stalledAfterEntries: times.received, of: times.total }),
      markDeleteErrors,
      appendLatencyP99Ms: round(written.latencyP99Ms, 2),
    });
  });
}

runBench('managed-ledger-tail', main);
