import fc from 'fast-check';
import {
  decodeEntryLogHeader,
  decodeLedgersMap,
  encodeEntryLogHeader,
  encodeLedgersMap,
  ENTRY_LOG_HEADER_BYTES,
  entryLocation,
  entryLogFileName,
  LEDGERS_MAP_BATCH_MAX,
  locationLogId,
  locationOffset,
  LOG_ID_MAX,
  parseEntryLogFileName,
  StorageError,
} from '../../../../bookie/storage';
import { captureError } from '../../../harness';

describe('bookie > storage > entry log format', () => {
  test('the header is BookKeeper layout: BKLO, version, map offset, ledger count, zero-padded to 1024 bytes', () => {
    const header = encodeEntryLogHeader({ version: 1, ledgersMapOffset: 4096, ledgersCount: 3 });
    expect(header.length).toBe(ENTRY_LOG_HEADER_BYTES);
    expect(header.subarray(0, 20).toString('hex')).toBe(
      '424b4c4f' + '00000001' + '0000000000001000' + '00000003',
    );
    expect(header.subarray(20).every((b) => b === 0)).toBe(true);
    expect(decodeEntryLogHeader(header)).toEqual({ version: 1, ledgersMapOffset: 4096, ledgersCount: 3 });
  });

  test('an all-zero header (never written) reads as "no header"; anything else foreign is refused', () => {
    expect(decodeEntryLogHeader(Buffer.alloc(ENTRY_LOG_HEADER_BYTES))).toBeUndefined();
    const notALog = Buffer.alloc(ENTRY_LOG_HEADER_BYTES, 0x41);
    expect(captureError(() => decodeEntryLogHeader(notALog))).toBeInstanceOf(StorageError);
    const version2 = encodeEntryLogHeader({ version: 1, ledgersMapOffset: 0, ledgersCount: 0 });
    version2.writeInt32BE(2, 4);
    expect(captureError(() => decodeEntryLogHeader(version2))).toMatchObject({ code: 'BadEntryLog' });
  });

  test('the ledgers map is batches of {size, -1, -2, count, (ledgerId, bytes)*} in ascending ledger order', () => {
    const map = encodeLedgersMap(
      new Map([
        [7n, 300],
        [2n, 1028],
      ]),
    );
    expect(map.toString('hex')).toBe(
      '00000034' + // size: 8 + 8 + 4 + 2 * 16 = 52
        'ffffffffffffffff' + // ledgerId -1
        'fffffffffffffffe' + // entryId -2
        '00000002' + // count
        '0000000000000002' +
        '0000000000000404' +
        '0000000000000007' +
        '000000000000012c',
    );
    expect(decodeLedgersMap(map, 2)).toEqual(
      new Map([
        [2n, 1028],
        [7n, 300],
      ]),
    );
  });

  test('more than 10000 ledgers are split into batches of at most 10000', () => {
    const ledgers = new Map<bigint, number>();
    for (let i = 0; i < LEDGERS_MAP_BATCH_MAX * 2 + 5; i++) ledgers.set(BigInt(i * 3), i + 1);
    const map = encodeLedgersMap(ledgers);
    const batchBytes = 4 + 20 + LEDGERS_MAP_BATCH_MAX * 16;
    expect(map.readInt32BE(0)).toBe(20 + LEDGERS_MAP_BATCH_MAX * 16);
    expect(map.readInt32BE(batchBytes + 20)).toBe(LEDGERS_MAP_BATCH_MAX);
    expect(map.readInt32BE(2 * batchBytes + 20)).toBe(5);
    expect(decodeLedgersMap(map, ledgers.size)).toEqual(ledgers);
  });

  test('a truncated, foreign or miscounted map is refused, never half-read', () => {
    const map = encodeLedgersMap(
      new Map([
        [1n, 10],
        [2n, 20],
      ]),
    );
    for (const bad of [map.subarray(0, map.length - 1), map.subarray(0, 10), Buffer.alloc(map.length)]) {
      expect(captureError(() => decodeLedgersMap(bad, 2))).toMatchObject({ code: 'BadLedgersMap' });
    }
    expect(captureError(() => decodeLedgersMap(map, 3))).toMatchObject({ code: 'BadLedgersMap' });
  });

  test('property: any byte string given as a map either decodes or throws a StorageError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 5 }), (bytes, count) => {
        try {
          decodeLedgersMap(Buffer.from(bytes), count);
        } catch (err) {
          expect(err).toBeInstanceOf(StorageError);
        }
      }),
    );
  });

  test('file names are lowercase hex ids, as BookKeeper', () => {
    expect(entryLogFileName(0)).toBe('0.log');
    expect(entryLogFileName(0xabc)).toBe('abc.log');
    expect(parseEntryLogFileName('abc.log')).toBe(0xabc);
    expect(parseEntryLogFileName('lastId')).toBeUndefined();
    expect(parseEntryLogFileName('ABC.log')).toBeUndefined();
  });

  test('a location is logId * 2^32 + offset and round-trips up to the largest log id', () => {
    expect(entryLocation(1, 1028)).toBe(2 ** 32 + 1028);
    const last = entryLocation(LOG_ID_MAX, 2 ** 32 - 1);
    expect(Number.isSafeInteger(last)).toBe(true);
    expect(locationLogId(last)).toBe(LOG_ID_MAX);
    expect(locationOffset(last)).toBe(2 ** 32 - 1);
  });
});
