/**
 * Seeded damage for Kafka record batches, shared by the property tests of this layer and of its callers: a
 * fast-check arbitrary of mutations (cut, bit flip, an int32 overwritten, random bytes spliced in, the records
 * replaced), `mutate` to apply one, and `resealed` to make the length field and CRC right again so the records
 * parser sees the damage.
 */
import fc from 'fast-check';
import { computeBatchCrc } from '../../../../../broker/kafka/record';

/** The mutated batch with its length field and CRC made right again, so the records parser sees the damage. */
export function resealed(bytes: Buffer): Buffer {
  if (bytes.length < 61) return bytes;
  const out = Buffer.from(bytes);
  out.writeInt32BE(out.length - 12, 8);
  out[16] = 2;
  out.writeUInt32BE(computeBatchCrc(out), 17);
  return out;
}

export type Mutation =
  | { kind: 'cut'; at: number }
  | { kind: 'flip'; bit: number }
  | { kind: 'int32'; at: number; value: number }
  | { kind: 'splice'; at: number; bytes: Uint8Array }
  | { kind: 'records'; bytes: Uint8Array };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(2000) }),
  fc.record({ kind: fc.constant('flip' as const), bit: fc.nat(16000) }),
  fc.record({
    kind: fc.constant('int32' as const),
    at: fc.nat(2000),
    value: fc.oneof(fc.integer({ min: -2, max: 300 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: fc.nat(2000),
    bytes: fc.uint8Array({ maxLength: 40 }),
  }),
  fc.record({ kind: fc.constant('records' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
);

export function mutate(batch: Buffer, m: Mutation): Buffer {
  const out = Buffer.from(batch);
  switch (m.kind) {
    case 'cut':
      return out.subarray(0, m.at % (out.length + 1));
    case 'flip': {
      if (out.length === 0) return out;
      const bit = m.bit % (out.length * 8);
      out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
      return out;
    }
    case 'int32':
      if (out.length < 4) return out;
      out.writeInt32BE(m.value, m.at % (out.length - 3));
      return out;
    case 'splice': {
      const at = m.at % (out.length + 1);
      return Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
    }
    case 'records':
      return Buffer.concat([out.subarray(0, 61), Buffer.from(m.bytes)]);
  }
}
