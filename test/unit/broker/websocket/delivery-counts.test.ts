import fc from 'fast-check';
import { formatMessageId } from '../../../../broker/pulsar';
import type { MessageId } from '../../../../broker/pulsar';
import { DeliveryCounts } from '../../../../broker/websocket/delivery-counts';

// A ledger belongs to one topic partition (ledger ids are unique in a cluster): the partition follows the ledger.
const PARTITION_OF = new Map<bigint, number>([
  [3n, -1],
  [4n, 0],
  [2n ** 62n, 2],
]);
const idArb: fc.Arbitrary<MessageId> = fc
  .record({
    ledgerId: fc.constantFrom(...PARTITION_OF.keys()),
    entryId: fc.oneof(fc.bigInt({ min: 0n, max: 6n }), fc.constantFrom(2n ** 53n + 1n, 2n ** 60n)),
    batchIndex: fc.integer({ min: -1, max: 3 }),
  })
  .map((id) => ({ ...id, partition: PARTITION_OF.get(id.ledgerId)! }));

describe('DeliveryCounts', () => {
  test('counts deliveries and gives each message id its own count back once, as a map by "L:E:P:B" would', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), idArb), { maxLength: 300 }), (ops) => {
        const counts = new DeliveryCounts();
        const model = new Map<string, number>();
        for (const [deliver, id] of ops) {
          const key = formatMessageId(id);
          if (deliver) {
            counts.add(id);
            model.set(key, (model.get(key) ?? 0) + 1);
          } else {
            expect(counts.take(id)).toBe(model.get(key) ?? 0);
            model.delete(key);
          }
          expect(counts.size).toBe(model.size);
        }
      }),
    );
  });

  test('an id the session never delivered, or with a batch index no message has, takes nothing', () => {
    const counts = new DeliveryCounts();
    counts.add({ ledgerId: 7n, entryId: 1n, partition: -1, batchIndex: -1 });
    expect(counts.take({ ledgerId: 7n, entryId: 1n, partition: 3, batchIndex: -1 })).toBe(0);
    expect(counts.take({ ledgerId: 7n, entryId: 1n, partition: -1, batchIndex: -9 })).toBe(0);
    expect(counts.take({ ledgerId: 7n, entryId: 1n, partition: -1, batchIndex: 0.5 })).toBe(0);
    expect(counts.take({ ledgerId: 7n, entryId: 1n, partition: -1, batchIndex: -1 })).toBe(1);
    expect(counts.size).toBe(0);
  });
});
