import { KafkaProtocolError } from './errors';

/** Kafka's default `socket.request.max.bytes`: 100 MiB. */
export const FRAME_SIZE_BYTES_MAX_DEFAULT = 100 * 1024 * 1024;

const SIZE_PREFIX_BYTES = 4;

export interface FrameSplitterOptions {
  /** The largest frame accepted, not counting the size prefix; a larger size prefix fails before any allocation. */
  frameSizeBytesMax?: number;
}

/**
 * Cuts a TCP byte stream into Kafka frames: each is an int32 size (big-endian, the bytes that follow) and that many
 * bytes. `push` takes whatever the socket delivered and returns the frames it completed, without their size
 * prefix. A negative size or one over the cap throws KafkaProtocolError (`MalformedFrame` / `FrameTooLarge`) as
 * soon as its 4 bytes are in, before anything is allocated for it; the stream is then unusable (close the
 * connection). Chunks are only concatenated when a frame spans them, so a frame inside one chunk is a view of it.
 */
export class FrameSplitter {
  readonly frameSizeBytesMax: number;
  /** Bytes received but not yet returned as a frame. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The size of the frame being collected, once its prefix is in; -1 before. */
  private frameBytes = -1;
  private failed: KafkaProtocolError | null = null;

  constructor(options: FrameSplitterOptions = {}) {
    const max = options.frameSizeBytesMax ?? FRAME_SIZE_BYTES_MAX_DEFAULT;
    if (!Number.isInteger(max) || max < 0 || max > 0x7fffffff) {
      throw new RangeError(`frameSizeBytesMax must be an integer in 0..2^31-1, got ${max}`);
    }
    this.frameSizeBytesMax = max;
  }

  /** Bytes held for a frame not yet complete. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  push(chunk: Buffer): Buffer[] {
    if (this.failed !== null) throw this.failed;
    const frames: Buffer[] = [];
    let data = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      const needed = this.frameBytes < 0 ? SIZE_PREFIX_BYTES : SIZE_PREFIX_BYTES + this.frameBytes;
      if (this.pendingBytes < needed) {
        // Still short: keep collecting, but read the size as soon as the prefix is complete.
        if (this.frameBytes < 0 && this.pendingBytes >= SIZE_PREFIX_BYTES) this.readSize(this.joinPending());
        return frames;
      }
      data = this.joinPending();
      this.pending = [];
      this.pendingBytes = 0;
    }
    let pos = 0;
    for (;;) {
      const left = data.length - pos;
      if (left < SIZE_PREFIX_BYTES) break;
      const size = this.readSize(data.subarray(pos));
      if (left < SIZE_PREFIX_BYTES + size) break;
      frames.push(data.subarray(pos + SIZE_PREFIX_BYTES, pos + SIZE_PREFIX_BYTES + size));
      pos += SIZE_PREFIX_BYTES + size;
      this.frameBytes = -1;
    }
    if (pos < data.length) {
      // Keep the tail as its own copy-free view; it is joined with what comes next when the frame completes.
      this.pending = [data.subarray(pos)];
      this.pendingBytes = data.length - pos;
    }
    return frames;
  }

  /** Reads and checks the size prefix at the start of `data`, remembering it for the frame being collected. */
  private readSize(data: Buffer): number {
    const size = data.readInt32BE(0);
    if (size < 0) {
      this.failed = new KafkaProtocolError(
        'MalformedFrame',
        `malformed Kafka frame: negative size prefix ${size}`,
      );
      throw this.failed;
    }
    if (size > this.frameSizeBytesMax) {
      this.failed = new KafkaProtocolError(
        'FrameTooLarge',
        `Kafka frame of ${size} bytes is over the limit of ${this.frameSizeBytesMax} bytes`,
      );
      throw this.failed;
    }
    this.frameBytes = size;
    return size;
  }

  private joinPending(): Buffer {
    if (this.pending.length > 1) this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
    return this.pending[0] as Buffer;
  }
}
