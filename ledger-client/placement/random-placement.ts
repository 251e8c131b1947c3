import type { Logger } from '../../common';
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

/**
 * BookKeeper's DefaultEnsemblePlacementPolicy: an ensemble is `ensembleSize` distinct writable bookies drawn
 * uniformly at random, and a replacement is any writable bookie outside the ensemble and the exclusions.
 */
export class RandomPlacementPolicy extends PlacementPolicyBase {
  private readonly logger: Logger;

  constructor(view: BookieView, logger: Logger, options: PlacementOptions = {}) {
    super(view, options);
    this.logger = logger.child({ component: 'random-placement' });
  }

  newEnsemble(request: PlacementRequest): string[] {
    checkQuorums(request);
    const candidates = writableCandidates(this.view, request.excludeBookies);
    if (candidates.length < request.ensembleSize) {
      throw notEnoughForEnsemble(this.view, request.ensembleSize, candidates.length);
    }
    const ensemble = takeRandom(candidates, request.ensembleSize, this.random);
    this.logger.debug({ ensemble }, 'placed ensemble');
    return ensemble;
  }

  replaceBookie(request: ReplaceRequest): string {
    checkReplace(request);
    const candidates = writableCandidates(this.view, request.ensemble, request.excludeBookies);
    if (candidates.length === 0) throw notEnoughForReplace(this.view, request);
    return takeRandom(candidates, 1, this.random)[0]!;
  }
}
