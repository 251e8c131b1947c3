/**
 * Hostile input to the message decoders: truncated, bit-flipped, concatenated and oversized frames. The
 * contract is that decoding either returns a message or throws a ProtocolError — never another exception —
 * and never allocates on a length it has not checked against the bytes it holds.
 */
import fc from 'fast-check';
import {
  MessageDecodeError,
  ProtocolError,
  decodeAddRequest,
  decodeReadResponse,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../../protocol';
import { allocationsDuring } from './allocations';
import * as arb from './arbitraries';

type Decoder = (bytes: Buffer) => unknown;

/** Runs a decoder, returning the error if any; fails the test on anything but a ProtocolError. */
function decodeSafely(decode: Decoder, bytes: Buffer): ProtocolError | undefined {
  try {
    decode(bytes);
    return undefined;
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return error;
  }
}

function expectOnlyProtocolErrors(decode: Decoder, bytes: Buffer): void {
  const sizes = allocationsDuring(() => decodeSafely(decode, bytes));
  // Bytes fields are slices, so decoding allocates no Buffer at all, whatever lengths the input claims.
  expect(sizes).toEqual([]);
}

const encodedRequest = arb.request.map(encodeRequest);
const encodedResponse = arb.response.map(encodeResponse);
const encoded = fc.oneof(
  encodedRequest.map((bytes) => ({ bytes, decode: decodeRequest as Decoder })),
  encodedResponse.map((bytes) => ({ bytes, decode: decodeResponse as Decoder })),
);

describe('protocol > malformed input > property', () => {
  it('truncated at any point: a message or a ProtocolError', () => {
    fc.assert(
      fc.property(encoded, fc.nat(), ({ bytes, decode }, cut) => {
        expectOnlyProtocolErrors(decode, bytes.subarray(0, cut % (bytes.length + 1)));
      }),
      { numRuns: 500 },
    );
  });

  it('bit-flipped anywhere: a message or a ProtocolError', () => {
    fc.assert(
      fc.property(encoded, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), ({ bytes, decode }, flips) => {
        const copy = Buffer.from(bytes);
        for (const flip of flips) copy[(flip >> 3) % copy.length]! ^= 1 << (flip & 7);
        expectOnlyProtocolErrors(decode, copy);
      }),
      { numRuns: 1000 },
    );
  });

  it('concatenated messages: a message (proto merges them) or a ProtocolError', () => {
    fc.assert(
      fc.property(encoded, encoded, (first, second) => {
        expectOnlyProtocolErrors(first.decode, Buffer.concat([first.bytes, second.bytes]));
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes: a message or a ProtocolError, for every decoder', () => {
    const decoders: Decoder[] = [decodeRequest, decodeResponse, decodeAddRequest, decodeReadResponse];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(...decoders), (raw, decode) => {
        expectOnlyProtocolErrors(decode, Buffer.from(raw));
      }),
      { numRuns: 2000 },
    );
  });

  it('a length-delimited field claiming more bytes than there are: a MessageDecodeError, nothing allocated', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 0x7fff_ffff }),
        fc.uint8Array({ maxLength: 16 }),
        (claimed, tail) => {
          // Request.header (field 1, LEN) whose length varint says `claimed` bytes follow.
          const length: number[] = [];
          for (let v = claimed; ; v = Math.floor(v / 128)) {
            if (v < 0x80) {
              length.push(v);
              break;
            }
            length.push((v & 0x7f) | 0x80);
          }
          const bytes = Buffer.from([0x0a, ...length, ...tail]);
          const sizes = allocationsDuring(() => {
            const error = decodeSafely(decodeRequest, bytes);
            if (claimed > tail.length) expect(error).toBeInstanceOf(MessageDecodeError);
          });
          expect(sizes).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('protocol > malformed input > named cases', () => {
  function errorOf(decode: Decoder, bytes: number[]): MessageDecodeError {
    const error = decodeSafely(decode, Buffer.from(bytes));
    expect(error).toBeInstanceOf(MessageDecodeError);
    return error as MessageDecodeError;
  }

  it('a truncated varint', () => {
    // AddRequest.ledgerId (key 0x08) whose varint never ends.
    expect(errorOf(decodeAddRequest, [0x08, 0x80, 0x80]).message).toContain('truncated varint');
  });

  it('a varint longer than 10 bytes', () => {
    expect(errorOf(decodeAddRequest, [0x08, ...Array<number>(10).fill(0xff), 0x01]).message).toContain(
      'longer than 10 bytes',
    );
  });

  it('a known field with the wrong wire type', () => {
    // AddRequest.ledgerId sent as length-delimited (key 1<<3|2 = 0x0a).
    expect(errorOf(decodeAddRequest, [0x0a, 0x01, 0x00]).message).toContain('wire type 2, expected 0');
  });

  it('groups and reserved wire types', () => {
    expect(errorOf(decodeAddRequest, [0x7b]).message).toContain('unsupported wire type 3');
    expect(errorOf(decodeAddRequest, [0x7e]).message).toContain('unsupported wire type 6');
  });

  it('field number 0', () => {
    expect(errorOf(decodeAddRequest, [0x00, 0x01]).message).toContain('field number 0');
  });

  it('a truncated fixed64 of an unknown field', () => {
    expect(errorOf(decodeAddRequest, [0x79, 1, 2, 3]).message).toContain('truncated fixed64');
  });

  it('a length running past the end of the enclosing message, not just of the frame', () => {
    // Request.header claims 3 bytes; its last byte is the key of `operation` (0x10), whose value byte lies
    // just past the header. The frame has the byte, but the bound is the header's end.
    const error = errorOf(decodeRequest, [0x0a, 0x03, 0x08, 0x03, 0x10, 0x02]);
    expect(error.messageType).toBe('BKPacketHeader');
    expect(error.message).toContain('truncated varint');
  });

  it('missing required fields are named', () => {
    expect(errorOf(decodeAddRequest, [0x08, 0x01]).message).toContain(
      'missing required field entryId, masterKey, body',
    );
  });
});
