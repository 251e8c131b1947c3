import type { Random } from './candidates';

/*
 * Which rack goes at which index of an ensemble, so that every write quorum spans enough racks.
 *
 * Entry e is written to the ensemble indexes (e + i) mod E, i < Qw, so the write quorums are the E windows of Qw
 * consecutive indexes, wrapping around. A rack arrangement is a cyclic sequence of E racks in which each window
 * holds at least `minRacks` distinct racks and no rack appears more often than it has bookies.
 */

export interface RackSpreadProblem {
  /** How many candidate bookies each rack has: rack r has `capacities[r]`. */
  capacities: readonly number[];
  ensembleSize: number;
  writeQuorumSize: number;
  /** Distinct racks every write quorum must span (1 ≤ minRacks ≤ writeQuorumSize). */
  minRacks: number;
  random: Random;
  /** Racks tried at one index or another before the search gives up. Default 10,000 (a few ms). */
  stepsMax?: number;
}

/** A rack per ensemble index; `'impossible'` when the search proved there is none, `'gave-up'` at `stepsMax`. */
export type RackSpread = number[] | 'impossible' | 'gave-up';

/**
 * Finds a rack arrangement by depth-first search with backtracking, so it finds one whenever one exists, unless
 * the search takes more than `stepsMax` steps first. At each index it tries first the racks with the most
 * bookies left (the big racks are the hard ones to fit: taking them as early as the quorums allow leaves the
 * small racks for the places that need them), then the racks not yet in a write quorum with that index, ties
 * broken at random. What keeps the search small:
 * - a rack can take at most Qw − minRacks + 1 places of each write quorum, and each index is in Qw of the E
 *   quorums, so it takes at most ⌊E·(Qw − minRacks + 1)/Qw⌋ indexes in all: capacities are capped at that;
 * - the sum of racks over all quorums has an upper bound (`quorumRackSlotsMax`); below E·minRacks there is no
 *   arrangement and the search does not start;
 * - a partial arrangement is abandoned as soon as a write quorum through the last index cannot reach `minRacks`
 *   even if all its open indexes got new racks;
 * - racks not used yet with the same number of bookies are interchangeable: only one of them is tried.
 * Deciding this is hard in general (it contains pinwheel scheduling), hence the step bound: ensembles of up to 6
 * are always decided (the unit tests check against brute force), and in random trials with ensembles of up to
 * 32 bookies on up to 9 racks about 1 in 200 of the instances gives up, all of them large and tight.
 * The result is rotated by a random offset (rotation keeps every window), so no index is tied to the big rack.
 */
export function spreadRacks(problem: RackSpreadProblem): RackSpread {
  const { ensembleSize: E, writeQuorumSize: Qw, minRacks, random } = problem;
  const stepsMax = problem.stepsMax ?? 10_000;
  const perRackMax = Math.floor((E * (Qw - minRacks + 1)) / Qw);
  const remaining = problem.capacities.map((c) => Math.min(c, perRackMax));
  if (remaining.reduce((sum, c) => sum + c, 0) < E) return 'impossible';
  if (quorumRackSlotsMax(remaining, E, Qw) < E * minRacks) return 'impossible';

  const rackCount = remaining.length;
  const used = new Array<number>(rackCount).fill(0);
  const placed = new Array<number>(E).fill(-1);
  // Scratch marks for counting distinct racks without allocating a set per window.
  const seen = new Array<number>(Math.max(rackCount, E)).fill(0);
  let stamp = 0;
  let steps = 0;
  let gaveUp = false;
  // When E = Qw every window is the whole ensemble: one check is enough.
  const windowsThrough = E === Qw ? 1 : Qw;

  /** True while every write quorum through index `i` can still span `minRacks` racks (indexes ≤ i are placed). */
  const quorumsHold = (i: number): boolean => {
    for (let k = 0; k < windowsThrough; k++) {
      const start = E === Qw ? 0 : i - k;
      stamp++;
      let distinct = 0;
      let open = 0;
      for (let j = 0; j < Qw; j++) {
        const index = (((start + j) % E) + E) % E;
        if (index > i) {
          open++;
          continue;
        }
        const rack = placed[index]!;
        if (seen[rack] !== stamp) {
          seen[rack] = stamp;
          distinct++;
        }
      }
      if (distinct + open < minRacks) return false;
    }
    return true;
  };

  /** How often each rack already sits at a placed index that shares a write quorum with index `i`. */
  const neighbours = (i: number): number[] => {
    const count = new Array<number>(rackCount).fill(0);
    stamp++;
    for (let d = -(Qw - 1); d <= Qw - 1; d++) {
      const index = (((i + d) % E) + E) % E;
      if (d === 0 || index > i || index === i || seen[index] === stamp) continue;
      seen[index] = stamp;
      count[placed[index]!]! += 1;
    }
    return count;
  };

  const choices = (i: number): number[] => {
    const near = neighbours(i);
    const options: Array<{ rack: number; near: number; left: number; key: number }> = [];
    for (let rack = 0; rack < rackCount; rack++) {
      if (remaining[rack]! > 0)
        options.push({ rack, near: near[rack]!, left: remaining[rack]!, key: random() });
    }
    options.sort((a, b) => b.left - a.left || a.near - b.near || a.key - b.key);
    const unusedTried = new Set<number>();
    const out: number[] = [];
    for (const option of options) {
      if (used[option.rack] === 0) {
        if (unusedTried.has(option.left)) continue;
        unusedTried.add(option.left);
      }
      out.push(option.rack);
    }
    return out;
  };

  const place = (i: number): boolean => {
    if (i === E) return true;
    for (const rack of choices(i)) {
      if (++steps > stepsMax) {
        gaveUp = true;
        return false;
      }
      placed[i] = rack;
      remaining[rack]! -= 1;
      used[rack]! += 1;
      if (quorumsHold(i) && place(i + 1)) return true;
      remaining[rack]! += 1;
      used[rack]! -= 1;
      placed[i] = -1;
      if (gaveUp) return false;
    }
    return false;
  };

  if (!place(0)) return gaveUp ? 'gave-up' : 'impossible';
  const offset = Math.floor(random() * E);
  return placed.map((_, index) => placed[(index + offset) % E]!);
}

/**
 * An upper bound on the sum, over the E write quorums, of the racks each spans: a rack placed c times is in at
 * most min(E, Qw·c) quorums. So each of its first ⌊E/Qw⌋ places adds at most Qw, the next one E mod Qw, later
 * ones nothing; the best E places of all racks bound the sum. Every quorum spanning minRacks racks needs
 * E·minRacks.
 */
function quorumRackSlotsMax(capacities: readonly number[], E: number, Qw: number): number {
  const fullPlaces = capacities.reduce((sum, c) => sum + Math.min(c, Math.floor(E / Qw)), 0);
  const partialPlaces = E % Qw === 0 ? 0 : capacities.filter((c) => c > Math.floor(E / Qw)).length;
  const full = Math.min(E, fullPlaces);
  return full * Qw + Math.min(E - full, partialPlaces) * (E % Qw);
}

/** How well the write quorums through `index` spread: the fewest racks of any of them, and their sum. */
export interface QuorumSpread {
  least: number;
  total: number;
}

/**
 * The spread of the write quorums that contain `index`, counting at most `cap` racks per quorum (a quorum
 * already on `cap` racks is as good as one on more).
 */
export function spreadThrough(
  racks: readonly string[],
  index: number,
  writeQuorumSize: number,
  cap: number,
): QuorumSpread {
  const E = racks.length;
  const windows = E === writeQuorumSize ? 1 : writeQuorumSize;
  let least = Infinity;
  let total = 0;
  for (let k = 0; k < windows; k++) {
    const start = E === writeQuorumSize ? 0 : index - k;
    const distinct = new Set<string>();
    for (let j = 0; j < writeQuorumSize; j++) distinct.add(racks[(((start + j) % E) + E) % E]!);
    const spread = Math.min(distinct.size, cap);
    least = Math.min(least, spread);
    total += spread;
  }
  return { least, total };
}
