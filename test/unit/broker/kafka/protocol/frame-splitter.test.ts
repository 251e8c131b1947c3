import fc from 'fast-check';
import { FrameSplitter, KafkaProtocolError } from '../../../../../broker/kafka/protocol';
import { testSeed } from '../../../../harness/seed';

const framed = (payload: Buffer): Buffer => {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
};

describe('broker > kafka > protocol > frame-splitter', () => {
  it('returns whole frames without their size prefix, several per chunk', () => {
    const splitter = new FrameSplitter();
    const stream = Buffer.concat([
      framed(Buffer.from('one')),
      framed(Buffer.alloc(0)),
      framed(Buffer.from('three')),
    ]);
    expect(splitter.push(stream).map(String)).toEqual(['one', '', 'three']);
    expect(splitter.bufferedBytes).toBe(0);
  });

  it('a frame inside one chunk is a view of it', () => {
    const chunk = framed(Buffer.from('abc'));
    const [frame] = new FrameSplitter().push(chunk);
    expect(frame!.buffer).toBe(chunk.buffer);
  });

  const seed = testSeed();
  it(`reassembles frames however the stream is cut (seed ${seed})`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map((p) => framed(Buffer.from(p))));
          const splitter = new FrameSplitter({ frameSizeBytesMax: 300 });
          const got: Buffer[] = [];
          let pos = 0;
          for (let i = 0; pos < stream.length; i++) {
            const size = cuts[i % cuts.length]!;
            got.push(...splitter.push(stream.subarray(pos, pos + size)));
            pos += size;
          }
          expect(got.map((b) => b.toString('hex'))).toEqual(
            payloads.map((p) => Buffer.from(p).toString('hex')),
          );
          expect(splitter.bufferedBytes).toBe(0);
        },
      ),
      { seed, numRuns: 300 },
    );
  });

  it('refuses a size over the cap as soon as the prefix is in, before allocating, and stays failed', () => {
    const splitter = new FrameSplitter({ frameSizeBytesMax: 1000 });
    expect(splitter.push(Buffer.from([0x7f, 0xff]))).toEqual([]);
    let caught: unknown;
    try {
      splitter.push(Buffer.from([0xff, 0xff]));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(KafkaProtocolError);
    expect(caught).toMatchObject({ code: 'FrameTooLarge' });
    expect(() => splitter.push(Buffer.from([0]))).toThrow(KafkaProtocolError);
    // The default cap is Kafka's 100 MiB.
    expect(() => new FrameSplitter().push(Buffer.from([0x06, 0x40, 0x00, 0x01]))).toThrow(
      /over the limit of 104857600/,
    );
    expect(new FrameSplitter().push(Buffer.from([0x06, 0x40, 0x00, 0x00]))).toEqual([]);
  });

  it('refuses a negative size', () => {
    expect(() => new FrameSplitter().push(Buffer.from([0x80, 0, 0, 0]))).toThrow(
      /negative size prefix -2147483648/,
    );
    const split = new FrameSplitter();
    split.push(Buffer.from([0xff]));
    expect(() => split.push(Buffer.from([0xff, 0xff, 0xff]))).toThrow(/negative size prefix -1/);
  });

  it('holds a partial frame until it completes, checking its size once', () => {
    const splitter = new FrameSplitter({ frameSizeBytesMax: 10 });
    const stream = framed(Buffer.from('0123456789'));
    expect(splitter.push(stream.subarray(0, 5))).toEqual([]);
    expect(splitter.push(stream.subarray(5, 9))).toEqual([]);
    expect(splitter.bufferedBytes).toBe(9);
    expect(splitter.push(stream.subarray(9)).map(String)).toEqual(['0123456789']);
  });

  it('rejects a cap outside 0..2^31-1', () => {
    expect(() => new FrameSplitter({ frameSizeBytesMax: -1 })).toThrow(RangeError);
    expect(() => new FrameSplitter({ frameSizeBytesMax: 2 ** 31 })).toThrow(RangeError);
  });
});
