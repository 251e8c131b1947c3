/**
 * Replay against real journal files written by the Journal: every record kind round-trips (fast-check over
 * record sequences and group boundaries), replay starts at a mark inside a file and carries on across files,
 * and a damaged tail (truncated at every byte of the last records, zeroed, junk appended, a corrupted length)
 * leaves the valid prefix replayed and the tail reported, never an exception. Files are damaged by rewriting
 * them on disk as a crash or a bad disk would.
 */
import fc from 'fast-check';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../../../common';
import {
  encodeJournalHeader,
  journalFileName,
  LOG_MARK_ZERO,
  replayJournals,
} from '../../../../bookie/journal';
import type { JournalError, LogMark, ReplayReport } from '../../../../bookie/journal';
import { TempDirs } from '../../../harness';
import {
  describeEvents,
  eventRecordBytes,
  logEvent,
  logged,
  openJournal,
  packedEntry,
  RecordingVisitor,
  type ReplayEvent,
} from './journal-fixtures';

const temp = new TempDirs();
afterEach(() => temp.removeAll());

const HEADER_BYTES = 512;

async function replay(
  journalDir: string,
  from: LogMark = LOG_MARK_ZERO,
  maxRecordBytes?: number,
): Promise<{ events: ReplayEvent[]; report: ReplayReport }> {
  const visitor = new RecordingVisitor();
  const report = await replayJournals({ journalDir, from, visitor, logger: silentLogger(), maxRecordBytes });
  return { events: visitor.events, report };
}

/** Writes `events` as one group into a new journal in `dir`; returns the path of its file. */
async function writeOneGroup(dir: string, events: ReplayEvent[]): Promise<string> {
  const { journal } = await openJournal(dir);
  await Promise.all(
    events.map((event) => new Promise<void>((resolve) => logEvent(journal, event, () => resolve()))),
  );
  const path = join(dir, 'current', journalFileName(journal.currentLogFileId));
  await journal.close();
  return path;
}

/** The file offset at which each record ends, for records written as one group from the header on. */
function recordEnds(events: ReplayEvent[]): number[] {
  let at = HEADER_BYTES;
  return events.map((event) => (at += eventRecordBytes(event)));
}

/** Rewrites the journal file of a one-file journal dir with `bytes`. */
function rewrite(path: string, bytes: Buffer): void {
  writeFileSync(path, bytes);
}

const SAMPLE: ReplayEvent[] = [
  { kind: 'ledgerKey', ledgerId: 9n, masterKey: Buffer.alloc(20, 7) },
  { kind: 'entry', entry: packedEntry(9n, 0n, 300) },
  { kind: 'entry', entry: packedEntry(9n, 1n, 40) },
  { kind: 'explicitLac', ledgerId: 9n, lacBlob: Buffer.alloc(20, 3) },
  { kind: 'entry', entry: packedEntry(9n, 2n, 60) },
  { kind: 'fence', ledgerId: 9n },
];

const eventArbitrary: fc.Arbitrary<ReplayEvent> = fc.oneof(
  fc
    .record({
      ledgerId: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
      entryId: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
      rest: fc.uint8Array({ minLength: 16, maxLength: 3000 }),
    })
    .map(({ ledgerId, entryId, rest }) => {
      const entry = Buffer.alloc(16 + rest.length);
      entry.writeBigInt64BE(ledgerId, 0);
      entry.writeBigInt64BE(entryId, 8);
      entry.set(rest, 16);
      return { kind: 'entry' as const, entry };
    }),
  fc
    .record({ ledgerId: fc.bigInt({ min: 0n, max: 1n << 40n }), key: fc.uint8Array({ maxLength: 40 }) })
    .map(({ ledgerId, key }) => ({ kind: 'ledgerKey' as const, ledgerId, masterKey: Buffer.from(key) })),
  fc.bigInt({ min: 0n, max: 1n << 40n }).map((ledgerId) => ({ kind: 'fence' as const, ledgerId })),
  fc
    .record({ ledgerId: fc.bigInt({ min: 0n, max: 1n << 40n }), blob: fc.uint8Array({ maxLength: 64 }) })
    .map(({ ledgerId, blob }) => ({ kind: 'explicitLac' as const, ledgerId, lacBlob: Buffer.from(blob) })),
);

describe('bookie > journal > replay', () => {
  it('round trip: any sequence of records, in any grouping, replays as written; from any group mark, the rest', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(eventArbitrary, fc.boolean()), { maxLength: 40 }),
        fc.nat(),
        async (records, markPick) => {
          const dir = temp.make();
          const { journal } = await openJournal(dir);
          const marks: Array<{ mark: LogMark; before: number }> = [{ mark: LOG_MARK_ZERO, before: 0 }];
          let pending: Array<Promise<void>> = [];
          for (const [i, [event, endsGroup]] of records.entries()) {
            pending.push(logged(journal, event));
            if (endsGroup) {
              await Promise.all(pending);
              pending = [];
              marks.push({ mark: journal.lastSyncedMark(), before: i + 1 });
            }
          }
          await Promise.all(pending);
          await journal.close();
          const events = records.map(([event]) => event);
          const all = await replay(dir);
          expect(describeEvents(all.events)).toEqual(describeEvents(events));
          expect(all.report).toMatchObject({ truncatedTails: [], files: [expect.any(String)] });
          const { mark, before } = marks[markPick % marks.length]!;
          const rest = await replay(dir, mark);
          expect(describeEvents(rest.events)).toEqual(describeEvents(events.slice(before)));
          temp.removeAll();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('starts at a mark in the middle of a file and goes on across files', async () => {
    const dir = temp.make();
    const first = await openJournal(dir);
    await logged(first.journal, SAMPLE[0]!);
    const mark = first.journal.lastSyncedMark();
    for (const event of SAMPLE.slice(1, 3)) await logged(first.journal, event);
    await first.journal.close();
    const second = await openJournal(dir);
    for (const event of SAMPLE.slice(3)) await logged(second.journal, event);
    const secondFile = second.journal.currentLogFileId;
    await second.journal.close();

    const fromMark = await replay(dir, mark);
    expect(describeEvents(fromMark.events)).toEqual(describeEvents(SAMPLE.slice(1)));
    expect(fromMark.report.files).toHaveLength(2);
    const fromSecond = await replay(dir, { logFileId: secondFile, offset: 0n });
    expect(describeEvents(fromSecond.events)).toEqual(describeEvents(SAMPLE.slice(3)));
    expect((await replay(dir, { logFileId: secondFile + 1n, offset: 0n })).events).toEqual([]);
  });

  it('a file cut at every byte of its last records replays the records before the cut', async () => {
    const dir = temp.make();
    const path = await writeOneGroup(dir, SAMPLE);
    const whole = readFileSync(path);
    const ends = recordEnds(SAMPLE);
    const dataEnd = ends.at(-1)!;
    const paddingEnd = dataEnd + (512 - (dataEnd % 512));
    const boundaries = new Set([...ends, paddingEnd]);
    for (let cut = ends[2]!; cut <= paddingEnd; cut++) {
      rewrite(path, whole.subarray(0, cut)); // as if never preallocated, and the crash tore the write here
      const { events, report } = await replay(dir);
      const complete = ends.filter((end) => end <= cut).length;
      expect(describeEvents(events)).toEqual(describeEvents(SAMPLE.slice(0, complete)));
      if (boundaries.has(cut)) {
        expect(report.truncatedTails).toEqual([]);
      } else {
        const tornAt = cut > dataEnd ? dataEnd : ends[complete - 1]!;
        expect(report.truncatedTail).toMatchObject({ file: path, offset: BigInt(tornAt) });
      }
    }
  });

  it('a zeroed tail (a group that never reached the disk) ends replay cleanly', async () => {
    const dir = temp.make();
    const path = await writeOneGroup(dir, SAMPLE);
    const whole = readFileSync(path);
    for (const [i, start] of [HEADER_BYTES, ...recordEnds(SAMPLE)].entries()) {
      const zeroed = Buffer.from(whole);
      zeroed.fill(0, start);
      rewrite(path, zeroed);
      const { events, report } = await replay(dir);
      expect(describeEvents(events)).toEqual(describeEvents(SAMPLE.slice(0, i)));
      expect(report.truncatedTails).toEqual([]);
    }
  });

  it('junk after the last record never breaks replay of the records before it', async () => {
    const dir = temp.make();
    const path = await writeOneGroup(dir, SAMPLE);
    const valid = readFileSync(path).subarray(0, recordEnds(SAMPLE).at(-1)!);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2000 }), async (junk) => {
        rewrite(path, Buffer.concat([valid, junk]));
        const { events, report } = await replay(dir);
        expect(describeEvents(events.slice(0, SAMPLE.length))).toEqual(describeEvents(SAMPLE));
        if (report.truncatedTail !== undefined)
          expect(report.truncatedTail.offset).toBeGreaterThanOrEqual(valid.length);
      }),
      { numRuns: 200 },
    );
    // Junk that cannot be a record is reported where it starts.
    for (const junk of [
      Buffer.alloc(64, 0xff),
      Buffer.from('7fffffff00', 'hex'),
      Buffer.from('00000000ff', 'hex'),
    ]) {
      rewrite(path, Buffer.concat([valid, junk]));
      const { events, report } = await replay(dir);
      expect(events).toHaveLength(SAMPLE.length);
      expect(report.truncatedTail?.offset).toBe(BigInt(valid.length));
    }
  });

  it('a corrupted length field ends the file at that record, with the reason', async () => {
    const dir = temp.make();
    const path = await writeOneGroup(dir, SAMPLE);
    const whole = readFileSync(path);
    const recordStart = recordEnds(SAMPLE)[1]!; // the third record
    const cases: Array<[number, RegExp]> = [
      [-5, /negative/],
      [0x7fffffff, /above/],
      [whole.length, /past the end/],
      [10, /shorter than ledgerId/],
      [0, /non-zero bytes after a zero length/],
    ];
    for (const [length, reason] of cases) {
      const corrupted = Buffer.from(whole);
      corrupted.writeInt32BE(length, recordStart);
      rewrite(path, corrupted);
      const { events, report } = await replay(dir);
      expect(describeEvents(events)).toEqual(describeEvents(SAMPLE.slice(0, 2)));
      expect(report.truncatedTail).toMatchObject({
        offset: BigInt(recordStart),
        reason: expect.stringMatching(reason),
      });
    }
  });

  it('a record longer than maxRecordBytes is taken as junk', async () => {
    const dir = temp.make();
    await writeOneGroup(dir, SAMPLE);
    const { events, report } = await replay(dir, LOG_MARK_ZERO, 200);
    expect(events).toHaveLength(1); // the 300-byte entry is next
    expect(report.truncatedTail?.reason).toMatch(/above 200/);
  });

  it('a file whose header never reached the disk is reported and skipped; the next file still replays', async () => {
    const dir = temp.make();
    await writeOneGroup(dir, SAMPLE.slice(0, 2));
    const torn = join(dir, 'current', journalFileName(BigInt(Date.now()) + 1000n));
    writeFileSync(torn, Buffer.alloc(100));
    const later = join(dir, 'current', journalFileName(BigInt(Date.now()) + 2000n));
    writeFileSync(later, encodeJournalHeader()); // created, header synced, nothing else
    const { events, report } = await replay(dir);
    expect(events).toHaveLength(2);
    expect(report.files).toHaveLength(3);
    expect(report.truncatedTails).toEqual([expect.objectContaining({ file: torn, offset: 0n })]);
  });

  it('a mark past the end of its file is reported, not trusted', async () => {
    const dir = temp.make();
    const { journal } = await openJournal(dir);
    await logged(journal, SAMPLE[1]!);
    const logFileId = journal.currentLogFileId;
    await journal.close();
    const { events, report } = await replay(dir, { logFileId, offset: 1n << 40n });
    expect(events).toEqual([]);
    expect(report.truncatedTail?.reason).toMatch(/past the end/);
  });

  it('throws on a file that is not a journal, and on I/O errors', async () => {
    const foreignDir = temp.make();
    mkdirSync(join(foreignDir, 'current'));
    writeFileSync(join(foreignDir, 'current', '1a.txn'), Buffer.alloc(600, 0x41));
    const foreign = await replay(foreignDir).catch((error: unknown) => error);
    expect((foreign as JournalError).code).toBe('BadJournalHeader');

    const ioDir = temp.make();
    mkdirSync(join(ioDir, 'current', '1b.txn'), { recursive: true }); // reading a directory: EISDIR
    const io = await replay(ioDir).catch((error: unknown) => error);
    expect(io).toMatchObject({ code: 'EISDIR' });
  });

  it('awaits an asynchronous visitor, one record at a time, in order', async () => {
    const dir = temp.make();
    await writeOneGroup(dir, SAMPLE);
    const seen: string[] = [];
    let inFlight = 0;
    const slow = async (label: string): Promise<void> => {
      inFlight++;
      expect(inFlight).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 2));
      seen.push(label);
      inFlight--;
    };
    await replayJournals({
      journalDir: dir,
      from: LOG_MARK_ZERO,
      logger: silentLogger(),
      visitor: {
        entry: (entry) => slow(`entry ${entry.readBigInt64BE(8)}`),
        ledgerKey: () => slow('ledgerKey'),
        fence: () => slow('fence'),
        explicitLac: () => slow('explicitLac'),
      },
    });
    expect(seen).toEqual(['ledgerKey', 'entry 0', 'entry 1', 'explicitLac', 'entry 2', 'fence']);
  });

  it('a journal directory without files replays nothing', async () => {
    const { events, report } = await replay(temp.make());
    expect(events).toEqual([]);
    expect(report).toEqual({ entries: 0, metaRecords: 0, files: [], truncatedTails: [] });
  });
});
