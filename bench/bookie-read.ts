/*
 * bench/bookie-read: sequential reads of a written ledger from a whole bookie over TCP.
 *
 *   npm run build && node dist/bench/bookie-read.js [--entries 100000] [--runs 3] [--in-flight 256]
 *       [--bookie key=value,...] [--dir /path/on/the/disk] [--profile DIR]
 *
 * The bookie runs in a child process (bookie-child.ts) with a write cache large enough to hold the ledger and
 * no periodic checkpoint during the run; this process is the client (BookieClient, one connection, reads
 * pipelined, `in-flight` outstanding: the bookie's per-connection read limit is 256). One ledger of `entries`
 * 1 KiB entries is written, then read from entry 0 to the last, in order. One JSON line per result, the
 * median of `runs` passes:
 *   bookie_read_cache   right after the writes: entries come from the write cache
 *   bookie_read_disk    each pass after a restart (SIGTERM: the bookie checkpoints, so the entries are in entry
 *                       logs and the RocksDB index, and its caches start empty): index + entry log + read-ahead.
 *                       The OS page cache is not dropped (a shared machine), so this is the bookie's cold path
 *                       over warm files, not the device's read speed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OperationType, StatusCode } from '../protocol';
import { BookieClient } from '../test/harness';
import { BookieChild } from './bookie-child';
import { addsTo, closedLoop } from './bookie-load';
import type { Issue, LoadResult } from './bookie-load';
import { argValue, bookieSettingsArg, median, printResult, round } from './measure';

const entries = Number(argValue('entries', '100000'));
const runs = Number(argValue('runs', '3'));
const inFlight = Number(argValue('in-flight', '256'));
const profileDir = argValue('profile', '');
const baseDir = mkdtempSync(join(argValue('dir', tmpdir()), 'bench-bookie-read-'));
const LEDGER_ID = 1;
const SETTINGS = {
  // The whole ledger fits in one write cache half, and no checkpoint moves it out during the cache passes.
  dbStorage_writeCacheMaxSizeMb: String(Math.max(64, Math.ceil((entries * 1200 * 2) / 1024 / 1024))),
  flushInterval: '3600000',
  ...bookieSettingsArg(),
};

function readsOf(client: BookieClient): Issue {
  return (i, done) => {
    client.send(
      OperationType.READ_ENTRY,
      { readRequest: { ledgerId: BigInt(LEDGER_ID), entryId: BigInt(i) } },
      {},
      (error, response) => {
        if (error !== undefined) done(error);
        else if (response!.status !== StatusCode.EOK || response!.readResponse?.body === undefined)
          done(new Error(`read of entry ${i} answered ${StatusCode[response!.status]}`));
        else done();
      },
    );
  };
}

function report(bench: string, passes: LoadResult[]): void {
  printResult({
    bench,
    entryBytes: 1024,
    entries,
    inFlight,
    readsPerSecond: round(median(passes.map((r) => r.opsPerSecond))),
    runs: passes.map((r) => round(r.opsPerSecond)),
    latencyP50Ms: round(median(passes.map((r) => r.latencyP50Ms)), 2),
    latencyP99Ms: round(median(passes.map((r) => r.latencyP99Ms)), 2),
  });
}

async function withBookie<T>(run: (client: BookieClient) => Promise<T>): Promise<T> {
  const bookie = await BookieChild.start({
    dataDir: join(baseDir, 'bookie'),
    settings: SETTINGS,
    profileDir,
  });
  const client = await BookieClient.connect(bookie.port);
  try {
    return await run(client);
  } finally {
    await client.close();
    await bookie.stop();
  }
}

async function main(): Promise<void> {
  await withBookie(async (client) => {
    const write = addsTo(client, {
      firstLedgerId: LEDGER_ID,
      ledgerCount: 1,
      payload: Buffer.alloc(1024, 7),
    });
    await closedLoop({ inFlight: 1000, count: entries }, write);
    const read = readsOf(client);
    await closedLoop({ inFlight, count: Math.min(entries, 20000) }, read); // warm-up
    const passes: LoadResult[] = [];
    for (let i = 0; i < runs; i++) passes.push(await closedLoop({ inFlight, count: entries }, read));
    report('bookie_read_cache', passes);
  });
  const passes: LoadResult[] = [];
  for (let i = 0; i < runs; i++) {
    passes.push(await withBookie((client) => closedLoop({ inFlight, count: entries }, readsOf(client))));
  }
  report('bookie_read_disk', passes);
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(baseDir, { recursive: true, force: true }));
