import assert from 'node:assert';
import { MessageDecodeError } from './errors';

/**
 * proto2 wire primitives: varints, 64-bit conversion to and from bigint, bounds-checked reads.
 *
 * Writers take (buf, pos) and return the new position; the caller sized the buffer first, so a write past
 * the end is a bug and asserted. Readers work on a Reader and check every read against the end of the
 * enclosing message, so malformed input becomes a MessageDecodeError and can never read out of range.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_FIXED32 = 5;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
/** Values below this fit a double exactly, so their varints can be built with number arithmetic. */
const SAFE_LIMIT = 1n << 53n;
const TWO_POW_32 = 0x1_0000_0000;

/** Bytes a varint of a non-negative safe integer takes. */
export function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x20_0000) return 3;
  if (value < 0x1000_0000) return 4;
  if (value < 0x8_0000_0000) return 5;
  if (value < 0x400_0000_0000) return 6;
  if (value < 0x2_0000_0000_0000) return 7;
  return 8; // below 2^53, the caller's bound
}

/** Bytes an int32 takes: negative values are sign-extended to 64 bits, hence always 10. */
export function int32Size(value: number): number {
  return value < 0 ? 10 : varintSize(value);
}

/** Bytes an int64/uint64 varint takes. Negative int64 values are two's complement, hence 10. */
export function varint64Size(value: bigint): number {
  if (value >= 0n && value < SAFE_LIMIT) return varintSize(Number(value));
  if (value < 0n) return 10;
  let size = 8;
  for (let rest = value >> 56n; rest > 0n; rest >>= 7n) size++;
  return size;
}

/** Writes a non-negative safe integer as a varint. */
export function writeVarint(buf: Buffer, pos: number, value: number): number {
  // `& 0x7f` reads the low bits correctly for any safe integer; division keeps the high bits exact.
  while (value >= 0x80) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value = value < TWO_POW_32 ? value >>> 7 : Math.floor(value / 128);
  }
  buf[pos++] = value;
  return pos;
}

/** Writes the 64-bit pattern (lo, hi) as a varint, 1 to 10 bytes. */
function writeVarintBits(buf: Buffer, pos: number, lo: number, hi: number): number {
  while (hi !== 0 || lo >= 0x80) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  buf[pos++] = lo;
  return pos;
}

export function writeInt32(buf: Buffer, pos: number, value: number): number {
  assert(Number.isInteger(value) && value >= -0x8000_0000 && value <= 0x7fff_ffff, 'int32 out of range');
  return value >= 0 ? writeVarint(buf, pos, value) : writeVarintBits(buf, pos, value >>> 0, 0xffff_ffff);
}

export function writeUint32(buf: Buffer, pos: number, value: number): number {
  assert(Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff, 'uint32 out of range');
  return writeVarint(buf, pos, value);
}

/** Writes an int64 (signed) or uint64 (unsigned) varint from a bigint. */
export function writeVarint64(buf: Buffer, pos: number, value: bigint, signed: boolean): number {
  if (value >= 0n && value < SAFE_LIMIT) return writeVarint(buf, pos, Number(value));
  assert(
    signed ? value >= INT64_MIN && value <= INT64_MAX : value >= 0n && value <= UINT64_MAX,
    '64-bit value out of range',
  );
  const bits = BigInt.asUintN(64, value);
  return writeVarintBits(buf, pos, Number(bits & 0xffff_ffffn), Number(bits >> 32n));
}

/** A cursor over one frame; `pos` only moves forward and never past the end it was checked against. */
export class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
}

function truncated(type: string, pos: number): MessageDecodeError {
  return new MessageDecodeError(type, pos, 'truncated varint');
}

/**
 * Reads a varint and keeps its low 32 bits, as proto2 does for int32, uint32, enums and keys; the caller
 * applies `| 0` or `>>> 0`. Up to 10 bytes are accepted (negative int32s are sign-extended to 10).
 */
export function readVarint32(r: Reader, end: number, type: string): number {
  const buf = r.buf;
  let pos = r.pos;
  let result = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (pos >= end) throw truncated(type, r.pos);
    const byte = buf[pos++]!;
    if (shift < 32) result |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      r.pos = pos;
      return result;
    }
  }
  throw new MessageDecodeError(type, r.pos, 'varint longer than 10 bytes');
}

/**
 * Reads an int64/uint64 varint as a bigint. The first 7 bytes (49 bits) are gathered in a double, which
 * covers every realistic id and txnId without touching bigint arithmetic; longer varints (negative ids
 * such as entryId -1, or huge values) take the slow path. Bits above 64 are dropped, as in proto2.
 */
export function readVarint64(r: Reader, end: number, type: string, signed: boolean): bigint {
  const buf = r.buf;
  let pos = r.pos;
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    if (pos >= end) throw truncated(type, r.pos);
    const byte = buf[pos++]!;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      r.pos = pos;
      return BigInt(result);
    }
    scale *= 128;
  }
  let big = BigInt(result);
  for (let shift = 49n; shift < 70n; shift += 7n) {
    if (pos >= end) throw truncated(type, r.pos);
    const byte = buf[pos++]!;
    big |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) {
      r.pos = pos;
      return signed ? BigInt.asIntN(64, big) : BigInt.asUintN(64, big);
    }
  }
  throw new MessageDecodeError(type, r.pos, 'varint longer than 10 bytes');
}

/**
 * Reads the length of a length-delimited field and checks it against the bytes left in the enclosing
 * message, so nothing is sliced or allocated on an unchecked length.
 */
export function readLength(r: Reader, end: number, type: string): number {
  const bytes = r.buf;
  const start = r.pos;
  let pos = start;
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw truncated(type, start);
    const byte = bytes[pos++]!;
    // Once past 2^53 the sum is inexact, but it only grows, so the bound check below still rejects it.
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (result > end - pos) {
        throw new MessageDecodeError(
          type,
          start,
          `length ${result} runs past the end (${end - pos} bytes left)`,
        );
      }
      r.pos = pos;
      return result;
    }
    scale *= 128;
  }
  throw new MessageDecodeError(type, start, 'varint longer than 10 bytes');
}

/** Skips a field this schema does not know, so newer peers can add fields. Groups are not supported. */
export function skipField(r: Reader, end: number, wireType: number, type: string): void {
  switch (wireType) {
    case WIRE_VARINT:
      readVarint32(r, end, type);
      return;
    case WIRE_FIXED64:
    case WIRE_FIXED32: {
      const size = wireType === WIRE_FIXED64 ? 8 : 4;
      if (end - r.pos < size) throw new MessageDecodeError(type, r.pos, `truncated fixed${size * 8}`);
      r.pos += size;
      return;
    }
    case WIRE_LENGTH_DELIMITED: {
      const length = readLength(r, end, type);
      r.pos += length;
      return;
    }
    default:
      throw new MessageDecodeError(type, r.pos, `unsupported wire type ${wireType}`);
  }
}
