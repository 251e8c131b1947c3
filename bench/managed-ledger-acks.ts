/*
 * bench/managed-ledger-acks: individual acknowledgements out of order on a durable cursor — how many per second
 * the cursor takes in memory, and what persisting them costs.
 *
 *   npm run build && node dist/bench/managed-ledger-acks.js [--entries 200000] [--runs 3] [--seed 1]
 *       [--rate-limit 1]
 *
 * One `ledgerline bookie` process on etcd (client-cluster.ts), E=Qw=Qa=1. The benchmark appends `entries`
 * 100-byte entries to a managed ledger (1,000 in flight), then, per run, opens a fresh durable cursor at the
 * start and calls ManagedCursor.delete(position) once per entry, in a seeded random order, issuing them in
 * batches of 1,000, awaiting each batch and yielding to the event loop between batches (the mark-delete rate
 * limit is `rate-limit` per second, Pulsar's default 1: a throttled delete updates memory and resolves). Then
 * flush(). Two JSON lines:
 *   ml_individual_acks   acks/s (median of the runs), the CPU time of this process per ack in µs (median; a
 *                        machine shared with other work slows the rate far more than it moves this), the
 *                        individually deleted ranges at the worst moment (sampled after each batch, in O(1)) and
 *                        the backlog at the end (must be 0)
 *                        target (issue 5): >= 100,000/s
 *   ml_ack_persistence   what the runs wrote to their cursor ledgers: PositionInfo entries per second of acking,
 *                        bytes per PositionInfo (p50 and max) and the ranges the largest one held (bounded by
 *                        managedLedgerMaxUnackedRangesToPersist, 10,000), read back from the cursor ledgers
 *                        through the ManagedCursorInfo each cursor's node points at.
 */
import type { ManagedCursor, ManagedLedger, Position } from '../managed-ledger';
import { decodePositionInfo, MetaStore } from '../managed-ledger';
import type { BookKeeper } from '../ledger-client';
import type { MetadataStore } from '../metadata';
import { closedLoop } from './bookie-load';
import { quorumsFor, runBench, withManagedLedgerBench } from './managed-ledger-setup';
import { argValue, median, printResult, round } from './measure';

const entries = Number(argValue('entries', '200000'));
const runs = Number(argValue('runs', '3'));
const seed = Number(argValue('seed', '1'));
const rateLimit = Number(argValue('rate-limit', '1'));
const BATCH = 1000;
const NAME = 'bench/acks';
const ENTRY = Buffer.alloc(100, 7);

interface AckRun {
  acksPerSecond: number;
  seconds: number;
  /** CPU time (user + system, this process) per ack, in microseconds: less sensitive to a loaded machine. */
  cpuMicrosPerAck: number;
  maxRanges: number;
  backlogAfter: number;
}

/** A seeded Fisher–Yates shuffle of `items` (in place), drawing from xorshift32 state `state[0]`. */
function shuffle<T>(items: T[], state: Uint32Array): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    let x = state[0]!;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    state[0] = x;
    const j = state[0] % (i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

async function ackAll(cursor: ManagedCursor, order: Position[]): Promise<AckRun> {
  let maxRanges = 0;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  for (let from = 0; from < order.length; from += BATCH) {
    const pending: Promise<void>[] = [];
    for (let i = from; i < Math.min(order.length, from + BATCH); i++) pending.push(cursor.delete(order[i]!));
    await Promise.all(pending);
    // Back to the event loop between batches, as acks arriving from the network would: the throttle's timer
    // (and with it the persists the rate limit allows) runs only there.
    await new Promise<void>((resolve) => setImmediate(resolve));
    maxRanges = Math.max(maxRanges, cursor.getTotalNonContiguousDeletedMessagesRange());
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  await cursor.flush();
  return {
    acksPerSecond: order.length / seconds,
    seconds,
    cpuMicrosPerAck: (cpu.user + cpu.system) / order.length,
    maxRanges,
    backlogAfter: cursor.getNumberOfEntriesInBacklog(true),
  };
}

/** The PositionInfo entries in the cursor ledger `name`'s node points at: their sizes and range counts. */
async function persistedPositionInfos(
  store: MetadataStore,
  bookKeeper: BookKeeper,
  ml: ManagedLedger,
  name: string,
  password: string,
): Promise<Array<{ bytes: number; ranges: number }>> {
  const node = await new MetaStore(store).getCursorInfo(ml.name, name);
  const ledgerId = node?.value.cursorsLedgerId;
  if (ledgerId === undefined || ledgerId < 0n) return [];
  const handle = await bookKeeper.openLedger({ ledgerId, password, recovery: false });
  try {
    const last = handle.getLastAddConfirmed();
    if (last < 0n) return [];
    const read = await handle.read(0n, last);
    return read.map((e) => ({
      bytes: e.data.length,
      ranges: decodePositionInfo(e.data, `cursor ${name}`).individualDeletedMessages.length,
    }));
  } finally {
    await handle.close();
  }
}

async function main(): Promise<void> {
  const config = { ...quorumsFor(1), managedLedgerDefaultMarkDeleteRateLimit: rateLimit };
  await withManagedLedgerBench(1, config, async ({ store, bookKeeper, factory }) => {
    const ml = await factory.open(NAME);
    const positions: Position[] = new Array<Position>(entries);
    await closedLoop({ inFlight: 1000, count: entries }, (i, done) => {
      ml.addEntry(ENTRY).then(
        (p) => {
          positions[i] = p;
          done();
        },
        (error: unknown) => done(error as Error),
      );
    });
    const random = Uint32Array.of(seed === 0 ? 1 : seed);
    const ackRuns: AckRun[] = [];
    const infos: Array<{ bytes: number; ranges: number }> = [];
    for (let run = 0; run < runs; run++) {
      const name = `acks-${run}`;
      const cursor = await ml.openCursor(name, { initialPosition: 'earliest' });
      ackRuns.push(await ackAll(cursor, shuffle([...positions], random)));
      await cursor.close();
      infos.push(
        ...(await persistedPositionInfos(store, bookKeeper, ml, name, config.managedLedgerPassword ?? '')),
      );
    }
    printResult({
      bench: 'ml_individual_acks',
      entries,
      markDeleteRateLimit: rateLimit,
      acksPerSecond: round(median(ackRuns.map((r) => r.acksPerSecond))),
      runs: ackRuns.map((r) => round(r.acksPerSecond)),
      cpuMicrosPerAck: round(median(ackRuns.map((r) => r.cpuMicrosPerAck)), 2),
      maxIndividuallyDeletedRanges: Math.max(...ackRuns.map((r) => r.maxRanges)),
      backlogAfter: Math.max(...ackRuns.map((r) => r.backlogAfter)),
    });
    const sizes = infos.map((i) => i.bytes);
    const ackSeconds = ackRuns.reduce((sum, r) => sum + r.seconds, 0);
    printResult({
      bench: 'ml_ack_persistence',
      markDeleteRateLimit: rateLimit,
      positionInfosWritten: infos.length,
      positionInfosPerSecond: round(infos.length / ackSeconds, 2),
      positionInfoBytesP50: sizes.length === 0 ? 0 : round(median(sizes)),
      positionInfoBytesMax: Math.max(0, ...sizes),
      rangesInLargest: Math.max(0, ...infos.map((i) => i.ranges)),
    });
  });
}

runBench('managed-ledger-acks', main);
