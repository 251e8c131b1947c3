import { MessageDecodeError } from './errors';

/**
 * The `availabilityOfEntriesOfLedger` bytes of a GET_LIST_OF_ENTRIES_OF_LEDGER response: which entry ids of a
 * ledger a bookie stores, as BookKeeper's AvailabilityOfEntriesOfLedger lays them out (big-endian):
 *
 *   header, 64 bytes:  int headerVersion (0) | int numSequenceGroups | zero padding
 *   then numSequenceGroups groups, 24 bytes each, ascending by firstSequenceStart:
 *     long firstSequenceStart | long lastSequenceStart | int sequenceSize | int sequencePeriod
 *
 * A "sequence" is a run of consecutive entry ids; a group is a series of sequences of the same size whose starts
 * are `sequencePeriod` apart (period 0 = the group holds one sequence). Striped ledgers compress well: a bookie
 * holding entries 0,1, 3,4, 6,7, ... of an E=3, Qw=2 ledger answers with one group {0, last, 2, 3}.
 *
 * BookKeeper's Java encoder, as written, never merges sequences (a one-sequence group has period 0, and its
 * merge test compares the next gap with that 0), so it emits one group per run; its decoder reads merged groups
 * as well. We merge: the bytes are smaller and every decoder reads them as the same set of entries.
 */

export const ENTRIES_AVAILABILITY_HEADER_BYTES = 64;
export const SEQUENCE_GROUP_BYTES = 24;
export const ENTRIES_AVAILABILITY_HEADER_VERSION = 0;

const INT32_MAX = 0x7fff_ffff;

export interface SequenceGroup {
  readonly firstSequenceStart: bigint;
  readonly lastSequenceStart: bigint;
  /** Entries in each sequence of the group. */
  readonly sequenceSize: number;
  /** Distance between the starts of consecutive sequences; 0 when the group holds one sequence. */
  readonly sequencePeriod: number;
}

/** The decoded set of entry ids, answering membership without expanding it. */
export class EntriesAvailability {
  readonly groups: readonly SequenceGroup[];

  constructor(groups: readonly SequenceGroup[]) {
    this.groups = groups;
  }

  /** How many entry ids the groups describe. */
  get totalEntries(): bigint {
    let total = 0n;
    for (const group of this.groups) total += sequencesIn(group) * BigInt(group.sequenceSize);
    return total;
  }

  isEntryAvailable(entryId: bigint): boolean {
    // Binary search for the last group starting at or before entryId.
    let low = 0;
    let high = this.groups.length - 1;
    let found: SequenceGroup | undefined;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const group = this.groups[mid]!;
      if (group.firstSequenceStart <= entryId) {
        found = group;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    if (found === undefined) return false;
    if (entryId >= found.lastSequenceStart + BigInt(found.sequenceSize)) return false;
    const offset = entryId - found.firstSequenceStart;
    const period = found.sequencePeriod === 0 ? offset + 1n : BigInt(found.sequencePeriod);
    return offset % period < BigInt(found.sequenceSize);
  }

  /** Every entry id, ascending. For tests and tools: it expands the whole set. */
  *entryIds(): Generator<bigint> {
    for (const group of this.groups) {
      const step = BigInt(group.sequencePeriod);
      for (let start = group.firstSequenceStart; start <= group.lastSequenceStart; start += step) {
        for (let i = 0n; i < BigInt(group.sequenceSize); i++) yield start + i;
        if (step === 0n) break;
      }
    }
  }
}

function sequencesIn(group: SequenceGroup): bigint {
  if (group.sequencePeriod === 0) return 1n;
  return (group.lastSequenceStart - group.firstSequenceStart) / BigInt(group.sequencePeriod) + 1n;
}

/** Groups `entryIds` (ascending; duplicates ignored) into sequence groups. */
export function groupEntryIds(entryIds: Iterable<bigint>): SequenceGroup[] {
  const groups: SequenceGroup[] = [];
  let group: { first: bigint; last: bigint; size: number; period: number } | undefined;
  let runStart = -1n;
  let runSize = 0;

  const closeRun = (): void => {
    if (runSize === 0) return;
    if (group !== undefined && group.size === runSize) {
      const gap = runStart - group.last;
      const fits = group.period === 0 ? gap <= BigInt(INT32_MAX) : gap === BigInt(group.period);
      if (fits) {
        if (group.period === 0) group.period = Number(gap);
        group.last = runStart;
        return;
      }
    }
    if (group !== undefined) groups.push(toSequenceGroup(group));
    group = { first: runStart, last: runStart, size: runSize, period: 0 };
  };

  let previous: bigint | undefined;
  for (const entryId of entryIds) {
    if (previous !== undefined && entryId <= previous) {
      if (entryId === previous) continue;
      throw new RangeError(`entry ids must ascend: ${entryId} after ${previous}`);
    }
    // A run longer than an int can hold is split; the next run then continues right after it.
    if (runSize > 0 && entryId === runStart + BigInt(runSize) && runSize < INT32_MAX) {
      runSize++;
    } else {
      closeRun();
      runStart = entryId;
      runSize = 1;
    }
    previous = entryId;
  }
  closeRun();
  if (group !== undefined) groups.push(toSequenceGroup(group));
  return groups;
}

function toSequenceGroup(group: {
  first: bigint;
  last: bigint;
  size: number;
  period: number;
}): SequenceGroup {
  return {
    firstSequenceStart: group.first,
    lastSequenceStart: group.last,
    sequenceSize: group.size,
    sequencePeriod: group.period,
  };
}

/** The response bytes for a ledger holding `entryIds` (ascending). */
export function encodeEntriesAvailability(entryIds: Iterable<bigint>): Buffer {
  const groups = groupEntryIds(entryIds);
  const bytes = Buffer.alloc(ENTRIES_AVAILABILITY_HEADER_BYTES + groups.length * SEQUENCE_GROUP_BYTES);
  bytes.writeInt32BE(ENTRIES_AVAILABILITY_HEADER_VERSION, 0);
  bytes.writeInt32BE(groups.length, 4);
  let pos = ENTRIES_AVAILABILITY_HEADER_BYTES;
  for (const group of groups) {
    bytes.writeBigInt64BE(group.firstSequenceStart, pos);
    bytes.writeBigInt64BE(group.lastSequenceStart, pos + 8);
    bytes.writeInt32BE(group.sequenceSize, pos + 16);
    bytes.writeInt32BE(group.sequencePeriod, pos + 20);
    pos += SEQUENCE_GROUP_BYTES;
  }
  return bytes;
}

const TYPE = 'AvailabilityOfEntriesOfLedger';

/**
 * Reads the response bytes. Throws MessageDecodeError on a short buffer, an unknown header version, a group
 * count the bytes do not hold, or a group that cannot describe a set (non-positive size, negative period,
 * last start before first start, a period that does not divide the span, groups out of order or overlapping).
 */
export function decodeEntriesAvailability(bytes: Buffer): EntriesAvailability {
  if (bytes.length < ENTRIES_AVAILABILITY_HEADER_BYTES) {
    throw new MessageDecodeError(TYPE, bytes.length, `${bytes.length} bytes cannot hold the 64-byte header`);
  }
  const version = bytes.readInt32BE(0);
  if (version !== ENTRIES_AVAILABILITY_HEADER_VERSION) {
    throw new MessageDecodeError(TYPE, 0, `unsupported header version ${version}`);
  }
  const count = bytes.readInt32BE(4);
  const available = (bytes.length - ENTRIES_AVAILABILITY_HEADER_BYTES) / SEQUENCE_GROUP_BYTES;
  if (count < 0 || count > available) {
    throw new MessageDecodeError(
      TYPE,
      4,
      `${count} sequence groups claimed, the bytes hold ${Math.floor(available)}`,
    );
  }
  const groups: SequenceGroup[] = [];
  let nextFree: bigint | undefined;
  for (let i = 0; i < count; i++) {
    const pos = ENTRIES_AVAILABILITY_HEADER_BYTES + i * SEQUENCE_GROUP_BYTES;
    const group: SequenceGroup = {
      firstSequenceStart: bytes.readBigInt64BE(pos),
      lastSequenceStart: bytes.readBigInt64BE(pos + 8),
      sequenceSize: bytes.readInt32BE(pos + 16),
      sequencePeriod: bytes.readInt32BE(pos + 20),
    };
    const problem = groupProblem(group, nextFree);
    if (problem !== undefined) throw new MessageDecodeError(TYPE, pos, `sequence group ${i}: ${problem}`);
    groups.push(group);
    nextFree = group.lastSequenceStart + BigInt(group.sequenceSize);
  }
  return new EntriesAvailability(groups);
}

function groupProblem(group: SequenceGroup, nextFree: bigint | undefined): string | undefined {
  const {
    firstSequenceStart: first,
    lastSequenceStart: last,
    sequenceSize: size,
    sequencePeriod: period,
  } = group;
  if (size <= 0) return `sequence size ${size}`;
  if (period < 0) return `sequence period ${period}`;
  if (last < first) return `last sequence start ${last} before first ${first}`;
  if (period === 0 && last !== first) return 'period 0 with more than one sequence';
  if (period !== 0 && (last - first) % BigInt(period) !== 0n) {
    return `period ${period} does not divide the span ${first}..${last}`;
  }
  if (nextFree !== undefined && first < nextFree) return `starts at ${first}, inside the previous group`;
  return undefined;
}
