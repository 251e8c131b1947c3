/**
 * Ensemble placement (BookKeeper's EnsemblePlacementPolicy): which bookies store a new ledger, which bookie
 * replaces a failed one, and in which order to try the replicas of an entry when reading.
 */

export interface PlacementRequest {
  ensembleSize: number;
  writeQuorumSize: number;
  ackQuorumSize: number;
  /** Bookies that must not be chosen (for example the ones already in the ensemble, or failed ones). */
  excludeBookies?: ReadonlySet<string>;
}

export interface ReplaceRequest extends PlacementRequest {
  /** The current ensemble, in order. */
  ensemble: readonly string[];
  /** The index in `ensemble` of the bookie to replace. */
  index: number;
}

export interface EnsemblePlacementPolicy {
  /**
   * Chooses `ensembleSize` distinct writable bookies. Throws BKError('NotEnoughBookiesException') naming how
   * many were needed and how many were available.
   */
  newEnsemble(request: PlacementRequest): string[];
  /** A writable bookie not in the ensemble and not excluded, to take the place of `ensemble[index]`. */
  replaceBookie(request: ReplaceRequest): string;
  /**
   * The order to try the write set of an entry in when reading: healthy bookies (writable or read-only) first
   * in write-set order, then ones recently slow, then recently failed, then unregistered ones last
   * (reorderReadSequence). Returns indexes into `writeSet`.
   */
  readOrder(writeSet: readonly string[]): number[];
  /** Readers and writers report what they saw, so readOrder can move slow or failed bookies last. */
  recordFailure(bookieId: string): void;
  recordSlow(bookieId: string): void;
  recordSuccess(bookieId: string): void;
}

/** The view of the cluster a policy places from: kept current by a watch on the bookie registrations. */
export interface BookieView {
  writable(): ReadonlySet<string>;
  readOnly(): ReadonlySet<string>;
}
