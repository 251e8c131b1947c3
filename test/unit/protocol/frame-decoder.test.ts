/**
 * The frame decoder as a byte-level state machine: fed chunks, it records the frames it emits. No socket.
 */
import fc from 'fast-check';
import { allocationsDuring } from './allocations';
import {
  DEFAULT_MAX_FRAME_SIZE_BYTES,
  FrameDecoder,
  FrameError,
  encodeFrame,
  encodeFrameHeader,
} from '../../../protocol';

function recorder(options?: { maxFrameSizeBytes?: number }): { decoder: FrameDecoder; frames: Buffer[] } {
  const frames: Buffer[] = [];
  const decoder = new FrameDecoder((frame) => frames.push(frame), options);
  return { decoder, frames };
}

/** Splits `bytes` at the given cut points (any order, duplicates allowed). */
function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

/** Random frames cut into random chunks, fed by `feed`: the decoder emits exactly the frames, holding nothing after. */
function anyChunking(feed: (decoder: FrameDecoder, chunks: Buffer[]) => void): void {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (payloads, cuts) => {
        const stream = Buffer.concat(payloads.map((p) => encodeFrame(Buffer.from(p))));
        const { decoder, frames } = recorder();
        feed(decoder, splitAt(stream, cuts));
        expect(frames).toEqual(payloads.map((p) => Buffer.from(p)));
        expect(decoder.bufferedBytes).toBe(0);
      },
    ),
    { numRuns: 500 },
  );
}

describe('protocol > frame decoder > splitting', () => {
  it('emits every frame packed in one chunk, in order, as slices of that chunk', () => {
    const payloads = [Buffer.from('a'), Buffer.from('bb'), Buffer.alloc(1000, 7)];
    const chunk = Buffer.concat(payloads.map((p) => encodeFrame(p)));
    const { decoder, frames } = recorder();
    decoder.push(chunk);
    expect(frames).toEqual(payloads);
    for (const frame of frames) expect(frame.buffer).toBe(chunk.buffer);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('reassembles a frame fed one byte at a time', () => {
    const payload = Buffer.from('hello bookie');
    const { decoder, frames } = recorder();
    for (const byte of encodeFrame(payload)) {
      expect(frames).toEqual([]);
      decoder.push(Buffer.from([byte]));
    }
    expect(frames).toEqual([payload]);
  });

  it('holds a partial frame and reports how much it holds', () => {
    const { decoder, frames } = recorder();
    decoder.push(Buffer.from([0, 0, 0]));
    expect(decoder.bufferedBytes).toBe(3);
    decoder.push(Buffer.from([5, 1, 2]));
    expect(decoder.bufferedBytes).toBe(6);
    decoder.push(Buffer.from([3, 4, 5, 0, 0]));
    expect(frames).toEqual([Buffer.from([1, 2, 3, 4, 5])]);
    expect(decoder.bufferedBytes).toBe(2);
  });

  it('emits empty frames (length 0), including at the end of a chunk', () => {
    const { decoder, frames } = recorder();
    decoder.push(Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 9, 0, 0, 0, 0]));
    expect(frames).toEqual([Buffer.alloc(0), Buffer.from([9]), Buffer.alloc(0)]);
  });

  it('split anywhere: any chunking of a stream yields the same frames', () => {
    anyChunking((decoder, chunks) => {
      for (const chunk of chunks) decoder.push(chunk);
    });
  });
});

describe('protocol > frame decoder > limits', () => {
  it('accepts a frame of exactly maxFrameSizeBytes', () => {
    const { decoder, frames } = recorder({ maxFrameSizeBytes: 16 });
    decoder.push(encodeFrame(Buffer.alloc(16, 1), 16));
    expect(frames).toHaveLength(1);
  });

  it('rejects a length over the limit as FrameTooLarge as soon as the 4 length bytes are in, allocating nothing', () => {
    const { decoder, frames } = recorder();
    let error: unknown;
    const sizes = allocationsDuring(() => {
      try {
        decoder.push(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
      } catch (caught) {
        error = caught;
      }
    });
    expect(error).toBeInstanceOf(FrameError);
    expect(error).toMatchObject({ code: 'FrameTooLarge', frameLengthBytes: 0x7fffffff, retriable: false });
    expect(sizes).toEqual([]);
    expect(frames).toEqual([]);
  });

  it('defaults to BookKeeper nettyMaxFrameSizeBytes (5 MiB)', () => {
    expect(DEFAULT_MAX_FRAME_SIZE_BYTES).toBe(5 * 1024 * 1024);
    const { decoder } = recorder();
    expect(() => decoder.push(encodeFrameHeader(5 * 1024 * 1024))).not.toThrow();
    const { decoder: second } = recorder();
    const over = Buffer.alloc(4);
    over.writeUInt32BE(5 * 1024 * 1024 + 1);
    expect(() => second.push(over)).toThrow(FrameError);
  });

  it('rejects a negative length (high bit set) as NegativeFrameLength', () => {
    const { decoder } = recorder();
    expect(() => decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xfe]))).toThrow(
      expect.objectContaining({ code: 'NegativeFrameLength', frameLengthBytes: -2 }),
    );
  });

  it('emits the frames before a bad length, then stays failed', () => {
    const { decoder, frames } = recorder({ maxFrameSizeBytes: 8 });
    const stream = Buffer.concat([encodeFrame(Buffer.from('ok'), 8), Buffer.from([0, 0, 0, 9])]);
    expect(() => decoder.push(stream)).toThrow(FrameError);
    expect(frames).toEqual([Buffer.from('ok')]);
    expect(() => decoder.push(encodeFrame(Buffer.from('x'), 8))).toThrow(FrameError);
    expect(frames).toHaveLength(1);
  });

  it('the encoders refuse oversized and negative lengths too', () => {
    expect(() => encodeFrame(Buffer.alloc(9), 8)).toThrow(FrameError);
    expect(() => encodeFrameHeader(-1)).toThrow(FrameError);
  });

  it('random bytes in random chunks: only FrameError, and no allocation above maxFrameSizeBytes', () => {
    const maxFrameSizeBytes = 64;
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { maxLength: 30 }),
        // Bias the length bytes small so that many streams contain several valid frames.
        fc.boolean(),
        (chunks, smallLengths) => {
          const { decoder } = recorder({ maxFrameSizeBytes });
          const sizes = allocationsDuring(() => {
            for (const raw of chunks) {
              const chunk = Buffer.from(raw);
              if (smallLengths && chunk.length > 0) chunk[0] = 0;
              try {
                decoder.push(chunk);
              } catch (error) {
                expect(error).toBeInstanceOf(FrameError);
                return;
              }
            }
          });
          for (const size of sizes) expect(size).toBeLessThanOrEqual(maxFrameSizeBytes);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('memory held for a partial frame is what arrived, not what the length announced', () => {
    const { decoder } = recorder();
    const sizes = allocationsDuring(() =>
      decoder.push(Buffer.concat([encodeFrameHeader(4_000_000), Buffer.alloc(10)])),
    );
    expect(sizes.filter((size) => size > 1000)).toEqual([]);
    expect(decoder.bufferedBytes).toBe(14);
  });
});

describe('protocol > frame decoder > borrowed chunks (a reused read buffer)', () => {
  /** Feeds `chunks` through one reused buffer, scribbled over after each push, as a socket's onread buffer is. */
  function feedBorrowed(
    decoder: FrameDecoder,
    chunks: Buffer[],
    reused = Buffer.alloc(Math.max(1, ...chunks.map((chunk) => chunk.length))),
  ): void {
    for (const chunk of chunks) {
      chunk.copy(reused);
      decoder.pushBorrowed(reused.subarray(0, chunk.length));
      reused.fill(0xee);
    }
  }

  it('any chunking yields the same frames, none of them sharing the reused buffer', () => {
    anyChunking((decoder, chunks) => feedBorrowed(decoder, chunks));
  });

  it('gathers a frame split over many reads in one buffer of its length', () => {
    const payload = Buffer.alloc(200_000, 7);
    const stream = encodeFrame(payload);
    const { decoder, frames } = recorder();
    const chunks = splitAt(stream, [3, 65_536, 131_072, 196_608]);
    const reused = Buffer.alloc(65_536);
    const sizes = allocationsDuring(() => feedBorrowed(decoder, chunks, reused));
    expect(frames).toEqual([payload]);
    expect(sizes.filter((size) => size > 1000)).toEqual([200_000]);
  });

  it('emits the whole frames before a bad length, then stays failed', () => {
    const { decoder, frames } = recorder({ maxFrameSizeBytes: 8 });
    const stream = Buffer.concat([encodeFrame(Buffer.from('ok'), 8), Buffer.from([0, 0, 0, 9, 1, 2])]);
    expect(() => decoder.pushBorrowed(stream)).toThrow(expect.objectContaining({ code: 'FrameTooLarge' }));
    expect(frames).toEqual([Buffer.from('ok')]);
    expect(() => decoder.pushBorrowed(encodeFrame(Buffer.from('x'), 8))).toThrow(FrameError);
    expect(frames).toHaveLength(1);
  });

  it('a negative length split across reads is refused once its 4 bytes are in', () => {
    const { decoder } = recorder();
    decoder.pushBorrowed(Buffer.from([0xff, 0xff]));
    expect(() => decoder.pushBorrowed(Buffer.from([0xff, 0xfe]))).toThrow(
      expect.objectContaining({ code: 'NegativeFrameLength', frameLengthBytes: -2 }),
    );
  });
});
