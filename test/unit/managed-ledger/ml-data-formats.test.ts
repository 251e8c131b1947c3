import fc from 'fast-check';
import {
  Position,
  decodeManagedCursorInfo,
  decodeManagedLedgerInfo,
  decodePositionInfo,
  encodeManagedCursorInfo,
  encodeManagedLedgerInfo,
  encodePositionInfo,
  isManagedLedgerError,
} from '../../../managed-ledger';
import type { ManagedCursorInfo, ManagedLedgerInfo, PositionInfo } from '../../../managed-ledger';

/**
 * MLDataFormats: the three formats round-trip (fast-check over int64 ids, ranges and properties), a PositionInfo
 * and a ManagedCursorInfo encode to the bytes Pulsar's field numbers give (built by hand), and bad bytes fail
 * with MetaStoreException.
 */

const INT64_MAX = (1n << 63n) - 1n;
const ledgerId = fc.bigInt({ min: 0n, max: INT64_MAX });
const entryId = fc.bigInt({ min: -1n, max: INT64_MAX });
const position = fc.tuple(ledgerId, entryId).map(([l, e]) => new Position(l, e));
const range = fc.tuple(position, position).map(([a, b]) => ({ lower: a, upper: b }));
const longProperties = fc
  .uniqueArray(fc.tuple(fc.string(), fc.bigInt({ min: -(1n << 63n), max: INT64_MAX })), {
    selector: ([k]) => k,
    maxLength: 5,
  })
  .map((pairs) => new Map(pairs));
const stringProperties = fc
  .uniqueArray(fc.tuple(fc.string(), fc.string()), { selector: ([k]) => k, maxLength: 5 })
  .map((pairs) => new Map(pairs));
const count = fc.nat({ max: Number.MAX_SAFE_INTEGER });

const positionInfo: fc.Arbitrary<PositionInfo> = fc.record({
  position,
  individualDeletedMessages: fc.array(range, { maxLength: 8 }),
  properties: longProperties,
});

const cursorInfo: fc.Arbitrary<ManagedCursorInfo> = fc.record(
  {
    cursorsLedgerId: fc.oneof(fc.constant(-1n), ledgerId),
    markDelete: position,
    individualDeletedMessages: fc.array(range, { maxLength: 8 }),
    properties: longProperties,
    lastActive: count,
    cursorProperties: stringProperties,
  },
  { requiredKeys: ['cursorsLedgerId', 'individualDeletedMessages', 'properties', 'cursorProperties'] },
);

const ledgerInfo: fc.Arbitrary<ManagedLedgerInfo> = fc.record(
  {
    ledgers: fc.array(fc.record({ ledgerId, entries: count, size: count, timestamp: count }), {
      maxLength: 8,
    }),
    terminatedPosition: position,
    properties: stringProperties,
  },
  { requiredKeys: ['ledgers', 'properties'] },
);

describe('managed-ledger > MLDataFormats', () => {
  it('round-trips PositionInfo, ManagedCursorInfo and ManagedLedgerInfo', () => {
    fc.assert(
      fc.property(positionInfo, cursorInfo, ledgerInfo, (p, c, l) => {
        expect(decodePositionInfo(encodePositionInfo(p))).toEqual(p);
        expect(decodeManagedCursorInfo(encodeManagedCursorInfo(c))).toEqual(c);
        expect(decodeManagedLedgerInfo(encodeManagedLedgerInfo(l))).toEqual(l);
      }),
      { numRuns: 300 },
    );
  });

  it("encodes a PositionInfo with Pulsar's field numbers", () => {
    const info: PositionInfo = {
      position: Position.of(3, 5),
      individualDeletedMessages: [{ lower: Position.of(3, 1), upper: Position.of(3, 2) }],
      properties: new Map([['a', 1n]]),
    };
    const expected = Buffer.from(
      [
        [0x08, 0x03], // 1: ledgerId = 3
        [0x10, 0x05], // 2: entryId = 5
        // 3: individualDeletedMessages { 1: lowerEndpoint {3, 1}, 2: upperEndpoint {3, 2} }
        [0x1a, 0x0c, 0x0a, 0x04, 0x08, 0x03, 0x10, 0x01, 0x12, 0x04, 0x08, 0x03, 0x10, 0x02],
        [0x22, 0x05, 0x0a, 0x01, 0x61, 0x10, 0x01], // 4: properties { 1: name "a", 2: value 1 }
      ].flat(),
    );
    expect(encodePositionInfo(info).toString('hex')).toBe(expected.toString('hex'));
    expect(decodePositionInfo(expected)).toEqual(info);
  });

  it('encodes a ManagedCursorInfo without a ledger as cursorsLedgerId -1 (ten-byte varint)', () => {
    const info: ManagedCursorInfo = {
      cursorsLedgerId: -1n,
      markDelete: Position.of(7, -1),
      individualDeletedMessages: [],
      properties: new Map(),
      cursorProperties: new Map([['k', 'v']]),
    };
    const minusOne = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const expected = Buffer.from([
      0x08,
      ...minusOne, // 1: cursorsLedgerId = -1
      0x10,
      0x07, // 2: markDeleteLedgerId = 7
      0x18,
      ...minusOne, // 3: markDeleteEntryId = -1
      0x42,
      0x06,
      0x0a,
      0x01,
      0x6b,
      0x12,
      0x01,
      0x76, // 8: cursorProperties { name "k", value "v" }
    ]);
    expect(encodeManagedCursorInfo(info).toString('hex')).toBe(expected.toString('hex'));
    expect(decodeManagedCursorInfo(expected)).toEqual(info);
  });

  it('fails on bad bytes with MetaStoreException naming what was read', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        for (const decode of [decodePositionInfo, decodeManagedCursorInfo, decodeManagedLedgerInfo]) {
          try {
            decode(bytes, 'the thing');
          } catch (err) {
            expect(isManagedLedgerError(err, 'MetaStoreException')).toBe(true);
            expect((err as Error).message).toContain('the thing');
          }
        }
      }),
      { numRuns: 300 },
    );
    // A required field missing is an error, not a default.
    expect(() => decodePositionInfo(Buffer.from([0x08, 0x03]), 'one field')).toThrow(/one field/);
  });
});
