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

  test('a block is kept, not copied: entries come back as views of it, and all of it counts against the budget', () => {
    const cache = new ReadCache(1024 * KIB);
    const big = (e: number): Buffer => packedEntry(1n, BigInt(e), Buffer.alloc(100 * KIB, e));
    const block = Buffer.concat([Buffer.alloc(7), big(0), big(1), Buffer.alloc(9)]);
    cache.putBlock(1n, block, 0, Int32Array.of(7, big(0).length, 7 + big(0).length, big(1).length));
    const first = cache.get(1n, 0)!;
    expect(first.equals(big(0))).toBe(true);
    expect(first.buffer).toBe(block.buffer); // the block's own memory
    expect(cache.get(1n, 1)!.equals(big(1))).toBe(true);
    expect(cache.get(1n, 2)).toBeUndefined();
    expect(cache.sizeBytes).toBe(block.length);
    // Blocks large and small, past the budget: the oldest go.
    for (let e = 2; e < 40; e++) {
      put(cache, 1n, e, e % 2 === 0 ? big(e) : packedEntry(1n, BigInt(e)));
      expect(cache.sizeBytes).toBeLessThanOrEqual(1024 * KIB);
    }
    expect(cache.get(1n, 0)).toBeUndefined();
    expect(cache.get(1n, 38)!.equals(big(38))).toBe(true);
    expect(cache.get(1n, 39)!.equals(packedEntry(1n, 39n))).toBe(true);
  });

  test('ids a block does not hold (a striped ledger, another ledger between) are absent, the rest found', () => {
    const cache = new ReadCache(64 * KIB);
    const entries = [0, 2, 3, 6].map((e) => packedEntry(5n, BigInt(e)));
    const other = packedEntry(6n, 1n);
    const block = Buffer.concat([entries[0]!, entries[1]!, other, entries[2]!, entries[3]!]);
    const spans = new Int32Array(2 * 7).fill(-1);
    let at = 0;
    for (const [i, e] of [0, 2, -1, 3, 6].entries()) {
      const length = i === 2 ? other.length : entries[[0, 1, -1, 2, 3][i]!]!.length;
      if (e >= 0) spans.set([at, length], 2 * e);
      at += length;
    }
    cache.putBlock(5n, block, 0, spans);
    const found = [...Array(8).keys()].filter((e) => cache.get(5n, e) !== undefined);
    expect(found).toEqual([0, 2, 3, 6]);
    expect(cache.get(5n, 6)!.equals(entries[3]!)).toBe(true);
    expect(cache.get(6n, 1)).toBeUndefined();
  });

  test('runs are found among many, and a newer run replaces the ones it overlaps', () => {
    const cache = new ReadCache(16 * 1024 * KIB);
    const entry = (e: number, tag = 0): Buffer => packedEntry(1n, BigInt(e), Buffer.from([tag, e & 0xff]));
    const putRun = (first: number, last: number, tag = 0): void => {
      const parts: Buffer[] = [];
      const spans = new Int32Array(2 * (last - first + 1));
      let at = 0;
      for (let e = first; e <= last; e++) {
        const bytes = entry(e, tag);
        spans.set([at, bytes.length], 2 * (e - first));
        parts.push(bytes);
        at += bytes.length;
      }
      cache.putBlock(1n, Buffer.concat(parts), first, spans);
    };
    // Out of order, with holes between runs: 0-9, 40-49, 20-29, ..., 180-189.
    const firsts = [0, 40, 20, 100, 60, 80, 140, 120, 180, 160];
    for (const first of firsts) putRun(first, first + 9);
    for (let e = 0; e < 200; e++) {
      const cached = firsts.some((first) => e >= first && e <= first + 9);
      expect({ e, cached: cache.get(1n, e)?.equals(entry(e)) ?? false }).toEqual({ e, cached });
    }
    // 25-45 overlaps 20-29 and 40-49: it replaces both, so 20-24 and 46-49 are gone and 25-45 are the new bytes.
    putRun(25, 45, 1);
    expect(cache.get(1n, 22)).toBeUndefined();
    expect(cache.get(1n, 47)).toBeUndefined();
    for (let e = 25; e <= 45; e++) expect(cache.get(1n, e)!.equals(entry(e, 1))).toBe(true);
    expect(cache.get(1n, 9)!.equals(entry(9))).toBe(true);
    expect(cache.get(1n, 60)!.equals(entry(60))).toBe(true);
  });
});
