/**
 * Positions over a managed ledger's ledger list (what every cursor navigates by): next valid, previous, validity,
 * entry counts over ranges, the start position of non-durable cursors, and reads served by the entry cache. The
 * list is given directly (empty ledgers included, as during a rollover); reads that would reach the bookies are
 * refused by the fake client, so a passing read came from the cache.
 */
import { silentLogger } from '../../../common';
import type { BookKeeper } from '../../../ledger-client';
import { EntryCache } from '../../../managed-ledger/entry-cache';
import { managedLedgerConfig } from '../../../managed-ledger/managed-ledger-config';
import { ManagedLedgerView } from '../../../managed-ledger/managed-ledger-view';
import type { MetaStore } from '../../../managed-ledger/meta-store';
import type { LedgerInfo } from '../../../managed-ledger/ml-data-formats';
import { EARLIEST, LATEST, Position } from '../../../managed-ledger/position';

class View extends ManagedLedgerView {
  constructor(entries: Array<[number, number]>) {
    const noBookies = {
      openLedger: () => Promise.reject(new Error('no bookies in this test')),
    } as unknown as BookKeeper;
    super({
      name: 'a/b',
      config: managedLedgerConfig(),
      metaStore: undefined as unknown as MetaStore,
      bookKeeper: noBookies,
      logger: silentLogger(),
    });
    this.ledgers = entries.map(([ledgerId, count]): LedgerInfo => ({
      ledgerId: BigInt(ledgerId),
      entries: count,
      size: count * 10,
      timestamp: 1,
    }));
    const last = [...this.ledgers].reverse().find((l) => l.entries > 0);
    this.lastConfirmed =
      last === undefined
        ? new Position(this.ledgers[0]!.ledgerId, -1n)
        : new Position(last.ledgerId, BigInt(last.entries - 1));
  }

  withCache(): EntryCache {
    this.cache = new EntryCache({ maxSizeBytes: 1 << 20, evictionTimeThresholdMs: 0 });
    return this.cache;
  }

  start(start: unknown): Position {
    return this.startMarkDelete(start);
  }

  protected checkReadable(): void {}
  onNextAdd(): () => void {
    return () => undefined;
  }
  onMarkDeleteMoved(): void {}
  onReadPositionMoved(): void {}
}

const p = (l: number, e: number): Position => Position.of(l, e);
const s = (x: Position): string => x.toString();

describe('managed-ledger > view > positions', () => {
  // Ledger 3 is empty (a write failure left it), ledger 9 is the current one.
  const view = new View([
    [1, 3],
    [3, 0],
    [5, 2],
    [9, 0],
  ]);

  it('knows the first, last and valid positions', () => {
    expect(s(view.getFirstPosition())).toBe('1:-1');
    expect(s(view.getLastConfirmedEntry())).toBe('5:1');
    expect(view.isValidPosition(p(1, 2))).toBe(true);
    expect(view.isValidPosition(p(1, 3))).toBe(false);
    expect(view.isValidPosition(p(3, 0))).toBe(false);
    expect(view.isValidPosition(p(5, -1))).toBe(false);
    expect(view.isValidPosition(p(4, 0))).toBe(false);
    expect(view.ledgerExists(3n)).toBe(true);
    expect(view.ledgerExists(4n)).toBe(false);
  });

  it('steps to the next valid position across empty and missing ledgers, then to the end', () => {
    expect(s(view.getNextValidPosition(p(1, -1)))).toBe('1:0');
    expect(s(view.getNextValidPosition(p(1, 0)))).toBe('1:1');
    expect(s(view.getNextValidPosition(p(1, 2)))).toBe('5:0');
    expect(s(view.getNextValidPosition(p(0, 7)))).toBe('1:0');
    expect(s(view.getNextValidPosition(p(4, 100)))).toBe('5:0');
    expect(s(view.getNextValidPosition(p(5, 0)))).toBe('5:1');
    expect(s(view.getNextValidPosition(p(5, 1)))).toBe('5:2');
    expect(s(view.getNextValidPosition(p(9, 5)))).toBe('9:6');
  });

  it('steps back to the previous valid position, or before the first', () => {
    expect(s(view.getPreviousPosition(p(5, 1)))).toBe('5:0');
    expect(s(view.getPreviousPosition(p(5, 0)))).toBe('1:2');
    expect(s(view.getPreviousPosition(p(9, 0)))).toBe('5:1');
    expect(s(view.getPreviousPosition(p(5, 40)))).toBe('5:1');
    expect(s(view.getPreviousPosition(p(1, 0)))).toBe('1:-1');
    expect(s(view.getPreviousPosition(p(3, 0)))).toBe('1:2');
  });

  it('counts entries in ranges, clamped to what is stored', () => {
    expect(view.getNumberOfEntries()).toBe(5);
    expect(view.getNumberOfEntries(p(1, -1), p(5, 1))).toBe(5);
    expect(view.getNumberOfEntries(p(1, 0), p(5, 1))).toBe(4);
    expect(view.getNumberOfEntries(p(1, 0), p(5, 1), true)).toBe(5);
    expect(view.getNumberOfEntries(p(1, 2), p(5, 0))).toBe(1);
    expect(view.getNumberOfEntries(EARLIEST, LATEST)).toBe(5);
    expect(view.getNumberOfEntries(p(5, 1), p(5, 1))).toBe(0);
    expect(view.getTotalSize()).toBe(50);
  });

  it('starts non-durable cursors at earliest, latest or a clamped position', () => {
    expect(s(view.start('earliest'))).toBe('1:-1');
    expect(s(view.start(EARLIEST))).toBe('1:-1');
    expect(s(view.start('latest'))).toBe('5:1');
    expect(s(view.start(LATEST))).toBe('5:1');
    expect(s(view.start(p(1, 1)))).toBe('1:1');
    expect(s(view.start(p(0, 0)))).toBe('1:-1');
    expect(s(view.start(p(7, 0)))).toBe('5:1');
    expect(() => view.start('middle')).toThrow(/starts at a Position/);
  });

  it('an empty managed ledger: everything is before its only ledger', () => {
    const empty = new View([[4, 0]]);
    expect(s(empty.getLastConfirmedEntry())).toBe('4:-1');
    expect(s(empty.getNextValidPosition(p(4, -1)))).toBe('4:0');
    expect(s(empty.getPreviousPosition(p(4, 0)))).toBe('4:-1');
    expect(empty.getNumberOfEntries()).toBe(0);
  });
});

describe('managed-ledger > view > reads', () => {
  it('serves reads from the cache across ledgers, stopping at the last confirmed entry and maxPosition', async () => {
    const view = new View([
      [1, 3],
      [3, 0],
      [5, 2],
    ]);
    const cache = view.withCache();
    for (const [l, e] of [
      [1, 0],
      [1, 1],
      [1, 2],
      [5, 0],
      [5, 1],
    ] as const) {
      cache.insert({ position: p(l, e), data: Buffer.from(`${l}:${e}`) }, 0);
    }
    const read = async (from: Position, n: number, max?: Position): Promise<string[]> =>
      (await view.readEntries(from, n, max)).map((e) => e.data.toString());
    expect(await read(p(1, 0), 10)).toEqual(['1:0', '1:1', '1:2', '5:0', '5:1']);
    expect(await read(p(1, -1), 2)).toEqual(['1:0', '1:1']);
    expect(await read(p(1, 3), 10)).toEqual(['5:0', '5:1']);
    expect(await read(p(1, 1), 10, p(5, 0))).toEqual(['1:1', '1:2', '5:0']);
    expect(await read(p(5, 2), 10)).toEqual([]);
    await expect(view.readEntries(p(1, 0), 0)).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('goes to the bookies for what the cache lacks, and names the range when that fails', async () => {
    const view = new View([[1, 4]]);
    const cache = view.withCache();
    cache.insert({ position: p(1, 3), data: Buffer.from('1:3') }, 0);
    expect((await view.readEntries(p(1, 3), 5)).map((e) => e.data.toString())).toEqual(['1:3']);
    await expect(view.readEntries(p(1, 0), 5)).rejects.toThrow(/cannot read entries 1:0\.\.1:2: no bookies/);
  });
});
