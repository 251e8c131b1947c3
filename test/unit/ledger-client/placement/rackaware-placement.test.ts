import fc from 'fast-check';
import { silentLogger } from '../../../../common';
import { BKError } from '../../../../ledger-client/errors';
import {
  RackawarePlacementPolicy,
  type RackawareSettings,
} from '../../../../ledger-client/placement/rackaware-placement';
import { captureError } from '../../../harness';
import { fakeView, type FakeView } from './fakes';

const logger = silentLogger();

/** Racks of `rackOf` for `ensemble`, and the number of distinct racks in each write quorum (window of qw). */
function quorumRackCounts(racks: readonly string[], writeQuorumSize: number): number[] {
  return racks.map((_, start) => {
    const quorum = new Set<string>();
    for (let j = 0; j < writeQuorumSize; j++) quorum.add(racks[(start + j) % racks.length]!);
    return quorum.size;
  });
}

/** The fewest racks of any write quorum through `index`. */
function leastRacksThrough(racks: readonly string[], index: number, writeQuorumSize: number): number {
  const E = racks.length;
  const counts = quorumRackCounts(racks, writeQuorumSize);
  let least = Infinity;
  for (let start = 0; start < E; start++) {
    if ((index - start + E) % E < writeQuorumSize) least = Math.min(least, counts[start]!);
  }
  return least;
}

/**
 * The oracle: over every sequence of E racks that the racks' bookie counts allow, the best "fewest racks in a
 * write quorum". Brute force, independent of the policy's search.
 */
function bestPossibleSpread(
  capacities: readonly number[],
  ensembleSize: number,
  writeQuorumSize: number,
): number {
  const left = capacities.slice();
  const sequence: string[] = [];
  let best = 0;
  const extend = (i: number): void => {
    if (i === ensembleSize) {
      best = Math.max(best, Math.min(...quorumRackCounts(sequence, writeQuorumSize)));
      return;
    }
    for (let rack = 0; rack < left.length; rack++) {
      if (left[rack] === 0) continue;
      left[rack]! -= 1;
      sequence[i] = String(rack);
      extend(i + 1);
      left[rack]! += 1;
    }
  };
  extend(0);
  return best;
}

/** A cluster: `sizes[r]` writable bookies on rack /r<r> (rack 0 left out of bookieRacks: /default-rack). */
function cluster(
  sizes: readonly number[],
  readOnly: readonly string[] = [],
): { view: FakeView; bookieRacks: string } {
  const writable: string[] = [];
  const entries: string[] = [];
  sizes.forEach((size, rack) => {
    for (let i = 0; i < size; i++) {
      const bookieId = `10.0.${rack}.${i + 1}:3181`;
      writable.push(bookieId);
      if (rack > 0) entries.push(`${bookieId}=/r${rack}`);
    }
  });
  return { view: fakeView(writable, readOnly), bookieRacks: entries.join(',') };
}

function policyFor(
  view: FakeView,
  settings: Partial<RackawareSettings> & { bookieRacks: string },
  random: () => number = Math.random,
): RackawarePlacementPolicy {
  return new RackawarePlacementPolicy(
    view,
    { minNumRacksPerWriteQuorum: 2, enforceMinNumRacksPerWriteQuorum: false, ...settings },
    logger,
    { random },
  );
}

describe('ledger-client > placement > rackaware', () => {
  describe('bookieRacks', () => {
    test('names each bookie’s rack; a bookie it does not name is on /default-rack', () => {
      const view = fakeView(['a:3181', 'b:3181', 'c:3181']);
      const policy = policyFor(view, { bookieRacks: ' a:3181=/east/r1 , [::1]:3182=/r2' });
      expect(policy.rackOf('a:3181')).toBe('/east/r1');
      expect(policy.rackOf('[::1]:3182')).toBe('/r2');
      expect(policy.rackOf('b:3181')).toBe('/default-rack');
    });

    test.each([
      ['a:3181', 'item 1 "a:3181" has no "="'],
      ['a:3181=/r1,b=/r2', 'item 2 "b=/r2" names bookie "b", not host:port'],
      ['a:0=/r1', 'item 1 "a:0=/r1" names bookie "a:0", not host:port'],
      ['a:70000=/r1', 'names bookie "a:70000", not host:port'],
      ['a:3181=r1', 'item 1 "a:3181=r1" names rack "r1", not a path like /rack1 or /region1/rack1'],
      ['a:3181=/r1/', 'names rack "/r1/"'],
      ['a:3181=/r1,,b:3181=/r2', 'item 2 "" has no "="'],
      ['a:3181=/r1,a:3181=/r2', 'item 2 "a:3181=/r2" names bookie a:3181 again'],
    ])('%s is a ConfigError naming the key and the item', (bookieRacks, why) => {
      const error = captureError(() => policyFor(fakeView([]), { bookieRacks }));
      expect(error).toMatchObject({ name: 'ConfigError', code: 'BadConfig' });
      expect((error as Error).message).toContain(`bookieRacks: `);
      expect((error as Error).message).toContain(why);
      expect((error as Error).message).toContain('expected host:port=/rack[,host:port=/rack...]');
    });

    test('minNumRacksPerWriteQuorum below 1 is a ConfigError naming the key', () => {
      expect(
        captureError(() => policyFor(fakeView([]), { bookieRacks: '', minNumRacksPerWriteQuorum: 0 })),
      ).toMatchObject({
        name: 'ConfigError',
        message: 'minNumRacksPerWriteQuorum=0: expected an integer of at least 1',
      });
    });
  });

  describe('newEnsemble', () => {
    test('three racks of two, E=6 Qw=3 with 3 racks wanted: every write quorum spans all three racks', () => {
      const { view, bookieRacks } = cluster([2, 2, 2]);
      for (let run = 0; run < 30; run++) {
        const policy = policyFor(view, { bookieRacks, minNumRacksPerWriteQuorum: 3 });
        const ensemble = policy.newEnsemble({ ensembleSize: 6, writeQuorumSize: 3, ackQuorumSize: 2 });
        expect(new Set(ensemble).size).toBe(6);
        expect(
          quorumRackCounts(
            ensemble.map((b) => policy.rackOf(b)),
            3,
          ),
        ).toEqual([3, 3, 3, 3, 3, 3]);
      }
    });

    test('a tight fit, two racks of three for E=6 Qw=2: the racks alternate, and the choice still varies', () => {
      const { view, bookieRacks } = cluster([3, 3]);
      const ensembles = new Set<string>();
      for (let run = 0; run < 30; run++) {
        const policy = policyFor(view, { bookieRacks });
        const ensemble = policy.newEnsemble({ ensembleSize: 6, writeQuorumSize: 2, ackQuorumSize: 2 });
        expect(
          quorumRackCounts(
            ensemble.map((b) => policy.rackOf(b)),
            2,
          ),
        ).toEqual([2, 2, 2, 2, 2, 2]);
        ensembles.add(ensemble.join(','));
      }
      expect(ensembles.size).toBeGreaterThan(5);
    });

    test('racks too uneven for the rule: the best spread there is, or NotEnoughBookies when enforced', () => {
      // Five bookies on one rack and one on another cannot alternate around a ring of five: at best the two
      // write quorums through the lone /r1 bookie span two racks.
      const { view, bookieRacks } = cluster([5, 1]);
      const request = { ensembleSize: 5, writeQuorumSize: 2, ackQuorumSize: 2 };
      const lenient = policyFor(view, { bookieRacks });
      const ensemble = lenient.newEnsemble(request);
      expect(new Set(ensemble).size).toBe(5);
      const counts = quorumRackCounts(
        ensemble.map((b) => lenient.rackOf(b)),
        2,
      );
      expect(counts.filter((c) => c === 2)).toHaveLength(2); // the /r1 bookie's two quorums

      const strict = policyFor(view, { bookieRacks, enforceMinNumRacksPerWriteQuorum: true });
      const error = captureError(() => strict.newEnsemble(request));
      expect(error).toBeInstanceOf(BKError);
      expect(error).toMatchObject({
        code: 'NotEnoughBookiesException',
        message:
          'cannot place an ensemble of 5 with every write quorum of 2 on at least 2 racks ' +
          '(enforceMinNumRacksPerWriteQuorum): the 6 usable writable bookies are on /default-rack: 5 bookies, /r1: 1 bookie',
      });
    });

    test('one rack: fine by default; with enforceMinNumRacksPerWriteQuorum it is not enough', () => {
      const view = fakeView(['a:3181', 'b:3181', 'c:3181']);
      const request = { ensembleSize: 3, writeQuorumSize: 2, ackQuorumSize: 2 };
      expect(policyFor(view, { bookieRacks: '' }).newEnsemble(request).sort()).toEqual([
        'a:3181',
        'b:3181',
        'c:3181',
      ]);
      expect(
        captureError(() =>
          policyFor(view, { bookieRacks: '', enforceMinNumRacksPerWriteQuorum: true }).newEnsemble(request),
        ),
      ).toMatchObject({ code: 'NotEnoughBookiesException' });
      // minNumRacksPerWriteQuorum=1 asks for nothing a single rack cannot give.
      expect(
        policyFor(view, {
          bookieRacks: '',
          enforceMinNumRacksPerWriteQuorum: true,
          minNumRacksPerWriteQuorum: 1,
        })
          .newEnsemble(request)
          .sort(),
      ).toEqual(['a:3181', 'b:3181', 'c:3181']);
    });

    test('read-only and excluded bookies are never chosen; too few is NotEnoughBookies naming the counts', () => {
      const { view, bookieRacks } = cluster([2, 2], ['ro:3181']);
      const policy = policyFor(view, { bookieRacks });
      const excludeBookies = new Set(['10.0.1.1:3181']);
      const ensemble = policy.newEnsemble({
        ensembleSize: 3,
        writeQuorumSize: 2,
        ackQuorumSize: 1,
        excludeBookies,
      });
      expect(ensemble.sort()).toEqual(['10.0.0.1:3181', '10.0.0.2:3181', '10.0.1.2:3181']);
      expect(
        captureError(() =>
          policy.newEnsemble({ ensembleSize: 4, writeQuorumSize: 2, ackQuorumSize: 1, excludeBookies }),
        ),
      ).toMatchObject({
        code: 'NotEnoughBookiesException',
        message:
          'not enough bookies for an ensemble of 4: needed 4, have 3 writable (1 more excluded) and 1 read-only',
      });
    });

    test('a large cluster, 5 racks of 20, E=15 Qw=5 with 5 racks wanted: every quorum on 5 racks', () => {
      const { view, bookieRacks } = cluster([20, 20, 20, 20, 20]);
      const policy = policyFor(view, { bookieRacks, minNumRacksPerWriteQuorum: 5 });
      const ensemble = policy.newEnsemble({ ensembleSize: 15, writeQuorumSize: 5, ackQuorumSize: 3 });
      expect(new Set(ensemble).size).toBe(15);
      expect(
        Math.min(
          ...quorumRackCounts(
            ensemble.map((b) => policy.rackOf(b)),
            5,
          ),
        ),
      ).toBe(5);
    });
  });

  describe('replaceBookie', () => {
    test('keeps the quorum spread: the replacement comes from a rack the quorums through its index lack', () => {
      const { view, bookieRacks } = cluster([2, 2, 2]);
      const request = { ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2 };
      const ensemble = ['10.0.0.1:3181', '10.0.1.1:3181', '10.0.2.1:3181'];
      for (let run = 0; run < 20; run++) {
        const policy = policyFor(view, { bookieRacks, minNumRacksPerWriteQuorum: 3 });
        expect(policy.replaceBookie({ ...request, ensemble, index: 1 })).toBe('10.0.1.2:3181');
      }
      // Its rack-mate excluded: the lenient policy takes the best left, the enforcing one refuses.
      const excludeBookies = new Set(['10.0.1.2:3181']);
      const lenient = policyFor(view, { bookieRacks, minNumRacksPerWriteQuorum: 3 });
      expect(['10.0.0.2:3181', '10.0.2.2:3181']).toContain(
        lenient.replaceBookie({ ...request, ensemble, index: 1, excludeBookies }),
      );
      const strict = policyFor(view, {
        bookieRacks,
        minNumRacksPerWriteQuorum: 3,
        enforceMinNumRacksPerWriteQuorum: true,
      });
      expect(
        captureError(() => strict.replaceBookie({ ...request, ensemble, index: 1, excludeBookies })),
      ).toMatchObject({
        code: 'NotEnoughBookiesException',
        bookieId: '10.0.1.1:3181',
        message:
          'cannot replace 10.0.1.1:3181 at index 1 of ensemble [10.0.0.1:3181, 10.0.1.1:3181, 10.0.2.1:3181] keeping ' +
          'every write quorum of 3 on at least 3 racks (enforceMinNumRacksPerWriteQuorum): the best candidate ' +
          'leaves a quorum on 2',
      });
    });

    test('no writable bookie outside the ensemble and the exclusions: NotEnoughBookies', () => {
      const { view, bookieRacks } = cluster([1, 1, 1]);
      const policy = policyFor(view, { bookieRacks });
      const ensemble = ['10.0.0.1:3181', '10.0.1.1:3181', '10.0.2.1:3181'];
      expect(
        captureError(() =>
          policy.replaceBookie({ ensembleSize: 3, writeQuorumSize: 2, ackQuorumSize: 2, ensemble, index: 0 }),
        ),
      ).toMatchObject({ code: 'NotEnoughBookiesException', bookieId: '10.0.0.1:3181' });
    });
  });

  test('property: every write quorum meets the rule whenever some placement can, and replacements keep the best spread', () => {
    const scenario = fc.record({
      rackSizes: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 }),
      readOnly: fc.integer({ min: 0, max: 2 }),
      ensembleSize: fc.integer({ min: 1, max: 6 }),
      writeQuorum: fc.integer({ min: 1, max: 6 }),
      minNumRacksPerWriteQuorum: fc.integer({ min: 1, max: 4 }),
      enforceMinNumRacksPerWriteQuorum: fc.boolean(),
      excluded: fc.array(fc.boolean(), { maxLength: 16 }),
      replaceIndex: fc.nat(),
      alsoExcluded: fc.array(fc.boolean(), { maxLength: 16 }),
      // The policy's random choices come from fast-check too, so a counterexample replays exactly.
      randoms: fc.infiniteStream(fc.noBias(fc.integer({ min: 0, max: 0xffffffff })).map((n) => n / 2 ** 32)),
    });
    fc.assert(
      fc.property(scenario, (s) => {
        const readOnly = Array.from({ length: s.readOnly }, (_, i) => `ro${i}:3181`);
        const { view, bookieRacks } = cluster(s.rackSizes, readOnly);
        const randoms = s.randoms[Symbol.iterator]();
        const policy = policyFor(view, { ...s, bookieRacks }, () => randoms.next().value as number);
        const writable = [...view.writable()];
        const excludeBookies = new Set(writable.filter((_, i) => s.excluded[i] === true));
        const candidates = writable.filter((b) => !excludeBookies.has(b));
        const E = s.ensembleSize;
        const Qw = Math.min(s.writeQuorum, E);
        const request = { ensembleSize: E, writeQuorumSize: Qw, ackQuorumSize: 1, excludeBookies };
        const wanted = Math.min(s.minNumRacksPerWriteQuorum, Qw);

        if (candidates.length < E) {
          expect(captureError(() => policy.newEnsemble(request))).toMatchObject({
            code: 'NotEnoughBookiesException',
          });
          return;
        }
        const rackNames = [...new Set(candidates.map((b) => policy.rackOf(b)))];
        const capacities = rackNames.map(
          (rack) => candidates.filter((b) => policy.rackOf(b) === rack).length,
        );
        const best = bestPossibleSpread(capacities, E, Qw);
        if (s.enforceMinNumRacksPerWriteQuorum && best < wanted) {
          expect(captureError(() => policy.newEnsemble(request))).toMatchObject({
            code: 'NotEnoughBookiesException',
          });
          return;
        }
        const ensemble = policy.newEnsemble(request);
        expect(new Set(ensemble).size).toBe(E);
        for (const bookieId of ensemble) expect(candidates).toContain(bookieId);
        const racks = ensemble.map((b) => policy.rackOf(b));
        expect(Math.min(...quorumRackCounts(racks, Qw))).toBeGreaterThanOrEqual(Math.min(wanted, best));

        // Replace one bookie, with some more bookies excluded (failed ones, say).
        const index = s.replaceIndex % E;
        const moreExcluded = new Set([
          ...excludeBookies,
          ...writable.filter((_, i) => s.alsoExcluded[i] === true),
        ]);
        const replace = { ...request, excludeBookies: moreExcluded, ensemble, index };
        const replacements = writable.filter((b) => !ensemble.includes(b) && !moreExcluded.has(b));
        if (replacements.length === 0) {
          expect(captureError(() => policy.replaceBookie(replace))).toMatchObject({
            code: 'NotEnoughBookiesException',
          });
          return;
        }
        const spreadWith = (bookieId: string): number =>
          Math.min(
            wanted,
            leastRacksThrough(
              racks.map((r, i) => (i === index ? policy.rackOf(bookieId) : r)),
              index,
              Qw,
            ),
          );
        const bestReplacement = Math.max(...replacements.map(spreadWith));
        if (s.enforceMinNumRacksPerWriteQuorum && bestReplacement < wanted) {
          expect(captureError(() => policy.replaceBookie(replace))).toMatchObject({
            code: 'NotEnoughBookiesException',
          });
          return;
        }
        const chosen = policy.replaceBookie(replace);
        expect(replacements).toContain(chosen);
        expect(spreadWith(chosen)).toBe(bestReplacement);
      }),
      { numRuns: 500 },
    );
  });
});
