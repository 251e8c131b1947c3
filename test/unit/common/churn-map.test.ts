import fc from 'fast-check';
import { ChurnMap } from '../../../common';

type Op =
  | { kind: 'set'; key: number | string; value: number }
  | { kind: 'delete'; key: number | string }
  | { kind: 'clear' };

// Small integers (collide often), integers past the array-index range (kept as strings), and plain strings.
const keyArb = fc.oneof(
  fc.integer({ min: 0, max: 40 }),
  fc.integer({ min: 2 ** 32 - 3, max: 2 ** 32 + 3 }),
  fc.constantFrom('a', 'b', 'txn-7', '12x'),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArb, value: fc.integer() }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

describe('ChurnMap', () => {
  test('answers get, has, size, delete and values as a Map does over random operations', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const churn = new ChurnMap<number | string, { value: number }>();
        const model = new Map<string, { value: number }>();
        for (const op of ops) {
          if (op.kind === 'set') {
            const value = { value: op.value };
            expect(churn.set(op.key, value)).toBe(churn);
            model.set(String(op.key), value);
          } else if (op.kind === 'delete') {
            expect(churn.delete(op.key)).toBe(model.delete(String(op.key)));
          } else {
            churn.clear();
            model.clear();
          }
          expect(churn.size).toBe(model.size);
        }
        for (const key of [0, 1, 17, 40, 2 ** 32 - 1, 2 ** 32 + 2, 'a', 'txn-7', 'missing']) {
          expect(churn.get(key)).toBe(model.get(String(key)));
          expect(churn.has(key)).toBe(model.has(String(key)));
        }
        expect(new Set(churn.values())).toEqual(new Set(model.values()));
        expect(churn.values()).toHaveLength(model.size);
      }),
    );
  });

  test('values come out by ascending integer key, then other keys in the order they were added', () => {
    const map = new ChurnMap<number | string, string>();
    for (const key of [905, 3, 'zeta', 2 ** 32 + 5, 77, 'alpha', 12]) map.set(key, String(key));
    map.delete(77);
    expect(map.values()).toEqual(['3', '12', '905', 'zeta', String(2 ** 32 + 5), 'alpha']);
  });

  test('values() is a copy: deleting while going through it changes nothing of what is gone through', () => {
    const map = new ChurnMap<number, number>();
    for (let txnId = 1; txnId <= 10; txnId++) map.set(txnId, txnId);
    const seen: number[] = [];
    for (const value of map.values()) {
      seen.push(value);
      map.delete(value + 1);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(map.values()).toEqual([1]);
  });
});
