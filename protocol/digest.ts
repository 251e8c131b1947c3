import assert from 'node:assert';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';
import {
  DigestMismatchError,
  EntryIdMismatchError,
  LedgerIdMismatchError,
  MalformedEntryError,
  ProtocolError,
} from './errors';

/**
 * Packed entries and their digests (BookKeeper's DigestManager).
 *
 * A packed entry — the `body` of an AddRequest and of a ReadResponse — is
 *
 *   ledgerId (8) | entryId (8) | lastAddConfirmed (8) | length (8) | digest (0/4/8/20) | payload
 *
 * all big-endian, `length` being the ledger's cumulative length including this payload. The digest covers the
 * 32-byte header and then the payload; the digest bytes themselves are skipped. Bookies never check digests:
 * they read ledgerId, entryId and LAC from fixed offsets (readLedgerId and friends below). Clients verify on
 * every read.
 *
 * The explicit-LAC blob a WriteLac carries is `ledgerId (8) | lac (8) | digest` over its first 16 bytes.
 */

/** Digest types, numbered as in LedgerMetadataFormat.DigestType (stored in ledger metadata). */
export enum DigestType {
  CRC32 = 1,
  HMAC = 2,
  CRC32C = 3,
  DUMMY = 4,
}

export const ENTRY_METADATA_LENGTH = 32;
export const LAC_METADATA_LENGTH = 16;
export const MASTER_KEY_LENGTH = 20;

const LEDGER_ID_OFFSET = 0;
const ENTRY_ID_OFFSET = 8;
const LAC_OFFSET = 16;
const LENGTH_OFFSET = 24;

/** Digest size in bytes per type. An unknown type (say, from newer metadata) is a ProtocolError. */
export function digestLength(digestType: DigestType): number {
  switch (digestType) {
    case DigestType.CRC32:
      return 8;
    case DigestType.CRC32C:
      return 4;
    case DigestType.HMAC:
      return 20;
    case DigestType.DUMMY:
      return 0;
    default:
      throw new ProtocolError('UnknownDigestType', `unknown digest type ${digestType as number}`);
  }
}

function sha1(prefix: string, password: Uint8Array): Buffer {
  return createHash('sha1').update(prefix, 'latin1').update(password).digest();
}

/**
 * The key a client sends with every add and fencing read: SHA1("ledger" ‖ password), 20 bytes. The bookie
 * remembers it per ledger on first contact and answers EUA to a different one.
 */
export function masterKey(password: Uint8Array): Buffer {
  return sha1('ledger', password);
}

/** A verified packed entry. `payload` is a slice of the body, not a copy. */
export interface VerifiedEntry {
  ledgerId: bigint;
  entryId: bigint;
  lastAddConfirmed: bigint;
  /** The ledger's cumulative length in bytes up to and including this entry. */
  length: bigint;
  payload: Buffer;
}

/** A packed entry as two buffers — header plus digest, then the caller's payload — for a vectored write. */
export interface PackedEntryParts {
  header: Buffer;
  payload: Buffer;
}

/**
 * Packs and verifies entries of one ledger with one digest type. Create one per open ledger handle; it
 * holds the HMAC key, so building it once keeps the SHA1 off the per-entry path.
 */
export class DigestManager {
  readonly ledgerId: bigint;
  readonly digestType: DigestType;
  readonly digestLengthBytes: number;
  private readonly macKey: Buffer | undefined;

  private constructor(ledgerId: bigint, password: Uint8Array, digestType: DigestType) {
    this.ledgerId = ledgerId;
    this.digestType = digestType;
    this.digestLengthBytes = digestLength(digestType);
    this.macKey = digestType === DigestType.HMAC ? sha1('mac', password) : undefined;
  }

  /** `password` only matters for HMAC, whose key is SHA1("mac" ‖ password). */
  static create(ledgerId: bigint, password: Uint8Array, digestType: DigestType): DigestManager {
    assertInt64(ledgerId, 'ledgerId');
    return new DigestManager(ledgerId, password, digestType);
  }

  /**
   * The packed entry in one buffer: one allocation and one copy of the payload, which is what an
   * AddRequest body needs.
   */
  packEntry(entryId: bigint, lastAddConfirmed: bigint, length: bigint, payload: Buffer): Buffer {
    const headerLength = ENTRY_METADATA_LENGTH + this.digestLengthBytes;
    const body = Buffer.allocUnsafe(headerLength + payload.length);
    this.writeHeader(body, entryId, lastAddConfirmed, length, payload);
    payload.copy(body, headerLength);
    return body;
  }

  /** The header and digest only (the payload is not copied), for callers that can write two buffers. */
  packEntryParts(
    entryId: bigint,
    lastAddConfirmed: bigint,
    length: bigint,
    payload: Buffer,
  ): PackedEntryParts {
    const header = Buffer.allocUnsafe(ENTRY_METADATA_LENGTH + this.digestLengthBytes);
    this.writeHeader(header, entryId, lastAddConfirmed, length, payload);
    return { header, payload };
  }

  /**
   * Verifies a packed entry read for `expectedEntryId`: digest first (if it is wrong, nothing else in the
   * body can be trusted), then ledgerId, then entryId. Throws an EntryVerificationError subclass.
   */
  verifyEntry(expectedEntryId: bigint, body: Buffer): VerifiedEntry {
    return this.verify(body, expectedEntryId);
  }

  /**
   * Like verifyEntry without the entryId check, for reads that ask for "the last entry" (entryId -1:
   * LAC discovery and recovery), where the reader cannot know which entry comes back.
   */
  verifyEntryAnyId(body: Buffer): VerifiedEntry {
    return this.verify(body, undefined);
  }

  /** The explicit-LAC blob for a WriteLacRequest body: ledgerId | lac | digest. */
  packLac(lac: bigint): Buffer {
    assertInt64(lac, 'lac');
    const blob = Buffer.allocUnsafe(LAC_METADATA_LENGTH + this.digestLengthBytes);
    blob.writeBigInt64BE(this.ledgerId, LEDGER_ID_OFFSET);
    blob.writeBigInt64BE(lac, ENTRY_ID_OFFSET);
    this.writeDigest(blob, LAC_METADATA_LENGTH, blob.subarray(0, LAC_METADATA_LENGTH), undefined);
    return blob;
  }

  /** Verifies an explicit-LAC blob (ReadLacResponse.lacBody) and returns the LAC it carries. */
  verifyLac(blob: Buffer): bigint {
    const minimum = LAC_METADATA_LENGTH + this.digestLengthBytes;
    if (blob.length < minimum) {
      throw new MalformedEntryError(
        this.ledgerId,
        `LAC blob of ${blob.length} bytes is shorter than ${minimum} (digest type ${DigestType[this.digestType]})`,
      );
    }
    if (!this.digestMatches(blob, LAC_METADATA_LENGTH, blob.subarray(0, LAC_METADATA_LENGTH), undefined)) {
      throw new DigestMismatchError(this.ledgerId, undefined, `ledger ${this.ledgerId}: LAC digest mismatch`);
    }
    const actualLedgerId = blob.readBigInt64BE(LEDGER_ID_OFFSET);
    if (actualLedgerId !== this.ledgerId) throw new LedgerIdMismatchError(this.ledgerId, actualLedgerId);
    return blob.readBigInt64BE(ENTRY_ID_OFFSET);
  }

  private writeHeader(
    target: Buffer,
    entryId: bigint,
    lastAddConfirmed: bigint,
    length: bigint,
    payload: Buffer,
  ): void {
    assertInt64(entryId, 'entryId');
    assertInt64(lastAddConfirmed, 'lastAddConfirmed');
    assertInt64(length, 'length');
    writeInt64(target, this.ledgerId, LEDGER_ID_OFFSET);
    writeInt64(target, entryId, ENTRY_ID_OFFSET);
    writeInt64(target, lastAddConfirmed, LAC_OFFSET);
    writeInt64(target, length, LENGTH_OFFSET);
    this.writeDigest(target, ENTRY_METADATA_LENGTH, target.subarray(0, ENTRY_METADATA_LENGTH), payload);
  }

  /** Computes the digest of `header` then `payload` and writes it at `offset` of `target`. */
  private writeDigest(target: Buffer, offset: number, header: Buffer, payload: Buffer | undefined): void {
    switch (this.digestType) {
      case DigestType.CRC32C: {
        const value = payload === undefined ? crc32c(header) : crc32c(payload, crc32c(header));
        target.writeUInt32BE(value, offset);
        return;
      }
      case DigestType.CRC32: {
        // BookKeeper writes the CRC32 value as a long: four zero bytes, then the value.
        const value = payload === undefined ? zlibCrc32(header) : zlibCrc32(payload, zlibCrc32(header));
        target.writeUInt32BE(0, offset);
        target.writeUInt32BE(value, offset + 4);
        return;
      }
      case DigestType.HMAC:
        this.hmac(header, payload).copy(target, offset);
        return;
      case DigestType.DUMMY:
        return;
    }
  }

  private hmac(header: Buffer, payload: Buffer | undefined): Buffer {
    const mac = createHmac('sha1', this.macKey!).update(header);
    if (payload !== undefined) mac.update(payload);
    return mac.digest();
  }

  private digestMatches(
    received: Buffer,
    offset: number,
    header: Buffer,
    payload: Buffer | undefined,
  ): boolean {
    switch (this.digestType) {
      case DigestType.CRC32C: {
        const value = payload === undefined ? crc32c(header) : crc32c(payload, crc32c(header));
        return received.readUInt32BE(offset) === value;
      }
      case DigestType.CRC32: {
        const value = payload === undefined ? zlibCrc32(header) : zlibCrc32(payload, zlibCrc32(header));
        return received.readUInt32BE(offset) === 0 && received.readUInt32BE(offset + 4) === value;
      }
      case DigestType.HMAC:
        return timingSafeEqual(this.hmac(header, payload), received.subarray(offset, offset + 20));
      case DigestType.DUMMY:
        return true;
    }
  }

  private verify(body: Buffer, expectedEntryId: bigint | undefined): VerifiedEntry {
    const headerLength = ENTRY_METADATA_LENGTH + this.digestLengthBytes;
    if (body.length < headerLength) {
      throw new MalformedEntryError(
        this.ledgerId,
        `entry of ${body.length} bytes is shorter than ${headerLength} (digest type ${DigestType[this.digestType]})`,
      );
    }
    const payload = body.subarray(headerLength);
    if (!this.digestMatches(body, ENTRY_METADATA_LENGTH, body.subarray(0, ENTRY_METADATA_LENGTH), payload)) {
      throw new DigestMismatchError(
        this.ledgerId,
        expectedEntryId,
        `ledger ${this.ledgerId} entry ${expectedEntryId ?? 'last'}: digest mismatch`,
      );
    }
    const ledgerId = body.readBigInt64BE(LEDGER_ID_OFFSET);
    if (ledgerId !== this.ledgerId) throw new LedgerIdMismatchError(this.ledgerId, ledgerId);
    const entryId = body.readBigInt64BE(ENTRY_ID_OFFSET);
    if (expectedEntryId !== undefined && entryId !== expectedEntryId) {
      throw new EntryIdMismatchError(this.ledgerId, expectedEntryId, entryId);
    }
    return {
      ledgerId,
      entryId,
      lastAddConfirmed: body.readBigInt64BE(LAC_OFFSET),
      length: body.readBigInt64BE(LENGTH_OFFSET),
      payload,
    };
  }
}

function assertInt64(value: bigint, name: string): void {
  assert(value >= -(1n << 63n) && value < 1n << 63n, `${name} out of int64 range`);
}

function checkBodyLength(body: Buffer, needed: number, field: string): void {
  if (body.length < needed) {
    throw new MalformedEntryError(undefined, `entry of ${body.length} bytes is too short to hold ${field}`);
  }
}

/** The ledgerId of a packed entry (offset 0), unverified: what a bookie files the entry under. */
export function readLedgerId(body: Buffer): bigint {
  checkBodyLength(body, LEDGER_ID_OFFSET + 8, 'a ledgerId');
  return body.readBigInt64BE(LEDGER_ID_OFFSET);
}

/** The entryId of a packed entry (offset 8), unverified. */
export function readEntryId(body: Buffer): bigint {
  checkBodyLength(body, ENTRY_ID_OFFSET + 8, 'an entryId');
  return body.readBigInt64BE(ENTRY_ID_OFFSET);
}

/** The lastAddConfirmed piggybacked in a packed entry (offset 16), unverified: how a bookie learns the LAC. */
export function readLastAddConfirmed(body: Buffer): bigint {
  checkBodyLength(body, LAC_OFFSET + 8, 'a lastAddConfirmed');
  return body.readBigInt64BE(LAC_OFFSET);
}

const INT53_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const TWO_32 = 2 ** 32;

/**
 * Buffer.writeBigInt64BE without its BigInt arithmetic for values within +-(2^53 - 1), which every id, LAC and
 * length of a real ledger is: the header of each added entry made 12 short-lived BigInts through it, a sixth of
 * what a client appending 64,000 entries/s allocated (bench/client-write under the sampling heap profiler).
 */
function writeInt64(target: Buffer, value: bigint, offset: number): void {
  if (value > INT53_MAX || value < -INT53_MAX) {
    target.writeBigInt64BE(value, offset);
    return;
  }
  const n = Number(value);
  const high = Math.floor(n / TWO_32);
  target.writeInt32BE(high, offset);
  target.writeUInt32BE(n - high * TWO_32, offset + 4);
}
