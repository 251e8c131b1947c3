import {
  computeBatchCrc,
  decodeRecordBatch,
  encodeRecordBatch,
  parseBatchHeader,
  readRecords,
  splitBatches,
  validateProducedBatch,
  verifyBatch,
  withBaseOffset,
} from '../../../../../broker/kafka/record';
import type { RecordToEncode } from '../../../../../broker/kafka/record';
import { expectRecordError, expectRecordRejection } from './expect-record-error';
import { KAFKAJS_GZIP, kafkajsBatch, kafkajsDecode } from './kafkajs-codec';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/**
 * One batch built by hand from kafka.md section 3: base offset 7, leader epoch -1, CreateTime 1700000000000,
 * no producer id, one record (key "k", value "v1", header h=x). The CRC-32C came from kafkajs's own table
 * implementation, not ours.
 */
const HAND_BATCH = hex(`
  0000000000000007 0000003f ffffffff 02 9f24bf72 0000 00000000
  0000018bcfe56800 0000018bcfe56800 ffffffffffffffff ffff ffffffff 00000001
  1a 00 00 00 026b 047631 02 0268 0278`);

describe('broker > kafka > record > record batch', () => {
  describe('header', () => {
    it('parses every field of the hand-built batch', () => {
      expect(verifyBatch(HAND_BATCH)).toEqual({
        baseOffset: 7n,
        batchLength: 63,
        partitionLeaderEpoch: -1,
        magic: 2,
        crc: 0x9f24bf72,
        attributes: 0,
        compression: 'none',
        timestampType: 'CreateTime',
        transactional: false,
        control: false,
        lastOffsetDelta: 0,
        baseTimestamp: 1700000000000,
        maxTimestamp: 1700000000000,
        producerId: -1n,
        producerEpoch: -1,
        baseSequence: -1,
        recordCount: 1,
      });
    });

    it('reads the attribute bits: codec, LogAppendTime, transactional, control', () => {
      const batch = Buffer.from(HAND_BATCH);
      batch.writeInt16BE(0x04 | 0x08 | 0x10 | 0x20, 21);
      const header = parseBatchHeader(batch);
      expect(header).toMatchObject({
        compression: 'zstd',
        timestampType: 'LogAppendTime',
        transactional: true,
        control: true,
      });
    });

    it('refuses an old magic before anything else, a short header, a codec id past 4', () => {
      const old = Buffer.from(HAND_BATCH.subarray(0, 20));
      old[16] = 1;
      expect(expectRecordError(() => parseBatchHeader(old), 'UnsupportedMagic').message).toMatch(/magic 1/);
      expectRecordError(() => parseBatchHeader(HAND_BATCH.subarray(0, 60)), 'TruncatedBatch');
      const codec = Buffer.from(HAND_BATCH);
      codec.writeInt16BE(5, 21);
      expectRecordError(() => parseBatchHeader(codec), 'UnsupportedCompression');
      const length = Buffer.from(HAND_BATCH);
      length.writeInt32BE(10, 8);
      expectRecordError(() => parseBatchHeader(length), 'MalformedBatch');
      const timestamp = Buffer.from(HAND_BATCH);
      timestamp.writeBigInt64BE(2n ** 62n, 27);
      expectRecordError(() => parseBatchHeader(timestamp), 'MalformedBatch');
    });
  });

  describe('verify', () => {
    it('detects a CRC mismatch anywhere from the attributes on', () => {
      for (const at of [21, 30, 60, 61, HAND_BATCH.length - 1]) {
        const bad = Buffer.from(HAND_BATCH);
        bad[at] = (bad[at] as number) ^ 0x01;
        expectRecordError(() => verifyBatch(bad), 'ChecksumMismatch');
      }
      const stored = Buffer.from(HAND_BATCH);
      stored.writeUInt32BE(0x12345678, 17);
      expect(expectRecordError(() => verifyBatch(stored), 'ChecksumMismatch').message).toMatch(
        /0x12345678 but its bytes give 0x9f24bf72/,
      );
    });

    it('ignores the base offset and leader epoch, which the CRC does not cover', () => {
      const patched = Buffer.from(HAND_BATCH);
      patched.writeInt32BE(42, 12);
      expect(verifyBatch(withBaseOffset(patched, 1000n)).baseOffset).toBe(1000n);
    });

    it('wants the length field to match the bytes exactly', () => {
      expectRecordError(() => verifyBatch(HAND_BATCH.subarray(0, 74)), 'TruncatedBatch');
      expectRecordError(() => verifyBatch(Buffer.concat([HAND_BATCH, hex('00')])), 'MalformedBatch');
    });
  });

  describe('withBaseOffset', () => {
    it('copies by default and rewrites in place when asked', () => {
      const original = Buffer.from(HAND_BATCH);
      const copy = withBaseOffset(original, 2n ** 40n);
      expect(copy).not.toBe(original);
      expect(parseBatchHeader(original).baseOffset).toBe(7n);
      expect(parseBatchHeader(copy).baseOffset).toBe(2n ** 40n);
      expect(computeBatchCrc(copy)).toBe(0x9f24bf72);
      expect(withBaseOffset(original, 9n, 'in-place')).toBe(original);
      expect(parseBatchHeader(original).baseOffset).toBe(9n);
      expectRecordError(() => withBaseOffset(HAND_BATCH.subarray(0, 30), 1n), 'TruncatedBatch');
    });
  });

  describe('splitBatches', () => {
    it('splits whole batches and reports a cut-short tail', () => {
      const second = withBaseOffset(HAND_BATCH, 8n);
      const whole = Buffer.concat([HAND_BATCH, second]);
      expect(splitBatches(whole)).toEqual({ batches: [HAND_BATCH, second], truncatedBytes: 0 });
      expect(splitBatches(Buffer.concat([whole, HAND_BATCH.subarray(0, 40)]))).toEqual({
        batches: [HAND_BATCH, second],
        truncatedBytes: 40,
      });
      expect(splitBatches(Buffer.concat([whole, HAND_BATCH.subarray(0, 5)])).truncatedBytes).toBe(5);
      expect(splitBatches(Buffer.alloc(0))).toEqual({ batches: [], truncatedBytes: 0 });
    });

    it('refuses an old magic or a length shorter than a header', () => {
      const old = Buffer.from(HAND_BATCH);
      old[16] = 0;
      expectRecordError(() => splitBatches(Buffer.concat([HAND_BATCH, old])), 'UnsupportedMagic');
      const short = Buffer.from(HAND_BATCH);
      short.writeInt32BE(-5, 8);
      expectRecordError(() => splitBatches(short), 'MalformedBatch');
    });
  });

  describe('decode', () => {
    it('decodes the hand-built batch', async () => {
      const { records } = await decodeRecordBatch(HAND_BATCH);
      expect(records).toEqual([
        {
          offset: 7n,
          timestamp: 1700000000000,
          key: Buffer.from('k'),
          value: Buffer.from('v1'),
          headers: [{ key: 'h', value: Buffer.from('x') }],
        },
      ]);
    });

    it('gives a LogAppendTime batch the max timestamp for every record', async () => {
      const batch = await encodeRecordBatch(
        [
          { timestamp: 10, key: null, value: null },
          { timestamp: 20, key: null, value: null },
        ],
        { timestampType: 'LogAppendTime' },
      );
      batch.writeBigInt64BE(99n, 35);
      const { records } = await decodeRecordBatch(batch, { verifyChecksum: false });
      expect(records.map((r) => r.timestamp)).toEqual([99, 99]);
    });

    it('refuses records that do not fill the batch exactly or lie about their sizes', () => {
      const header = parseBatchHeader(HAND_BATCH);
      const records = HAND_BATCH.subarray(61);
      expect(readRecords(header, records)).toHaveLength(1);
      expectRecordError(() => readRecords(header, Buffer.concat([records, hex('00')])), 'MalformedBatch');
      expectRecordError(() => readRecords({ ...header, recordCount: 2 }, records), 'MalformedBatch');
      expectRecordError(() => readRecords({ ...header, recordCount: -1 }, records), 'MalformedBatch');
      expectRecordError(
        () => readRecords({ ...header, recordCount: 2 ** 31 - 1 }, records),
        'MalformedBatch',
      );
      const longer = Buffer.from(records);
      longer[0] = 0x1c; // length 14: one byte more than the fields take, the batch one byte short
      expectRecordError(() => readRecords(header, longer), 'MalformedBatch');
      const key = Buffer.from(records);
      key[4] = 0x03; // key length -2
      expectRecordError(() => readRecords(header, key), 'MalformedBatch');
      const headers = Buffer.from(records);
      headers[9] = 0x01; // header count -1
      expectRecordError(() => readRecords(header, headers), 'MalformedBatch');
      const varint = Buffer.from(records);
      varint.fill(0xff, 1, 8); // an unterminated varint
      expectRecordError(() => readRecords(header, varint), 'MalformedBatch');
    });
  });

  describe('encode', () => {
    const records: RecordToEncode[] = [
      {
        timestamp: 1700000000000,
        key: Buffer.from('k'),
        value: Buffer.from('v1'),
        headers: [{ key: 'h', value: Buffer.from('x') }],
      },
    ];

    it('encodes the hand-built batch byte for byte', async () => {
      expect((await encodeRecordBatch(records, { baseOffset: 7n })).toString('hex')).toBe(
        HAND_BATCH.toString('hex'),
      );
    });

    it('writes base/max timestamps, lastOffsetDelta, nulls, negative timestamp deltas and idempotence fields', async () => {
      const batch = await encodeRecordBatch(
        [
          { timestamp: 5000, key: null, value: Buffer.from('a'), headers: [{ key: 'ü', value: null }] },
          { timestamp: 9000, key: Buffer.alloc(0), value: null, offsetDelta: 3 },
          { timestamp: 1000, key: Buffer.from('c'), value: Buffer.alloc(300, 1), offsetDelta: 70000 },
        ],
        {
          baseOffset: 100n,
          producerId: 12n,
          producerEpoch: 2,
          baseSequence: 40,
          partitionLeaderEpoch: 3,
          transactional: true,
        },
      );
      const { header, records: decoded } = await decodeRecordBatch(batch);
      expect(header).toMatchObject({
        baseOffset: 100n,
        partitionLeaderEpoch: 3,
        transactional: true,
        lastOffsetDelta: 70000,
        baseTimestamp: 5000,
        maxTimestamp: 9000,
        producerId: 12n,
        producerEpoch: 2,
        baseSequence: 40,
        recordCount: 3,
      });
      expect(decoded).toEqual([
        {
          offset: 100n,
          timestamp: 5000,
          key: null,
          value: Buffer.from('a'),
          headers: [{ key: 'ü', value: null }],
        },
        { offset: 103n, timestamp: 9000, key: Buffer.alloc(0), value: null, headers: [] },
        { offset: 70100n, timestamp: 1000, key: Buffer.from('c'), value: Buffer.alloc(300, 1), headers: [] },
      ]);
    });

    it('refuses what Kafka cannot carry', async () => {
      await expectRecordRejection(encodeRecordBatch([]), 'InvalidRecord');
      await expectRecordRejection(
        encodeRecordBatch([{ timestamp: 1.5, key: null, value: null }]),
        'InvalidRecord',
      );
      await expectRecordRejection(
        encodeRecordBatch([
          { timestamp: 1, key: null, value: null, offsetDelta: 2 },
          { timestamp: 1, key: null, value: null, offsetDelta: 2 },
        ]),
        'InvalidRecord',
      );
      await expectRecordRejection(
        encodeRecordBatch([{ timestamp: 1, key: null, value: null, offsetDelta: 2 ** 31 }]),
        'InvalidRecord',
      );
    });
  });

  describe('validateProducedBatch', () => {
    /** `batch` with `patch` applied and its CRC made right again. */
    function resealed(batch: Buffer, patch: (b: Buffer) => void): Buffer {
      const out = Buffer.from(batch);
      patch(out);
      out.writeUInt32BE(computeBatchCrc(out), 17);
      return out;
    }
    const two: RecordToEncode[] = [
      { timestamp: 1, key: null, value: Buffer.from('a') },
      { timestamp: 2, key: null, value: Buffer.from('b') },
    ];

    it('accepts what producers send, compressed or not', async () => {
      expect((await validateProducedBatch(HAND_BATCH)).recordCount).toBe(1);
      const gzip = await encodeRecordBatch(two, { compression: 'gzip' });
      expect(await validateProducedBatch(gzip)).toMatchObject({ recordCount: 2, compression: 'gzip' });
    });

    it('refuses control batches, empty batches and counts that disagree with lastOffsetDelta', async () => {
      const batch = await encodeRecordBatch(two);
      await expectRecordRejection(
        validateProducedBatch(resealed(batch, (b) => b.writeInt16BE(0x20, 21))),
        'InvalidProducerBatch',
      );
      await expectRecordRejection(
        validateProducedBatch(resealed(batch, (b) => b.writeInt32BE(5, 23))),
        'InvalidProducerBatch',
      );
      const empty = resealed(batch.subarray(0, 61), (b) => {
        b.writeInt32BE(49, 8);
        b.writeInt32BE(0, 57);
      });
      await expectRecordRejection(validateProducedBatch(empty), 'InvalidProducerBatch');
      await expectRecordRejection(
        validateProducedBatch(withBaseOffset(batch, 0n).fill(0xee, 60, 61)),
        'ChecksumMismatch',
      );
    });

    it('refuses record offset deltas other than 0, 1, 2, ... unless told not to read the records', async () => {
      const gap = await encodeRecordBatch([...two, { timestamp: 3, key: null, value: null, offsetDelta: 3 }]);
      const lying = resealed(gap, (b) => b.writeInt32BE(2, 23)); // lastOffsetDelta 2 for 3 records: consistent
      await expectRecordRejection(validateProducedBatch(lying), 'InvalidProducerBatch');
      expect((await validateProducedBatch(lying, { checkRecords: false })).lastOffsetDelta).toBe(2);
    });
  });

  describe('against kafkajs 2.2.4', () => {
    const kafkajsInput = {
      firstTimestamp: 1700000000000,
      maxTimestamp: 1700000000005,
      lastOffsetDelta: 1,
      records: [
        {
          offsetDelta: 0,
          key: Buffer.from('key-0'),
          value: Buffer.from('value-0'),
          headers: { a: Buffer.from('1') },
        },
        { offsetDelta: 1, timestampDelta: 5, key: null, value: Buffer.from('value-1') },
      ],
    };
    const ours: RecordToEncode[] = [
      {
        timestamp: 1700000000000,
        key: Buffer.from('key-0'),
        value: Buffer.from('value-0'),
        headers: [{ key: 'a', value: Buffer.from('1') }],
      },
      { timestamp: 1700000000005, key: null, value: Buffer.from('value-1') },
    ];
    // kafkajs's defaults: leader epoch 0, producer id -1, epoch 0, sequence 0.
    const kafkajsDefaults = { partitionLeaderEpoch: 0, producerId: -1n, producerEpoch: 0, baseSequence: 0 };

    it('verifies and decodes a kafkajs batch; encodes the same records to the same bytes', async () => {
      const theirs = await kafkajsBatch(kafkajsInput);
      const header = verifyBatch(theirs);
      expect(header).toMatchObject({
        baseOffset: 0n,
        recordCount: 2,
        lastOffsetDelta: 1,
        maxTimestamp: 1700000000005,
      });
      const { records } = await decodeRecordBatch(theirs);
      expect(records).toEqual(ours.map((r, i) => ({ offset: BigInt(i), headers: [], ...r })));
      expect((await encodeRecordBatch(ours, kafkajsDefaults)).toString('hex')).toBe(theirs.toString('hex'));
    });

    it('decodes a kafkajs gzip batch, and kafkajs decodes ours', async () => {
      const theirs = await kafkajsBatch({ ...kafkajsInput, compression: KAFKAJS_GZIP });
      expect(verifyBatch(theirs).compression).toBe('gzip');
      const { records } = await decodeRecordBatch(theirs);
      expect(records.map((r) => r.value?.toString())).toEqual(['value-0', 'value-1']);

      for (const compression of ['none', 'gzip'] as const) {
        const batch = await encodeRecordBatch(ours, { ...kafkajsDefaults, compression, baseOffset: 50n });
        const decoded = await kafkajsDecode(batch);
        expect(decoded.records.map((r) => [r.offset, r.timestamp, r.key, r.value, r.headers])).toEqual([
          ['50', '1700000000000', Buffer.from('key-0'), Buffer.from('value-0'), { a: Buffer.from('1') }],
          ['51', '1700000000005', null, Buffer.from('value-1'), {}],
        ]);
      }
    });
  });
});
