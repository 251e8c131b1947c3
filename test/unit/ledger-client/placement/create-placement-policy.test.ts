import { silentLogger } from '../../../../common';
import { clientConfig } from '../../../../ledger-client/client-config';
import { createPlacementPolicy } from '../../../../ledger-client/placement/create-placement-policy';
import { RackawarePlacementPolicy } from '../../../../ledger-client/placement/rackaware-placement';
import { RandomPlacementPolicy } from '../../../../ledger-client/placement/random-placement';
import { captureError } from '../../../harness';
import { fakeView } from './fakes';

const logger = silentLogger();
const view = fakeView(['a:3181', 'b:3181', 'c:3181']);

describe('ledger-client > placement > createPlacementPolicy', () => {
  test.each([
    ['random', RandomPlacementPolicy],
    ['rackaware', RackawarePlacementPolicy],
    ['org.apache.bookkeeper.client.DefaultEnsemblePlacementPolicy', RandomPlacementPolicy],
    ['org.apache.bookkeeper.client.RackawareEnsemblePlacementPolicy', RackawarePlacementPolicy],
  ])('ensemblePlacementPolicy=%s', (name, policyClass) => {
    const policy = createPlacementPolicy(clientConfig({ ensemblePlacementPolicy: name }), view, logger);
    expect(policy).toBeInstanceOf(policyClass);
    expect(policy.newEnsemble({ ensembleSize: 3, writeQuorumSize: 2, ackQuorumSize: 2 }).sort()).toEqual([
      'a:3181',
      'b:3181',
      'c:3181',
    ]);
  });

  test('the default is the random policy', () => {
    expect(createPlacementPolicy(clientConfig(), view, logger)).toBeInstanceOf(RandomPlacementPolicy);
  });

  test('any other policy name is a ConfigError naming the key and the choices', () => {
    const error = captureError(() =>
      createPlacementPolicy(clientConfig({ ensemblePlacementPolicy: 'regionaware' }), view, logger),
    );
    expect(error).toMatchObject({ name: 'ConfigError', code: 'BadConfig' });
    expect((error as Error).message).toBe(
      'ensemblePlacementPolicy="regionaware": expected random or rackaware (or BookKeeper\'s ' +
        'org.apache.bookkeeper.client.DefaultEnsemblePlacementPolicy or ' +
        'org.apache.bookkeeper.client.RackawareEnsemblePlacementPolicy)',
    );
    // Not a key of a plain object's prototype either.
    expect(
      captureError(() =>
        createPlacementPolicy(clientConfig({ ensemblePlacementPolicy: 'toString' }), view, logger),
      ),
    ).toMatchObject({ name: 'ConfigError' });
  });

  test('a bad bookieRacks fails at creation, even though only the rack-aware policy reads it', () => {
    for (const ensemblePlacementPolicy of ['random', 'rackaware']) {
      const config = clientConfig({ ensemblePlacementPolicy, bookieRacks: 'a:3181' });
      expect(captureError(() => createPlacementPolicy(config, view, logger))).toMatchObject({
        name: 'ConfigError',
        message: expect.stringContaining('bookieRacks: item 1 "a:3181" has no "="') as unknown,
      });
    }
  });

  test('reorderReadSequenceEnabled=false keeps write-set order for both policies', () => {
    for (const ensemblePlacementPolicy of ['random', 'rackaware']) {
      const on = createPlacementPolicy(clientConfig({ ensemblePlacementPolicy }), view, logger);
      const off = createPlacementPolicy(
        clientConfig({ ensemblePlacementPolicy, reorderReadSequenceEnabled: false }),
        view,
        logger,
      );
      for (const policy of [on, off]) policy.recordFailure('a:3181');
      expect(on.readOrder(['a:3181', 'b:3181'])).toEqual([1, 0]);
      expect(off.readOrder(['a:3181', 'b:3181'])).toEqual([0, 1]);
    }
  });
});
