/**
 * The GET_LIST_OF_ENTRIES_OF_LEDGER encoding (BookKeeper's AvailabilityOfEntriesOfLedger): golden bytes,
 * round trips of arbitrary entry sets, membership without expansion, Java-style unmerged groups, bad input.
 */
import fc from 'fast-check';
import {
  ENTRIES_AVAILABILITY_HEADER_BYTES,
  MessageDecodeError,
  decodeEntriesAvailability,
  encodeEntriesAvailability,
  groupEntryIds,
} from '../../../../protocol';

/** Header + groups, written field by field as the Java serializer does. */
function javaBytes(groups: [bigint, bigint, number, number][]): Buffer {
  const bytes = Buffer.alloc(64 + 24 * groups.length);
  bytes.writeInt32BE(0, 0);
  bytes.writeInt32BE(groups.length, 4);
  groups.forEach(([first, last, size, period], i) => {
    const pos = 64 + 24 * i;
    bytes.writeBigInt64BE(first, pos);
    bytes.writeBigInt64BE(last, pos + 8);
    bytes.writeInt32BE(size, pos + 16);
    bytes.writeInt32BE(period, pos + 20);
  });
  return bytes;
}

describe('bookie > core > entries availability > encoding', () => {
  it('writes the 64-byte header and 24-byte groups, big-endian (golden bytes)', () => {
    expect(encodeEntriesAvailability([1n, 3n, 4n])).toEqual(
      javaBytes([
        [1n, 1n, 1, 0],
        [3n, 3n, 2, 0],
      ]),
    );
    expect(encodeEntriesAvailability([])).toEqual(Buffer.alloc(ENTRIES_AVAILABILITY_HEADER_BYTES));
  });

  it('merges runs of one size at a fixed period into one group (a striped ledger)', () => {
    expect(encodeEntriesAvailability([0n, 1n, 3n, 4n, 6n, 7n, 9n, 10n])).toEqual(javaBytes([[0n, 9n, 2, 3]]));
    expect(groupEntryIds([0n, 3n, 6n, 7n])).toEqual([
      { firstSequenceStart: 0n, lastSequenceStart: 3n, sequenceSize: 1, sequencePeriod: 3 },
      { firstSequenceStart: 6n, lastSequenceStart: 6n, sequenceSize: 2, sequencePeriod: 0 },
    ]);
  });

  it('reads the unmerged groups a Java bookie sends as the same set', () => {
    const decoded = decodeEntriesAvailability(
      javaBytes([
        [0n, 0n, 2, 0],
        [3n, 3n, 2, 0],
        [6n, 6n, 2, 0],
      ]),
    );
    expect([...decoded.entryIds()]).toEqual([0n, 1n, 3n, 4n, 6n, 7n]);
    expect(decoded.totalEntries).toBe(6n);
  });

  it('round-trips any ascending set of entry ids, and answers membership like the set', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.bigInt({ min: 0n, max: 200n }), { maxLength: 120 }),
        fc.array(fc.bigInt({ min: -5n, max: 210n }), { maxLength: 30 }),
        (ids, probes) => {
          const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
          const decoded = decodeEntriesAvailability(encodeEntriesAvailability(sorted));
          expect([...decoded.entryIds()]).toEqual(sorted);
          expect(decoded.totalEntries).toBe(BigInt(sorted.length));
          const set = new Set(sorted);
          for (const probe of [...probes, ...sorted])
            expect(decoded.isEntryAvailable(probe)).toBe(set.has(probe));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses input that is not an ascending id list', () => {
    expect(() => encodeEntriesAvailability([3n, 1n])).toThrow(RangeError);
  });
});

describe('bookie > core > entries availability > bad input', () => {
  const cases: [string, Buffer][] = [
    ['a short header', Buffer.alloc(10)],
    ['an unknown header version', Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.alloc(60)])],
    ['more groups than bytes', javaBytes([[0n, 0n, 1, 0]]).subarray(0, 80)],
    [
      'a negative group count',
      (() => {
        const b = Buffer.alloc(64);
        b.writeInt32BE(-1, 4);
        return b;
      })(),
    ],
    ['a zero sequence size', javaBytes([[0n, 0n, 0, 0]])],
    ['a negative period', javaBytes([[0n, 4n, 1, -2]])],
    ['a period not dividing the span', javaBytes([[0n, 5n, 1, 3]])],
    ['last start before first', javaBytes([[5n, 0n, 1, 5]])],
    ['period 0 with two sequences', javaBytes([[0n, 5n, 1, 0]])],
    [
      'overlapping groups',
      javaBytes([
        [0n, 0n, 5, 0],
        [3n, 3n, 1, 0],
      ]),
    ],
  ];
  it.each(cases)('throws MessageDecodeError on %s', (_name, bytes) => {
    expect(() => decodeEntriesAvailability(bytes)).toThrow(MessageDecodeError);
  });

  it('never throws anything else on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (raw) => {
        try {
          decodeEntriesAvailability(Buffer.from(raw));
        } catch (error) {
          expect(error).toBeInstanceOf(MessageDecodeError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
