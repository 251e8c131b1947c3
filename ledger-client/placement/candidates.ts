import { BKError } from '../errors';
import type { BookieView, PlacementRequest, ReplaceRequest } from './placement-policy';

/** A source of numbers in [0, 1): `Math.random` in production, a seeded generator in tests. */
export type Random = () => number;

/**
 * Checks E ≥ Qw ≥ Qa ≥ 1. A request that breaks this is the caller's mistake, reported as
 * IncorrectParameterException rather than a placement that could never be written to.
 */
export function checkQuorums(request: PlacementRequest): void {
  const { ensembleSize, writeQuorumSize, ackQuorumSize } = request;
  const sizes = [ensembleSize, writeQuorumSize, ackQuorumSize];
  if (!sizes.every((n) => Number.isSafeInteger(n) && n >= 1) || ensembleSize < writeQuorumSize) {
    throw new BKError(
      'IncorrectParameterException',
      `bad quorum sizes ensembleSize=${ensembleSize} writeQuorumSize=${writeQuorumSize} ` +
        `ackQuorumSize=${ackQuorumSize}: expected integers with ensembleSize >= writeQuorumSize >= ackQuorumSize >= 1`,
    );
  }
  if (writeQuorumSize < ackQuorumSize) {
    throw new BKError(
      'IncorrectParameterException',
      `bad quorum sizes writeQuorumSize=${writeQuorumSize} < ackQuorumSize=${ackQuorumSize}`,
    );
  }
}

/** Checks a replace request: sizes that fit the ensemble and an index inside it. */
export function checkReplace(request: ReplaceRequest): void {
  const { ensemble, index } = request;
  checkQuorums({ ...request, ensembleSize: ensemble.length });
  if (!Number.isSafeInteger(index) || index < 0 || index >= ensemble.length) {
    throw new BKError(
      'IncorrectParameterException',
      `cannot replace index ${index} of ensemble [${ensemble.join(', ')}]: no such index`,
    );
  }
}

/** The writable bookies of `view` that are in none of the `excluded` collections. */
export function writableCandidates(
  view: BookieView,
  ...excluded: Array<ReadonlySet<string> | readonly string[] | undefined>
): string[] {
  const sets = excluded.map((e) => (e === undefined || e instanceof Set ? e : new Set(e)));
  const out: string[] = [];
  for (const bookieId of view.writable()) {
    if (!sets.some((set) => set?.has(bookieId))) out.push(bookieId);
  }
  return out;
}

/**
 * NotEnoughBookiesException for a new ensemble: how many bookies were needed, how many writable ones were
 * usable, how many more were writable but excluded, and how many are read-only (registered, not for writes).
 */
export function notEnoughForEnsemble(view: BookieView, needed: number, usable: number): BKError {
  const excluded = view.writable().size - usable;
  const more = excluded > 0 ? ` (${excluded} more excluded)` : '';
  return new BKError(
    'NotEnoughBookiesException',
    `not enough bookies for an ensemble of ${needed}: needed ${needed}, ` +
      `have ${usable} writable${more} and ${view.readOnly().size} read-only`,
  );
}

/** NotEnoughBookiesException for a replacement: no writable bookie outside the ensemble and the exclusions. */
export function notEnoughForReplace(view: BookieView, request: ReplaceRequest): BKError {
  const bookieId = request.ensemble[request.index];
  return new BKError(
    'NotEnoughBookiesException',
    `not enough bookies to replace ${bookieId} at index ${request.index} of ensemble ` +
      `[${request.ensemble.join(', ')}]: needed 1, have 0 writable outside the ensemble and the excluded ` +
      `(${view.writable().size} writable in all) and ${view.readOnly().size} read-only`,
    { bookieId },
  );
}

/** `count` distinct elements of `items` chosen uniformly at random (a partial Fisher-Yates shuffle in place). */
export function takeRandom<T>(items: T[], count: number, random: Random): T[] {
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (items.length - i));
    const chosen = items[j]!;
    items[j] = items[i]!;
    items[i] = chosen;
  }
  return items.slice(0, count);
}
