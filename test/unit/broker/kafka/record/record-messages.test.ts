/**
 * broker > kafka > record > record messages: a stored Kafka batch turned into one text-keyed message per record
 * (what WebSocket consumers get). Golden batches from kafkajs's own encoder and from ours in every codec; null
 * keys, values and header values; keys that are not UTF-8; and seeded damage that must only ever give
 * KafkaRecordError.
 */
import fc from 'fast-check';
import {
  decodeBatchAsMessages,
  encodeRecordBatch,
  recordAsMessage,
} from '../../../../../broker/kafka/record';
import type { CompressionCodec, RecordMessage, RecordToEncode } from '../../../../../broker/kafka/record';
import { testSeed } from '../../../../harness';
import { mutate, mutation, resealed } from './batch-mutations';
import { expectRecordRejection, onlyRecordErrorsAsync } from './expect-record-error';
import { KAFKAJS_GZIP, kafkajsBatch } from './kafkajs-codec';

const SEED = testSeed();
const CODECS: CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** A message as the test expects it: no key unless given, not base64, a non-null value, no properties. */
function message(fields: Partial<RecordMessage> & { timestamp: number; offset: bigint }): RecordMessage {
  return {
    key: undefined,
    keyBase64: false,
    value: Buffer.alloc(0),
    nullValue: false,
    properties: new Map(),
    ...fields,
  };
}

describe('broker > kafka > record > record messages', () => {
  it.each([
    ['uncompressed', undefined],
    ['gzip', KAFKAJS_GZIP],
  ])('turns a kafkajs %s batch into one message per record', async (_name, compression) => {
    const batch = await kafkajsBatch({
      ...(compression !== undefined && { compression }),
      firstOffset: '12',
      firstTimestamp: 1700000000000,
      maxTimestamp: 1700000000007,
      lastOffsetDelta: 1,
      records: [
        {
          offsetDelta: 0,
          timestampDelta: 0,
          key: Buffer.from('user-1'),
          value: Buffer.from('{"n":1}'),
          headers: { origin: Buffer.from('kafkajs'), trace: Buffer.from('t-1') },
        },
        { offsetDelta: 1, timestampDelta: 7, key: null, value: Buffer.from('second') },
      ],
    });
    expect(await decodeBatchAsMessages(batch)).toEqual([
      message({
        key: 'user-1',
        value: Buffer.from('{"n":1}'),
        properties: new Map([
          ['origin', 'kafkajs'],
          ['trace', 't-1'],
        ]),
        timestamp: 1700000000000,
        offset: 12n,
      }),
      message({ value: Buffer.from('second'), timestamp: 1700000000007, offset: 13n }),
    ]);
  });

  describe('every codec', () => {
    const records: RecordToEncode[] = [
      {
        timestamp: 1700000000100,
        key: Buffer.from('clé 🔑'),
        value: Buffer.from('v'.repeat(3000)),
        headers: [
          { key: 'none', value: null },
          { key: 'twice', value: Buffer.from('first') },
          { key: 'twice', value: Buffer.from('last') },
          { key: 'bytes', value: Buffer.from([0x61, 0xff]) },
        ],
      },
      { timestamp: 1700000000090, key: Buffer.alloc(0), value: null },
      { timestamp: 1700000000200, key: Buffer.from([0xc0, 0xaf]), value: Buffer.alloc(0) },
    ];

    it.each(CODECS)(
      '%s: null value, null header value, repeated header, empty and non-UTF-8 keys',
      async (codec) => {
        const batch = await encodeRecordBatch(records, { compression: codec, baseOffset: 5n });
        expect(await decodeBatchAsMessages(batch)).toEqual([
          message({
            key: 'clé 🔑',
            value: Buffer.from('v'.repeat(3000)),
            properties: new Map([
              ['none', ''],
              ['twice', 'last'],
              ['bytes', 'a\ufffd'],
            ]),
            timestamp: 1700000000100,
            offset: 5n,
          }),
          message({ key: '', nullValue: true, timestamp: 1700000000090, offset: 6n }),
          message({ key: 'wK8=', keyBase64: true, timestamp: 1700000000200, offset: 7n }),
        ]);
      },
    );

    it('LogAppendTime: every record gets the batch max timestamp', async () => {
      const batch = await encodeRecordBatch(records, { timestampType: 'LogAppendTime' });
      expect((await decodeBatchAsMessages(batch)).map((m) => m.timestamp)).toEqual([
        1700000000200, 1700000000200, 1700000000200,
      ]);
    });

    it('refuses records past decompressedBytesMax, and a bad CRC', async () => {
      const batch = await encodeRecordBatch(records, { compression: 'zstd' });
      await expectRecordRejection(
        decodeBatchAsMessages(batch, { decompressedBytesMax: 1000 }),
        'DecompressedTooLarge',
      );
      const flipped = Buffer.from(batch);
      flipped[flipped.length - 1]! ^= 1;
      await expectRecordRejection(decodeBatchAsMessages(flipped), 'ChecksumMismatch');
    });
  });

  it('a key is UTF-8 text exactly when its bytes are valid UTF-8, else base64; either gives the bytes back', () => {
    const keyOf = (bytes: number[]): Pick<RecordMessage, 'key' | 'keyBase64'> => {
      const { key, keyBase64 } = recordAsMessage({
        offset: 0n,
        timestamp: 0,
        key: Buffer.from(bytes),
        value: null,
        headers: [],
      });
      return { key, keyBase64 };
    };
    expect(keyOf([0xe2, 0x82, 0xac])).toEqual({ key: '€', keyBase64: false });
    expect(keyOf([0xef, 0xbb, 0xbf, 0x41])).toEqual({ key: '\ufeffA', keyBase64: false }); // a BOM is kept
    expect(keyOf([0xe2, 0x82])).toEqual({ key: '4oI=', keyBase64: true }); // cut short
    expect(keyOf([0xed, 0xa0, 0x80])).toEqual({ key: '7aCA', keyBase64: true }); // a UTF-16 surrogate
    expect(keyOf([0xf4, 0x90, 0x80, 0x80])).toEqual({ key: '9JCAgA==', keyBase64: true }); // past U+10FFFF
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const { key, keyBase64 } = keyOf([...bytes]);
        expect(Buffer.from(key!, keyBase64 ? 'base64' : 'utf8')).toEqual(Buffer.from(bytes));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('damaged batches of every codec, as given and resealed, give only KafkaRecordError (property, seeded)', async () => {
    const goldens = await Promise.all(
      CODECS.map((compression) =>
        encodeRecordBatch(
          Array.from({ length: 4 }, (_, i) => ({
            timestamp: 1700000000000 + i,
            key: i === 1 ? null : Buffer.from(`key-${i}`),
            value: i === 2 ? null : Buffer.from(`value ${i} `.repeat(i + 2)),
            headers: [{ key: `h${i}`, value: i === 3 ? null : Buffer.from('x') }],
          })),
          { compression },
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.nat(CODECS.length - 1),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        async (which, ms) => {
          let bytes = goldens[which]!;
          for (const m of ms) bytes = mutate(bytes, m);
          for (const damaged of [bytes, resealed(bytes)]) {
            await onlyRecordErrorsAsync(async () => {
              const messages = await decodeBatchAsMessages(damaged, { decompressedBytesMax: 64 * 1024 });
              for (const m of messages) expect(m.properties).toBeInstanceOf(Map);
            });
          }
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });
});
