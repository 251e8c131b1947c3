import { malformedBatch } from './errors';

/**
 * The signed zigzag varints of Kafka's records (Protocol Buffers' sint32/sint64 encoding: 7 bits a byte, low
 * bits first, the high bit set on every byte but the last). A varint is at most 5 bytes, a varlong at most 10.
 * Varlongs are read into numbers: the only varlong is a record's timestamp delta, and one past +-2^52 ms (over
 * 140,000 years) is refused as malformed rather than rounded.
 */

/** Largest zigzag-encoded varlong that a number holds exactly (its decoded value is within +-2^52). */
const VARLONG_ZIGZAG_MAX = 2 ** 53 - 1;

/** A cursor over a byte range; every read checks the range and throws MalformedBatch past its end. */
export class RecordReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start: number,
    public end: number,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  readInt8(): number {
    if (this.pos >= this.end) throw malformedBatch('a record ends before its attributes');
    return this.buf.readInt8(this.pos++);
  }

  readVarint(): number {
    let unsigned = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw malformedBatch('a varint runs past the end of its record');
      const byte = this.buf[this.pos++] as number;
      unsigned |= (byte & 0x7f) << (7 * i);
      if ((byte & 0x80) === 0) return (unsigned >>> 1) ^ -(unsigned & 1);
    }
    throw malformedBatch('a varint is longer than 5 bytes');
  }

  readVarlong(): number {
    let unsigned = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw malformedBatch('a varlong runs past the end of its record');
      const byte = this.buf[this.pos++] as number;
      unsigned += (byte & 0x7f) * scale;
      if (unsigned > VARLONG_ZIGZAG_MAX)
        throw malformedBatch('a varlong is out of the range ledgerline reads');
      if ((byte & 0x80) === 0) return unsigned % 2 === 0 ? unsigned / 2 : -(unsigned + 1) / 2;
      scale *= 128;
    }
    throw malformedBatch('a varlong is longer than 10 bytes');
  }

  /** A view of the next `length` bytes (no copy). */
  readBytes(length: number, what: string): Buffer {
    const start = this.pos;
    this.skipBytes(length, what);
    return this.buf.subarray(start, this.pos);
  }

  /** Steps over the next `length` bytes, checked as readBytes checks them. */
  skipBytes(length: number, what: string): void {
    if (length < 0 || length > this.remaining) {
      throw malformedBatch(`${what} of ${length} bytes does not fit in the ${this.remaining} left`);
    }
    this.pos += length;
  }

  /** Steps over a varint length and that many bytes (-1: null), checked as readNullableBytes checks them. */
  skipNullableBytes(what: string): void {
    const length = this.readVarint();
    if (length !== -1) this.skipBytes(length, what);
  }

  /** A varint length then that many bytes; -1 is null, anything below is malformed. */
  readNullableBytes(what: string): Buffer | null {
    const length = this.readVarint();
    if (length === -1) return null;
    return this.readBytes(length, what);
  }
}

/** Bytes a zigzag varint of `value` (an int32) takes. */
export function sizeOfVarint(value: number): number {
  let unsigned = ((value << 1) ^ (value >> 31)) >>> 0;
  let size = 1;
  while (unsigned >= 0x80) {
    unsigned >>>= 7;
    size++;
  }
  return size;
}

/** Bytes a zigzag varlong of `value` (a safe integer) takes. */
export function sizeOfVarlong(value: number): number {
  let unsigned = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (unsigned >= 0x80) {
    unsigned = Math.floor(unsigned / 128);
    size++;
  }
  return size;
}

/** Writes a zigzag varint of `value` (an int32) at `pos`; returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, value: number): number {
  let unsigned = ((value << 1) ^ (value >> 31)) >>> 0;
  while (unsigned >= 0x80) {
    buf[pos++] = (unsigned & 0x7f) | 0x80;
    unsigned >>>= 7;
  }
  buf[pos++] = unsigned;
  return pos;
}

/** Writes a zigzag varlong of `value` (a safe integer) at `pos`; returns the position after it. */
export function writeVarlong(buf: Buffer, pos: number, value: number): number {
  let unsigned = value >= 0 ? value * 2 : -value * 2 - 1;
  while (unsigned >= 0x80) {
    buf[pos++] = (unsigned % 128) | 0x80;
    unsigned = Math.floor(unsigned / 128);
  }
  buf[pos++] = unsigned;
  return pos;
}
