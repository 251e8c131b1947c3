import { BookieHealth, type BookieHealthOptions } from './bookie-health';
import type { Random } from './candidates';
import type {
  BookieView,
  EnsemblePlacementPolicy,
  PlacementRequest,
  ReplaceRequest,
} from './placement-policy';

export interface PlacementOptions extends BookieHealthOptions {
  /** Numbers in [0, 1) behind every random choice; `Math.random` unless a test seeds its own. */
  random?: Random;
}

/** What both policies share: the view they place from, their randomness, and read ordering by bookie health. */
export abstract class PlacementPolicyBase implements EnsemblePlacementPolicy {
  protected readonly random: Random;
  private readonly health: BookieHealth;

  protected constructor(
    protected readonly view: BookieView,
    options: PlacementOptions,
  ) {
    this.random = options.random ?? Math.random;
    this.health = new BookieHealth(view, options);
  }

  abstract newEnsemble(request: PlacementRequest): string[];
  abstract replaceBookie(request: ReplaceRequest): string;

  readOrder(writeSet: readonly string[]): number[] {
    return this.health.readOrder(writeSet);
  }

  recordFailure(bookieId: string): void {
    this.health.recordFailure(bookieId);
  }

  recordSlow(bookieId: string): void {
    this.health.recordSlow(bookieId);
  }

  recordSuccess(bookieId: string): void {
    this.health.recordSuccess(bookieId);
  }
}
