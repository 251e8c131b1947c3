/**
 * The placement and quorum rules reads and recovery stand on, checked exhaustively for every ensemble up to 5
 * bookies against definitions written independently: the write set of an entry, and quorum coverage ("no Qa
 * bookies of any write quorum can all be among the unknown ones").
 */
import {
  hasQuorumCoverage,
  segmentIndexFor,
  writeSetIndexes,
  writeSetOf,
} from '../../../ledger-client/read/distribution';
import { metadataOf } from './read-fakes';

/** Every (E, Qw, Qa) with 1 <= Qa <= Qw <= E <= 5. */
function quorumShapes(): Array<[number, number, number]> {
  const shapes: Array<[number, number, number]> = [];
  for (let e = 1; e <= 5; e++) {
    for (let w = 1; w <= e; w++) for (let a = 1; a <= w; a++) shapes.push([e, w, a]);
  }
  return shapes;
}

function subsets<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  if (items.length < size) return [];
  const [head, ...rest] = items as [T, ...T[]];
  return [...subsets(rest, size - 1).map((s) => [head, ...s]), ...subsets(rest, size)];
}

/** The definition: every Qa-sized subset of every write set holds at least one bookie that answered. */
function coveredByDefinition(answered: boolean[], writeQuorumSize: number, ackQuorumSize: number): boolean {
  const ensembleSize = answered.length;
  for (let first = 0; first < ensembleSize; first++) {
    const writeSet = Array.from({ length: writeQuorumSize }, (_, i) => (first + i) % ensembleSize);
    for (const ackSet of subsets(writeSet, ackQuorumSize)) {
      if (ackSet.every((index) => !answered[index])) return false;
    }
  }
  return true;
}

describe('ledger-client > read > distribution', () => {
  test('the write set of entry e is the Qw ensemble indexes from e mod E on, wrapping', () => {
    for (const [e, w] of quorumShapes()) {
      for (let entryId = 0n; entryId < 3n * BigInt(e); entryId++) {
        const indexes = writeSetIndexes(entryId, e, w);
        expect(indexes).toHaveLength(w);
        expect(new Set(indexes).size).toBe(w);
        indexes.forEach((index, i) => expect(index).toBe(Number((entryId + BigInt(i)) % BigInt(e))));
      }
    }
    // Entry ids past 2^53 keep their exact residue (2^62 + 3 ≡ 2 mod 5; as a double it would be ≡ 4).
    expect(writeSetIndexes((1n << 62n) + 3n, 5, 3)).toEqual([2, 3, 4]);
  });

  test('quorum coverage matches its definition for every answer pattern, E/Qw/Qa up to 5', () => {
    let checked = 0;
    for (const [e, w, a] of quorumShapes()) {
      for (let mask = 0; mask < 1 << e; mask++) {
        const answered = Array.from({ length: e }, (_, i) => (mask & (1 << i)) !== 0);
        expect([e, w, a, mask, hasQuorumCoverage(answered, w, a)]).toEqual([
          e,
          w,
          a,
          mask,
          coveredByDefinition(answered, w, a),
        ]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  test('quorum coverage needs Qw − Qa + 1 answers in every write quorum, and all of them when Qa = 1', () => {
    // E=3, Qw=3, Qa=2: any two bookies answering are enough, one is not.
    expect(hasQuorumCoverage([true, true, false], 3, 2)).toBe(true);
    expect(hasQuorumCoverage([false, true, false], 3, 2)).toBe(false);
    // E=5, Qw=3, Qa=2: one silent bookie is fine; two silent ones in the same window of 3 are not.
    expect(hasQuorumCoverage([true, true, false, true, true], 3, 2)).toBe(true);
    expect(hasQuorumCoverage([true, true, false, false, true], 3, 2)).toBe(false);
    expect(hasQuorumCoverage([false, true, true, false, true], 3, 2)).toBe(false);
    // Qa = 1: one unanswered bookie could hold an acknowledged entry alone.
    expect(hasQuorumCoverage([true, true, false], 2, 1)).toBe(false);
    expect(hasQuorumCoverage([true, true, true], 2, 1)).toBe(true);
  });

  test('an entry is read from the segment that starts at or before it', () => {
    const md = metadataOf(
      [
        { firstEntryId: 0n, ensemble: ['a', 'b', 'c'] },
        { firstEntryId: 10n, ensemble: ['d', 'b', 'c'] },
        { firstEntryId: 25n, ensemble: ['d', 'e', 'f'] },
      ],
      { writeQuorumSize: 2, ackQuorumSize: 2 },
    );
    expect([0n, 9n, 10n, 24n, 25n, 1000n].map((id) => segmentIndexFor(md, id))).toEqual([0, 0, 1, 1, 2, 2]);
    expect(writeSetOf(md, 9n)).toEqual(['a', 'b']);
    expect(writeSetOf(md, 11n)).toEqual(['c', 'd']);
    expect(writeSetOf(md, 26n)).toEqual(['f', 'd']);
  });
});
