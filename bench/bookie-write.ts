/*
 * bench/bookie-write: adds to a whole bookie over TCP, as the issue measures them.
 *
 *   npm run build && node dist/bench/bookie-write.js [--seconds 2] [--runs 3] [--ledgers 1,10,100]
 *       [--in-flight 1000] [--large-in-flight 64] [--rate N] [--only 1k|64k]
 *       [--bookie key=value,...] [--dir /path/on/the/disk] [--profile DIR] [--client cheap|harness]
 *
 * The bookie runs in a child process (bookie-child.ts); this process is the client: one connection, requests
 * pipelined, responses matched by txnId. The client is add-load-client.ts (frames written from per-ledger
 * templates, many per socket write, responses read for txnId and status only), which costs a fraction of the
 * CPU of `--client harness` (test/harness BookieClient with the full codec, the same bytes on the wire): on two
 * shared cores the client's CPU is the server's loss. Every add is acknowledged only after its journal record is
 * fdatasync'ed. One JSON line per result, each the median of
 * `runs` runs of `seconds` after a one-second warm-up:
 *   bookie_add_max       1 KiB adds, `in-flight` outstanding (closed loop), to 1, 10 and 100 ledgers: adds/s
 *   bookie_add_latency   1 KiB adds issued at 80% of that ledger count's max rate (open loop): p50/p99 latency
 *                        counted from when each add was due
 *   disk_append_64k      write + fdatasync of 64 KiB blocks into a preallocated file in the bookie's directory:
 *                        the disk's synced sequential append bandwidth, measured in the same run
 *   bookie_add_64k       64 KiB adds to 10 ledgers, `large-in-flight` outstanding: MB/s and the share of the
 *                        disk figure
 *   yardstick_add_max, yardstick_add_64k
 *                        the same loads against a bare Node journal server (yardstick-child.ts: decode, group
 *                        commit, batched replies; no index, no storage), measured just before the bookie, so
 *                        the bookie lines carry `shareOfYardstick` from the same minutes
 * Client and bookie share the machine's two cores, so the figures are the pair's.
 *
 * Reading the 64 KiB line on our VMs: the disk figure and the yardstick write into files whose pages are already
 * in the page cache, while the bookie's entry logs take new pages, and the guest hands freed memory back to the
 * host, so each new page is a first touch (1-2.6 us of CPU per KiB; bookie/journal/README.md, "Direct writes").
 * The first of the runs is often the fastest: it gets memory the yardstick's deleted file freed moments before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BookieClient } from '../test/harness';
import { AddLoadClient } from './add-load-client';
import { BookieChild } from './bookie-child';
import { diskAppendMibPerSecond } from './disk-append';
import { BENCH_PASSWORD, addsTo, closedLoop, openLoop } from './bookie-load';
import type { Issue, LoadResult } from './bookie-load';
import { argValue, bookieSettingsArg, median, printResult, round } from './measure';

const seconds = Number(argValue('seconds', '2'));
const runs = Number(argValue('runs', '3'));
const ledgerCounts = argValue('ledgers', '1,10,100').split(',').map(Number);
const inFlight = Number(argValue('in-flight', '1000'));
const largeInFlight = Number(argValue('large-in-flight', '64'));
/** `--rate N`: the open-loop runs at N adds/s instead of 80% of the measured max (to compare builds). */
const fixedRate = Number(argValue('rate', '0'));
const profileDir = argValue('profile', '');
/** `--only 1k` or `--only 64k` runs one half (for profiling one workload). */
const only = argValue('only', '');
const bookieSettings = bookieSettingsArg();
/** `--client harness`: the test harness's BookieClient instead of the load client (to compare their costs). */
const clientKind = argValue('client', 'cheap');
if (clientKind !== 'cheap' && clientKind !== 'harness') throw new Error('--client is cheap or harness');
const baseDir = mkdtempSync(join(argValue('dir', tmpdir()), 'bench-bookie-write-'));
const MIB = 1024 * 1024;
const LARGE_BYTES = 64 * 1024;

/** A connection issuing 1 KiB or 64 KiB adds to a range of ledgers, with one client or the other. */
interface AddSource {
  adds(options: { firstLedgerId: number; ledgerCount: number; payload: Buffer }): Issue;
  close(): Promise<void>;
}

async function connectClient(port: number): Promise<AddSource> {
  if (clientKind === 'harness') {
    const client = await BookieClient.connect(port);
    return { adds: (options) => addsTo(client, options), close: () => client.close() };
  }
  const client = await AddLoadClient.connect(port);
  return {
    adds: (options) => client.adds({ ...options, password: BENCH_PASSWORD }),
    close: () => client.close(),
  };
}

interface Run extends LoadResult {
  /** CPU time (user + system) per operation of the bookie process and of this client process, µs. */
  bookieCpuUs: number;
  clientCpuUs: number;
}

/** `runs` runs after a one-second warm-up, each with the CPU time both processes spent. */
async function repeat(
  bookie: BookieChild,
  run: () => Promise<LoadResult>,
  warmUp: () => Promise<LoadResult>,
): Promise<Run[]> {
  await warmUp();
  const results: Run[] = [];
  for (let i = 0; i < runs; i++) {
    const bookieBefore = bookie.cpuSeconds();
    const clientBefore = process.cpuUsage();
    const result = await run();
    const client = process.cpuUsage(clientBefore);
    results.push({
      ...result,
      bookieCpuUs: ((bookie.cpuSeconds() - bookieBefore) * 1e6) / result.ops,
      clientCpuUs: (client.user + client.system) / result.ops,
    });
  }
  return results;
}

const medianOf = (results: Run[], pick: (r: Run) => number): number => median(results.map(pick));

/** The CPU cost fields of a result line. */
const cpuFields = (results: Run[]): Record<string, number> => ({
  bookieCpuUsPerAdd: round(
    medianOf(results, (r) => r.bookieCpuUs),
    1,
  ),
  clientCpuUsPerAdd: round(
    medianOf(results, (r) => r.clientCpuUs),
    1,
  ),
});

/** write + fdatasync of 64 KiB blocks, overwriting a preallocated, synced 256 MiB file: MB/s per run. */
async function main(): Promise<void> {
  const diskMbPerSecond =
    only === '1k' ? [] : diskAppendMibPerSecond(baseDir, { seconds, runs, blockBytes: LARGE_BYTES });
  const bookie = await BookieChild.start({
    dataDir: join(baseDir, 'bookie'),
    settings: bookieSettings,
    profileDir,
  });
  const client = await connectClient(bookie.port);
  const yardstick = await BookieChild.start({
    dataDir: join(baseDir, 'yardstick'),
    script: join(__dirname, 'yardstick-child.js'),
  });
  const yardstickClient = await connectClient(yardstick.port);
  let nextYardstickLedgerId = 1;
  /** The same closed loop against the bare journal server (yardstick-child.ts). */
  const yardstickRuns = (ledgerCount: number, payloadBytes: number, depth: number): Promise<Run[]> => {
    const issue = yardstickClient.adds({
      firstLedgerId: nextYardstickLedgerId,
      ledgerCount,
      payload: Buffer.alloc(payloadBytes, 7),
    });
    nextYardstickLedgerId += ledgerCount;
    return repeat(
      yardstick,
      () => closedLoop({ inFlight: depth, seconds }, issue),
      () => closedLoop({ inFlight: depth, seconds: 1 }, issue),
    );
  };
  // Each phase writes fresh ledgers, so no add replaces an entry of an earlier phase.
  let nextLedgerId = 1;
  const adds = (ledgerCount: number, payloadBytes: number): Issue => {
    const issue = client.adds({
      firstLedgerId: nextLedgerId,
      ledgerCount,
      payload: Buffer.alloc(payloadBytes, 7),
    });
    nextLedgerId += ledgerCount;
    return issue;
  };

  try {
    for (const ledgers of only === '64k' ? [] : ledgerCounts) {
      // The yardstick first, with the same client and load, so both figures come from the same minutes.
      const yardstickMax = await yardstickRuns(ledgers, 1024, inFlight);
      const yardstickRate = medianOf(yardstickMax, (r) => r.opsPerSecond);
      printResult({
        bench: 'yardstick_add_max',
        entryBytes: 1024,
        ledgers,
        inFlight,
        addsPerSecond: round(yardstickRate),
        runs: yardstickMax.map((r) => round(r.opsPerSecond)),
        latencyP99Ms: round(
          medianOf(yardstickMax, (r) => r.latencyP99Ms),
          2,
        ),
        ...cpuFields(yardstickMax),
      });
      const issue = adds(ledgers, 1024);
      const max = await repeat(
        bookie,
        () => closedLoop({ inFlight, seconds }, issue),
        () => closedLoop({ inFlight, seconds: 1 }, issue),
      );
      const maxRate = medianOf(max, (r) => r.opsPerSecond);
      printResult({
        bench: 'bookie_add_max',
        entryBytes: 1024,
        ledgers,
        inFlight,
        addsPerSecond: round(maxRate),
        shareOfYardstick: round(maxRate / yardstickRate, 2),
        runs: max.map((r) => round(r.opsPerSecond)),
        latencyP50Ms: round(
          medianOf(max, (r) => r.latencyP50Ms),
          2,
        ),
        latencyP99Ms: round(
          medianOf(max, (r) => r.latencyP99Ms),
          2,
        ),
        ...cpuFields(max),
      });
      const targetRate = fixedRate > 0 ? fixedRate : Math.round(maxRate * 0.8);
      const paced = await repeat(
        bookie,
        () => openLoop(targetRate, seconds, issue),
        () => openLoop(targetRate, 1, issue),
      );
      printResult({
        bench: 'bookie_add_latency',
        entryBytes: 1024,
        ledgers,
        targetAddsPerSecond: targetRate,
        addsPerSecond: round(medianOf(paced, (r) => r.opsPerSecond)),
        latencyP50Ms: round(
          medianOf(paced, (r) => r.latencyP50Ms),
          2,
        ),
        latencyP99Ms: round(
          medianOf(paced, (r) => r.latencyP99Ms),
          2,
        ),
        runsP99Ms: paced.map((r) => round(r.latencyP99Ms, 2)),
        ...cpuFields(paced),
      });
    }

    if (only === '1k') return;
    const diskMedian = median(diskMbPerSecond);
    printResult({
      bench: 'disk_append_64k',
      mbPerSecond: round(diskMedian, 1),
      runs: diskMbPerSecond.map((v) => round(v, 1)),
    });
    const yardstickLarge = await yardstickRuns(10, LARGE_BYTES, largeInFlight);
    const yardstickMbPerSecond = medianOf(yardstickLarge, (r) => (r.opsPerSecond * LARGE_BYTES) / MIB);
    printResult({
      bench: 'yardstick_add_64k',
      entryBytes: LARGE_BYTES,
      ledgers: 10,
      inFlight: largeInFlight,
      mbPerSecond: round(yardstickMbPerSecond, 1),
      shareOfDisk: round(yardstickMbPerSecond / diskMedian, 2),
      runs: yardstickLarge.map((r) => round((r.opsPerSecond * LARGE_BYTES) / MIB, 1)),
      ...cpuFields(yardstickLarge),
    });
    const issue = adds(10, LARGE_BYTES);
    const large = await repeat(
      bookie,
      () => closedLoop({ inFlight: largeInFlight, seconds }, issue),
      () => closedLoop({ inFlight: largeInFlight, seconds: 1 }, issue),
    );
    const largeMbPerSecond = medianOf(large, (r) => (r.opsPerSecond * LARGE_BYTES) / MIB);
    printResult({
      bench: 'bookie_add_64k',
      entryBytes: LARGE_BYTES,
      ledgers: 10,
      inFlight: largeInFlight,
      mbPerSecond: round(largeMbPerSecond, 1),
      shareOfDisk: round(largeMbPerSecond / diskMedian, 2),
      shareOfYardstick: round(largeMbPerSecond / yardstickMbPerSecond, 2),
      runs: large.map((r) => round((r.opsPerSecond * LARGE_BYTES) / MIB, 1)),
      latencyP50Ms: round(
        medianOf(large, (r) => r.latencyP50Ms),
        2,
      ),
      latencyP99Ms: round(
        medianOf(large, (r) => r.latencyP99Ms),
        2,
      ),
      ...cpuFields(large),
    });
  } finally {
    await client.close();
    await yardstickClient.close();
    await yardstick.stop();
    await bookie.stop();
  }
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(baseDir, { recursive: true, force: true }));
