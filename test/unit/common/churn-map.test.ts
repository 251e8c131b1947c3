import fc from 'fast-check';
import { ChurnMap, churnKey } from '../../../common';

type Op =
  | { kind: 'set'; key: number | string; value: number }
  | { kind: 'delete'; key: number | string }
  | { kind: 'clear' };

// Integers packed close (long probe runs, backward shifts across the wrap), strided ones, ones past 2^32 and past
// 2^53 (kept beside the table), negative and fractional numbers, and strings.
const keyArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 60 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 40 }).map((i) => i * 1024) },
  { weight: 1, arbitrary: fc.integer({ min: 2 ** 32 - 3, max: 2 ** 32 + 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 53, 2 ** 60, -1, 0.5, Number.MAX_SAFE_INTEGER) },
  { weight: 1, arbitrary: fc.constantFrom('a', 'b', 'txn-7', '12') },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArb, value: fc.integer() }),
  },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

describe('ChurnMap', () => {
  test('answers get, has, size, delete and values as a Map does over random operations', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 400 }), (ops) => {
        const churn = new ChurnMap<number | string, { value: number }>();
        const model = new Map<number | string, { value: number }>();
        for (const op of ops) {
          if (op.kind === 'set') {
            const value = { value: op.value };
            expect(churn.set(op.key, value)).toBe(churn);
            model.set(op.key, value);
          } else if (op.kind === 'delete') {
            expect(churn.delete(op.key)).toBe(model.delete(op.key));
          } else {
            churn.clear();
            model.clear();
          }
          expect(churn.size).toBe(model.size);
        }
        for (const key of [0, 1, 17, 60, 1024, 2 ** 32 - 1, 2 ** 32 + 2, 2 ** 53, -1, 0.5, 'a', '12', 'no']) {
          expect(churn.get(key)).toBe(model.get(key));
          expect(churn.has(key)).toBe(model.has(key));
        }
        for (const [key, value] of model) expect(churn.get(key)).toBe(value);
        expect(new Set(churn.values())).toEqual(new Set(model.values()));
        expect(churn.values()).toHaveLength(model.size);
      }),
      { numRuns: 300 },
    );
  });

  test('grows past thousands of entries and shrinks back, keeping every entry findable', () => {
    const map = new ChurnMap<number, number>();
    // Ids as a pool hands them to one of three connections: a stride of 3.
    for (let i = 0; i < 20000; i++) map.set(i * 3, i);
    expect(map.size).toBe(20000);
    const lost: number[] = [];
    for (let i = 0; i < 20000; i++) if (map.get(i * 3) !== i) lost.push(i);
    for (let i = 0; i < 19990; i++) if (!map.delete(i * 3)) lost.push(i);
    expect(lost).toEqual([]);
    expect(map.valuesByKey()).toEqual([19990, 19991, 19992, 19993, 19994, 19995, 19996, 19997, 19998, 19999]);
    expect(map.get(3)).toBeUndefined();
  });

  test('valuesByKey: integer keys ascending, then other keys in the order they were set', () => {
    const map = new ChurnMap<number | string, string>();
    for (const key of [905, 3, 'zeta', 2 ** 53 + 2, 77, 'alpha', 12]) map.set(key, String(key));
    map.delete(77);
    expect(map.valuesByKey()).toEqual(['3', '12', '905', 'zeta', String(2 ** 53 + 2), 'alpha']);
  });

  test('values() is a copy: deleting while going through it changes nothing of what is gone through', () => {
    const map = new ChurnMap<number, number>();
    for (let txnId = 1; txnId <= 10; txnId++) map.set(txnId, txnId);
    const seen: number[] = [];
    for (const value of map.values()) {
      seen.push(value);
      map.delete(value + 1);
    }
    expect(seen.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(map.size).toBe(1);
  });

  test('churnKey: a bigint id is its number while exact, else its digits', () => {
    expect([churnKey(0n), churnKey(2n ** 53n - 1n)]).toEqual([0, 2 ** 53 - 1]);
    expect([churnKey(2n ** 53n), churnKey(2n ** 63n - 1n), churnKey(-1n)]).toEqual([
      '9007199254740992',
      '9223372036854775807',
      '-1',
    ]);
  });
});
