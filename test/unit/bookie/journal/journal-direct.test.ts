/**
 * The journal's direct writes (journalDirectWrites, O_DIRECT from aligned memory) against real files: every
 * record replays byte-identical whatever the group sizes (one small record; many unaligned ones; a group larger
 * than the 8 MiB staging buffer, written in pieces; a 4 MiB record, a write-buffer chunk of its own), across a
 * file roll; and the journal writes through the page cache when direct writes are off or cannot be whole blocks.
 */
import type { Journal } from '../../../../bookie/journal';
import { takesDirectIo, TempDirs } from '../../../harness';
import {
  describeEvents,
  logged,
  openJournal,
  packedEntry,
  replayAll,
  type ReplayEvent,
} from './journal-fixtures';

const temp = new TempDirs();
afterEach(() => temp.removeAll());

/** Appends every event in this turn (one group, unless it outgrows what a turn holds); resolves when all are acked. */
function group(journal: Journal, events: ReplayEvent[]): Promise<void[]> {
  return Promise.all(events.map((event) => logged(journal, event)));
}

function entriesOf(ledgerId: bigint, sizes: number[], firstEntryId = 0): ReplayEvent[] {
  return sizes.map((size, i) => ({
    kind: 'entry',
    entry: packedEntry(ledgerId, BigInt(firstEntryId + i), size),
  }));
}

describe('bookie > journal > direct writes', () => {
  it('replays every record byte-identical, from single small records to groups larger than the staging buffer', async () => {
    const dir = temp.make();
    const { journal } = await openJournal(dir, { journalDirectWrites: true });
    expect(journal.directWrites).toBe(takesDirectIo(dir));
    const written: ReplayEvent[] = [];
    const append = async (events: ReplayEvent[]): Promise<void> => {
      written.push(...events);
      await group(journal, events);
    };
    // One tiny record, then groups of unaligned sizes, each padded to a block and written whole.
    await append(entriesOf(1n, [1]));
    for (let g = 0; g < 20; g++) await append(entriesOf(2n, [7 + g * 13, 511, 513, 1000 + g], g * 4));
    await append([
      { kind: 'fence', ledgerId: 3n },
      { kind: 'ledgerKey', ledgerId: 3n, masterKey: Buffer.from('key') },
    ]);
    // ~9 MiB in one group: more than the staging buffer, so written in aligned pieces with a carried-over tail.
    await append(
      entriesOf(
        4n,
        Array.from({ length: 140 }, (_, i) => 65_536 + i * 7),
      ),
    );
    // A 4 MiB record: the journal's write buffer gives it a chunk of its own.
    await append(entriesOf(5n, [4 * 1024 * 1024 + 333, 17]));
    await journal.close();
    expect(describeEvents((await replayAll(dir)).events)).toEqual(describeEvents(written));
  });

  it('keeps the records of both files when it rolls mid-stream', async () => {
    const dir = temp.make();
    const { journal } = await openJournal(dir, { journalDirectWrites: true, journalMaxSizeMB: 1 });
    const written: ReplayEvent[] = [];
    for (let g = 0; g < 12; g++) {
      const events = entriesOf(6n, [100_001, 20_003, 3], g * 3);
      written.push(...events);
      await group(journal, events);
    }
    await journal.close();
    const replayed = (await replayAll(dir)).events;
    expect(describeEvents(replayed)).toEqual(describeEvents(written));
  });

  it('writes through the page cache when direct writes are off, or the alignment is not whole 512-byte blocks', async () => {
    for (const overrides of [
      { journalDirectWrites: false },
      { journalDirectWrites: true, journalAlignmentSize: 700 },
    ]) {
      const dir = temp.make();
      const { journal } = await openJournal(dir, overrides);
      expect(journal.directWrites).toBe(false);
      const events = entriesOf(8n, [1, 700, 4097]);
      await group(journal, events);
      await journal.close();
      expect(describeEvents((await replayAll(dir)).events)).toEqual(describeEvents(events));
    }
  });
});
