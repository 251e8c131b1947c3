import fc from 'fast-check';
import { ManagedCursor } from '../../../../managed-ledger/cursor/managed-cursor';
import { Position } from '../../../../managed-ledger';
import { expectCode } from './expect-code';
import { FakeCursorHost } from './fake-host';

/**
 * The cursor's logic over an in-memory managed ledger (FakeCursorHost): reads across ledgers, waiting reads,
 * acknowledgements (cumulative and individual, checked against a naive model), backlog, seek/reset/skip/search,
 * non-durable cursors and trimming. Persistence has its own test (cursor-persistence.test.ts).
 */

/** A non-durable cursor from the start of an empty fake managed ledger. */
function reader(host = new FakeCursorHost()): { host: FakeCursorHost; cursor: ManagedCursor } {
  return { host, cursor: ManagedCursor.nonDurable(host, 'reader', host.getFirstPosition()) };
}

const text = (entries: Array<{ data: Buffer }>): string[] => entries.map((e) => e.data.toString());

describe('managed-ledger > cursor > ManagedCursor', () => {
  describe('reads', () => {
    it('reads across ledger boundaries in order and returns nothing at the end', async () => {
      const host = new FakeCursorHost();
      host.fill(7, 3); // ledgers 1: e0-e2, 2: e3-e5, 3: e6
      const cursor = ManagedCursor.nonDurable(host, 'reader', host.getFirstPosition());
      expect(text(await cursor.readEntries(4))).toEqual(['e0', 'e1', 'e2', 'e3']);
      expect(cursor.getReadPosition()).toEqual(Position.of(2, 1));
      expect(text(await cursor.readEntries(10))).toEqual(['e4', 'e5', 'e6']);
      expect(cursor.hasMoreEntries()).toBe(false);
      expect(await cursor.readEntries(5)).toEqual([]);
    });

    it('continues in the next ledger when the one it read to the end was closed', async () => {
      const host = new FakeCursorHost();
      host.fill(2);
      const cursor = ManagedCursor.nonDurable(host, 'reader', host.getFirstPosition());
      expect(text(await cursor.readEntries(5))).toEqual(['e0', 'e1']);
      expect(cursor.getReadPosition()).toEqual(Position.of(1, 2)); // the end of the current ledger
      host.roll();
      host.add('next');
      expect(cursor.hasMoreEntries()).toBe(true);
      expect(text(await cursor.readEntries(5))).toEqual(['next']);
    });

    it('skips individually deleted entries', async () => {
      const host = new FakeCursorHost();
      const p = host.fill(8, 4);
      const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
      await cursor.delete([p[0]!, p[2]!, p[3]!, p[4]!, p[7]!]);
      expect(cursor.getMarkDeletedPosition()).toEqual(p[0]);
      expect(text(await cursor.readEntries(2))).toEqual(['e1', 'e5']);
      expect(text(await cursor.readEntries(2))).toEqual(['e6']);
      expect(cursor.hasMoreEntries()).toBe(false);
    });

    it('serialises concurrent reads so no two callers get the same entries', async () => {
      const { host, cursor } = reader();
      host.fill(9, 4);
      const reads = await Promise.all([cursor.readEntries(3), cursor.readEntries(3), cursor.readEntries(5)]);
      expect(reads.map(text)).toEqual([
        ['e0', 'e1', 'e2'],
        ['e3', 'e4', 'e5'],
        ['e6', 'e7', 'e8'],
      ]);
    });

    it('rejects a bad count with InvalidArgument naming the cursor', async () => {
      const { cursor } = reader();
      const err = await expectCode(cursor.readEntries(0), 'InvalidArgument');
      expect(err.message).toContain('cursor reader of managed ledger tenant/ns/persistent/topic');
      await expectCode(cursor.readEntries(1.5), 'InvalidArgument');
      await expectCode(cursor.readEntriesOrWait(Number.NaN), 'InvalidArgument');
    });
  });

  describe('read or wait', () => {
    it('resolves when an entry is added, and reads at once when entries are there', async () => {
      const { host, cursor } = reader();
      const waiting = cursor.readEntriesOrWait(10);
      await new Promise((r) => setTimeout(r, 20));
      host.add('a');
      host.add('b'); // before the read the first add started has run: it gets both
      expect(text(await waiting)).toEqual(['a', 'b']);
      host.add('c');
      expect(text(await cursor.readEntriesOrWait(10))).toEqual(['c']);
    });

    it('allows one waiting read; cancel fails it with ConcurrentWaitCallback', async () => {
      const { host, cursor } = reader();
      const first = cursor.readEntriesOrWait(1);
      await expectCode(cursor.readEntriesOrWait(1), 'ConcurrentWaitCallback');
      expect(cursor.cancelPendingReadRequest()).toBe(true);
      expect(cursor.cancelPendingReadRequest()).toBe(false);
      await expectCode(first, 'ConcurrentWaitCallback');
      host.add('later');
      expect(text(await cursor.readEntries(1))).toEqual(['later']);
    });

    it('keeps waiting when the new entries were already acknowledged individually', async () => {
      const { host, cursor } = reader();
      const waiting = cursor.readEntriesOrWait(5);
      const a = host.add('a');
      // The entry after `a` is acknowledged before it is read.
      host.add('b');
      await cursor.delete(a.next());
      host.add('c');
      expect(text(await waiting)).toEqual(['a', 'c']);
    });

    it('fails with NoMoreEntriesToRead when the managed ledger is terminated, CursorAlreadyClosed on close', async () => {
      const { host, cursor } = reader();
      const waiting = cursor.readEntriesOrWait(1);
      host.terminate();
      await expectCode(waiting, 'NoMoreEntriesToRead');
      await expectCode(cursor.readEntriesOrWait(1), 'NoMoreEntriesToRead');

      const { cursor: closing } = reader();
      const pending = closing.readEntriesOrWait(1);
      await closing.close();
      await expectCode(pending, 'CursorAlreadyClosed');
      await expectCode(closing.readEntries(1), 'CursorAlreadyClosed');
    });

    it('finds entries added between the check and the registration by the delayed re-check', async () => {
      const { host, cursor } = reader(
        new FakeCursorHost({ config: { managedLedgerNewEntriesCheckDelayInMillis: 5 } }),
      );
      const waiting = cursor.readEntriesOrWait(1);
      // An entry that arrives without notifying listeners (as a racing add would).
      host.ledgers[0]!.entries.push(Buffer.from('silent'));
      expect(text(await waiting)).toEqual(['silent']);
    });
  });

  describe('acknowledgements', () => {
    it('rejects a mark-delete beyond the last confirmed entry and ignores one going backwards', async () => {
      const host = new FakeCursorHost();
      const p = host.fill(5);
      const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
      const err = await expectCode(cursor.markDelete(Position.of(1, 5)), 'InvalidCursorPosition');
      expect(err.message).toMatch(/cursor sub of managed ledger .*1:5.*1:4/);
      await cursor.markDelete(p[3]!, new Map([['seq', 42n]]));
      await cursor.markDelete(p[1]!);
      expect(cursor.getMarkDeletedPosition()).toEqual(p[3]);
      expect(cursor.getProperties()).toEqual(new Map([['seq', 42n]]));
      expect(cursor.getReadPosition()).toEqual(p[4]);
      await expectCode(cursor.markDelete('1:2' as unknown as Position), 'InvalidArgument');
      await expectCode(
        cursor.markDelete(p[4]!, { seq: 1 } as unknown as Map<string, bigint>),
        'InvalidArgument',
      );
    });

    it('rejects deleting a position that is not an entry, acknowledging none of the batch', async () => {
      const host = new FakeCursorHost();
      const p = host.fill(3);
      const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
      await expectCode(cursor.delete([p[1]!, Position.of(1, 9)]), 'InvalidCursorPosition');
      expect(cursor.isIndividuallyDeleted(p[1]!)).toBe(false);
      expect(cursor.getNumberOfEntriesInBacklog()).toBe(3);
    });

    it('moves the mark-delete when the gap fills, across ledgers', async () => {
      const host = new FakeCursorHost();
      const p = host.fill(6, 2);
      const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
      await cursor.delete([p[1]!, p[2]!, p[4]!]);
      expect(cursor.getMarkDeletedPosition()).toEqual(host.getFirstPosition());
      expect(cursor.getIndividuallyDeletedRanges()).toEqual([
        { lower: p[0], upper: p[2] },
        { lower: p[3], upper: p[4] },
      ]);
      expect(cursor.getTotalNonContiguousDeletedMessagesRange()).toBe(2);
      await cursor.delete(p[0]!);
      expect(cursor.getMarkDeletedPosition()).toEqual(p[2]);
      await cursor.delete(p[3]!);
      expect(cursor.getMarkDeletedPosition()).toEqual(p[4]);
      expect(cursor.getIndividuallyDeletedRanges()).toEqual([]);
      expect(cursor.getTotalNonContiguousDeletedMessagesRange()).toBe(0);
      expect(cursor.getNumberOfEntriesInBacklog(true)).toBe(1);
      expect(host.markDeleteMoves).toBe(2);
    });

    it('agrees with a naive model under random cumulative and individual acks', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }),
          fc.array(fc.record({ cumulative: fc.boolean(), at: fc.nat(40) }), { maxLength: 60 }),
          async (ledgerSizes, ops) => {
            const host = new FakeCursorHost();
            const all: Position[] = [];
            ledgerSizes.forEach((size, i) => {
              if (i > 0) host.roll();
              for (let e = 0; e < size; e++) all.push(host.add(`e${all.length}`));
            });
            const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
            const acked = new Set<number>();
            for (const o of ops) {
              const i = o.at % all.length;
              if (o.cumulative) {
                const prefix = [...Array(all.length).keys()].findIndex((k) => !acked.has(k));
                // Going backwards is ignored; forwards acknowledges everything up to i.
                if (prefix === -1 || i >= prefix - 1) for (let k = 0; k <= i; k++) acked.add(k);
                await cursor.markDelete(all[i]!);
              } else {
                acked.add(i);
                await cursor.delete(all[i]!);
              }
              let prefix = 0;
              while (acked.has(prefix)) prefix++;
              const expectedMarkDelete = prefix === 0 ? host.getFirstPosition() : all[prefix - 1]!;
              expect(cursor.getMarkDeletedPosition()).toEqual(expectedMarkDelete);
              const unacked = all.length - acked.size;
              expect(cursor.getNumberOfEntriesInBacklog(true)).toBe(unacked);
              expect(cursor.getNumberOfEntriesInBacklog(false)).toBe(unacked);
              all.forEach((p, k) => expect(cursor.isIndividuallyDeleted(p)).toBe(acked.has(k)));
              const ranges = cursor.getIndividuallyDeletedRanges();
              for (const r of ranges) expect(r.lower.compareTo(expectedMarkDelete)).toBeGreaterThanOrEqual(0);
            }
          },
        ),
        { numRuns: 60 },
      );
    });
  });

  describe('positioning', () => {
    it('seeks and rewinds the read position only', async () => {
      const host = new FakeCursorHost();
      const p = host.fill(6, 3);
      const cursor = await ManagedCursor.create(host, 'sub', p[1]!);
      cursor.seek(p[4]!);
      expect(text(await cursor.readEntries(1))).toEqual(['e4']);
      cursor.seek(p[0]!); // at or before the mark-delete: the entry after it
      expect(cursor.getReadPosition()).toEqual(p[2]);
      await cursor.readEntries(3);
      cursor.rewind();
      expect(cursor.getReadPosition()).toEqual(p[2]);
      expect(cursor.getMarkDeletedPosition()).toEqual(p[1]);
      expect(() => cursor.seek(Position.of(9, 0))).toThrow(/beyond the end/);
    });

    it('resets backwards and forwards, clearing ranges and properties', async () => {
      const host = new FakeCursorHost();
      const p = host.fill(6, 3);
      const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
      await cursor.markDelete(p[2]!, new Map([['k', 1n]]));
      await cursor.delete(p[4]!);
      await cursor.resetCursor(p[1]!);
      expect(cursor.getMarkDeletedPosition()).toEqual(p[0]);
      expect(cursor.getReadPosition()).toEqual(p[1]);
      expect(cursor.getIndividuallyDeletedRanges()).toEqual([]);
      expect(cursor.getProperties()).toEqual(new Map());
      expect(cursor.getNumberOfEntriesInBacklog()).toBe(5);
      await cursor.resetCursor(p[3]!); // first entry of ledger 2: the mark-delete is the last of ledger 1
      expect(cursor.getMarkDeletedPosition()).toEqual(p[2]);
      await cursor.resetCursor(Position.of(0, 0)); // before everything: the first entry
      expect(cursor.getReadPosition()).toEqual(p[0]);
      await expectCode(cursor.resetCursor(Position.of(5, 0)), 'InvalidCursorPosition');
    });

    it('skips entries, not counting those already acknowledged', async () => {
      const host = new FakeCursorHost();
      const p = host.fill(10, 3);
      const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
      await cursor.delete([p[1]!, p[2]!, p[5]!]);
      await cursor.skipEntries(3); // e0, e3, e4
      expect(cursor.getMarkDeletedPosition()).toEqual(p[5]);
      expect(cursor.getNumberOfEntriesInBacklog()).toBe(4);
      await cursor.skipEntries(100);
      expect(cursor.getMarkDeletedPosition()).toEqual(p[9]);
      expect(cursor.getNumberOfEntriesInBacklog()).toBe(0);
      await expectCode(cursor.skipEntries(-1), 'InvalidArgument');
    });

    it('finds the newest entry matching a monotone predicate by binary search', async () => {
      const host = new FakeCursorHost();
      const p = host.fill(20, 6);
      const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
      const before = (n: number) => (e: { data: Buffer }) => Number(e.data.toString().slice(1)) < n;
      for (const n of [1, 5, 6, 7, 13, 20]) {
        expect(await cursor.findNewestMatching(before(n))).toEqual(p[n - 1]);
      }
      expect(await cursor.findNewestMatching(before(0))).toBeUndefined();
      await cursor.markDelete(p[9]!);
      expect(await cursor.findNewestMatching(before(5))).toBeUndefined();
      expect(await cursor.findNewestMatching(before(12))).toEqual(p[11]);
    });
  });

  describe('non-durable cursors and trimming', () => {
    it('writes no metadata and starts where it is told', async () => {
      const host = new FakeCursorHost();
      const p = host.fill(4);
      const cursor = ManagedCursor.nonDurable(host, 'reader-1', p[1]!);
      expect(cursor.durable).toBe(false);
      expect(text(await cursor.readEntries(5))).toEqual(['e2', 'e3']);
      await cursor.markDelete(p[3]!);
      await cursor.close();
      expect(host.store.puts).toBe(0);
      expect(host.bk.creates).toBe(0);
      expect(host.markDeleteMoves).toBe(0);
    });

    it('moves positions on trimmed ledgers to the first stored entry', async () => {
      const host = new FakeCursorHost();
      const p = host.fill(9, 3);
      const cursor = ManagedCursor.nonDurable(host, 'reader', p[0]!);
      await cursor.delete(p[4]!);
      host.trim(2);
      cursor.onLedgersTrimmed();
      expect(cursor.getMarkDeletedPosition()).toEqual(Position.of(3, -1));
      expect(cursor.getReadPosition()).toEqual(p[6]);
      expect(cursor.getIndividuallyDeletedRanges()).toEqual([]);
      expect(text(await cursor.readEntries(5))).toEqual(['e6', 'e7', 'e8']);
    });
  });

  describe('trimming under individually deleted ranges', () => {
    it('keeps the backlog counts right when a range spans the trimmed boundary', async () => {
      const host = new FakeCursorHost();
      const p = host.fill(12, 3);
      const cursor = ManagedCursor.nonDurable(host, 'reader', host.getFirstPosition());
      await cursor.delete([p[5]!, p[6]!, p[9]!]); // (p4..p6] spans ledgers 2 and 3
      host.trim(2);
      cursor.onLedgersTrimmed();
      expect(cursor.getMarkDeletedPosition()).toEqual(p[6]);
      expect(cursor.getIndividuallyDeletedRanges()).toEqual([{ lower: p[8], upper: p[9] }]);
      expect(cursor.getNumberOfEntriesInBacklog(false)).toBe(4);
      expect(cursor.getNumberOfEntriesInBacklog(true)).toBe(4);
      expect(text(await cursor.readEntries(10))).toEqual(['e7', 'e8', 'e10', 'e11']);
    });
  });

  describe('properties and state', () => {
    it('keeps cursor properties and activity, and refuses use after close', async () => {
      const host = new FakeCursorHost();
      const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
      await cursor.putCursorProperty('owner', 'a');
      expect(cursor.getCursorProperties()).toEqual(new Map([['owner', 'a']]));
      await expectCode(cursor.putCursorProperty('', 'a'), 'InvalidArgument');
      expect(cursor.isActive()).toBe(true);
      cursor.setInactive();
      expect(cursor.isActive()).toBe(false);
      cursor.setActive();
      expect(cursor.isActive()).toBe(true);
      await cursor.close();
      await expectCode(cursor.markDelete(host.getFirstPosition()), 'CursorAlreadyClosed');
      await expectCode(() => cursor.seek(host.getFirstPosition()), 'CursorAlreadyClosed');
    });

    it('rejects a bad name or start position with InvalidArgument', async () => {
      const host = new FakeCursorHost();
      await expectCode(() => ManagedCursor.nonDurable(host, '', host.getFirstPosition()), 'InvalidArgument');
      await expectCode(
        () => ManagedCursor.nonDurable(host, 'r', 'earliest' as unknown as Position),
        'InvalidArgument',
      );
      await expectCode(
        ManagedCursor.create(host, 7 as unknown as string, host.getFirstPosition()),
        'InvalidArgument',
      );
    });
  });
});
