import fc from 'fast-check';
import { PositionRangeSet } from '../../../../managed-ledger/cursor/position-range-set';
import { Position } from '../../../../managed-ledger';

/**
 * PositionRangeSet as a set of positions, against the simplest model there is: a boolean per point of a small
 * universe (ledgers 1, 2, 4 and 7, entries -1 to 9 each, in order). A range `(a, b]` with both ends in the
 * universe covers the universe points strictly after a up to b; the set must hold exactly the maximal runs of
 * covered points, each as (the point before the run, the run's last point]. Unlike the acknowledgement model of
 * position-range-set.test.ts, ranges here start anywhere (a range may start inside another or cover several),
 * and every query is checked after every operation, with chunks small enough to split and join all the time.
 */

const LEDGERS = [1n, 2n, 4n, 7n];
const U: Position[] = LEDGERS.flatMap((ledgerId) =>
  Array.from({ length: 11 }, (_, e) => new Position(ledgerId, BigInt(e - 1))),
);
const INDEX = new Map(U.map((p, i) => [p.toString(), i]));
const at = (p: Position): number => INDEX.get(p.toString())!;

/** Entries of (lower, upper] across ledgers: universe points, as the same-ledger count (entry difference) is. */
const count = (lower: Position, upper: Position): number => at(upper) - at(lower);

const show = (r: { lower: Position; upper: Position }): string =>
  `(${r.lower.toString()}..${r.upper.toString()}]`;

type Op =
  | { kind: 'add'; a: number; b: number }
  | { kind: 'below'; at: number }
  | { kind: 'above'; at: number }
  | { kind: 'clear' };

const point = fc.nat(U.length - 1);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .tuple(point, point)
      .filter(([a, b]) => a !== b)
      .map(([a, b]) => ({ kind: 'add' as const, a: Math.min(a, b), b: Math.max(a, b) })),
  },
  {
    // Mostly short ranges, as acknowledgements are, so that many ranges live at once.
    weight: 12,
    arbitrary: fc
      .tuple(fc.nat(U.length - 2), fc.integer({ min: 1, max: 3 }))
      .map(([a, n]) => ({ kind: 'add' as const, a, b: Math.min(U.length - 1, a + n) })),
  },
  { weight: 1, arbitrary: point.map((i) => ({ kind: 'below' as const, at: i })) },
  { weight: 1, arbitrary: point.map((i) => ({ kind: 'above' as const, at: i })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

function modelRanges(covered: boolean[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < covered.length; i++) {
    if (!covered[i]) continue;
    const start = i;
    while (i + 1 < covered.length && covered[i + 1]) i++;
    out.push(show({ lower: U[start - 1]!, upper: U[i]! }));
  }
  return out;
}

function checkAgainstModel(set: PositionRangeSet, covered: boolean[], window: [number, number]): void {
  const ranges = modelRanges(covered);
  expect(set.toArray().map(show)).toEqual(ranges);
  expect([...set].map(show)).toEqual(ranges);
  expect(set.toArray(2).map(show)).toEqual(ranges.slice(0, 2));
  expect(set.size).toBe(ranges.length);
  expect(set.isEmpty()).toBe(ranges.length === 0);
  // No empty chunk: never more chunks than ranges, none at all when empty.
  expect(set.chunkCount()).toBeLessThanOrEqual(set.size);
  expect(set.chunkCount() === 0).toBe(set.isEmpty());
  expect(U.map((p) => set.contains(p))).toEqual(covered);
  const containing = U.map((p) => {
    const r = set.rangeContaining(p);
    return r === undefined ? undefined : show(r);
  });
  expect(containing).toEqual(U.map((_, i) => ranges.find((r) => covered[i] && inRange(r, i))));
  expect(set.first() === undefined ? undefined : show(set.first()!)).toEqual(ranges[0]);
  expect(set.last() === undefined ? undefined : show(set.last()!)).toEqual(ranges[ranges.length - 1]);
  expect(set.firstLower()?.toString()).toEqual(set.first()?.lower.toString());
  expect(set.firstUpper()?.toString()).toEqual(set.first()?.upper.toString());
  expect(set.countEntries(count)).toBe(covered.filter(Boolean).length);
  const [lo, hi] = window;
  expect(set.countEntriesIn(U[lo]!, U[hi]!, count)).toBe(
    covered.filter((c, i) => c && i > lo && i <= hi).length,
  );
}

/** True when universe point i lies in the printed range `r` (lower < i ≤ upper). */
function inRange(r: string, i: number): boolean {
  const [lower, upper] = r.slice(1, -1).split('..') as [string, string];
  return i > INDEX.get(lower)! && i <= INDEX.get(upper)!;
}

describe('managed-ledger > cursor > PositionRangeSet > model', () => {
  it.each([
    ['the default', undefined],
    ['2', 2],
    ['5', 5],
  ])(
    'answers every query like a set of points after each add and removal (chunks of %s)',
    (_label, chunkRangesMax) => {
      fc.assert(
        fc.property(
          fc.array(op, { maxLength: 120 }),
          fc.tuple(point, point).map(([a, b]): [number, number] => [Math.min(a, b), Math.max(a, b)]),
          (ops, window) => {
            const set = new PositionRangeSet({ chunkRangesMax });
            const covered: boolean[] = U.map(() => false);
            for (const o of ops) {
              if (o.kind === 'add') {
                const wasCovered = covered.slice(o.a + 1, o.b + 1).every(Boolean);
                expect(set.add(U[o.a]!, U[o.b]!)).toBe(!wasCovered);
                for (let i = o.a + 1; i <= o.b; i++) covered[i] = true;
              } else if (o.kind === 'below') {
                const before = covered.filter(Boolean).length;
                for (let i = 0; i <= o.at; i++) covered[i] = false;
                expect(set.removeAtOrBelow(U[o.at]!, count)).toBe(before - covered.filter(Boolean).length);
              } else if (o.kind === 'above') {
                for (let i = o.at + 1; i < U.length; i++) covered[i] = false;
                set.removeAbove(U[o.at]!);
              } else {
                covered.fill(false);
                set.clear();
              }
              checkAgainstModel(set, covered, window);
            }
          },
        ),
        { numRuns: 60 },
      );
    },
  );

  it('rejects a chunk size below 2', () => {
    expect(() => new PositionRangeSet({ chunkRangesMax: 1 })).toThrow(RangeError);
    expect(() => new PositionRangeSet({ chunkRangesMax: 2.5 })).toThrow(RangeError);
  });
});
