/**
 * The entry cache on its own: a contiguous run of the log bounded in bytes, evicted from the front by position
 * and by age, looked up by position and by ranges of one ledger.
 */
import { EntryCache } from '../../../managed-ledger/entry-cache';
import type { Entry } from '../../../managed-ledger/cursor-host';
import { Position } from '../../../managed-ledger/position';

const entry = (ledgerId: number, entryId: number, size = 10): Entry => ({
  position: Position.of(ledgerId, entryId),
  data: Buffer.alloc(size, entryId),
});

function collect(
  cache: EntryCache,
  ledgerId: number,
  first: number,
  last: number,
): [bigint | undefined, string[]] {
  const out: Entry[] = [];
  const start = cache.collect(BigInt(ledgerId), BigInt(first), BigInt(last), out);
  return [start, out.map((e) => e.position.toString())];
}

describe('managed-ledger > entry cache', () => {
  it('finds what it holds, by position and by range, across ledgers', () => {
    const cache = new EntryCache({ maxSizeBytes: 1000, evictionTimeThresholdMs: 0 });
    for (let e = 0; e < 3; e++) cache.insert(entry(5, e), 0);
    for (let e = 0; e < 2; e++) cache.insert(entry(9, e), 0);
    expect(cache.count).toBe(5);
    expect(cache.sizeBytes).toBe(50);
    expect(cache.get(Position.of(5, 1))?.data[0]).toBe(1);
    expect(cache.get(Position.of(5, 3))).toBeUndefined();
    expect(cache.get(Position.of(7, 0))).toBeUndefined();
    expect(collect(cache, 5, 0, 10)).toEqual([0n, ['5:0', '5:1', '5:2']]);
    expect(collect(cache, 5, 1, 1)).toEqual([1n, ['5:1']]);
    expect(collect(cache, 9, 0, 0)).toEqual([0n, ['9:0']]);
    expect(collect(cache, 7, 0, 5)).toEqual([undefined, []]);
  });

  it('reports where a partly cached range starts, so the caller reads the head elsewhere', () => {
    const cache = new EntryCache({ maxSizeBytes: 1000, evictionTimeThresholdMs: 0 });
    for (let e = 0; e < 10; e++) cache.insert(entry(1, e), 0);
    cache.evictBefore(Position.of(1, 6));
    expect(cache.firstPosition()?.toString()).toBe('1:6');
    expect(collect(cache, 1, 2, 8)).toEqual([6n, ['1:6', '1:7', '1:8']]);
  });

  it('stays within its byte bound by evicting the oldest, and skips an entry larger than the bound', () => {
    const cache = new EntryCache({ maxSizeBytes: 35, evictionTimeThresholdMs: 0 });
    for (let e = 0; e < 5; e++) cache.insert(entry(1, e), 0);
    expect(cache.count).toBe(3);
    expect(cache.sizeBytes).toBe(30);
    expect(cache.firstPosition()?.toString()).toBe('1:2');
    cache.insert(entry(1, 5, 36), 0);
    // Keeping older entries without the newest would leave a gap: the cache empties instead.
    expect(cache.count).toBe(0);
    expect(cache.sizeBytes).toBe(0);
    cache.insert(entry(1, 6), 0);
    expect(collect(cache, 1, 0, 9)).toEqual([6n, ['1:6']]);
  });

  it('evicts by age, by the slowest reader and by trimmed ledgers', () => {
    const cache = new EntryCache({ maxSizeBytes: 10_000, evictionTimeThresholdMs: 100 });
    for (let e = 0; e < 4; e++) cache.insert(entry(1, e), 1000 + e * 50);
    for (let e = 0; e < 4; e++) cache.insert(entry(2, e), 1300);
    cache.evictOlderThanThreshold(1160);
    expect(cache.firstPosition()?.toString()).toBe('1:2');
    cache.evictBefore(Position.of(1, 3));
    expect(cache.firstPosition()?.toString()).toBe('1:3');
    cache.evictLedgersBefore(2n);
    expect(cache.firstPosition()?.toString()).toBe('2:0');
    expect(cache.count).toBe(4);
    cache.evictOlderThanThreshold(10_000);
    expect(cache.count).toBe(0);
  });

  it('is off with a zero size, and refuses inserts out of position order', () => {
    const off = new EntryCache({ maxSizeBytes: 0, evictionTimeThresholdMs: 0 });
    off.insert(entry(1, 0), 0);
    expect(off.count).toBe(0);
    const cache = new EntryCache({ maxSizeBytes: 100, evictionTimeThresholdMs: 0 });
    cache.insert(entry(1, 5), 0);
    expect(() => cache.insert(entry(1, 5), 0)).toThrow(/position order/);
    expect(() => cache.insert(entry(0, 9), 0)).toThrow(/position order/);
  });

  it('keeps lookups right across many inserts and evictions (the queue compacts)', () => {
    const cache = new EntryCache({ maxSizeBytes: 500 * 10, evictionTimeThresholdMs: 0 });
    for (let e = 0; e < 5000; e++) {
      cache.insert(entry(3, e), 0);
      if (e % 7 === 0) cache.evictBefore(Position.of(3, e - 100));
    }
    expect(cache.count).toBeLessThanOrEqual(500);
    const first = Number(cache.firstPosition()!.entryId);
    expect(cache.count).toBe(5000 - first);
    expect(collect(cache, 3, first, 4999)[1]).toHaveLength(cache.count);
    expect(cache.get(Position.of(3, 4999))?.position.toString()).toBe('3:4999');
    expect(cache.get(Position.of(3, first - 1))).toBeUndefined();
  });
});
