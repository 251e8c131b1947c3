/*
 * bench/bookie-recovery: how long a bookie takes to be ready again after a crash with a large journal to replay.
 *
 *   npm run build && node dist/bench/bookie-recovery.js [--gib 1] [--runs 3] [--dir /path/on/the/disk]
 *       [--profile DIR]
 *
 * Each run: a fresh bookie (child process) with no periodic checkpoint during the run (flushInterval one hour)
 * and a write cache that holds the whole journal, so nothing is checkpointed and all of it must be replayed;
 * `gib` GiB of 64 KiB entries are added over TCP (10 ledgers, 64 in flight, each acknowledged after fdatasync);
 * SIGKILL; restart; the time from spawn until the bookie is ready (journal replayed into storage, the
 * checkpoint after replay written, listening) is the figure. The last entry of each ledger is read back to
 * check the replay. One JSON line, the median of `runs`, beside the start time of an empty bookie.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatusCode } from '../protocol';
import { BookieClient } from '../test/harness';
import { BookieChild } from './bookie-child';
import { addsTo, closedLoop } from './bookie-load';
import { argValue, median, printResult, round } from './measure';

const gib = Number(argValue('gib', '1'));
const runs = Number(argValue('runs', '3'));
const profileDir = argValue('profile', '');
const baseDir = mkdtempSync(join(argValue('dir', tmpdir()), 'bench-bookie-recovery-'));
const ENTRY_BYTES = 64 * 1024;
const LEDGERS = 10;
const journalBytes = gib * 1024 * 1024 * 1024;
const entries = Math.ceil(journalBytes / ENTRY_BYTES);
const SETTINGS = {
  flushInterval: '3600000',
  // Twice the journal: the active half of the write cache must hold all of it, before and during replay.
  dbStorage_writeCacheMaxSizeMb: String(Math.ceil((2 * journalBytes * 1.01) / 1024 / 1024)),
};

/** Starts a bookie on `dataDir`; only the restart after the crash is profiled. */
const start = (dataDir: string, profile = false): Promise<BookieChild> =>
  BookieChild.start({ dataDir, settings: SETTINGS, profileDir: profile ? profileDir : '' });

async function checkReplayed(bookie: BookieChild): Promise<void> {
  const client = await BookieClient.connect(bookie.port);
  try {
    const lastEntryId = BigInt(Math.floor((entries - 1) / LEDGERS));
    // Ledger 1 gets entries 0, 10, 20 ... of the run, so its last entry id is the highest of all ten.
    const response = await client.readEntry(1n, lastEntryId);
    if (response.status !== StatusCode.EOK)
      throw new Error(`after replay, entry 1/${lastEntryId} answered ${StatusCode[response.status]}`);
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  const emptyDir = join(baseDir, 'empty');
  const empty = await start(emptyDir);
  const emptyStartMs = empty.readyMs;
  await empty.stop();
  rmSync(emptyDir, { recursive: true, force: true });

  const readyMs: number[] = [];
  const writeMbPerSecond: number[] = [];
  for (let run = 0; run < runs; run++) {
    const dataDir = join(baseDir, `run-${run}`);
    const writer = await start(dataDir);
    const client = await BookieClient.connect(writer.port);
    const payload = Buffer.alloc(ENTRY_BYTES - 64, 7); // packed entry: 32 bytes of ids + 4 of CRC32C + payload
    const written = await closedLoop(
      { inFlight: 64, count: entries },
      addsTo(client, { firstLedgerId: 1, ledgerCount: LEDGERS, payload }),
    );
    writeMbPerSecond.push((written.opsPerSecond * ENTRY_BYTES) / 1024 / 1024);
    await writer.kill();
    await client.closed;
    const restarted = await start(dataDir, run === 0);
    readyMs.push(restarted.readyMs);
    await checkReplayed(restarted);
    await restarted.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  printResult({
    bench: 'bookie_recovery',
    journalMiB: Math.round((entries * ENTRY_BYTES) / 1024 / 1024),
    entryBytes: ENTRY_BYTES,
    readyMs: round(median(readyMs)),
    runs: readyMs.map((ms) => round(ms)),
    replayMbPerSecond: round((entries * ENTRY_BYTES) / 1024 / 1024 / (median(readyMs) / 1000), 1),
    emptyStartMs: round(emptyStartMs),
    writeMbPerSecond: round(median(writeMbPerSecond), 1),
  });
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(baseDir, { recursive: true, force: true }));
