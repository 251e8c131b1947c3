import { spreadRacks } from '../../../../ledger-client/placement/rack-spread';

/** The fewest distinct racks in any window of `writeQuorumSize` consecutive indexes, wrapping. */
function fewestRacks(racks: readonly number[], writeQuorumSize: number): number {
  let fewest = Infinity;
  for (let start = 0; start < racks.length; start++) {
    const quorum = new Set<number>();
    for (let j = 0; j < writeQuorumSize; j++) quorum.add(racks[(start + j) % racks.length]!);
    fewest = Math.min(fewest, quorum.size);
  }
  return fewest;
}

describe('ledger-client > placement > rack spread', () => {
  // Feasible, with little or no slack: a greedy pass without backtracking fails on some of them for some draws.
  test.each([
    [[2, 4], 6, 3, 2],
    [[3, 3], 6, 2, 2],
    [[3, 3, 3], 9, 3, 3],
    [[2, 2, 2], 6, 3, 3],
    [[4, 2, 2], 8, 4, 3],
    [[20, 3, 3, 3, 3, 3], 30, 10, 6],
    [[7, 7, 7, 7, 7, 7, 7], 49, 7, 7],
  ])('capacities %j, E=%i Qw=%i, %i racks per quorum: found on every draw', (capacities, E, Qw, minRacks) => {
    for (let draw = 0; draw < 50; draw++) {
      const racks = spreadRacks({
        capacities,
        ensembleSize: E,
        writeQuorumSize: Qw,
        minRacks,
        random: Math.random,
      });
      if (!Array.isArray(racks)) throw new Error(`no arrangement on draw ${draw}: ${racks}`);
      expect(racks).toHaveLength(E);
      expect(fewestRacks(racks, Qw)).toBeGreaterThanOrEqual(minRacks);
      capacities.forEach((capacity, rack) =>
        expect(racks.filter((r) => r === rack).length).toBeLessThanOrEqual(capacity),
      );
    }
  });

  test.each([
    // Every quorum would need the single bookie of the fifth rack.
    [[5, 5, 5, 5, 1], 21, 7, 5],
    // One rack short of a ring of 48 with 7 racks in each of its quorums of 7.
    [[7, 7, 7, 7, 7, 7, 6], 48, 7, 7],
    // Five on one rack cannot alternate with one other around a ring of five.
    [[5, 1], 5, 2, 2],
    [[4, 4, 3, 3], 16, 4, 4],
  ])('capacities %j, E=%i Qw=%i, %i racks per quorum: proven impossible', (capacities, E, Qw, minRacks) => {
    expect(
      spreadRacks({ capacities, ensembleSize: E, writeQuorumSize: Qw, minRacks, random: Math.random }),
    ).toBe('impossible');
  });

  test('a search that would run past stepsMax says it gave up rather than impossible', () => {
    expect(
      spreadRacks({
        capacities: [20, 3, 3, 3, 3, 3],
        ensembleSize: 30,
        writeQuorumSize: 10,
        minRacks: 6,
        random: () => 0.5,
        stepsMax: 5,
      }),
    ).toBe('gave-up');
  });
});
