import { WriteCache } from '../../../../bookie/storage';
import { allocationsDuring } from '../../protocol/allocations';
import { packedEntry } from './storage-fixtures';

const KIB = 1024;
const MIB = 1024 * 1024;

/** Every (entryId, bytes) a flush would see for the ledger, in order. */
function flushOrder(cache: WriteCache, ledgerId: bigint): Array<[number, string]> {
  const seen: Array<[number, string]> = [];
  cache.forEachEntry(ledgerId, (entryId, segment, start, length) => {
    seen.push([entryId, segment.toString('hex', start, start + length)]);
  });
  return seen;
}

describe('bookie > storage > write cache', () => {
  test('an added entry reads back byte-identical, as a copy the cache does not share', () => {
    const cache = new WriteCache(MIB);
    const entry = packedEntry(1n, 0n);
    expect(cache.put(1n, 0, entry)).toBe(true);
    const read = cache.get(1n, 0)!;
    expect(read.equals(entry)).toBe(true);
    read.fill(0);
    expect(cache.get(1n, 0)!.equals(entry)).toBe(true);
    expect(cache.get(1n, 1)).toBeUndefined();
    expect(cache.get(2n, 0)).toBeUndefined();
    expect(cache.count).toBe(1);
    expect(cache.sizeBytes).toBe(entry.length);
  });

  test('re-adding an entry replaces it; the flush sees one copy, the newest', () => {
    const cache = new WriteCache(MIB);
    cache.put(1n, 5, packedEntry(1n, 5n, Buffer.from('old')));
    const newer = packedEntry(1n, 5n, Buffer.from('new one'));
    cache.put(1n, 5, newer);
    expect(cache.get(1n, 5)!.equals(newer)).toBe(true);
    expect(cache.count).toBe(1);
    expect(flushOrder(cache, 1n)).toEqual([[5, newer.toString('hex')]]);
  });

  test('a flush visits ledgers ascending and entries ascending, whatever the arrival order', () => {
    const cache = new WriteCache(MIB);
    const arrival: Array<[bigint, number]> = [
      [9n, 3],
      [2n, 0],
      [9n, 1],
      [9n, 2],
      [2n, 1],
      [9n, 0],
      [2n ** 62n, 7],
    ];
    for (const [ledgerId, entryId] of arrival)
      cache.put(ledgerId, entryId, packedEntry(ledgerId, BigInt(entryId)));
    expect(cache.ledgerIds()).toEqual([2n, 9n, 2n ** 62n]);
    expect(flushOrder(cache, 9n).map(([id]) => id)).toEqual([0, 1, 2, 3]);
    expect(cache.entryIds(9n)).toEqual([0, 1, 2, 3]);
    expect(cache.entryRange(9n)).toEqual({ first: 0, last: 3 });
    expect(cache.lastEntryId(2n)).toBe(1);
    for (const [entryId, hex] of flushOrder(cache, 9n)) {
      expect(hex).toBe(packedEntry(9n, BigInt(entryId)).toString('hex'));
    }
  });

  test('lookups stay exact when a dense run of entry ids is broken by a gap and a late entry', () => {
    const cache = new WriteCache(MIB);
    const ids = [...Array(100).keys(), 150, 120, 99];
    for (const e of ids) cache.put(4n, e, packedEntry(4n, BigInt(e)));
    for (const e of ids) expect(cache.get(4n, e)!.equals(packedEntry(4n, BigInt(e)))).toBe(true);
    for (const e of [100, 119, 121, 149, 151, -1]) expect(cache.get(4n, e)).toBeUndefined();
    expect(cache.count).toBe(102);
    expect(cache.entryIds(4n)).toEqual([...Array(100).keys(), 120, 150]);
  });

  test('a paused walk resumes where it stopped', () => {
    const cache = new WriteCache(MIB);
    for (let e = 0; e < 10; e++) cache.put(1n, e, packedEntry(1n, BigInt(e)));
    const seen: number[] = [];
    let from = 0;
    let pauses = 0;
    do {
      from = cache.forEachEntry(
        1n,
        (entryId) => {
          seen.push(entryId);
          return entryId % 3 === 2;
        },
        from,
      );
      if (from >= 0) pauses++;
    } while (from >= 0);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(pauses).toBe(3);
  });

  test('a full cache refuses the add and changes nothing', () => {
    const cache = new WriteCache(64 * KIB);
    const entry = packedEntry(1n, 0n, Buffer.alloc(1000));
    let added = 0;
    while (cache.put(1n, added, entry)) added++;
    expect(added).toBe(Math.floor((64 * KIB) / entry.length));
    const before = { count: cache.count, size: cache.sizeBytes, last: cache.lastEntryId(1n) };
    expect(cache.put(1n, added, entry)).toBe(false);
    expect({ count: cache.count, size: cache.sizeBytes, last: cache.lastEntryId(1n) }).toEqual(before);
    expect(cache.get(1n, added)).toBeUndefined();
  });

  test('entries never straddle two slab segments, and each one reads back whole', () => {
    const cache = new WriteCache(68 * MIB);
    const entry = (e: number): Buffer => packedEntry(3n, BigInt(e), Buffer.alloc(3 * MIB - 7, e));
    let e = 0;
    while (cache.put(3n, e, entry(e))) e++;
    // 21 entries fill the first 64 MiB segment to ~63 MiB; the 22nd starts the second (4 MiB) one, which has
    // no room for a 23rd.
    expect(e).toBe(22);
    for (let i = 0; i < e; i++) expect(cache.get(3n, i)!.equals(entry(i))).toBe(true);
  });

  test('deleteLedger forgets a ledger; clear empties the cache for reuse', () => {
    const cache = new WriteCache(MIB);
    cache.put(1n, 0, packedEntry(1n, 0n));
    cache.put(2n, 0, packedEntry(2n, 0n));
    cache.deleteLedger(1n);
    expect(cache.get(1n, 0)).toBeUndefined();
    expect(cache.hasLedger(1n)).toBe(false);
    expect(cache.count).toBe(1);
    cache.deleteLedger(2n);
    expect(cache.sizeBytes).toBe(0); // nothing left: the space is free again
    cache.clear();
    expect(cache.isEmpty).toBe(true);
    expect(cache.sizeBytes).toBe(0);
    expect(cache.ledgerIds()).toEqual([]);
    cache.put(2n, 1, packedEntry(2n, 1n));
    expect(cache.get(2n, 1)!.equals(packedEntry(2n, 1n))).toBe(true);
  });

  test('adds allocate no Buffer per entry (entries are copied into the slab)', () => {
    const cache = new WriteCache(8 * MIB);
    const entries = Array.from({ length: 2000 }, (_, e) => packedEntry(1n, BigInt(e), Buffer.alloc(1000)));
    cache.put(1n, 0, entries[0]!); // the slab itself is allocated on first use
    const sizes = allocationsDuring(() => {
      for (let e = 1; e < entries.length; e++) cache.put(1n, e, entries[e]!);
    });
    expect(sizes).toEqual([]);
  });
});
