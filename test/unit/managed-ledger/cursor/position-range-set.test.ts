import fc from 'fast-check';
import { PositionRangeSet } from '../../../../managed-ledger/cursor/position-range-set';
import { Position } from '../../../../managed-ledger';

/**
 * PositionRangeSet against a naive model: the set of acknowledged positions of a fixed ledger layout (with an
 * empty ledger in it), whose maximal runs are the ranges the set must hold, each as (previous entry, last entry].
 */

const LAYOUT: Array<[bigint, number]> = [
  [1n, 40],
  [2n, 3],
  [3n, 0],
  [4n, 50],
  [7n, 1],
  [9n, 30],
];
const ALL: Position[] = LAYOUT.flatMap(([ledgerId, n]) =>
  Array.from({ length: n }, (_, e) => new Position(ledgerId, BigInt(e))),
);
const INDEX = new Map(ALL.map((p, i) => [p.toString(), i]));
const BEFORE_FIRST = new Position(1n, -1n);

const prev = (p: Position): Position => {
  const i = INDEX.get(p.toString())!;
  return i === 0 ? BEFORE_FIRST : ALL[i - 1]!;
};
const count = (lower: Position, upper: Position): number =>
  ALL.filter((p) => p.compareTo(lower) > 0 && p.compareTo(upper) <= 0).length;

type Op =
  | { kind: 'ack'; at: number }
  | { kind: 'ackRun'; at: number; length: number }
  | { kind: 'below'; at: number }
  | { kind: 'above'; at: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('ack' as const), at: fc.nat(ALL.length - 1) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('ackRun' as const),
      at: fc.nat(ALL.length - 1),
      length: fc.integer({ min: 1, max: 12 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('below' as const), at: fc.nat(ALL.length - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('above' as const), at: fc.nat(ALL.length - 1) }) },
);

function expectedRanges(acked: Set<number>): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < ALL.length) {
    if (!acked.has(i)) {
      i++;
      continue;
    }
    const start = i;
    while (i + 1 < ALL.length && acked.has(i + 1)) i++;
    out.push(`(${prev(ALL[start]!).toString()}..${ALL[i]!.toString()}]`);
    i++;
  }
  return out;
}

/** Adds the single entry (ledgerId, entryId) as `(ledgerId:entryId-1, ledgerId:entryId]`. */
function ack(set: PositionRangeSet, ledgerId: number, entryId: number): void {
  set.add(Position.of(ledgerId, entryId - 1), Position.of(ledgerId, entryId));
}

/**
 * Times `a(i)` and `b(i)` for i in 0..batches × perBatch, in alternating batches so that both see the same
 * machine load; returns the milliseconds each took.
 */
function timeInterleaved(
  batches: number,
  perBatch: number,
  a: (i: number) => void,
  b: (i: number) => void,
): [number, number] {
  let aMs = 0;
  let bMs = 0;
  for (let batch = 0; batch < batches; batch++) {
    let started = performance.now();
    for (let i = batch * perBatch; i < (batch + 1) * perBatch; i++) a(i);
    aMs += performance.now() - started;
    started = performance.now();
    for (let i = batch * perBatch; i < (batch + 1) * perBatch; i++) b(i);
    bMs += performance.now() - started;
  }
  return [aMs, bMs];
}

/** The default chunk size, and tiny ones so that a few dozen ranges split, join and merge across chunks. */
const CHUNK_SIZES: Array<[string, number | undefined]> = [
  ['the default', undefined],
  ['2', 2],
  ['3', 3],
  ['8', 8],
];

describe('managed-ledger > cursor > PositionRangeSet', () => {
  it.each(CHUNK_SIZES)(
    'holds exactly the maximal runs of a naive model under random acks and prunes (chunks of %s)',
    (_label, chunkRangesMax) => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 250 }), (ops) => {
          const set = new PositionRangeSet({ chunkRangesMax });
          const acked = new Set<number>();
          for (const o of ops) {
            if (o.kind === 'ack') {
              const p = ALL[o.at]!;
              expect(set.add(prev(p), p)).toBe(!acked.has(o.at));
              acked.add(o.at);
            } else if (o.kind === 'ackRun') {
              const last = Math.min(ALL.length - 1, o.at + o.length - 1);
              set.add(prev(ALL[o.at]!), ALL[last]!);
              for (let i = o.at; i <= last; i++) acked.add(i);
            } else if (o.kind === 'below') {
              const p = ALL[o.at]!;
              const before = acked.size;
              for (const i of [...acked]) if (i <= o.at) acked.delete(i);
              expect(set.removeAtOrBelow(p, count)).toBe(before - acked.size);
            } else {
              for (const i of [...acked]) if (i > o.at) acked.delete(i);
              set.removeAbove(ALL[o.at]!);
            }
          }
          const ranges = set.toArray().map((r) => `(${r.lower.toString()}..${r.upper.toString()}]`);
          expect(ranges).toEqual(expectedRanges(acked));
          expect(set.size).toBe(ranges.length);
          expect(set.countEntries(count)).toBe(acked.size);
          expect(ALL.map((p) => set.contains(p))).toEqual(ALL.map((_, i) => acked.has(i)));
          expect([...set].length).toBe(ranges.length);
          // Counting inside a window agrees with the model too.
          const a = ALL[7]!;
          const b = ALL[60]!;
          expect(set.countEntriesIn(a, b, count)).toBe([...acked].filter((i) => i > 7 && i <= 60).length);
        }),
        { numRuns: 200 },
      );
    },
  );

  it('merges touching ranges across ledgers, including over an empty ledger', () => {
    const set = new PositionRangeSet();
    set.add(prev(Position.of(2, 2)), Position.of(2, 2));
    set.add(prev(Position.of(4, 0)), Position.of(4, 0));
    expect(set.toArray()).toEqual([{ lower: Position.of(2, 1), upper: Position.of(4, 0) }]);
    expect(set.countEntries(count)).toBe(2);
  });

  it('inserts in front of 40,000 ranges as cheaply as at the back, and keeps them sorted', () => {
    const set = new PositionRangeSet();
    for (let e = 80000; e > 0; e -= 2) set.add(Position.of(6, e - 1), Position.of(6, e));
    // Front inserts (ledger 5, descending) and back inserts (ledger 7, ascending), interleaved in batches so
    // both see the same machine load: with free slots in front they cost about the same (measured ~1×); the
    // bound is loose so a loaded machine cannot fail it.
    const [frontMs, backMs] = timeInterleaved(
      10,
      1000,
      (i) => ack(set, 5, 20000 - 2 * i),
      (i) => ack(set, 7, 2 * i + 2),
    );
    expect(frontMs).toBeLessThan(20 * backMs + 20);
    const text = set.toString();
    expect(text.startsWith('[(5:1..5:2],(5:3..5:4],')).toBe(true);
    expect(text).toContain('(5:19999..5:20000],(6:1..6:2]');
    expect(text).toContain('(6:79999..6:80000],(7:1..7:2]');
    expect(text.endsWith('(7:19999..7:20000]]')).toBe(true);
    expect(set.size).toBe(60000);
    expect(set.countEntries(count)).toBe(60000);
  });

  it('inserts in the middle of 100,000 ranges about as cheaply as at the back', () => {
    // Every other entry of ledger 6 acknowledged: 100,000 single-entry ranges.
    const set = new PositionRangeSet();
    for (let e = 2; e <= 200000; e += 2) set.add(Position.of(6, e - 1), Position.of(6, e));
    // Middle inserts (ledger 6's odd entries from 100,001 on, which touch two ranges and merge them) and back
    // inserts (ledger 7), interleaved in batches so both see the same machine load. A sorted array moves
    // ~50,000 slots per middle insert (about 100× a back insert, measured); the chunks move at most a chunk.
    const [middleMs, backMs] = timeInterleaved(
      10,
      500,
      (i) => ack(set, 6, 100001 + 4 * i),
      (i) => ack(set, 7, 2 * i + 2),
    );
    expect(middleMs).toBeLessThan(10 * backMs + 20);
    // 5,000 merges took 5,000 ranges away, 5,000 back inserts added as many.
    expect(set.size).toBe(100000);
    expect(set.countEntries(count)).toBe(100000 + 5000 + 5000);
    expect(set.contains(Position.of(6, 100001))).toBe(true);
    expect(set.contains(Position.of(6, 100003))).toBe(false);
    expect(set.rangeContaining(Position.of(6, 100000))).toEqual({
      lower: Position.of(6, 99999),
      upper: Position.of(6, 100002),
    });
    expect(set.last()).toEqual({ lower: Position.of(7, 9999), upper: Position.of(7, 10000) });
  });

  it('orders entry ids beyond 2^53 exactly (they share one double), in any insertion order', () => {
    const base = 1n << 62n;
    const at = (k: number): Position => new Position(9n, base + BigInt(k));
    // Every third entry after base: ranges (k-1, k] for k = 1, 4, 7, ... 58, inserted shuffled, with chunks of 3.
    const ks = Array.from({ length: 20 }, (_, i) => 3 * i + 1);
    const order = fc.sample(fc.shuffledSubarray(ks, { minLength: ks.length }), { numRuns: 1, seed: 3 })[0]!;
    const set = new PositionRangeSet({ chunkRangesMax: 3 });
    for (const k of order) expect(set.add(at(k - 1), at(k))).toBe(true);
    expect(set.toArray()).toEqual(ks.map((k) => ({ lower: at(k - 1), upper: at(k) })));
    expect(set.contains(at(4))).toBe(true);
    expect(set.contains(at(5))).toBe(false);
    expect(set.contains(at(3))).toBe(false);
    // Filling the gaps merges everything into one range.
    for (const k of ks) set.add(at(k), at(k + 2));
    expect(set.toArray()).toEqual([{ lower: at(0), upper: at(60) }]);
    expect(set.add(at(30), at(31))).toBe(false);
  });

  it('rejects an empty range', () => {
    expect(() => new PositionRangeSet().add(Position.of(1, 3), Position.of(1, 3))).toThrow(RangeError);
  });

  it('ends as one range after 20,000 acks in ascending, descending and shuffled order', () => {
    const n = 20000;
    const orders: number[][] = [
      Array.from({ length: n }, (_, i) => i),
      Array.from({ length: n }, (_, i) => n - 1 - i),
      fc.sample(
        fc.shuffledSubarray(
          Array.from({ length: n }, (_, i) => i),
          { minLength: n },
        ),
        { numRuns: 1, seed: 7 },
      )[0]!,
    ];
    for (const order of orders) {
      const set = new PositionRangeSet();
      for (const e of order) set.add(Position.of(5, e - 1), Position.of(5, e));
      expect(set.toArray()).toEqual([{ lower: Position.of(5, -1), upper: Position.of(5, n - 1) }]);
    }
  });

  it('keeps every other entry as separate ranges when acked from both ends, and prunes from the front', () => {
    const set = new PositionRangeSet();
    const n = 2000;
    for (let i = 0; i < n / 2; i++) {
      for (const e of [2 * i, n - 2 - 2 * i]) set.add(Position.of(5, e - 1), Position.of(5, e));
    }
    expect(set.size).toBe(n / 2);
    expect(set.first()).toEqual({ lower: Position.of(5, -1), upper: Position.of(5, 0) });
    expect(set.last()).toEqual({ lower: Position.of(5, n - 3), upper: Position.of(5, n - 2) });
    expect(set.removeAtOrBelow(Position.of(5, n - 3), count)).toBe(n / 2 - 1);
    expect(set.toArray()).toEqual([{ lower: Position.of(5, n - 3), upper: Position.of(5, n - 2) }]);
    expect(set.contains(Position.of(5, n - 2))).toBe(true);
    expect(set.contains(Position.of(5, n - 3))).toBe(false);
  });
});
