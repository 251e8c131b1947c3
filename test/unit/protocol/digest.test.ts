/**
 * Packed entries and digests: golden bytes per digest type worked out from the format, round trips, and each
 * verification failure reported as its own typed error.
 */
import { createHash, createHmac } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { captureError } from '../../harness';
import {
  DigestManager,
  DigestMismatchError,
  DigestType,
  ENTRY_METADATA_LENGTH,
  EntryIdMismatchError,
  EntryVerificationError,
  LedgerIdMismatchError,
  MalformedEntryError,
  ProtocolError,
  digestLength,
  masterKey,
  readEntryId,
  readLastAddConfirmed,
  readLedgerId,
} from '../../../protocol';

/** Bit-by-bit reflected CRC, straight from the definition, to check the fast implementations against. */
function referenceCrc(polynomial: number, bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ polynomial : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
const CASTAGNOLI = 0x82f63b78;
const IEEE = 0xedb88320;
const CHECK = Buffer.from('123456789');

const PASSWORD = Buffer.from('secret');
const PAYLOAD = Buffer.from('123456789');

// The entry used by every golden test: ledger 7, its first entry (0), no LAC yet (-1), cumulative length 9.
// prettier-ignore
const HEADER = Buffer.from([
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, // ledgerId 7
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // entryId 0
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // lastAddConfirmed -1, two's complement
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, // length 9 = this payload's 9 bytes
]);

function pack(type: DigestType): Buffer {
  return DigestManager.create(7n, PASSWORD, type).packEntry(0n, -1n, 9n, PAYLOAD);
}

describe('protocol > digest > checksums', () => {
  it('the CRC implementations give the standard check values for "123456789"', () => {
    expect(referenceCrc(CASTAGNOLI, CHECK)).toBe(0xe3069283);
    expect(crc32c(CHECK)).toBe(0xe3069283);
    expect(referenceCrc(IEEE, CHECK)).toBe(0xcbf43926);
    expect(zlibCrc32(CHECK)).toBe(0xcbf43926);
  });

  it('digest sizes per type', () => {
    expect(
      [DigestType.CRC32, DigestType.HMAC, DigestType.CRC32C, DigestType.DUMMY].map(digestLength),
    ).toEqual([8, 20, 4, 0]);
    expect(() => digestLength(9 as DigestType)).toThrow(ProtocolError);
  });
});

describe('protocol > digest > golden packed entries', () => {
  // Every packed entry is HEADER | digest | "123456789"; the digest covers HEADER ‖ payload (41 bytes).
  // The expected digests below were computed from that concatenation with the bit-by-bit reference CRC
  // (and HMAC-SHA1 for HMAC), independently of the code under test; the tests recompute them too.
  const covered = Buffer.concat([HEADER, PAYLOAD]);

  it('CRC32C: 4-byte digest, CRC32C(header ‖ payload) = 0x4578d1c2', () => {
    expect(referenceCrc(CASTAGNOLI, covered)).toBe(0x4578d1c2);
    expect(pack(DigestType.CRC32C)).toEqual(
      Buffer.concat([HEADER, Buffer.from([0x45, 0x78, 0xd1, 0xc2]), PAYLOAD]),
    );
  });

  it('CRC32: 8-byte digest, the 32-bit CRC written as a long (upper 4 bytes zero) = 0x00000000e821fa6e', () => {
    expect(referenceCrc(IEEE, covered)).toBe(0xe821fa6e);
    expect(pack(DigestType.CRC32)).toEqual(
      Buffer.concat([HEADER, Buffer.from([0, 0, 0, 0, 0xe8, 0x21, 0xfa, 0x6e]), PAYLOAD]),
    );
  });

  it('HMAC: 20-byte HMAC-SHA1 keyed with SHA1("mac" ‖ password)', () => {
    const key = createHash('sha1').update('macsecret').digest();
    const mac = createHmac('sha1', key).update(covered).digest();
    expect(mac.toString('hex')).toBe('a3fcce0ed28c59d0c7b442b7dfd63ad91a768eb7');
    expect(pack(DigestType.HMAC)).toEqual(Buffer.concat([HEADER, mac, PAYLOAD]));
  });

  it('DUMMY: no digest bytes at all', () => {
    expect(pack(DigestType.DUMMY)).toEqual(Buffer.concat([HEADER, PAYLOAD]));
  });

  it('packEntryParts gives the same bytes without copying the payload', () => {
    for (const type of [DigestType.CRC32, DigestType.HMAC, DigestType.CRC32C, DigestType.DUMMY]) {
      const parts = DigestManager.create(7n, PASSWORD, type).packEntryParts(0n, -1n, 9n, PAYLOAD);
      expect(parts.payload).toBe(PAYLOAD);
      expect(Buffer.concat([parts.header, parts.payload])).toEqual(pack(type));
    }
  });

  it('master key = SHA1("ledger" ‖ password), SHA1("ledger") for an empty password', () => {
    expect(masterKey(PASSWORD).toString('hex')).toBe('e793cbc379107648537183605cd361d3bb789a39');
    expect(masterKey(Buffer.alloc(0)).toString('hex')).toBe('850bf1071c5e3d8c24235676f8816ae0cbe2f14f');
  });

  it('explicit LAC blob: ledgerId | lac | CRC32C over those 16 bytes', () => {
    const blob = DigestManager.create(7n, PASSWORD, DigestType.CRC32C).packLac(41n);
    // prettier-ignore
    expect(blob).toEqual(Buffer.from([
      0, 0, 0, 0, 0, 0, 0, 0x07, // ledgerId 7
      0, 0, 0, 0, 0, 0, 0, 0x29, // lac 41
      0xdd, 0x1f, 0x01, 0xe2,    // CRC32C of the 16 bytes above
    ]));
    expect(referenceCrc(CASTAGNOLI, blob.subarray(0, 16))).toBe(0xdd1f01e2);
  });

  it('bookie-side helpers read ledgerId, entryId and LAC at offsets 0, 8 and 16', () => {
    const body = pack(DigestType.CRC32C);
    expect([readLedgerId(body), readEntryId(body), readLastAddConfirmed(body)]).toEqual([7n, 0n, -1n]);
    expect(() => readLastAddConfirmed(body.subarray(0, 20))).toThrow(MalformedEntryError);
  });
});

const ALL_TYPES = [DigestType.CRC32, DigestType.HMAC, DigestType.CRC32C, DigestType.DUMMY];

describe('protocol > digest > verification', () => {
  it.each(ALL_TYPES.map((t) => [DigestType[t], t]))('%s: any entry packs and verifies', (_name, type) => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 1n << 62n }),
        fc.bigInt({ min: -1n, max: 1n << 62n }),
        fc.uint8Array({ maxLength: 200 }),
        (entryId, lac, raw) => {
          const manager = DigestManager.create(3n, PASSWORD, type);
          const payload = Buffer.from(raw);
          const body = manager.packEntry(entryId, lac, 1000n, payload);
          const entry = manager.verifyEntry(entryId, body);
          expect(entry).toEqual({ ledgerId: 3n, entryId, lastAddConfirmed: lac, length: 1000n, payload });
          expect(entry.payload.buffer).toBe(body.buffer);
          expect(manager.verifyEntryAnyId(body).entryId).toBe(entryId);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('the header holds ledgerId, entryId, LAC and length as big-endian int64s, for every int64', () => {
    const int64 = fc.oneof(
      fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
      fc.bigInt({ min: -(1n << 54n), max: 1n << 54n }),
      fc.constantFrom(
        -1n,
        0n,
        2n ** 32n - 1n,
        2n ** 32n,
        2n ** 53n - 1n,
        2n ** 53n,
        -(2n ** 53n) + 1n,
        -(2n ** 53n),
      ),
    );
    fc.assert(
      fc.property(int64, int64, int64, int64, (ledgerId, entryId, lac, length) => {
        const body = DigestManager.create(ledgerId, PASSWORD, DigestType.CRC32C).packEntry(
          entryId,
          lac,
          length,
          PAYLOAD,
        );
        const expected = Buffer.alloc(32);
        [ledgerId, entryId, lac, length].forEach((value, i) => expected.writeBigInt64BE(value, i * 8));
        expect(body.subarray(0, 32)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it.each(ALL_TYPES.filter((t) => t !== DigestType.DUMMY).map((t) => [DigestType[t], t]))(
    '%s: a flipped bit anywhere in header, digest or payload is a DigestMismatchError',
    (_name, type) => {
      const manager = DigestManager.create(7n, PASSWORD, type);
      const body = manager.packEntry(0n, -1n, 9n, PAYLOAD);
      for (let bit = 0; bit < body.length * 8; bit++) {
        const corrupt = Buffer.from(body);
        corrupt[bit >> 3]! ^= 1 << (bit & 7);
        expect(() => manager.verifyEntry(0n, corrupt)).toThrow(DigestMismatchError);
      }
    },
  );

  it('an entry of another ledger (valid digest) is a LedgerIdMismatchError', () => {
    const other = DigestManager.create(8n, PASSWORD, DigestType.CRC32C).packEntry(0n, -1n, 9n, PAYLOAD);
    const error = captureError(() =>
      DigestManager.create(7n, PASSWORD, DigestType.CRC32C).verifyEntry(0n, other),
    );
    expect(error).toBeInstanceOf(LedgerIdMismatchError);
    expect(error).toMatchObject({ code: 'LedgerIdMismatch', ledgerId: 7n, actualLedgerId: 8n });
  });

  it('another entry than the one asked for is an EntryIdMismatchError, unless reading "the last entry"', () => {
    const manager = DigestManager.create(7n, PASSWORD, DigestType.CRC32C);
    const body = manager.packEntry(5n, 4n, 9n, PAYLOAD);
    const error = captureError(() => manager.verifyEntry(6n, body));
    expect(error).toBeInstanceOf(EntryIdMismatchError);
    expect(error).toMatchObject({ code: 'EntryIdMismatch', expectedEntryId: 6n, actualEntryId: 5n });
    expect(manager.verifyEntryAnyId(body).entryId).toBe(5n);
  });

  it('HMAC with the wrong password is a DigestMismatchError', () => {
    const body = DigestManager.create(7n, PASSWORD, DigestType.HMAC).packEntry(0n, -1n, 9n, PAYLOAD);
    const wrong = DigestManager.create(7n, Buffer.from('guess'), DigestType.HMAC);
    expect(() => wrong.verifyEntry(0n, body)).toThrow(DigestMismatchError);
  });

  it('a CRC32 digest whose upper 4 bytes are not zero does not match', () => {
    const manager = DigestManager.create(7n, PASSWORD, DigestType.CRC32);
    const body = Buffer.from(manager.packEntry(0n, -1n, 9n, PAYLOAD));
    body[ENTRY_METADATA_LENGTH] = 1;
    expect(() => manager.verifyEntry(0n, body)).toThrow(DigestMismatchError);
  });

  it('a body shorter than header plus digest is a MalformedEntryError', () => {
    const manager = DigestManager.create(7n, PASSWORD, DigestType.HMAC);
    expect(() => manager.verifyEntry(0n, Buffer.alloc(51))).toThrow(MalformedEntryError);
    expect(() => manager.verifyLac(Buffer.alloc(35))).toThrow(MalformedEntryError);
  });

  it('LAC blobs verify, and report a flipped bit or another ledger as typed errors', () => {
    for (const type of ALL_TYPES) {
      const manager = DigestManager.create(7n, PASSWORD, type);
      expect(manager.verifyLac(manager.packLac(41n))).toBe(41n);
      expect(manager.verifyLac(manager.packLac(-1n))).toBe(-1n);
      const otherLedger = DigestManager.create(9n, PASSWORD, type).packLac(41n);
      expect(() => manager.verifyLac(otherLedger)).toThrow(LedgerIdMismatchError);
      if (type === DigestType.DUMMY) continue;
      const corrupt = Buffer.from(manager.packLac(41n));
      corrupt[15]! ^= 0x01;
      expect(() => manager.verifyLac(corrupt)).toThrow(DigestMismatchError);
    }
  });

  it('random bytes as an entry: only EntryVerificationError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.constantFrom(...ALL_TYPES), (raw, type) => {
        const manager = DigestManager.create(7n, PASSWORD, type);
        for (const verify of [
          () => manager.verifyEntry(0n, Buffer.from(raw)),
          () => manager.verifyLac(Buffer.from(raw)),
        ]) {
          try {
            verify();
          } catch (error) {
            expect(error).toBeInstanceOf(EntryVerificationError);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
