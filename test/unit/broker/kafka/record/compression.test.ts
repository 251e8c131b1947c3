import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { compressSync as snappyCompressSync } from 'snappy';
import {
  KafkaRecordError,
  compress,
  decodeRecordBatch,
  decompress,
  encodeRecordBatch,
  verifyBatch,
} from '../../../../../broker/kafka/record';
import type { CompressionCodec, RecordToEncode } from '../../../../../broker/kafka/record';
import { expectRecordRejection } from './expect-record-error';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const CODECS: CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const MiB = 1024 * 1024;

/** Text that compresses, then random bytes that do not: both paths of every codec. */
function sample(bytes: number): Buffer {
  const text = Buffer.from('a kafka record value, repeated; '.repeat(Math.ceil(bytes / 64)));
  return Buffer.concat([text, randomBytes(bytes - Math.min(bytes, text.length))]).subarray(0, bytes);
}

describe('broker > kafka > record > compression', () => {
  it.each(CODECS)('%s round-trips empty, small and multi-block data', async (codec) => {
    for (const size of [0, 1, 1000, 300 * 1024]) {
      const data = sample(size);
      if (size === 0 && codec !== 'none' && codec !== 'gzip') continue; // an empty blob is never a batch's records
      expect((await decompress(codec, await compress(codec, data))).equals(data)).toBe(true);
    }
  });

  it.each(CODECS)('%s batches round-trip through encodeRecordBatch and decodeRecordBatch', async (codec) => {
    const records: RecordToEncode[] = Array.from({ length: 500 }, (_, i) => ({
      timestamp: 1700000000000 + i,
      key: i % 3 === 0 ? null : Buffer.from(`key-${i}`),
      value: Buffer.from(`value-${i}-`.repeat(i % 7)),
      headers: i % 2 === 0 ? [{ key: 'n', value: Buffer.from(String(i)) }] : [],
    }));
    const batch = await encodeRecordBatch(records, { compression: codec, baseOffset: 1000n });
    const header = verifyBatch(batch);
    expect(header.compression).toBe(codec);
    const decoded = await decodeRecordBatch(batch);
    expect(decoded.records).toEqual(
      records.map((r, i) => ({
        offset: 1000n + BigInt(i),
        timestamp: r.timestamp,
        key: r.key,
        value: r.value,
        headers: r.headers,
      })),
    );
  });

  it('snappy: writes xerial framing and reads both xerial and a raw snappy block (librdkafka)', async () => {
    const data = sample(100 * 1024);
    const framed = await compress('snappy', data);
    expect(framed.subarray(0, 16).toString('hex')).toBe('82534e415050590000000001' + '00000001');
    expect((await decompress('snappy', snappyCompressSync(data))).equals(data)).toBe(true);
  });

  it('lz4: reads frames written by the lz4 command-line tool, writes independent blocks', async () => {
    // `lz4 -c` of 'kafka ' x 40 (one compressed block, content checksum) and of a 48-byte line (one stored block).
    const compressed = hex('04224d186440a7100000006f6b61666b61200600d25061666b612000000000e1351a75');
    expect((await decompress('lz4', compressed)).toString()).toBe('kafka '.repeat(40));
    const stored = hex(
      '04224d186440a7310000807265636f7264732066726f6d20746865206c7a3420616e64207a73746420636f6d6d616e642d6c696e6520746f6f6c730a00000000e18818db',
    );
    expect((await decompress('lz4', stored)).toString()).toBe(
      'records from the lz4 and zstd command-line tools\n',
    );
    const ours = await compress('lz4', sample(1000));
    expect(ours.readUInt32LE(0)).toBe(0x184d2204);
    expect((ours[4] as number) & 0x20).toBe(0x20);
  });

  it('lz4: reads linked (dependent) blocks, as an LZ4F writer in linked mode produces', async () => {
    // `lz4 -BD -B4 --no-frame-crc` of 72,000 bytes (a 600-byte random text, 120 times): two 64 KiB-max blocks,
    // the second matching into the first.
    const frame = readFileSync(join(__dirname, 'fixtures', 'linked-blocks.lz4'));
    expect((frame[4] as number) & 0x20).toBe(0);
    const out = await decompress('lz4', frame);
    expect(out.length).toBe(72000);
    expect(createHash('sha256').update(out).digest('hex')).toBe(
      '859485e331faa424d7168b32298c584b1278974f188f3680b4be9421c711b489',
    );
  });

  it('zstd and gzip: read what the zstd and gzip command-line tools write', async () => {
    expect(
      (await decompress('zstd', hex('28b52ffd24f06d0000306b61666b61200100e750a508d2d0616b'))).toString(),
    ).toBe('kafka '.repeat(40));
    const gzip = hex('1f8b0800000000000003cb4e4ccb4e54c81e31240009d28dbaf0000000');
    expect((await decompress('gzip', gzip)).toString()).toBe('kafka '.repeat(40));
  });

  describe('decompression bombs are refused before the memory is spent', () => {
    const zeros = Buffer.alloc(8 * MiB);

    it.each(['gzip', 'snappy', 'lz4', 'zstd'] as const)(
      '%s: 8 MiB of zeros against a 1 MiB cap',
      async (codec) => {
        const bomb = await compress(codec, zeros);
        await expectRecordRejection(decompress(codec, bomb, MiB), 'DecompressedTooLarge');
        expect((await decompress(codec, bomb, 9 * MiB)).length).toBe(8 * MiB);
      },
    );

    it('a batch past the cap fails decodeRecordBatch the same way', async () => {
      const batch = await encodeRecordBatch([{ timestamp: 0, key: null, value: zeros }], {
        compression: 'zstd',
      });
      await expectRecordRejection(
        decodeRecordBatch(batch, { decompressedBytesMax: MiB }),
        'DecompressedTooLarge',
      );
    });

    it('forged sizes: a snappy preamble of 4 GiB, an RLE zstd frame of 2 GiB, an LZ4 frame of 4 MiB blocks', async () => {
      await expectRecordRejection(decompress('snappy', hex('ffffffff0f00')), 'DecompressedTooLarge');
      // zstd frame: no window byte needed (single segment off, window descriptor 0), then 16384 RLE blocks of 128 KiB.
      const rleBlock = Buffer.from([
        (128 * 1024 * 8 + (1 << 1)) & 0xff,
        ((128 * 1024 * 8) >> 8) & 0xff,
        (128 * 1024 * 8) >> 16,
        0x61,
      ]);
      const frame = Buffer.concat([hex('28b52ffd0000'), ...Array<Buffer>(16384).fill(rleBlock)]);
      frame[frame.length - 4] = (frame[frame.length - 4] as number) | 1; // last block
      await expectRecordRejection(decompress('zstd', frame), 'DecompressedTooLarge');
      // LZ4 frame, 4 MiB blocks (BD 0x70), 30 compressed blocks of 1 byte each: bound 120 MiB.
      const lz4 = Buffer.concat([
        hex('04224d186070' + '73'),
        ...Array<Buffer>(30).fill(hex('0100000000')),
        hex('00000000'),
      ]);
      lz4[6] = 0; // header checksum: the bound is refused before anything reads it
      await expectRecordRejection(decompress('lz4', lz4), 'DecompressedTooLarge');
    });
  });

  it.each(['gzip', 'snappy', 'lz4', 'zstd'] as const)(
    '%s: garbage and cut-short streams are MalformedBatch',
    async (codec) => {
      const good = await compress(codec, sample(5000));
      // Garbage whose first byte, read by snappy as the size preamble, is small: random garbage could announce a size
      // past the cap and be refused as DecompressedTooLarge instead (CI saw it).
      const garbage = randomBytes(200);
      garbage[0] = 0x10;
      await expectRecordRejection(decompress(codec, garbage), 'MalformedBatch');
      await expectRecordRejection(decompress(codec, good.subarray(0, good.length - 7)), 'MalformedBatch');
      await expectRecordRejection(decompress(codec, Buffer.alloc(0)), 'MalformedBatch');
      const flipped = Buffer.from(good);
      flipped[Math.floor(good.length / 2)] = (flipped[Math.floor(good.length / 2)] as number) ^ 0xff;
      // a flipped byte inside compressed data may still inflate (to other bytes); it must never crash
      await decompress(codec, flipped).catch((error: unknown) =>
        expect(error).toBeInstanceOf(KafkaRecordError),
      );
    },
  );

  it('gzip from another encoder (Node zlib, several members) inflates', async () => {
    const twoMembers = Buffer.concat([gzipSync('first '), gzipSync('second')]);
    expect((await decompress('gzip', twoMembers)).toString()).toBe('first second');
  });
});
