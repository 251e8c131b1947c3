/**
 * Bad bytes of every kind: valid frames of every API and version, cut short, bit-flipped, with lengths and counts
 * overwritten by extreme values, with bytes spliced in, and headers of served APIs followed by random bodies.
 * Whatever comes in, the codec either decodes it or throws a KafkaProtocolError: never another error (a RangeError
 * from an out-of-bounds read, a TypeError) and never a hang. What it does decode, it can encode and decode again
 * to the same thing. Seeded (LEDGERLINE_SEED replays a run).
 */
import fc from 'fast-check';
import {
  FrameSplitter,
  KafkaProtocolError,
  SUPPORTED_APIS,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../../../../broker/kafka/protocol';
import { testSeed } from '../../../../harness/seed';
import { SAMPLES } from './samples';

const encodeRequestAny = encodeRequest as (h: object, body: unknown) => Buffer;
const encodeResponseAny = encodeResponse as (k: number, v: number, c: number, body: unknown) => Buffer;
const decodeResponseAny = decodeResponse as (k: number, v: number, f: Buffer) => { body: unknown };

const VERSIONS = SUPPORTED_APIS.flatMap((api) =>
  Array.from({ length: api.maxVersion - api.minVersion + 1 }, (_, i) => ({
    apiKey: api.apiKey,
    version: api.minVersion + i,
  })),
);
const sampleOf = (apiKey: number) => SAMPLES[apiKey as keyof typeof SAMPLES];
const REQUESTS = VERSIONS.map(({ apiKey, version }) =>
  encodeRequestAny(
    { apiKey, apiVersion: version, correlationId: 1, clientId: 'fuzz' },
    sampleOf(apiKey).request,
  ).subarray(4),
);
const RESPONSES = VERSIONS.map(({ apiKey, version }) => ({
  apiKey,
  version,
  frame: encodeResponseAny(apiKey, version, 1, sampleOf(apiKey).response).subarray(4),
}));

const EXTREMES = [-1, -2, 0, 1, 0x7f, 0x80, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000];

/** A mutation of a frame, as data so fast-check can shrink it. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('int32' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(...EXTREMES), fc.integer({ min: -0x80000000, max: 0x7fffffff })),
  }),
  fc.record({ kind: fc.constant('int16' as const), at: fc.nat(), value: fc.constantFrom(...EXTREMES) }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(frame: Buffer, mutations: Mutation[]): Buffer {
  let out = Buffer.from(frame);
  for (const m of mutations) {
    if (out.length === 0) break;
    const at = m.at % out.length;
    switch (m.kind) {
      case 'cut':
        out = out.subarray(0, at);
        break;
      case 'flip':
        out[at] = (out[at] as number) ^ (1 << m.bit);
        break;
      case 'int32':
        if (at + 4 <= out.length) out.writeInt32BE(m.value, at);
        break;
      case 'int16':
        if (at + 2 <= out.length) out.writeInt16BE((m.value << 16) >> 16, at);
        break;
      case 'splice':
        out = Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
        break;
    }
  }
  return out;
}

/** Runs `fn`; a KafkaProtocolError is an answer, anything else thrown fails the property. */
function onlyProtocolErrors<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof KafkaProtocolError) return undefined;
    throw err;
  }
}

/** Decoding what was decoded and re-encoded gives the same again. */
function stableRequest(frame: Buffer): void {
  const decoded = onlyProtocolErrors(() => decodeRequest(frame));
  if (decoded === undefined) return;
  const encoded = onlyProtocolErrors(() => encodeRequestAny(decoded, decoded.body));
  if (encoded === undefined) return;
  const again = decodeRequest(encoded.subarray(4));
  expect(again).toEqual(decoded);
  expect(encodeRequestAny(again, again.body).equals(encoded)).toBe(true);
}

describe('broker > kafka > protocol > malformed input', () => {
  const seed = testSeed();

  it(`mutated requests of every API and version decode or throw KafkaProtocolError (seed ${seed})`, () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, mutations) => {
        stableRequest(mutate(REQUESTS[which % REQUESTS.length]!, mutations));
      }),
      { seed, numRuns: 4000 },
    );
  });

  it(`served headers followed by random bodies (seed ${seed})`, () => {
    fc.assert(
      fc.property(fc.nat(), fc.uint8Array({ maxLength: 200 }), (which, body) => {
        const { apiKey, version } = VERSIONS[which % VERSIONS.length]!;
        const header = Buffer.alloc(10);
        header.writeInt16BE(apiKey, 0);
        header.writeInt16BE(version, 2);
        header.writeInt32BE(1, 4);
        header.writeInt16BE(-1, 8);
        stableRequest(Buffer.concat([header, Buffer.from(body)]));
      }),
      { seed, numRuns: 2000 },
    );
  });

  it(`random bytes (seed ${seed})`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => stableRequest(Buffer.from(bytes))),
      { seed, numRuns: 1000 },
    );
  });

  it(`mutated responses decode or throw KafkaProtocolError (seed ${seed})`, () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, mutations) => {
        const { apiKey, version, frame } = RESPONSES[which % RESPONSES.length]!;
        onlyProtocolErrors(() => decodeResponseAny(apiKey, version, mutate(frame, mutations)));
      }),
      { seed, numRuns: 2000 },
    );
  });

  it(`the frame splitter takes any stream, in any cuts, giving frames or KafkaProtocolError (seed ${seed})`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 10 }),
        fc.boolean(),
        (chunks, smallSizes) => {
          const splitter = new FrameSplitter({ frameSizeBytesMax: 64 });
          for (const chunk of chunks) {
            const bytes = Buffer.from(chunk);
            // Half the runs get plausible size prefixes, so frames do come out.
            if (smallSizes && bytes.length >= 4) bytes.writeInt32BE(bytes.length % 16, 0);
            const frames = onlyProtocolErrors(() => splitter.push(bytes));
            if (frames === undefined) return;
            for (const frame of frames) expect(frame.length).toBeLessThanOrEqual(64);
          }
        },
      ),
      { seed, numRuns: 1000 },
    );
  });
});
