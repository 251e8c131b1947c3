/*
 * bench/bookie-journal: the journal's disk, the group-commit design, and the journal itself.
 *
 *   node dist/bench/bookie-journal.js [--seconds 0.5] [--runs 3] [--dir /path/on/the/journal/disk]
 *
 * Prints one JSON line per result (the median of `runs` runs after a warm-up run, each `seconds` long):
 *   disk_write_fdatasync  write + fdatasync of one 4 KiB or 64 KiB block at a time, overwriting a preallocated
 *                         (zero-filled and synced) file; also 4 KiB appended to a growing file for contrast.
 *                         ops/s and MB/s: the most syncs/s and sync bandwidth a journal can get here.
 *   group_commit_design   the same minimal group commit (append copies into a buffer; at the end of the turn one
 *                         write + one fdatasync; then the callbacks), with 1000 records in flight, done two ways:
 *                         `event-loop-sync` (writeSync + fdatasyncSync on the event loop) and `threadpool-async`
 *                         (fs.write + fs.fdatasync through libuv's threadpool; records arriving meanwhile form the
 *                         next group). The journal uses the faster (see bookie/journal/README.md).
 *   journal_append        the Journal: 1 KiB and 64 KiB records appended with 1000 in flight, each callback
 *                         appending the next: records/s, MB/s and records per fdatasync.
 * The machine is shared: keep runs short and compare figures from one run only.
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  mkdtempSync,
  openSync,
  rmSync,
  write,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../common';
import { BookieMetrics } from '../bookie';
import { Journal } from '../bookie';
import { DigestManager, DigestType } from '../protocol';
import { argValue, median, printResult, round } from './measure';

const seconds = Number(argValue('seconds', '0.5'));
const runs = Number(argValue('runs', '3'));
const baseDir = mkdtempSync(join(argValue('dir', tmpdir()), 'bench-journal-'));
const MIB = 1024 * 1024;
const IN_FLIGHT = 1000;
/** Overwritten region of the preallocated file: the raw and design benches wrap around within it. */
const REGION_BYTES = 128 * MIB;

/** Runs `once` (warm-up) then `runs` more times; returns the figures of the measured runs. */
async function repeat<T>(once: () => Promise<T>): Promise<T[]> {
  await once();
  const results: T[] = [];
  for (let i = 0; i < runs; i++) results.push(await once());
  return results;
}

function preallocatedFile(name: string): number {
  const fd = openSync(join(baseDir, name), 'w+');
  const zeros = Buffer.alloc(MIB);
  for (let at = 0; at < REGION_BYTES; at += MIB) writeSync(fd, zeros, 0, MIB, at);
  fdatasyncSync(fd);
  return fd;
}

async function diskWriteFdatasync(): Promise<void> {
  const fd = preallocatedFile('raw.bin');
  for (const [blockBytes, file] of [
    [4096, 'preallocated'],
    [64 * 1024, 'preallocated'],
    [4096, 'growing'],
  ] as const) {
    const block = Buffer.alloc(blockBytes, 1);
    let growing: { fd: number; path: string } | undefined;
    const perSecond = await repeat(async () => {
      if (file === 'growing') {
        const path = join(baseDir, 'growing.bin');
        growing = { fd: openSync(path, 'w'), path };
      }
      const target = growing?.fd ?? fd;
      const deadline = performance.now() + seconds * 1000;
      const start = performance.now();
      let ops = 0;
      let at = 0;
      while (performance.now() < deadline) {
        writeSync(target, block, 0, blockBytes, at);
        fdatasyncSync(target);
        ops++;
        at = (at + blockBytes) % REGION_BYTES;
      }
      if (growing) {
        closeSync(growing.fd);
        rmSync(growing.path);
        growing = undefined;
      }
      return ops / ((performance.now() - start) / 1000);
    });
    const ops = median(perSecond);
    printResult({
      bench: 'bookie-journal',
      name: 'disk_write_fdatasync',
      file,
      blockBytes,
      unit: 'ops_per_s',
      median: round(ops),
      mbPerS: round((ops * blockBytes) / MIB, 1),
      runs: perSecond.map((r) => round(r)),
    });
  }
  closeSync(fd);
}

type Append = (done: () => void) => void;

/** `inFlight` appends outstanding at all times until `seconds` pass: how many completed, in how long. */
function closedLoop(append: Append, inFlight: number): Promise<{ completed: number; elapsedS: number }> {
  return new Promise((resolve) => {
    const start = performance.now();
    const deadline = start + seconds * 1000;
    let completed = 0;
    let outstanding = inFlight;
    const onDone = (): void => {
      completed++;
      if (performance.now() < deadline) append(onDone);
      else if (--outstanding === 0) resolve({ completed, elapsedS: (performance.now() - start) / 1000 });
    };
    for (let i = 0; i < inFlight; i++) append(onDone);
  });
}

/** A minimal group commit: records copied into one buffer, flushed (write + fdatasync) at the end of the turn. */
function groupCommit(
  fd: number,
  recordBytes: number,
  design: 'event-loop-sync' | 'threadpool-async',
): Append {
  const record = Buffer.alloc(recordBytes, 2);
  const capacity = (IN_FLIGHT + 1) * recordBytes;
  let buffer = Buffer.allocUnsafe(capacity);
  let spare = Buffer.allocUnsafe(capacity);
  let used = 0;
  let callbacks: Array<() => void> = [];
  let position = 0;
  let scheduled = false;
  let inFlight = false;
  const flush = (): void => {
    scheduled = false;
    if (position + used > REGION_BYTES) position = 0;
    const [bytes, done, at] = [used, callbacks, position];
    [buffer, spare] = [spare, buffer];
    used = 0;
    callbacks = [];
    position += bytes;
    if (design === 'event-loop-sync') {
      writeSync(fd, spare, 0, bytes, at);
      fdatasyncSync(fd);
      for (const callback of done) callback();
      return;
    }
    inFlight = true;
    write(fd, spare, 0, bytes, at, (writeError) => {
      if (writeError) throw writeError;
      fdatasync(fd, (syncError) => {
        if (syncError) throw syncError;
        inFlight = false;
        for (const callback of done) callback();
        if (callbacks.length > 0 && !scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    });
  };
  return (done) => {
    used += record.copy(buffer, used);
    callbacks.push(done);
    if (!scheduled && !inFlight) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

async function groupCommitDesigns(): Promise<void> {
  const fd = preallocatedFile('design.bin');
  for (const recordBytes of [1024, 64 * 1024]) {
    for (const design of ['event-loop-sync', 'threadpool-async'] as const) {
      const perSecond = await repeat(async () => {
        const { completed, elapsedS } = await closedLoop(groupCommit(fd, recordBytes, design), IN_FLIGHT);
        return completed / elapsedS;
      });
      printResult({
        bench: 'bookie-journal',
        name: 'group_commit_design',
        design,
        recordBytes,
        inFlight: IN_FLIGHT,
        unit: 'records_per_s',
        median: round(median(perSecond)),
        mbPerS: round((median(perSecond) * recordBytes) / MIB, 1),
        runs: perSecond.map((r) => round(r)),
      });
    }
  }
  closeSync(fd);
}

async function journalAppend(): Promise<void> {
  for (const payloadBytes of [1024, 64 * 1024]) {
    const journalDir = mkdtempSync(join(baseDir, 'journal-'));
    const metrics = new BookieMetrics();
    const journal = await Journal.open({
      journalDir,
      config: {
        journalSyncData: true,
        journalMaxGroupWaitMSec: 2,
        journalBufferedWritesThreshold: 524288,
        journalAlignmentSize: 512,
        journalDirectWrites: true,
        journalPreAllocSizeMB: 16,
        journalMaxSizeMB: 256, // small files, deleted as the run goes: the bench must not fill the disk
        maxBackupJournals: 0,
      },
      logger: silentLogger(),
      metrics,
    });
    const entry = DigestManager.create(1n, Buffer.alloc(0), DigestType.CRC32C).packEntry(
      0n,
      -1n,
      BigInt(payloadBytes),
      Buffer.alloc(payloadBytes, 3),
    );
    const append: Append = (done) =>
      journal.logAddEntry(entry, false, (error) => (error ? process.exit(1) : done()));
    const checkpoints = setInterval(() => void journal.checkpointComplete(journal.lastSyncedMark()), 200);
    const syncs = async (): Promise<number> => (await metrics.journalSyncs.get()).values[0]?.value ?? 0;
    const results = await repeat(async () => {
      const syncsBefore = await syncs();
      const { completed, elapsedS } = await closedLoop(append, IN_FLIGHT);
      return {
        recordsPerSecond: completed / elapsedS,
        recordsPerSync: completed / ((await syncs()) - syncsBefore),
      };
    });
    clearInterval(checkpoints);
    await journal.close();
    rmSync(journalDir, { recursive: true, force: true });
    const recordsPerSecond = median(results.map((r) => r.recordsPerSecond));
    printResult({
      bench: 'bookie-journal',
      name: 'journal_append',
      recordBytes: entry.length,
      payloadBytes,
      inFlight: IN_FLIGHT,
      unit: 'records_per_s',
      median: round(recordsPerSecond),
      mbPerS: round((recordsPerSecond * entry.length) / MIB, 1),
      recordsPerSync: round(median(results.map((r) => r.recordsPerSync)), 1),
      runs: results.map((r) => round(r.recordsPerSecond)),
    });
  }
}

async function main(): Promise<void> {
  try {
    await diskWriteFdatasync();
    await groupCommitDesigns();
    await journalAppend();
  } finally {
    rmSync(baseDir, { recursive: true, force: true });
  }
}

void main();
