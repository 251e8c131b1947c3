import assert from 'node:assert';
import type { LedgerMetadata, LedgerSegment } from '../../metadata';

/**
 * Where entries live and when enough bookies have answered: BookKeeper's RoundRobinDistributionSchedule and its
 * quorum-coverage set, as pure functions over ensemble indexes so the rules can be tested exhaustively.
 */

/** Ensemble indexes of the bookies that store `entryId`: (entryId + i) mod E for i < Qw, in that order. */
export function writeSetIndexes(entryId: bigint, ensembleSize: number, writeQuorumSize: number): number[] {
  assert(
    writeQuorumSize >= 1 && writeQuorumSize <= ensembleSize,
    'need 1 <= writeQuorumSize <= ensembleSize',
  );
  const first = Number(((entryId % BigInt(ensembleSize)) + BigInt(ensembleSize)) % BigInt(ensembleSize));
  const indexes = new Array<number>(writeQuorumSize);
  for (let i = 0; i < writeQuorumSize; i++) indexes[i] = (first + i) % ensembleSize;
  return indexes;
}

/**
 * Quorum coverage: true when every write quorum — each window of Qw consecutive ensemble indexes, wrapping —
 * holds fewer than Qa bookies whose answer is unknown (`answered[i]` false). Then no entry can have reached Qa
 * acknowledgements without at least one answering bookie having seen (or, for a fencing read, refused) it.
 */
export function hasQuorumCoverage(
  answered: readonly boolean[],
  writeQuorumSize: number,
  ackQuorumSize: number,
): boolean {
  const ensembleSize = answered.length;
  assert(
    ackQuorumSize >= 1 && ackQuorumSize <= writeQuorumSize && writeQuorumSize <= ensembleSize,
    'need 1 <= ackQuorumSize <= writeQuorumSize <= ensembleSize',
  );
  for (let start = 0; start < ensembleSize; start++) {
    let unknown = 0;
    for (let i = 0; i < writeQuorumSize; i++) {
      if (!answered[(start + i) % ensembleSize]) unknown++;
    }
    if (unknown >= ackQuorumSize) return false;
  }
  return true;
}

/** The index in `metadata.ensembles` of the segment that stores `entryId` (binary search; entryId >= 0). */
export function segmentIndexFor(metadata: LedgerMetadata, entryId: bigint): number {
  const segments = metadata.ensembles;
  let low = 0;
  let high = segments.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (segments[middle]!.firstEntryId <= entryId) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** The bookie ids of the write set of `entryId`, in write-set order. */
export function writeSetOf(metadata: LedgerMetadata, entryId: bigint): string[] {
  const segment = metadata.ensembles[segmentIndexFor(metadata, entryId)]!;
  return writeSetIndexes(entryId, metadata.ensembleSize, metadata.writeQuorumSize).map(
    (index) => segment.ensemble[index]!,
  );
}

/** The segment entries are appended to (and the one recovery fences). */
export function lastSegment(metadata: LedgerMetadata): LedgerSegment {
  const segment = metadata.ensembles[metadata.ensembles.length - 1];
  assert(segment !== undefined, 'ledger metadata has no ensemble');
  return segment;
}
