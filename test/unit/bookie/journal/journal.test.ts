/**
 * The journal against real files in temp dirs: group commit, callback order, ack-before-sync, forceLedger,
 * journalSyncData=false, rolling and checkpoint deletion, close, bad input, and failure. What a caller sees is
 * checked through callbacks, replay of the files, metrics and the file system. The fdatasync count is read by
 * spying on node:fs (calls go through); the failure tests replace one fdatasync or write with an error, the
 * fake of the layer below (test/integration/bookie/journal-fault-injection.test.ts fails the real syscall).
 */
import fs from 'node:fs';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareLogMarks, JournalError, journalFileName } from '../../../../bookie/journal';
import type { Journal } from '../../../../bookie/journal';
import { TempDirs } from '../../../harness';
import {
  describeEvents,
  eventually,
  logEvent,
  logged,
  openJournal,
  packedEntry,
  replayAll,
  type ReplayEvent,
} from './journal-fixtures';

const temp = new TempDirs();
afterEach(() => {
  jest.restoreAllMocks();
  temp.removeAll();
});

function entries(count: number, payloadBytes = 100, ledgerId = 7n): ReplayEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: 'entry',
    entry: packedEntry(ledgerId, BigInt(i), payloadBytes),
  }));
}

async function metricValue(metric: {
  get(): Promise<{ values: Array<{ value: number }> }>;
}): Promise<number> {
  return (await metric.get()).values[0]?.value ?? 0;
}

/** Appends every event in this turn; resolves with the order in which callbacks ran, and their errors. */
function appendAll(
  journal: Journal,
  events: ReplayEvent[],
  ackBeforeSync: (index: number) => boolean = () => false,
): Promise<Array<{ index: number; error?: Error }>> {
  return new Promise((resolve) => {
    const completions: Array<{ index: number; error?: Error }> = [];
    events.forEach((event, index) =>
      logEvent(
        journal,
        event,
        (error) => {
          completions.push(error ? { index, error } : { index });
          if (completions.length === events.length) resolve(completions);
        },
        ackBeforeSync(index),
      ),
    );
  });
}

describe('bookie > journal > Journal', () => {
  it('makes records durable and replayable, every kind, in order', async () => {
    const dir = temp.make();
    const { journal } = await openJournal(dir);
    const events: ReplayEvent[] = [
      { kind: 'ledgerKey', ledgerId: 7n, masterKey: Buffer.alloc(20, 1) },
      ...entries(3),
      { kind: 'explicitLac', ledgerId: 7n, lacBlob: Buffer.alloc(20, 2) },
      { kind: 'fence', ledgerId: 7n },
    ];
    for (const event of events) await logged(journal, event);
    await journal.close();
    expect(describeEvents((await replayAll(dir)).events)).toEqual(describeEvents(events));
  });

  it('creates <journalDir>/current/<hex logId>.txn, after any existing file', async () => {
    const dir = temp.make();
    const future = BigInt(Date.now()) + 3_600_000n;
    fs.mkdirSync(join(dir, 'current'));
    await writeFile(join(dir, 'current', journalFileName(future)), Buffer.alloc(0));
    const { journal } = await openJournal(dir);
    expect(journal.currentLogFileId).toBe(future + 1n);
    await journal.close();
    expect((await readdir(join(dir, 'current'))).sort()).toEqual(
      [journalFileName(future), journalFileName(future + 1n)].sort(),
    );
  });

  it('group commit: records appended in one turn share one fdatasync', async () => {
    const { journal, metrics } = await openJournal(temp.make());
    const syncsBefore = await metricValue(metrics.journalSyncs);
    const completions = await appendAll(journal, entries(1000));
    expect(completions.every((c) => c.error === undefined)).toBe(true);
    expect((await metricValue(metrics.journalSyncs)) - syncsBefore).toBe(1);
    await journal.close();
  });

  it('group commit: many concurrent writers get many records per fdatasync', async () => {
    const { journal, metrics } = await openJournal(temp.make());
    const writers = 50;
    const recordsPerWriter = 40;
    const writer = async (ledgerId: bigint): Promise<void> => {
      for (let entryId = 0n; entryId < recordsPerWriter; entryId++) {
        await logged(journal, { kind: 'entry', entry: packedEntry(ledgerId, entryId, 500) });
      }
    };
    await Promise.all(Array.from({ length: writers }, (_, i) => writer(BigInt(i))));
    const syncs = await metricValue(metrics.journalSyncs);
    // Every writer has one record in flight: each group holds (nearly) one record per writer.
    expect((writers * recordsPerWriter) / syncs).toBeGreaterThan(writers / 2);
    const perSync = (await metrics.journalRecordsPerSync.get()).values.find((v) =>
      v.metricName?.endsWith('_sum'),
    );
    expect(perSync?.value).toBe(writers * recordsPerWriter);
    await journal.close();
  });

  it('calls back strictly in record order, across chunks, threshold writes and groups', async () => {
    const { journal } = await openJournal(temp.make(), { journalBufferedWritesThreshold: 64 * 1024 });
    const sizes = [10, 70_000, 300, 1_200_000, 5, 64 * 1024, 2_000_000, 17];
    const events = Array.from({ length: 400 }, (_, i) => ({
      kind: 'entry' as const,
      entry: packedEntry(1n, BigInt(i), sizes[i % sizes.length]!),
    }));
    const first = appendAll(journal, events.slice(0, 200));
    await new Promise((resolve) => setImmediate(resolve));
    const second = appendAll(journal, events.slice(200));
    const order = [...(await first), ...(await second)].map((c) => c.index);
    expect(order).toEqual([...Array(200).keys(), ...Array(200).keys()]);
    await journal.close();
  });

  it('ack-before-sync records are called back after the write, before the fdatasync', async () => {
    const dir = temp.make();
    const { journal } = await openJournal(dir);
    // A group's fdatasync runs on the thread pool (fs.fdatasync); count the calls made.
    const fdatasync = jest.spyOn(fs, 'fdatasync');
    const syncsSeen: Record<string, number> = {};
    const events = entries(4);
    await new Promise<void>((resolve) => {
      events.forEach((event, i) =>
        logEvent(
          journal,
          event,
          () => {
            syncsSeen[i] = fdatasync.mock.calls.length;
            if (Object.keys(syncsSeen).length === events.length) resolve();
          },
          i % 2 === 1, // entries 1 and 3 are DEFERRED_SYNC
        ),
      );
    });
    expect(syncsSeen).toEqual({ 1: 0, 3: 0, 0: 1, 2: 1 });
    await journal.close();
    expect(describeEvents((await replayAll(dir)).events)).toEqual(describeEvents(events));
  });

  it('forceLedger calls back once everything appended before it is durable, and writes nothing', async () => {
    const dir = temp.make();
    const { journal } = await openJournal(dir);
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      journal.logAddEntry(packedEntry(3n, 0n), true, () => order.push('entry 0 (deferred sync)'));
      journal.logAddEntry(packedEntry(3n, 1n), true, () => order.push('entry 1 (deferred sync)'));
      journal.forceLedger(3n, (error) => {
        order.push(error ? 'force failed' : 'force');
        resolve();
      });
    });
    await done;
    expect(order).toEqual(['entry 0 (deferred sync)', 'entry 1 (deferred sync)', 'force']);
    expect(
      compareLogMarks(journal.lastSyncedMark(), { logFileId: journal.currentLogFileId, offset: 512n }),
    ).toBe(1);
    // A barrier with nothing before it completes too.
    await new Promise<void>((resolve, reject) => journal.forceLedger(3n, (e) => (e ? reject(e) : resolve())));
    await journal.close();
    expect((await replayAll(dir)).events.map((e) => e.kind)).toEqual(['entry', 'entry']);
  });

  it('journalSyncData=false: acks after the write, forceLedger and a periodic fdatasync make it durable', async () => {
    const dir = temp.make();
    const { journal } = await openJournal(dir, { journalSyncData: false });
    // The periodic sync runs on the loop (fdatasyncSync), a forceLedger group's on the thread pool (fdatasync).
    const periodicSync = jest.spyOn(fs, 'fdatasyncSync');
    const groupSync = jest.spyOn(fs, 'fdatasync');
    await logged(journal, { kind: 'entry', entry: packedEntry(1n, 0n) });
    expect(periodicSync).not.toHaveBeenCalled();
    expect(groupSync).not.toHaveBeenCalled();
    const writtenAt = { logFileId: journal.currentLogFileId, offset: 1024n };
    expect(compareLogMarks(journal.lastSyncedMark(), writtenAt)).toBe(-1);
    // The page-cache flush (every second) syncs what was acknowledged.
    await eventually(() => compareLogMarks(journal.lastSyncedMark(), writtenAt) === 0, 3000);
    expect(periodicSync).toHaveBeenCalledTimes(1);

    await logged(journal, { kind: 'entry', entry: packedEntry(1n, 1n) });
    await new Promise<void>((resolve) => journal.forceLedger(1n, () => resolve()));
    expect(groupSync).toHaveBeenCalledTimes(1);
    expect(journal.lastSyncedMark().offset).toBe(1536n);
    await journal.close();
    expect((await replayAll(dir)).events).toHaveLength(2);
  });

  it('the synced mark advances past each group, padded to journalAlignmentSize', async () => {
    const { journal } = await openJournal(temp.make());
    expect(journal.lastSyncedMark()).toEqual({ logFileId: journal.currentLogFileId, offset: 512n });
    await appendAll(journal, entries(3, 1000));
    expect(journal.lastSyncedMark().offset).toBe(512n + 3584n); // 3 × (4 + 1036) = 3120 → next boundary
    await logged(journal, { kind: 'fence', ledgerId: 1n });
    expect(journal.lastSyncedMark().offset).toBe(4096n + 512n);
    await journal.close();
  });

  it('rolls past journalMaxSizeMB, zero-fills ahead, and replays every file in order', async () => {
    const dir = temp.make();
    const { journal } = await openJournal(dir, { journalMaxSizeMB: 1, journalPreAllocSizeMB: 1 });
    const firstFile = journal.currentLogFileId;
    const events = entries(80, 64 * 1024);
    for (let i = 0; i < events.length; i += 8) await appendAll(journal, events.slice(i, i + 8));
    expect(journal.currentLogFileId).toBeGreaterThan(firstFile);
    await journal.close();
    const files = await readdir(join(dir, 'current'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    expect(describeEvents((await replayAll(dir)).events)).toEqual(describeEvents(events));
  });

  it('checkpointComplete deletes files before the mark, keeping maxBackupJournals of them', async () => {
    const dir = temp.make();
    const { journal } = await openJournal(dir, { journalMaxSizeMB: 1, maxBackupJournals: 2 });
    const events = entries(120, 64 * 1024);
    for (let i = 0; i < events.length; i += 8) await appendAll(journal, events.slice(i, i + 8));
    const before = (await readdir(join(dir, 'current'))).sort();
    expect(before.length).toBeGreaterThanOrEqual(6);
    const mark = journal.lastSyncedMark();
    await journal.checkpointComplete(mark);
    const after = (await readdir(join(dir, 'current'))).sort();
    const markFile = journalFileName(mark.logFileId);
    const olderKept = after.filter((name) => BigInt(`0x${name.split('.')[0]}`) < mark.logFileId);
    expect(olderKept).toEqual(
      before.filter((n) => BigInt(`0x${n.split('.')[0]}`) < mark.logFileId).slice(-2),
    );
    expect(after).toContain(markFile);
    expect(after).toContain(journalFileName(journal.currentLogFileId));
    // What is left replays: nothing after the mark, and from the oldest file kept, a suffix of the records.
    await journal.close();
    expect((await replayAll(dir, mark)).events).toEqual([]);
    const kept = describeEvents((await replayAll(dir)).events);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept).toEqual(describeEvents(events.slice(events.length - kept.length)));
  });

  it('never lets the background zero-fill overwrite records written while it runs', async () => {
    const dir = temp.make();
    const { journal } = await openJournal(dir, {
      journalPreAllocSizeMB: 1,
      journalBufferedWritesThreshold: 256 * 1024,
    });
    // Groups of 12 x 64 KiB (768 KiB): below the size that skips the fill, so fills run under the writes.
    const events = entries(240, 64 * 1024);
    for (let i = 0; i < events.length; i += 12) await appendAll(journal, events.slice(i, i + 12));
    expect(journal.currentLogFileId).toBeDefined();
    await journal.close();
    expect(describeEvents((await replayAll(dir)).events)).toEqual(describeEvents(events));
  });

  const MiB = 1024 * 1024;
  async function journalFileBytes(dir: string): Promise<number> {
    const [name] = await readdir(join(dir, 'current'));
    return (await stat(join(dir, 'current', name!))).size;
  }
  /** The file's size once it has stopped growing for 100 ms (a background fill writes 1 MiB at a time). */
  async function settledFileBytes(dir: string): Promise<number> {
    for (let size = await journalFileBytes(dir); ;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const now = await journalFileBytes(dir);
      if (now === size) return size;
      size = now;
    }
  }

  it('zero-fills a step ahead after small groups, not after groups of 1 MiB or more', async () => {
    const step = 4 * MiB;
    const large = temp.make();
    const { journal: bulk } = await openJournal(large, { journalPreAllocSizeMB: 4 });
    // Groups of 24 x 64 KiB (1.5 MiB): written over the first step, which file creation filled.
    const big = entries(48, 64 * 1024);
    for (let i = 0; i < big.length; i += 24) await appendAll(bulk, big.slice(i, i + 24));
    expect(await settledFileBytes(large)).toBe(step);
    await bulk.close();
    expect(describeEvents((await replayAll(large)).events)).toEqual(describeEvents(big));

    // Less than two steps were left ahead after a small group: the next step is filled, at twice the pace of
    // the writes that follow (1 MiB at once, then 1 MiB per 512 KiB of records). Closing stops it: a closed file
    // takes no more records.
    const small = temp.make();
    const { journal } = await openJournal(small, { journalPreAllocSizeMB: 4 });
    const events = entries(24, 64 * 1024);
    await appendAll(journal, events.slice(0, 8));
    expect(await settledFileBytes(small)).toBe(step + MiB);
    await appendAll(journal, events.slice(8, 16));
    expect(await settledFileBytes(small)).toBe(step + 2 * MiB);
    await appendAll(journal, events.slice(16, 24));
    expect(await settledFileBytes(small)).toBe(step + 3 * MiB);
    await journal.close();
    expect(await journalFileBytes(small)).toBe(step + 3 * MiB);
    expect(describeEvents((await replayAll(small)).events)).toEqual(describeEvents(events));
  });

  it('a group that reaches the step a paced fill is zeroing waits for the fill, which then hurries', async () => {
    const dir = temp.make();
    const { journal } = await openJournal(dir, {
      journalPreAllocSizeMB: 4,
      journalBufferedWritesThreshold: 16 * MiB,
    });
    const events = entries(64, 64 * 1024);
    // 512 KiB: the fill of the second step starts and pauses after its first 1 MiB.
    await appendAll(journal, events.slice(0, 8));
    expect(await settledFileBytes(dir)).toBe(5 * MiB);
    // One group of 3.5 MiB: it would end past the filled first step, so it waits for the paused fill. With no
    // other writes to pace it, the fill goes on only because the group waits for it.
    await appendAll(journal, events.slice(8, 64));
    expect(await journalFileBytes(dir)).toBeGreaterThanOrEqual(8 * MiB);
    await journal.close();
    expect(describeEvents((await replayAll(dir)).events)).toEqual(describeEvents(events));
  });

  it('close syncs what was accepted: every callback fires before it resolves', async () => {
    const dir = temp.make();
    const { journal } = await openJournal(dir);
    const events = entries(50);
    const acked: number[] = [];
    events.forEach((event, i) => logEvent(journal, event, (error) => error || acked.push(i)));
    await journal.close();
    expect(acked).toEqual([...Array(50).keys()]);
    expect(describeEvents((await replayAll(dir)).events)).toEqual(describeEvents(events));
    const refused = await new Promise<Error | undefined>((resolve) => journal.logFence(1n, resolve));
    expect(refused).toBeInstanceOf(JournalError);
    expect((refused as JournalError).code).toBe('JournalClosed');
  });

  it('refuses bad records with a clear error and keeps working', async () => {
    const { journal } = await openJournal(temp.make(), { nettyMaxFrameSizeBytes: 4096 });
    const errorOf = (append: (cb: (error?: Error) => void) => void): Promise<Error | undefined> =>
      new Promise((resolve) => append(resolve));
    const tooShort = await errorOf((cb) => journal.logAddEntry(Buffer.alloc(20), false, cb));
    const negativeEntryId = packedEntry(1n, 0n);
    negativeEntryId.writeBigInt64BE(-5n, 8);
    const negative = await errorOf((cb) => journal.logAddEntry(negativeEntryId, false, cb));
    const tooLarge = await errorOf((cb) => journal.logAddEntry(packedEntry(1n, 0n, 5000), false, cb));
    const badLedger = await errorOf((cb) => journal.logFence(-1n, cb));
    expect([tooShort, negative, tooLarge, badLedger].map((e) => (e as JournalError).code)).toEqual([
      'InvalidRecord',
      'InvalidRecord',
      'RecordTooLarge',
      'InvalidRecord',
    ]);
    await logged(journal, { kind: 'entry', entry: packedEntry(1n, 0n, 1000) });
    await journal.close();
  });
});

describe('bookie > journal > Journal > failure', () => {
  const eio = (): Error => Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });

  it('a failed fdatasync fails its group and every later record, and is never retried', async () => {
    const dir = temp.make();
    const { journal } = await openJournal(dir);
    await appendAll(journal, entries(5));
    const failures: Error[] = [];
    journal.onFailure((error) => failures.push(error));
    const fdatasync = jest
      .spyOn(fs, 'fdatasync')
      .mockImplementationOnce((_fd: number, done: (error: NodeJS.ErrnoException | null) => void) => {
        process.nextTick(done, eio());
      });
    const failedGroup = await appendAll(journal, entries(10), (i) => i === 3);
    // The DEFERRED_SYNC record was acknowledged after the write; the others failed, in order.
    expect(failedGroup.map((c) => [c.index, c.error?.message.includes('EIO') ?? 'ok'])).toEqual([
      [3, 'ok'],
      ...[0, 1, 2, 4, 5, 6, 7, 8, 9].map((i) => [i, true]),
    ]);
    expect(failures).toHaveLength(1);
    expect((failures[0] as JournalError).code).toBe('JournalFailed');
    expect((failures[0] as JournalError).cause).toMatchObject({ code: 'EIO' });
    const later = await appendAll(journal, entries(3));
    expect(later.every((c) => c.error === failures[0])).toBe(true);
    const barrier = await new Promise<Error | undefined>((resolve) => journal.forceLedger(1n, resolve));
    expect(barrier).toBe(failures[0]);
    expect(fdatasync).toHaveBeenCalledTimes(1);
    await journal.close();
    expect(fdatasync).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['through the page cache (writeSync on the loop)', false],
    ['direct (fs.write on the thread pool)', true],
  ])('a failed write fails every record not yet acknowledged: %s', async (_how, direct) => {
    const { journal } = await openJournal(temp.make(), { journalDirectWrites: direct });
    const failures: Error[] = [];
    journal.onFailure((error) => failures.push(error));
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    if (journal.directWrites) {
      jest.spyOn(fs, 'write').mockImplementationOnce(((...args: unknown[]) => {
        process.nextTick(args.at(-1) as (error: Error) => void, enospc);
      }) as unknown as typeof fs.write);
    } else {
      jest.spyOn(fs, 'writeSync').mockImplementationOnce(() => {
        throw enospc;
      });
    }
    const completions = await appendAll(journal, entries(4), (i) => i === 0);
    expect(completions.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(completions.every((c) => c.error === failures[0])).toBe(true);
    expect((failures[0] as JournalError).cause).toMatchObject({ code: 'ENOSPC' });
    await journal.close();
  });
});
