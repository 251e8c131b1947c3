import { ReadCache } from '../../../../bookie/storage';
import { packedEntry } from './storage-fixtures';

const KIB = 1024;

function put(
  cache: ReadCache,
  ledgerId: bigint,
  entryId: number,
  entry = packedEntry(ledgerId, BigInt(entryId)),
): void {
  cache.put(ledgerId, entryId, entry, 0, entry.length);
}

describe('bookie > storage > read cache', () => {
  test('a cached entry reads back byte-identical, from any slice of a larger block', () => {
    const cache = new ReadCache(64 * KIB);
    const entry = packedEntry(4n, 9n);
    const block = Buffer.concat([Buffer.alloc(13, 0xee), entry, Buffer.alloc(5, 0xee)]);
    cache.put(4n, 9, block, 13, entry.length);
    expect(cache.get(4n, 9)!.equals(entry)).toBe(true);
    expect(cache.get(4n, 8)).toBeUndefined();
  });

  test('it stays within its byte budget, evicting the oldest entries first', () => {
    const cache = new ReadCache(64 * KIB);
    const entry = (e: number): Buffer => packedEntry(1n, BigInt(e), Buffer.alloc(968, e));
    for (let e = 0; e < 1000; e++) {
      put(cache, 1n, e, entry(e));
      expect(cache.sizeBytes).toBeLessThanOrEqual(64 * KIB);
    }
    expect(cache.get(1n, 999)!.equals(entry(999))).toBe(true);
    expect(cache.get(1n, 0)).toBeUndefined();
    // At least one whole segment (half the budget) of the newest entries survives.
    for (let e = 999; e > 999 - 30; e--) expect(cache.get(1n, e)?.equals(entry(e))).toBe(true);
  });

  test('a newer copy of an entry shadows an older one', () => {
    const cache = new ReadCache(64 * KIB);
    put(cache, 1n, 0, packedEntry(1n, 0n, Buffer.from('old')));
    const newer = packedEntry(1n, 0n, Buffer.from('newer'));
    put(cache, 1n, 0, newer);
    expect(cache.get(1n, 0)!.equals(newer)).toBe(true);
  });

  test('invalidate drops a range of a ledger, leaving the rest and other ledgers', () => {
    const cache = new ReadCache(64 * KIB);
    for (let e = 0; e < 10; e++) {
      put(cache, 1n, e);
      put(cache, 2n, e);
    }
    cache.invalidate(1n, 3, 6);
    cache.invalidate(2n, 8, 1_000_000);
    const present = (ledgerId: bigint): number[] =>
      [...Array(10).keys()].filter((e) => cache.get(ledgerId, e) !== undefined);
    expect(present(1n)).toEqual([0, 1, 2, 7, 8, 9]);
    expect(present(2n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    cache.deleteLedger(1n);
    expect(present(1n)).toEqual([]);
  });

  test('an entry larger than a segment is not cached', () => {
    const cache = new ReadCache(64 * KIB);
    put(cache, 1n, 0, packedEntry(1n, 0n, Buffer.alloc(40 * KIB)));
    expect(cache.get(1n, 0)).toBeUndefined();
    expect(cache.sizeBytes).toBe(0);
  });

  test('a large entry is kept as a view of its block, not copied, and evicted with its segment all the same', () => {
    const cache = new ReadCache(1024 * KIB);
    const big = (e: number): Buffer => packedEntry(1n, BigInt(e), Buffer.alloc(100 * KIB, e));
    const block = Buffer.concat([Buffer.alloc(7), big(0), big(1)]);
    cache.put(1n, 0, block, 7, big(0).length);
    cache.put(1n, 1, block, 7 + big(0).length, big(1).length);
    const first = cache.get(1n, 0)!;
    expect(first.equals(big(0))).toBe(true);
    expect(first.buffer).toBe(block.buffer); // the block's own memory
    expect(cache.get(1n, 1)!.equals(big(1))).toBe(true);
    expect(cache.sizeBytes).toBe(big(0).length + big(1).length);
    // Small and large entries side by side, past the budget: the oldest go, large ones included.
    for (let e = 2; e < 40; e++) {
      put(cache, 1n, e, e % 2 === 0 ? big(e) : packedEntry(1n, BigInt(e)));
      expect(cache.sizeBytes).toBeLessThanOrEqual(1024 * KIB);
    }
    expect(cache.get(1n, 0)).toBeUndefined();
    expect(cache.get(1n, 38)!.equals(big(38))).toBe(true);
    expect(cache.get(1n, 39)!.equals(packedEntry(1n, 39n))).toBe(true);
  });
});
