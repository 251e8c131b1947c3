import { ConfigError, type Logger } from '../../common';
import type { ClientConfig } from '../client-config';
import { parseBookieRacks } from './bookie-racks';
import type { PlacementOptions } from './placement-base';
import type { BookieView, EnsemblePlacementPolicy } from './placement-policy';
import { RackawarePlacementPolicy } from './rackaware-placement';
import { RandomPlacementPolicy } from './random-placement';

/** `ensemblePlacementPolicy` values: our short names, and BookKeeper's class names for the same policies. */
const POLICIES: Readonly<Record<string, 'random' | 'rackaware'>> = {
  random: 'random',
  rackaware: 'rackaware',
  'org.apache.bookkeeper.client.DefaultEnsemblePlacementPolicy': 'random',
  'org.apache.bookkeeper.client.RackawareEnsemblePlacementPolicy': 'rackaware',
};

export type PlacementSettings = Pick<
  ClientConfig,
  | 'ensemblePlacementPolicy'
  | 'reorderReadSequenceEnabled'
  | 'bookieRacks'
  | 'minNumRacksPerWriteQuorum'
  | 'enforceMinNumRacksPerWriteQuorum'
>;

/**
 * The placement policy `ensemblePlacementPolicy` names, placing from `view`. Throws ConfigError naming the key
 * for an unknown policy, a malformed `bookieRacks` (whichever the policy) or a `minNumRacksPerWriteQuorum` below 1.
 */
export function createPlacementPolicy(
  config: PlacementSettings,
  view: BookieView,
  logger: Logger,
  options: PlacementOptions = {},
): EnsemblePlacementPolicy {
  const name = config.ensemblePlacementPolicy.trim();
  const policy = Object.hasOwn(POLICIES, name) ? POLICIES[name] : undefined;
  if (policy === undefined) {
    throw new ConfigError(
      `ensemblePlacementPolicy="${config.ensemblePlacementPolicy}": expected random or rackaware ` +
        `(or BookKeeper's ${Object.keys(POLICIES).slice(2).join(' or ')})`,
    );
  }
  // A malformed bookieRacks is a mistake worth hearing about whichever policy runs today.
  parseBookieRacks(config.bookieRacks);
  const withReorder = { reorder: config.reorderReadSequenceEnabled, ...options };
  if (policy === 'random') return new RandomPlacementPolicy(view, logger, withReorder);
  return new RackawarePlacementPolicy(view, config, logger, withReorder);
}
