/*
 * The cluster the client benchmarks (client-write.ts, client-tail.ts) run against: `ledgerline bookie` processes
 * on a real etcd (test/harness BookieCluster), with the bookies' own cache and flush defaults.
 */
import { BookieCluster } from '../test/harness';
import { processCpuSeconds } from './measure';

/** The bookie defaults the harness shrinks for quick tests (TEST_BOOKIE_CONF), put back for a benchmark. */
const BENCH_BOOKIE_CONF = {
  flushInterval: 10000,
  journalPreAllocSizeMB: 16,
  dbStorage_writeCacheMaxSizeMb: 64,
  dbStorage_readAheadCacheMaxSizeMb: 16,
};

export function startBenchCluster(bookies: number): Promise<BookieCluster> {
  return BookieCluster.start({ bookies, conf: BENCH_BOOKIE_CONF });
}

/** CPU seconds (user + system) the cluster's bookie processes have used, summed (/proc, ticks of 1/100 s). */
export function bookiesCpuSeconds(cluster: BookieCluster): number {
  let sum = 0;
  for (let i = 0; i < cluster.size; i++) {
    const pid = cluster.bookie(i).process?.pid;
    if (pid === undefined) continue;
    sum += processCpuSeconds(pid);
  }
  return sum;
}
