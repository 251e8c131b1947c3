import { silentLogger } from '../../../../common';
import { BKError } from '../../../../ledger-client/errors';
import { RandomPlacementPolicy } from '../../../../ledger-client/placement/random-placement';
import { captureError } from '../../../harness';
import { bookies, fakeView } from './fakes';

const logger = silentLogger();
const quorums = { ensembleSize: 3, writeQuorumSize: 2, ackQuorumSize: 2 };

describe('ledger-client > placement > random', () => {
  test('an ensemble is distinct writable bookies, never read-only ones, and every writable one gets chosen', () => {
    const writable = bookies('w', 6);
    const view = fakeView(writable, bookies('ro', 3));
    const policy = new RandomPlacementPolicy(view, logger);
    const chosen = new Map<string, number>();
    for (let run = 0; run < 300; run++) {
      const ensemble = policy.newEnsemble(quorums);
      expect(ensemble).toHaveLength(3);
      expect(new Set(ensemble).size).toBe(3);
      for (const bookieId of ensemble) {
        expect(writable).toContain(bookieId);
        chosen.set(bookieId, (chosen.get(bookieId) ?? 0) + 1);
      }
    }
    // Uniform: each of the 6 is in half of the ensembles, 150 of 300 (σ ≈ 8.7); a skewed draw would show here.
    expect([...chosen.keys()].sort()).toEqual(writable);
    for (const count of chosen.values()) expect(count).toBeGreaterThan(90);
  });

  test('excluded bookies are never chosen', () => {
    const view = fakeView(bookies('w', 5));
    const policy = new RandomPlacementPolicy(view, logger);
    const excludeBookies = new Set(['w1:3181', 'w2:3181']);
    for (let run = 0; run < 50; run++) {
      expect(policy.newEnsemble({ ...quorums, excludeBookies }).sort()).toEqual([
        'w3:3181',
        'w4:3181',
        'w5:3181',
      ]);
    }
  });

  test('too few writable bookies: NotEnoughBookiesException saying how many were needed and what there is', () => {
    const view = fakeView(['w1:3181', 'w2:3181', 'w3:3181'], ['ro1:3181']);
    const policy = new RandomPlacementPolicy(view, logger);
    const error = captureError(() =>
      policy.newEnsemble({ ...quorums, excludeBookies: new Set(['w3:3181']) }),
    );
    expect(error).toBeInstanceOf(BKError);
    expect(error).toMatchObject({ code: 'NotEnoughBookiesException', bkCode: -6, retriable: true });
    expect((error as BKError).message).toBe(
      'not enough bookies for an ensemble of 3: needed 3, have 2 writable (1 more excluded) and 1 read-only',
    );

    const empty = new RandomPlacementPolicy(fakeView([], ['ro1:3181', 'ro2:3181']), logger);
    expect(captureError(() => empty.newEnsemble(quorums))).toMatchObject({
      code: 'NotEnoughBookiesException',
      message: 'not enough bookies for an ensemble of 3: needed 3, have 0 writable and 2 read-only',
    });
  });

  test('quorum sizes that cannot be written are IncorrectParameterException', () => {
    const policy = new RandomPlacementPolicy(fakeView(bookies('w', 5)), logger);
    for (const bad of [
      { ensembleSize: 2, writeQuorumSize: 3, ackQuorumSize: 2 },
      { ensembleSize: 3, writeQuorumSize: 2, ackQuorumSize: 3 },
      { ensembleSize: 3, writeQuorumSize: 0, ackQuorumSize: 0 },
      { ensembleSize: 2.5, writeQuorumSize: 2, ackQuorumSize: 1 },
    ]) {
      expect(captureError(() => policy.newEnsemble(bad))).toMatchObject({
        code: 'IncorrectParameterException',
      });
    }
    const replace = { ...quorums, ensemble: ['w1:3181', 'w2:3181', 'w3:3181'] };
    expect(captureError(() => policy.replaceBookie({ ...replace, index: 3 }))).toMatchObject({
      code: 'IncorrectParameterException',
      message: 'cannot replace index 3 of ensemble [w1:3181, w2:3181, w3:3181]: no such index',
    });
  });

  test('a replacement is writable, outside the ensemble and the exclusions; none left is NotEnoughBookies', () => {
    const view = fakeView(bookies('w', 6), ['ro1:3181']);
    const policy = new RandomPlacementPolicy(view, logger);
    const ensemble = ['w1:3181', 'w2:3181', 'w3:3181'];
    const excludeBookies = new Set(['w4:3181']);
    const seen = new Set<string>();
    for (let run = 0; run < 100; run++) {
      seen.add(policy.replaceBookie({ ...quorums, ensemble, index: 1, excludeBookies }));
    }
    expect([...seen].sort()).toEqual(['w5:3181', 'w6:3181']);

    const error = captureError(() =>
      policy.replaceBookie({ ...quorums, ensemble, index: 1, excludeBookies: new Set(bookies('w', 6)) }),
    );
    expect(error).toMatchObject({
      code: 'NotEnoughBookiesException',
      bookieId: 'w2:3181',
      message:
        'not enough bookies to replace w2:3181 at index 1 of ensemble [w1:3181, w2:3181, w3:3181]: needed 1, ' +
        'have 0 writable outside the ensemble and the excluded (6 writable in all) and 1 read-only',
    });
  });

  test('it places from the view as it is now: a bookie gone read-only is no longer chosen', () => {
    const view = fakeView(bookies('w', 3));
    const policy = new RandomPlacementPolicy(view, logger);
    expect(policy.newEnsemble(quorums).sort()).toEqual(bookies('w', 3));
    view.writableSet.delete('w2:3181');
    view.readOnlySet.add('w2:3181');
    expect(captureError(() => policy.newEnsemble(quorums))).toMatchObject({
      code: 'NotEnoughBookiesException',
    });
    expect(policy.newEnsemble({ ...quorums, ensembleSize: 2 }).sort()).toEqual(['w1:3181', 'w3:3181']);
  });
});
