/*
 * PartitionRouter: the partition of each WebSocket message on a partitioned topic, as Pulsar's Java routers pick
 * it — key hash (JavaStringHash & MAX_VALUE, or Murmur3_32Hash) mod N, round robin or a single partition without.
 */
import { murmur3_32 } from '../../../../broker/pulsar';
import { PartitionRouter, keyHash } from '../../../../broker/websocket/partition-router';

describe('broker > websocket > partition router', () => {
  it("hashes keys as Pulsar's JavaStringHash (String.hashCode & Integer.MAX_VALUE) and Murmur3_32Hash", () => {
    expect(keyHash('Aa', 'JavaStringHash')).toBe(2112);
    expect(keyHash('k1', 'JavaStringHash')).toBe(107 * 31 + 49);
    // "polygenelubricants".hashCode() is Integer.MIN_VALUE: masked to 0, never negative.
    expect(keyHash('polygenelubricants', 'JavaStringHash')).toBe(0);
    expect(keyHash('héllo', 'Murmur3_32Hash')).toBe(murmur3_32('héllo'));
  });

  it('sends a keyed message to hash(key) mod N whatever the mode', () => {
    for (const mode of ['RoundRobinPartition', 'SinglePartition'] as const) {
      const router = new PartitionRouter(5, mode, 'JavaStringHash', () => 0.99);
      expect(router.choose('k1')).toBe(3366 % 5);
      expect(router.choose('k1')).toBe(3366 % 5);
      expect(router.choose('')).toBe(0);
    }
    const murmur = new PartitionRouter(7, 'RoundRobinPartition', 'Murmur3_32Hash');
    expect(murmur.choose('order-42')).toBe(murmur3_32('order-42') % 7);
  });

  it('spreads messages without a key round robin from a random start, or keeps one partition', () => {
    const roundRobin = new PartitionRouter(3, 'RoundRobinPartition', 'JavaStringHash', () => 0.5);
    expect(Array.from({ length: 7 }, () => roundRobin.choose(undefined))).toEqual([1, 2, 0, 1, 2, 0, 1]);
    const single = new PartitionRouter(4, 'SinglePartition', 'JavaStringHash', () => 0.8);
    expect(Array.from({ length: 4 }, () => single.choose(undefined))).toEqual([3, 3, 3, 3]);
    expect(() => new PartitionRouter(0)).toThrow();
  });
});
