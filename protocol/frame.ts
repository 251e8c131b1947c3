import assert from 'node:assert';
import { FrameError } from './errors';

/**
 * Framing shared by the v2 and v3 protocols: a 4-byte big-endian length N, then N bytes. This is Netty's
 * LengthFieldBasedFrameDecoder(max, 0, 4, 0, 4) as BookKeeper configures it. No socket code lives here; the
 * connection layer pushes whatever chunks it reads and turns a FrameError into a closed connection.
 */

export const FRAME_LENGTH_BYTES = 4;

/** BookKeeper's `nettyMaxFrameSizeBytes` default (5 MiB), on both client and bookie. */
export const DEFAULT_MAX_FRAME_SIZE_BYTES = 5_242_880;

/** Throws FrameError unless `lengthBytes` (a signed 32-bit length) is a frame length we accept. */
export function checkFrameLength(
  lengthBytes: number,
  maxFrameSizeBytes: number = DEFAULT_MAX_FRAME_SIZE_BYTES,
): void {
  if (lengthBytes < 0) {
    throw new FrameError('NegativeFrameLength', lengthBytes, `negative frame length ${lengthBytes}`);
  }
  if (lengthBytes > maxFrameSizeBytes) {
    throw new FrameError(
      'FrameTooLarge',
      lengthBytes,
      `frame length ${lengthBytes} exceeds maxFrameSizeBytes ${maxFrameSizeBytes}`,
    );
  }
}

/** The 4-byte length prefix alone, for a vectored write of prefix and payload without a copy. */
export function encodeFrameHeader(
  payloadBytes: number,
  maxFrameSizeBytes: number = DEFAULT_MAX_FRAME_SIZE_BYTES,
): Buffer {
  checkFrameLength(payloadBytes, maxFrameSizeBytes);
  const header = Buffer.allocUnsafe(FRAME_LENGTH_BYTES);
  header.writeUInt32BE(payloadBytes, 0);
  return header;
}

/** Length prefix plus payload in one buffer (one copy of the payload). */
export function encodeFrame(
  payload: Buffer,
  maxFrameSizeBytes: number = DEFAULT_MAX_FRAME_SIZE_BYTES,
): Buffer {
  checkFrameLength(payload.length, maxFrameSizeBytes);
  const frame = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, FRAME_LENGTH_BYTES);
  return frame;
}

export interface FrameDecoderOptions {
  /** Largest accepted payload; defaults to DEFAULT_MAX_FRAME_SIZE_BYTES. */
  maxFrameSizeBytes?: number;
}

const STATE_LENGTH = 0;
const STATE_PAYLOAD = 1;
const STATE_FAILED = 2;

/**
 * Splits a byte stream into frame payloads. A byte-level state machine with two states:
 *
 *   LENGTH  — gathering the 4 length bytes (they may arrive one per chunk);
 *   PAYLOAD — gathering `frameLengthBytes` payload bytes.
 *
 * A payload that lies within one chunk is emitted as a slice of that chunk (zero copy); one split across
 * chunks is gathered as slices and copied once when complete. The length is checked against
 * `maxFrameSizeBytes` as soon as its 4 bytes are known, before anything is held or allocated for the payload,
 * and the memory held for a partial frame never exceeds the bytes actually received.
 *
 * After a FrameError the decoder stays failed: the stream can no longer be trusted to be aligned on frames.
 * The decoder takes ownership of pushed chunks (emitted payloads may share their memory), which suits
 * socket reads, where Node hands over a fresh buffer each time.
 */
export class FrameDecoder {
  readonly maxFrameSizeBytes: number;
  private readonly onFrame: (payload: Buffer) => void;
  private state = STATE_LENGTH;
  /** Length bytes gathered so far (0..3) and their big-endian value so far. */
  private lengthBytesSeen = 0;
  private lengthValue = 0;
  /** The payload length of the frame being gathered (PAYLOAD state). */
  private frameLengthBytes = 0;
  /** Slices of a payload split across chunks, and their total size. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** pushBorrowed: the payload being gathered, of its full length; partsBytes of it are filled. */
  private gathering: Buffer | undefined;
  private failure: FrameError | undefined;

  constructor(onFrame: (payload: Buffer) => void, options: FrameDecoderOptions = {}) {
    const max = options.maxFrameSizeBytes ?? DEFAULT_MAX_FRAME_SIZE_BYTES;
    assert(
      Number.isInteger(max) && max >= 0 && max <= 0x7fff_ffff,
      'maxFrameSizeBytes must fit a signed int32',
    );
    this.maxFrameSizeBytes = max;
    this.onFrame = onFrame;
  }

  /** Bytes received but not yet emitted as part of a frame (length bytes included). */
  get bufferedBytes(): number {
    if (this.state === STATE_PAYLOAD) return FRAME_LENGTH_BYTES + this.partsBytes;
    return this.lengthBytesSeen;
  }

  /**
   * Consumes one chunk, emitting every frame it completes, in order. Throws FrameError on a bad length;
   * frames completed before the bad length have already been emitted.
   */
  push(chunk: Buffer): void {
    if (this.failure !== undefined) throw this.failure;
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.state === STATE_LENGTH) {
        if (this.lengthBytesSeen === 0 && end - pos >= FRAME_LENGTH_BYTES) {
          // Fast path: the whole prefix is in this chunk.
          this.startPayload(chunk.readInt32BE(pos));
          pos += FRAME_LENGTH_BYTES;
        } else {
          const length = this.lengthByte(chunk[pos++]!);
          if (length !== undefined) this.startPayload(length);
        }
        continue;
      }
      // STATE_PAYLOAD
      const needed = this.frameLengthBytes - this.partsBytes;
      const available = end - pos;
      if (this.partsBytes === 0 && available >= needed) {
        const payload = chunk.subarray(pos, pos + needed);
        pos += needed;
        this.state = STATE_LENGTH;
        this.onFrame(payload);
      } else if (available >= needed) {
        this.parts.push(chunk.subarray(pos, pos + needed));
        pos += needed;
        const payload = Buffer.concat(this.parts, this.frameLengthBytes);
        this.parts = [];
        this.partsBytes = 0;
        this.state = STATE_LENGTH;
        this.onFrame(payload);
      } else {
        this.parts.push(chunk.subarray(pos, end));
        this.partsBytes += available;
        pos = end;
      }
    }
  }

  /**
   * Consumes a chunk the decoder may not keep: a socket's read buffer that is reused for the next read (`onread`).
   * The frames whole within it are copied out together (one allocation for all of them) and emitted as slices of
   * that copy; a frame split across chunks is gathered straight into a buffer of its full length, allocated once
   * its length is known — so, unlike push(), up to maxFrameSizeBytes may be held for a partial frame. That spares
   * a large frame a buffer per read plus the copy joining them. Use one of push() and pushBorrowed() per decoder.
   */
  pushBorrowed(chunk: Buffer): void {
    if (this.failure !== undefined) throw this.failure;
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.state === STATE_PAYLOAD) {
        const payload = this.gathering!;
        const copied = chunk.copy(
          payload,
          this.partsBytes,
          pos,
          Math.min(end, pos + this.frameLengthBytes - this.partsBytes),
        );
        pos += copied;
        this.partsBytes += copied;
        if (this.partsBytes === this.frameLengthBytes) {
          this.gathering = undefined;
          this.partsBytes = 0;
          this.state = STATE_LENGTH;
          this.onFrame(payload);
        }
        continue;
      }
      if (this.lengthBytesSeen > 0 || end - pos < FRAME_LENGTH_BYTES) {
        // A length prefix split across chunks: byte by byte.
        const length = this.lengthByte(chunk[pos++]!);
        if (length !== undefined) this.startGathering(length);
        continue;
      }
      let wholeEnd = pos;
      while (end - wholeEnd >= FRAME_LENGTH_BYTES) {
        const length = chunk.readInt32BE(wholeEnd);
        if (length < 0 || length > this.maxFrameSizeBytes || end - wholeEnd - FRAME_LENGTH_BYTES < length)
          break;
        wholeEnd += FRAME_LENGTH_BYTES + length;
      }
      if (wholeEnd > pos) {
        this.push(Buffer.from(chunk.subarray(pos, wholeEnd)));
        pos = wholeEnd;
      } else {
        // A frame that does not end in this chunk, or a bad length (startGathering throws).
        this.startGathering(chunk.readInt32BE(pos));
        pos += FRAME_LENGTH_BYTES;
      }
    }
  }

  /** Takes one byte of a length prefix split across chunks: the length once its fourth byte is in. */
  private lengthByte(byte: number): number | undefined {
    this.lengthValue = ((this.lengthValue << 8) | byte) >>> 0;
    if (++this.lengthBytesSeen < FRAME_LENGTH_BYTES) return undefined;
    const length = this.lengthValue | 0; // read as signed, like a Java int
    this.lengthBytesSeen = 0;
    this.lengthValue = 0;
    return length;
  }

  /** pushBorrowed's start of a payload: the buffer it is gathered into, of its full length. */
  private startGathering(length: number): void {
    this.startPayload(length);
    if (this.state === STATE_PAYLOAD) this.gathering = Buffer.allocUnsafe(length);
  }

  private startPayload(length: number): void {
    try {
      checkFrameLength(length, this.maxFrameSizeBytes);
    } catch (error) {
      this.state = STATE_FAILED;
      this.failure = error as FrameError;
      throw error;
    }
    this.frameLengthBytes = length;
    this.state = STATE_PAYLOAD;
    if (length === 0) {
      // Netty passes empty frames on; so do we (decoding one as a message will then fail).
      this.state = STATE_LENGTH;
      this.onFrame(Buffer.alloc(0));
    }
  }
}
