/**
 * Bad bytes of every kind (cut short, bit-flipped, lengths and counts overwritten, random bytes spliced in,
 * compressed streams corrupted behind a recomputed CRC) must only ever make this layer throw KafkaRecordError:
 * never another error, a crash or a hang. Seeded from LEDGERLINE_SEED (printed on failure with fast-check's own
 * seed and path), so a failing run can be replayed.
 */
import fc from 'fast-check';
import {
  decodeRecordBatch,
  encodeRecordBatch,
  parseBatchHeader,
  splitBatches,
  validateProducedBatch,
  verifyBatch,
} from '../../../../../broker/kafka/record';
import type { CompressionCodec, RecordToEncode } from '../../../../../broker/kafka/record';
import { testSeed } from '../../../../harness';
import { mutate, mutation, resealed } from './batch-mutations';
import { onlyRecordErrors, onlyRecordErrorsAsync } from './expect-record-error';

const SEED = testSeed();
const CODECS: CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const RECORDS: RecordToEncode[] = Array.from({ length: 6 }, (_, i) => ({
  timestamp: 1700000000000 + i * 10,
  key: i === 2 ? null : Buffer.from(`key-${i}`),
  value: Buffer.from(`value ${i} `.repeat(i + 1)),
  headers: [{ key: `h${i}`, value: i % 2 === 0 ? null : Buffer.from('v') }],
}));

/** Runs every reader of this layer on `bytes`; each may succeed or throw KafkaRecordError, nothing else. */
async function checkEveryReader(bytes: Buffer): Promise<void> {
  onlyRecordErrors(() => parseBatchHeader(bytes));
  onlyRecordErrors(() => verifyBatch(bytes));
  onlyRecordErrors(() => splitBatches(bytes));
  await onlyRecordErrorsAsync(() => decodeRecordBatch(bytes));
  await onlyRecordErrorsAsync(async () => {
    const { header, records } = await decodeRecordBatch(bytes, {
      verifyChecksum: false,
      decompressedBytesMax: 64 * 1024,
    });
    expect(records).toHaveLength(header.recordCount);
  });
  // The produce check walks the records without building them: it must accept exactly what decoding accepts
  // (with offset deltas 0, 1, 2, ... and the batch-level rules), never more.
  const decoded = await decodeRecordBatch(bytes).catch(() => undefined);
  const accepted = await validateProducedBatch(bytes).then(
    () => true,
    (error: unknown) => {
      onlyRecordErrors(() => {
        throw error;
      });
      return false;
    },
  );
  const valid =
    decoded !== undefined &&
    !decoded.header.control &&
    decoded.records.length > 0 &&
    decoded.header.recordCount === decoded.header.lastOffsetDelta + 1 &&
    decoded.records.every((record, i) => record.offset === decoded.header.baseOffset + BigInt(i));
  expect(accepted).toBe(valid);
}

describe('broker > kafka > record > malformed input (property, seeded)', () => {
  let goldens: Buffer[] = [];

  beforeAll(async () => {
    goldens = await Promise.all(CODECS.map((compression) => encodeRecordBatch(RECORDS, { compression })));
  });

  it('mutated batches of every codec, as given and resealed, throw only KafkaRecordError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(CODECS.length - 1),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        async (which, ms) => {
          let bytes = goldens[which] as Buffer;
          for (const m of ms) bytes = mutate(bytes, m);
          await checkEveryReader(bytes);
          await checkEveryReader(resealed(bytes));
          await checkEveryReader(Buffer.concat([goldens[0] as Buffer, bytes]));
        },
      ),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('random bytes throw only KafkaRecordError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (random) => {
        await checkEveryReader(Buffer.from(random));
        await checkEveryReader(resealed(Buffer.from(random)));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('any records round-trip through every codec (property)', async () => {
    const record = fc.record({
      timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
      key: fc.option(
        fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)),
        { nil: null },
      ),
      value: fc.option(
        fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
        { nil: null },
      ),
      headers: fc.array(
        fc.record({
          key: fc.string({ maxLength: 10 }),
          value: fc.option(
            fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
            { nil: null },
          ),
        }),
        { maxLength: 3 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { minLength: 1, maxLength: 20 }),
        fc.constantFrom(...CODECS),
        fc.bigInt({ min: 0n, max: 2n ** 62n }),
        async (records, compression, baseOffset) => {
          const { records: decoded } = await decodeRecordBatch(
            await encodeRecordBatch(records, { compression, baseOffset }),
          );
          expect(decoded).toEqual(records.map((r, i) => ({ offset: baseOffset + BigInt(i), ...r })));
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
  });
});
