import { ConfigError, type Logger } from '../../common';
import type { ClientConfig } from '../client-config';
import { BKError } from '../errors';
import { DEFAULT_RACK, parseBookieRacks } from './bookie-racks';
import {
  checkQuorums,
  checkReplace,
  notEnoughForEnsemble,
  notEnoughForReplace,
  takeRandom,
  writableCandidates,
} from './candidates';
import { PlacementPolicyBase, type PlacementOptions } from './placement-base';
import type { BookieView, PlacementRequest, ReplaceRequest } from './placement-policy';
import { spreadRacks, spreadThrough, type QuorumSpread } from './rack-spread';

export type RackawareSettings = Pick<
  ClientConfig,
  'bookieRacks' | 'minNumRacksPerWriteQuorum' | 'enforceMinNumRacksPerWriteQuorum'
>;

/**
 * BookKeeper's RackawareEnsemblePlacementPolicy. Each bookie's rack comes from `bookieRacks` (others are on
 * /default-rack). Every write quorum (Qw consecutive ensemble indexes, wrapping) should span
 * `wanted = min(minNumRacksPerWriteQuorum, Qw)` racks:
 * - by default the policy aims at min(wanted, racks that have usable bookies), and when the bookies are spread
 *   too unevenly for that, takes the best spread there is (the most racks per quorum it can guarantee);
 * - with `enforceMinNumRacksPerWriteQuorum` it places `wanted` racks per quorum or throws
 *   NotEnoughBookiesException (as BookKeeper does, even when the cluster has fewer racks than that).
 * A replacement keeps the spread of the quorums through its index as high as any candidate can.
 */
export class RackawarePlacementPolicy extends PlacementPolicyBase {
  private readonly logger: Logger;
  private readonly racks: ReadonlyMap<string, string>;
  private readonly minRacks: number;
  private readonly enforce: boolean;

  /** Throws ConfigError on a malformed `bookieRacks` or a `minNumRacksPerWriteQuorum` below 1. */
  constructor(view: BookieView, settings: RackawareSettings, logger: Logger, options: PlacementOptions = {}) {
    super(view, options);
    this.logger = logger.child({ component: 'rackaware-placement' });
    this.racks = parseBookieRacks(settings.bookieRacks);
    this.minRacks = settings.minNumRacksPerWriteQuorum;
    if (!Number.isSafeInteger(this.minRacks) || this.minRacks < 1) {
      throw new ConfigError(`minNumRacksPerWriteQuorum=${this.minRacks}: expected an integer of at least 1`);
    }
    this.enforce = settings.enforceMinNumRacksPerWriteQuorum;
  }

  /** The rack `bookieRacks` gives the bookie, else /default-rack. */
  rackOf(bookieId: string): string {
    return this.racks.get(bookieId) ?? DEFAULT_RACK;
  }

  newEnsemble(request: PlacementRequest): string[] {
    checkQuorums(request);
    const { ensembleSize, writeQuorumSize } = request;
    const candidates = writableCandidates(this.view, request.excludeBookies);
    if (candidates.length < ensembleSize)
      throw notEnoughForEnsemble(this.view, ensembleSize, candidates.length);

    const byRack = new Map<string, string[]>();
    for (const bookieId of candidates) {
      const rack = this.rackOf(bookieId);
      const bookies = byRack.get(rack);
      if (bookies === undefined) byRack.set(rack, [bookieId]);
      else bookies.push(bookieId);
    }
    const rackNames = [...byRack.keys()];
    const capacities = rackNames.map((rack) => byRack.get(rack)!.length);
    const wanted = Math.min(this.minRacks, writeQuorumSize);
    const target = this.enforce ? wanted : Math.min(wanted, rackNames.length);

    for (let minRacks = target; minRacks >= (this.enforce ? target : 1); minRacks--) {
      const spread = spreadRacks({
        capacities,
        ensembleSize,
        writeQuorumSize,
        minRacks,
        random: this.random,
      });
      if (spread === 'gave-up') {
        this.logger.warn({ ensembleSize, writeQuorumSize, minRacks }, 'rack placement search gave up');
      }
      if (!Array.isArray(spread)) continue;
      if (minRacks < target) {
        this.logger.warn(
          { ensembleSize, writeQuorumSize, minRacks, target },
          'bookies too unevenly spread over racks: write quorums get fewer racks than configured',
        );
      }
      for (const bookies of byRack.values()) takeRandom(bookies, bookies.length, this.random);
      const ensemble = spread.map((rack) => byRack.get(rackNames[rack]!)!.pop()!);
      this.logger.debug({ ensemble, minRacks }, 'placed ensemble');
      return ensemble;
    }
    throw new BKError(
      'NotEnoughBookiesException',
      `cannot place an ensemble of ${ensembleSize} with every write quorum of ${writeQuorumSize} on at least ` +
        `${target} racks (enforceMinNumRacksPerWriteQuorum): the ${candidates.length} usable writable bookies ` +
        `are on ${describeRacks(byRack)}`,
    );
  }

  replaceBookie(request: ReplaceRequest): string {
    checkReplace(request);
    const { ensemble, index, writeQuorumSize } = request;
    const candidates = writableCandidates(this.view, ensemble, request.excludeBookies);
    if (candidates.length === 0) throw notEnoughForReplace(this.view, request);

    const wanted = Math.min(this.minRacks, writeQuorumSize);
    const racks = ensemble.map((bookieId) => this.rackOf(bookieId));
    const spreadByRack = new Map<string, QuorumSpread>();
    let best: QuorumSpread = { least: -1, total: -1 };
    let bestBookies: string[] = [];
    for (const bookieId of candidates) {
      const rack = this.rackOf(bookieId);
      let spread = spreadByRack.get(rack);
      if (spread === undefined) {
        racks[index] = rack;
        spread = spreadThrough(racks, index, writeQuorumSize, wanted);
        spreadByRack.set(rack, spread);
      }
      const order = spread.least - best.least || spread.total - best.total;
      if (order > 0) {
        best = spread;
        bestBookies = [bookieId];
      } else if (order === 0) {
        bestBookies.push(bookieId);
      }
    }
    if (this.enforce && best.least < wanted) {
      const bookieId = ensemble[index]!;
      throw new BKError(
        'NotEnoughBookiesException',
        `cannot replace ${bookieId} at index ${index} of ensemble [${ensemble.join(', ')}] keeping every write ` +
          `quorum of ${writeQuorumSize} on at least ${wanted} racks (enforceMinNumRacksPerWriteQuorum): ` +
          `the best candidate leaves a quorum on ${best.least}`,
        { bookieId },
      );
    }
    return takeRandom(bestBookies, 1, this.random)[0]!;
  }
}

/** `/rack1: 3 bookies, /rack2: 1 bookie` */
function describeRacks(byRack: ReadonlyMap<string, readonly string[]>): string {
  return [...byRack]
    .map(([rack, bookies]) => `${rack}: ${bookies.length} bookie${bookies.length === 1 ? '' : 's'}`)
    .join(', ');
}
