import { KafkaProtocolError } from './errors';

/**
 * Kafka's primitive wire types over a Buffer, big-endian. Classic types carry int16 (strings) or int32 (bytes,
 * arrays) lengths with -1 for null; the compact types of flexible versions (KIP-482) carry an unsigned varint of
 * length + 1 with 0 for null. Every length and count is checked against the bytes left before anything is read or
 * allocated for it, so a malformed frame ends in a KafkaProtocolError, never a RangeError or a huge allocation.
 * Bytes come out as views of the frame (no copy); strings are decoded as UTF-8.
 */

const INT16_MAX = 0x7fff;
const INT32_MAX = 0x7fffffff;
/** An unsigned varint for a 32-bit value takes at most 5 bytes. */
const UVARINT_BYTES_MAX = 5;

export class KafkaReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(why: string): KafkaProtocolError {
    return new KafkaProtocolError('MalformedFrame', `malformed Kafka frame: ${why} (at byte ${this.pos})`);
  }

  private need(bytes: number, what: string): void {
    if (this.end - this.pos < bytes) {
      throw this.fail(`${what} needs ${bytes} bytes, ${this.end - this.pos} left`);
    }
  }

  int8(): number {
    this.need(1, 'int8');
    return this.buf.readInt8(this.pos++);
  }

  int16(): number {
    this.need(2, 'int16');
    const value = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  int32(): number {
    this.need(4, 'int32');
    const value = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const value = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  int64(): bigint {
    this.need(8, 'int64');
    const value = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return value;
  }

  /** Kafka reads any non-zero byte as true. */
  boolean(): boolean {
    return this.int8() !== 0;
  }

  /** An unsigned LEB128 varint of at most 32 bits. */
  uvarint(): number {
    let value = 0;
    for (let i = 0; i < UVARINT_BYTES_MAX; i++) {
      if (this.pos >= this.end) throw this.fail('unsigned varint past the end');
      const byte = this.buf[this.pos++] as number;
      value += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) {
        if (value > 0xffffffff) throw this.fail('unsigned varint over 32 bits');
        return value;
      }
    }
    throw this.fail('unsigned varint longer than 5 bytes');
  }

  /** A length or count read from the wire: -1 means null; anything else must be >= 0 and fit in what is left. */
  private checkedLength(length: number, unitBytes: number, what: string): number {
    if (length < -1) throw this.fail(`${what} length ${length}`);
    if (length > 0 && length * unitBytes > this.end - this.pos) {
      throw this.fail(
        `${what} of ${length} needs at least ${length * unitBytes} bytes, ${this.end - this.pos} left`,
      );
    }
    return length;
  }

  /** A classic (int16-length) string; null when the length is -1. */
  nullableString(): string | null {
    const length = this.checkedLength(this.int16(), 1, 'string');
    return length < 0 ? null : this.utf8(length);
  }

  /** A compact (uvarint length + 1) string; null when the varint is 0. */
  compactNullableString(): string | null {
    const length = this.checkedLength(this.uvarint() - 1, 1, 'compact string');
    return length < 0 ? null : this.utf8(length);
  }

  /** A classic (int32-length) byte string as a view of the frame; null when the length is -1. */
  nullableBytes(): Buffer | null {
    const length = this.checkedLength(this.int32(), 1, 'bytes');
    return length < 0 ? null : this.view(length);
  }

  compactNullableBytes(): Buffer | null {
    const length = this.checkedLength(this.uvarint() - 1, 1, 'compact bytes');
    return length < 0 ? null : this.view(length);
  }

  /**
   * An array count (int32, or compact uvarint count + 1); -1 for null. `elementBytesMin` is the least an element
   * can take on the wire, so a count that cannot fit in what is left fails before any element is read.
   */
  arrayLength(compact: boolean, elementBytesMin: number): number {
    const count = compact ? this.uvarint() - 1 : this.int32();
    return this.checkedLength(count, Math.max(1, elementBytesMin), 'array');
  }

  /** A tagged-field section (flexible versions): every field is skipped, since none of ours carries one. */
  skipTaggedFields(): void {
    const count = this.checkedLength(this.uvarint(), 2, 'tagged field section');
    let previousTag = -1;
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      if (tag <= previousTag) throw this.fail(`tagged field ${tag} out of order after ${previousTag}`);
      previousTag = tag;
      const size = this.checkedLength(this.uvarint(), 1, 'tagged field');
      this.pos += size;
    }
  }

  private utf8(length: number): string {
    const value = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  private view(length: number): Buffer {
    const value = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return value;
  }
}

/** Byte strings at least this long are kept as their own chunk instead of being copied into the scratch buffer. */
const LARGE_BYTES_MIN = 1024;
const SCRATCH_BYTES_INITIAL = 512;

/**
 * Writes Kafka primitives into a growing scratch buffer; large byte strings (record batches) are kept as separate
 * chunks so a Fetch response copies each batch once, in {@link KafkaWriter.finish}. The first 4 bytes are reserved
 * for the frame's size prefix, filled in by finish().
 */
export class KafkaWriter {
  private readonly chunks: Buffer[] = [];
  private scratch: Buffer;
  /** Where the current (unflushed) segment of scratch starts, and the next write goes. */
  private segmentStart = 0;
  private pos = 4;
  private flushedBytes = 0;

  constructor(scratchBytes = SCRATCH_BYTES_INITIAL) {
    this.scratch = Buffer.allocUnsafe(Math.max(scratchBytes, 16));
  }

  /** Bytes written so far, size prefix included. */
  get length(): number {
    return this.flushedBytes + this.pos - this.segmentStart;
  }

  private ensure(bytes: number): void {
    if (this.scratch.length - this.pos >= bytes) return;
    this.flush();
    this.scratch = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, bytes));
    this.segmentStart = 0;
    this.pos = 0;
  }

  private flush(): void {
    if (this.pos > this.segmentStart) {
      this.chunks.push(this.scratch.subarray(this.segmentStart, this.pos));
      this.flushedBytes += this.pos - this.segmentStart;
    }
    this.segmentStart = this.pos;
  }

  private invalid(what: string, value: unknown): KafkaProtocolError {
    return new KafkaProtocolError('InvalidValue', `${String(value)} is not ${what}`);
  }

  private integer(value: number, min: number, max: number, what: string): void {
    if (!Number.isInteger(value) || value < min || value > max) throw this.invalid(what, value);
  }

  int8(value: number): void {
    this.integer(value, -0x80, 0x7f, 'an int8');
    this.ensure(1);
    this.pos = this.scratch.writeInt8(value, this.pos);
  }

  int16(value: number): void {
    this.integer(value, -0x8000, INT16_MAX, 'an int16');
    this.ensure(2);
    this.pos = this.scratch.writeInt16BE(value, this.pos);
  }

  int32(value: number): void {
    this.integer(value, -0x80000000, INT32_MAX, 'an int32');
    this.ensure(4);
    this.pos = this.scratch.writeInt32BE(value, this.pos);
  }

  uint32(value: number): void {
    this.integer(value, 0, 0xffffffff, 'a uint32');
    this.ensure(4);
    this.pos = this.scratch.writeUInt32BE(value, this.pos);
  }

  int64(value: bigint): void {
    if (typeof value !== 'bigint' || BigInt.asIntN(64, value) !== value)
      throw this.invalid('an int64 bigint', value);
    this.ensure(8);
    this.pos = this.scratch.writeBigInt64BE(value, this.pos);
  }

  boolean(value: boolean): void {
    if (typeof value !== 'boolean') throw this.invalid('a boolean', value);
    this.ensure(1);
    this.scratch[this.pos++] = value ? 1 : 0;
  }

  uvarint(value: number): void {
    this.integer(value, 0, 0xffffffff, 'an unsigned varint');
    this.ensure(UVARINT_BYTES_MAX);
    let rest = value;
    while (rest >= 0x80) {
      this.scratch[this.pos++] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 128);
    }
    this.scratch[this.pos++] = rest;
  }

  nullableString(value: string | null, compact: boolean): void {
    if (value === null) {
      if (compact) this.uvarint(0);
      else this.int16(-1);
      return;
    }
    if (typeof value !== 'string') throw this.invalid('a string', value);
    const length = Buffer.byteLength(value, 'utf8');
    if (compact) this.uvarint(length + 1);
    else if (length > INT16_MAX)
      throw this.invalid(`a string of at most ${INT16_MAX} bytes`, `${length} bytes`);
    else this.int16(length);
    this.ensure(length);
    this.pos += this.scratch.write(value, this.pos, 'utf8');
  }

  nullableBytes(value: Uint8Array | null, compact: boolean): void {
    if (value === null) {
      if (compact) this.uvarint(0);
      else this.int32(-1);
      return;
    }
    if (!(value instanceof Uint8Array)) throw this.invalid('a Buffer', value);
    if (compact) this.uvarint(value.length + 1);
    else this.int32(value.length);
    this.raw(value);
  }

  /** An array's count (int32, or compact count + 1); -1 / 0 for null. */
  arrayLength(count: number, compact: boolean): void {
    if (compact) this.uvarint(count + 1);
    else this.int32(count);
  }

  /** An empty tagged-field section. */
  emptyTaggedFields(): void {
    this.uvarint(0);
  }

  raw(value: Uint8Array): void {
    if (value.length >= LARGE_BYTES_MIN) {
      this.flush();
      this.chunks.push(
        Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length),
      );
      this.flushedBytes += value.length;
      return;
    }
    this.ensure(value.length);
    this.scratch.set(value, this.pos);
    this.pos += value.length;
  }

  /** The whole frame: the int32 size prefix (the bytes after it) followed by everything written. */
  finish(): Buffer {
    const chunks = this.finishChunks();
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.flushedBytes);
  }

  /**
   * The frame as the chunks written, in order, with no copy of the large byte strings: for a socket's writev
   * (cork, write each, uncork). The first chunk starts with the size prefix.
   */
  finishChunks(): Buffer[] {
    this.flush();
    (this.chunks[0] as Buffer).writeInt32BE(this.flushedBytes - 4, 0);
    return this.chunks;
  }
}
