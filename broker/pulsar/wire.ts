import assert from 'node:assert';
import { PulsarFormatError } from './errors';
import type { PulsarFormatErrorCode } from './errors';

/**
 * A proto2 reader for the decoders on the dispatch path (MessageMetadata, BrokerEntryMetadata): every read is
 * checked against the end of the message being read, so malformed bytes become a PulsarFormatError and never an
 * out-of-range read; 64-bit fields come out as bigint (Java longs) or, for times and counts, as numbers, with no
 * Long objects. protobufjs stays the reference for the same messages (see reference-codec.ts and the tests).
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_FIXED32 = 5;

/** Strings up to this many bytes are decoded in JS when they are ASCII. */
const SHORT_STRING_BYTES = 32;

export class WireReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
    private readonly code: PulsarFormatErrorCode,
    private readonly what: string,
  ) {
    this.pos = start;
  }

  fail(why: string): PulsarFormatError {
    return new PulsarFormatError(this.code, `bad ${this.what}: ${why}`);
  }

  /** A varint's low 32 bits, unsigned (`| 0` for an int32); any varint up to 10 bytes is accepted. */
  varint32(): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw this.fail('varint past the end');
      const byte = this.buf[this.pos++] as number;
      if (shift < 32) value |= (byte & 0x7f) << shift;
      if (byte < 0x80) return value >>> 0;
    }
    throw this.fail('varint longer than 10 bytes');
  }

  /** A varint as a Java long (the bits of a uint64/int64, signed). */
  varint64(): bigint {
    const short = this.shortVarint();
    if (short >= 0) return BigInt(short);
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw this.fail('varint past the end');
      const byte = this.buf[this.pos++] as number;
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asIntN(64, value);
    }
    throw this.fail('varint longer than 10 bytes');
  }

  /** A uint64 varint as a number: exact below 2^53 (times in ms, counts); larger values lose precision. */
  varintNumber(): number {
    const short = this.shortVarint();
    return short >= 0 ? short : Number(BigInt.asUintN(64, this.varint64()));
  }

  /**
   * A varint of at most 7 bytes (49 bits, exact in a double) as a number, the common case; -1, with the position
   * unchanged, when it is longer.
   */
  private shortVarint(): number {
    const start = this.pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw this.fail('varint past the end');
      const byte = this.buf[this.pos++] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    this.pos = start;
    return -1;
  }

  /** The bounds of a length-delimited field's contents; the reader moves past them. */
  delimited(): number {
    const length = this.varint32();
    const start = this.pos;
    if (length > this.end - start) throw this.fail(`length ${length} past the end`);
    this.pos = start + length;
    return start;
  }

  bytes(): Buffer {
    const start = this.delimited();
    return this.buf.subarray(start, this.pos);
  }

  string(): string {
    const start = this.delimited();
    const end = this.pos;
    // Names and keys are short and mostly ASCII: building those in JS beats a call into Buffer's decoder.
    if (end - start > SHORT_STRING_BYTES) return this.buf.toString('utf8', start, end);
    let text = '';
    for (let i = start; i < end; i++) {
      const byte = this.buf[i] as number;
      if (byte >= 0x80) return this.buf.toString('utf8', start, end);
      text += String.fromCharCode(byte);
    }
    return text;
  }

  /** Skips a field of an unknown number (or one read only for its bounds). */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint32();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LENGTH_DELIMITED:
        this.delimited();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw this.fail(`wire type ${wireType}`);
    }
  }

  /** Skips the field of `tag` that the caller does not read (field number 0 is malformed). */
  skipUnknown(tag: number): void {
    if (tag >>> 3 === 0) throw this.fail('field number 0');
    this.skip(tag & 7);
  }

  /** A reader over the contents of the length-delimited field at the position (an embedded message). */
  nested(what: string): WireReader {
    const start = this.delimited();
    return new WireReader(this.buf, start, this.pos, this.code, what);
  }

  /** Checks a known field arrived with the wire type its declaration gives it. */
  expect(wireType: number, expected: number, field: number): void {
    if (wireType !== expected)
      throw this.fail(`field ${field} has wire type ${wireType}, expected ${expected}`);
  }

  private advance(bytes: number): void {
    if (bytes > this.end - this.pos) throw this.fail('field past the end');
    this.pos += bytes;
  }
}

/** A Uint8Array as a Buffer over the same memory (no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const TWO_POW_32 = 0x1_0000_0000;

/**
 * A proto2 writer over one growing buffer, reused from call to call (encoding never awaits, so one writer serves
 * every caller): `reset()`, the write calls in ascending field order (as protobufjs and protobuf-java write, so all
 * three give the same bytes), then `copyTo` or `toBuffer`.
 */
export class WireWriter {
  buf = Buffer.allocUnsafe(4096);
  pos = 0;

  reset(): void {
    this.pos = 0;
  }

  /** A non-negative safe integer as a varint. */
  varint(value: number): void {
    this.ensure(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = v < TWO_POW_32 ? v >>> 7 : Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  /** A 64-bit value's bits (two's complement for a negative one) as a varint. */
  varint64(value: bigint): void {
    if (value >= 0n && value < 0x20_0000_0000_0000n) {
      this.varint(Number(value));
      return;
    }
    this.ensure(10);
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  /** An int32 (a negative one sign-extended to 10 bytes, as proto2 writes it). */
  int32(value: number): void {
    if (value >= 0) this.varint(value);
    else this.varint64(BigInt(value));
  }

  string(value: string): void {
    if (isShortAscii(value)) {
      // Names and keys are short and mostly ASCII: copying those in JS beats a call into Buffer's encoder.
      const length = value.length;
      this.ensure(1 + length);
      this.buf[this.pos++] = length;
      for (let i = 0; i < length; i++) this.buf[this.pos++] = value.charCodeAt(i);
      return;
    }
    const length = Buffer.byteLength(value, 'utf8');
    this.varint(length);
    this.ensure(length);
    this.pos += this.buf.write(value, this.pos, length, 'utf8');
  }

  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** A length-delimited field whose contents `write` produces; its size must be `size` bytes. */
  delimited(size: number, write: () => void): void {
    this.varint(size);
    const start = this.pos;
    write();
    assert.equal(this.pos - start, size, 'a nested message wrote other than the size it was measured at');
  }

  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}

/** Bytes the varint of a non-negative safe integer takes. */
export function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 128)) size++;
  return size;
}

/** Bytes a length-delimited string field's contents take with their length prefix (without the tag). */
export function delimitedStringSize(value: string): number {
  if (isShortAscii(value)) return 1 + value.length;
  const length = Buffer.byteLength(value, 'utf8');
  return varintSize(length) + length;
}

/** True for a string of at most SHORT_STRING_BYTES ASCII characters (its UTF-8 is its char codes, its length < 128). */
function isShortAscii(value: string): boolean {
  if (value.length > SHORT_STRING_BYTES) return false;
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) >= 0x80) return false;
  return true;
}
