/*
 * bench/managed-ledger-write: appends through ManagedLedger.addEntry against the raw ledger client's
 * WriteHandle.append, in the same run, on the same bookie.
 *
 *   npm run build && node dist/bench/managed-ledger-write.js [--seconds 2] [--runs 3] [--in-flight 1000]
 *
 * One `ledgerline bookie` process on a real etcd (client-cluster.ts); in this process one BookKeeper client.
 * E=Qw=Qa=1, 1 KiB payloads, `in-flight` appends outstanding (closed loop). Each run measures both, one after
 * the other, for `seconds` each after a one-second warm-up of each: the client on a fresh ledger, the managed
 * ledger on a fresh managed ledger (default rollover: 50,000 entries; no cursors). One JSON line,
 * ml_append_vs_client: the medians of the runs' appends/s for each, the median of the per-run ratios
 * (managed ledger / client), p50/p99 append latency and this process's CPU µs per append for each.
 * Target (issue 5): ratio >= 0.80.
 */
import { closedLoop } from './bookie-load';
import type { LoadResult } from './bookie-load';
import { quorumsFor, runBench, withManagedLedgerBench } from './managed-ledger-setup';
import { argValue, median, printResult, round } from './measure';

const seconds = Number(argValue('seconds', '2'));
const runs = Number(argValue('runs', '3'));
const inFlight = Number(argValue('in-flight', '1000'));
const PAYLOAD = Buffer.alloc(1024, 7);
const QUORUMS = { ensembleSize: 1, writeQuorumSize: 1, ackQuorumSize: 1 };

interface Run extends LoadResult {
  cpuUsPerAppend: number;
}

/** A fresh log to append to: a ledger or a managed ledger. */
interface Target {
  append(): Promise<unknown>;
  close(): Promise<void>;
}

/** `in-flight` appends to `target` for `runSeconds` (closed loop), then closes it; with this process's CPU. */
async function timed(target: Target, runSeconds: number): Promise<Run> {
  try {
    const before = process.cpuUsage();
    const result = await closedLoop({ inFlight, seconds: runSeconds }, (_i, done) => {
      target.append().then(
        () => done(),
        (error: unknown) => done(error as Error),
      );
    });
    const cpu = process.cpuUsage(before);
    return { ...result, cpuUsPerAppend: (cpu.user + cpu.system) / result.ops };
  } finally {
    await target.close();
  }
}

async function main(): Promise<void> {
  await withManagedLedgerBench(1, quorumsFor(1), async ({ bookKeeper, factory }) => {
    let opened = 0;
    const client = async (runSeconds: number): Promise<Run> => {
      const handle = await bookKeeper.createLedger({ ...QUORUMS, password: '' });
      return timed({ append: () => handle.append(PAYLOAD), close: () => handle.close() }, runSeconds);
    };
    const managedLedger = async (runSeconds: number): Promise<Run> => {
      const ml = await factory.open(`bench/write/ml-${opened++}`);
      return timed({ append: () => ml.addEntry(PAYLOAD), close: () => ml.close() }, runSeconds);
    };
    await client(1);
    await managedLedger(1);
    const clientRuns: Run[] = [];
    const mlRuns: Run[] = [];
    for (let i = 0; i < runs; i++) {
      clientRuns.push(await client(seconds));
      mlRuns.push(await managedLedger(seconds));
    }
    const med = (results: Run[], pick: (r: Run) => number, digits = 0): number =>
      round(median(results.map(pick)), digits);
    printResult({
      bench: 'ml_append_vs_client',
      bookies: 1,
      ...QUORUMS,
      entryBytes: PAYLOAD.length,
      inFlight,
      clientAppendsPerSecond: med(clientRuns, (r) => r.opsPerSecond),
      managedLedgerAppendsPerSecond: med(mlRuns, (r) => r.opsPerSecond),
      ratio: round(median(mlRuns.map((r, i) => r.opsPerSecond / clientRuns[i]!.opsPerSecond)), 3),
      clientRuns: clientRuns.map((r) => round(r.opsPerSecond)),
      managedLedgerRuns: mlRuns.map((r) => round(r.opsPerSecond)),
      clientLatencyP50Ms: med(clientRuns, (r) => r.latencyP50Ms, 2),
      clientLatencyP99Ms: med(clientRuns, (r) => r.latencyP99Ms, 2),
      managedLedgerLatencyP50Ms: med(mlRuns, (r) => r.latencyP50Ms, 2),
      managedLedgerLatencyP99Ms: med(mlRuns, (r) => r.latencyP99Ms, 2),
      clientCpuUsPerAppend: med(clientRuns, (r) => r.cpuUsPerAppend, 1),
      managedLedgerCpuUsPerAppend: med(mlRuns, (r) => r.cpuUsPerAppend, 1),
    });
  });
}

runBench('managed-ledger-write', main);
