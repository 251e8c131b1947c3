/*
 * bench/bookie-storage: DbLedgerStorage on real files and RocksDB in a temp dir.
 *
 *   node dist/bench/bookie-storage.js [--entries 30000] [--size 1024] [--runs 5] [--direct true|false]
 *
 * Prints one JSON line per result (median of `runs`, after a warm-up run):
 *   write_cache_add     adds/s of `size`-byte packed entries into the write cache (no flush in the timing)
 *   flush               MB/s of a flush of `entries` such entries: entry log write + fdatasync + RocksDB batch
 *   read_write_cache    sequential getEntry/s of entries still in the write cache
 *   read_cold           sequential getEntry/s after close + reopen: index, entry log and read-ahead
 *   read_read_cache     the same entries again, now served by the read-ahead cache
 * Entries per run stay below half the write cache (dbStorage_writeCacheMaxSizeMb=64): one cache holds them.
 */
import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../common';
import { BookieMetrics } from '../bookie';
import { DbLedgerStorage } from '../bookie';
import type { DbLedgerStorageConfig } from '../bookie';
import { argValue, median, printResult, round } from './measure';

const entries = Number(argValue('entries', '30000'));
const size = Number(argValue('size', '1024'));
const runs = Number(argValue('runs', '5'));

const config: DbLedgerStorageConfig = {
  entryLogSizeLimit: 1024 * 1024 * 1024,
  entryLogDirectWrites: argValue('direct', 'true') === 'true',
  dbStorage_writeCacheMaxSizeMb: 64,
  dbStorage_readAheadCacheMaxSizeMb: 64,
  dbStorage_readAheadCacheBatchSize: 100,
  dbStorage_rocksDB_writeBufferSizeMB: 64,
  minorCompactionThreshold: 0.2,
  minorCompactionInterval: 3600,
  majorCompactionThreshold: 0.8,
  majorCompactionInterval: 86400,
};

const open = (dir: string): Promise<DbLedgerStorage> =>
  DbLedgerStorage.open({ ledgerDirs: [dir], config, logger: silentLogger(), metrics: new BookieMetrics() });

/** A packed entry of `size` bytes whose entryId is rewritten in place before each add (addEntry copies). */
function template(ledgerId: bigint): Buffer {
  const entry = Buffer.alloc(size, 0x5a);
  entry.writeBigInt64BE(ledgerId, 0);
  entry.writeBigInt64BE(0n, 8);
  return entry;
}

function addAll(storage: DbLedgerStorage, ledgerId: bigint): void {
  const entry = template(ledgerId);
  for (let e = 0; e < entries; e++) {
    entry.writeUInt32BE(e, 12);
    storage.addEntry(entry);
  }
}

async function readAll(storage: DbLedgerStorage, ledgerId: bigint): Promise<number> {
  const started = process.hrtime.bigint();
  for (let e = 0; e < entries; e++) {
    if ((await storage.getEntry(ledgerId, BigInt(e))) === undefined) throw new Error(`entry ${e} missing`);
  }
  return entries / (Number(process.hrtime.bigint() - started) / 1e9);
}

function report(name: string, unit: string, figures: number[], digits = 0): void {
  const measured = figures.slice(1); // the first run warms up the JIT and the files
  printResult({
    bench: 'bookie-storage',
    name,
    unit,
    median: round(median(measured), digits),
    runs: measured.map((v) => round(v, digits)),
    entries,
    entryBytes: size,
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bookie-storage-'));
  const adds: number[] = [];
  const flushes: number[] = [];
  const writeCacheReads: number[] = [];
  const coldReads: number[] = [];
  const readCacheReads: number[] = [];
  try {
    let storage = await open(dir);
    for (let run = 0; run <= runs; run++) {
      const ledgerId = BigInt(run + 1);
      const started = process.hrtime.bigint();
      addAll(storage, ledgerId);
      adds.push(entries / (Number(process.hrtime.bigint() - started) / 1e9));
      writeCacheReads.push(await readAll(storage, ledgerId));
      const flushStarted = process.hrtime.bigint();
      await storage.flush();
      flushes.push((entries * size) / 1e6 / (Number(process.hrtime.bigint() - flushStarted) / 1e9));
      await storage.close();
      storage = await open(dir);
      coldReads.push(await readAll(storage, ledgerId));
      readCacheReads.push(await readAll(storage, ledgerId));
    }
    await storage.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  report('write_cache_add', 'adds/s', adds);
  report('flush', 'MB/s', flushes, 1);
  report('read_write_cache', 'entries/s', writeCacheReads);
  report('read_cold', 'entries/s', coldReads);
  report('read_read_cache', 'entries/s', readCacheReads);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err instanceof Error ? err.stack : err)}\n`);
  process.exit(1);
});
