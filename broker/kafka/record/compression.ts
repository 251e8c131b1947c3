import { constants as bufferConstants } from 'node:buffer';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzip as gzipCallback } from 'node:zlib';
import { compress as zstdCompress, decompress as zstdDecompress } from '@mongodb-js/zstd';
import { compressFrame as lz4CompressFrame, decompressFrame as lz4DecompressFrame } from 'lz4-napi';
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappy';
import { KafkaRecordError, malformedBatch } from './errors';

/**
 * The codecs of a RecordBatch's attributes (bits 0-2), each as Kafka's own clients frame it:
 * - gzip: a gzip stream (RFC 1952), possibly several members.
 * - snappy: snappy-java's "xerial" framing, which the Java producer writes and librdkafka and the kafkajs codec
 *   read (`82 'SNAPPY' 00`, int32 version 1, int32 compatible version 1, then blocks of int32 length + raw
 *   snappy); a blob without that magic is one raw snappy block, as librdkafka writes. We write xerial framing.
 * - lz4: one LZ4 *frame* (magic 04 22 4D 18) with a correct header checksum (magic 2 never had Kafka's old
 *   checksum bug).
 * - zstd: one or more zstd frames.
 *
 * A decompression bomb must not cost unbounded memory. Before any native decompressor runs, the size it can
 * produce is bounded from the framing alone (snappy's length preamble, the LZ4 and zstd block headers, each
 * compressed block yielding at most its format's block maximum) and refused past `decompressedBytesMax`; gzip
 * is inflated by zlib with `maxOutputLength`. Nothing is allocated from a length that was not checked first.
 */
export type CompressionCodec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** Attribute bits 0-2 for each codec, and back. */
export const COMPRESSION_CODEC_IDS: Readonly<Record<CompressionCodec, number>> = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
};
const CODECS_BY_ID: readonly CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/**
 * The default cap on a batch's decompressed records: 16 x the broker's default maximum message size (5 MiB).
 * Real batches compress 2-10x (gzip on text), rarely past 20x even for zstd on repetitive JSON; a batch past
 * 80 MiB decompressed would also be a fetch no client could take in one piece. Configurable per call.
 */
export const DECOMPRESSED_BYTES_MAX_DEFAULT = 16 * 5 * 1024 * 1024;

/** The codec named by attribute bits 0-2; ids 5-7 are no codec at all. */
export function compressionCodecOf(attributes: number): CompressionCodec {
  const codec = CODECS_BY_ID[attributes & 0x07];
  if (codec === undefined) {
    throw new KafkaRecordError(
      'UnsupportedCompression',
      `record batch names compression id ${attributes & 0x07}, which no Kafka codec has`,
    );
  }
  return codec;
}

const MAX_LENGTH = bufferConstants.MAX_LENGTH;
const gzip = promisify(gzipCallback);
const gunzip = promisify(gunzipCallback);

/** Compresses `data` as a batch's records blob for `codec` ('none' returns `data` itself). */
export async function compress(codec: CompressionCodec, data: Buffer): Promise<Buffer> {
  switch (codec) {
    case 'none':
      return data;
    case 'gzip':
      return gzip(data);
    case 'snappy':
      return compressSnappyXerial(data);
    case 'lz4':
      return lz4CompressFrame(data);
    case 'zstd':
      return zstdCompress(data, ZSTD_LEVEL);
  }
}

/**
 * Decompresses a batch's records blob. Throws KafkaRecordError: `DecompressedTooLarge` when the output could
 * pass `decompressedBytesMax`, `MalformedBatch` when the blob is not a valid stream of the codec.
 */
export async function decompress(
  codec: CompressionCodec,
  data: Buffer,
  decompressedBytesMax: number = DECOMPRESSED_BYTES_MAX_DEFAULT,
): Promise<Buffer> {
  switch (codec) {
    case 'none':
      return data;
    case 'gzip':
      return decompressGzip(data, decompressedBytesMax);
    case 'snappy':
      return decompressSnappy(data, decompressedBytesMax);
    case 'lz4':
      checkBound(codec, lz4DecompressedBound(data), decompressedBytesMax);
      return native(codec, () => lz4DecompressFrame(data));
    case 'zstd':
      checkBound(codec, zstdDecompressedBound(data), decompressedBytesMax);
      return native(codec, () => zstdDecompress(data));
  }
}

/** zstd's default level: Kafka's producer uses it too (compression.zstd.level = 3). */
const ZSTD_LEVEL = 3;

function tooLarge(codec: CompressionCodec, decompressedBytesMax: number): KafkaRecordError {
  return new KafkaRecordError(
    'DecompressedTooLarge',
    `${codec} records would decompress past the ${decompressedBytesMax}-byte cap`,
  );
}

function checkBound(codec: CompressionCodec, bound: number, decompressedBytesMax: number): void {
  if (bound > decompressedBytesMax) throw tooLarge(codec, decompressedBytesMax);
}

/** Runs a native decompressor, turning whatever it throws on bad input into MalformedBatch. */
async function native(codec: CompressionCodec, run: () => Promise<Buffer>): Promise<Buffer> {
  try {
    return await run();
  } catch (error) {
    throw malformedBatch(`${codec} records do not decompress (${(error as Error).message})`, error);
  }
}

async function decompressGzip(data: Buffer, decompressedBytesMax: number): Promise<Buffer> {
  try {
    // zlib takes 1..buffer.constants.MAX_LENGTH; a cap beyond that is no cap at all.
    const maxOutputLength = Math.min(Math.max(1, decompressedBytesMax), MAX_LENGTH);
    return await gunzip(data, { maxOutputLength });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw tooLarge('gzip', decompressedBytesMax);
    throw malformedBatch(`gzip records do not decompress (${(error as Error).message})`, error);
  }
}

// --- snappy -------------------------------------------------------------------------------------------------

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = XERIAL_MAGIC.length + 4 + 4;
/** snappy-java's default block size: what its SnappyOutputStream (the Java producer's) compresses at a time. */
const XERIAL_BLOCK_BYTES = 32 * 1024;

async function compressSnappyXerial(data: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  parts.push(header);
  for (let start = 0; start < data.length; start += XERIAL_BLOCK_BYTES) {
    const block = await snappyCompress(data.subarray(start, start + XERIAL_BLOCK_BYTES));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

/** The uncompressed length a raw snappy block declares in its preamble (an unsigned varint of at most 5 bytes). */
function snappyPreamble(block: Buffer): number {
  let length = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i] as number;
    length += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return length;
  }
  throw malformedBatch('a snappy block has no valid length preamble');
}

async function decompressSnappy(data: Buffer, decompressedBytesMax: number): Promise<Buffer> {
  const blocks: Buffer[] = [];
  if (data.length >= XERIAL_MAGIC.length && data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    if (data.length < XERIAL_HEADER_BYTES) throw malformedBatch('snappy xerial header is cut short');
    for (let pos = XERIAL_HEADER_BYTES; pos < data.length;) {
      if (pos + 4 > data.length) throw malformedBatch('a snappy xerial block length is cut short');
      const length = data.readInt32BE(pos);
      pos += 4;
      if (length < 0 || length > data.length - pos) {
        throw malformedBatch(`a snappy xerial block of ${length} bytes does not fit in ${data.length - pos}`);
      }
      blocks.push(data.subarray(pos, pos + length));
      pos += length;
    }
  } else {
    blocks.push(data);
  }
  let total = 0;
  for (const block of blocks) total += snappyPreamble(block);
  checkBound('snappy', total, decompressedBytesMax);
  const out: Buffer[] = [];
  for (const block of blocks) {
    // snappy hands back a Buffer unless asked for a string ({asBuffer: false}), which this never does.
    out.push(await native('snappy', async () => (await snappyUncompress(block)) as Buffer));
  }
  return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, total);
}

// --- lz4 ----------------------------------------------------------------------------------------------------

const LZ4_FRAME_MAGIC = 0x184d2204;
/** Block maximum sizes by the BD byte's bits 4-6 (values 4-7; 0-3 are reserved). */
const LZ4_BLOCK_MAX_BYTES: Readonly<Record<number, number>> = {
  4: 64 * 1024,
  5: 256 * 1024,
  6: 1024 * 1024,
  7: 4 * 1024 * 1024,
};

/**
 * An upper bound on what one LZ4 frame decompresses to, read from its block headers: an uncompressed block
 * yields its size, a compressed one at most the frame's block maximum. Exactly one frame and nothing after it,
 * as Kafka's own reader (KafkaLZ4BlockInputStream) takes.
 */
export function lz4DecompressedBound(data: Buffer): number {
  if (data.length < 7 || data.readUInt32LE(0) !== LZ4_FRAME_MAGIC)
    throw malformedBatch('lz4 records are not an LZ4 frame');
  const flags = data[4] as number;
  const blockMaxBytes = LZ4_BLOCK_MAX_BYTES[((data[5] as number) >> 4) & 0x07];
  if (flags >> 6 !== 1 || blockMaxBytes === undefined)
    throw malformedBatch('lz4 frame header is not version 01');
  const blockChecksumBytes = flags & 0x10 ? 4 : 0;
  let pos = 6 + (flags & 0x08 ? 8 : 0) + (flags & 0x01 ? 4 : 0) + 1;
  let bound = 0;
  for (;;) {
    if (pos + 4 > data.length) throw malformedBatch('lz4 frame is cut short');
    const word = data.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (size > blockMaxBytes)
      throw malformedBatch(`an lz4 block of ${size} bytes is over its frame's maximum`);
    bound += word & 0x80000000 ? size : blockMaxBytes;
    pos += size + blockChecksumBytes;
  }
  pos += flags & 0x04 ? 4 : 0;
  if (pos !== data.length) throw malformedBatch('lz4 records do not end where their frame ends');
  return bound;
}

// --- zstd ---------------------------------------------------------------------------------------------------

const ZSTD_FRAME_MAGIC = 0xfd2fb528;
const ZSTD_BLOCK_MAX_BYTES = 128 * 1024;

/**
 * An upper bound on what zstd frames decompress to, read from their block headers: a raw or RLE block yields
 * its declared size, a compressed block at most 128 KiB (zstd's Block_Maximum_Size). Skippable frames count 0.
 */
export function zstdDecompressedBound(data: Buffer): number {
  let bound = 0;
  let pos = 0;
  if (data.length === 0) throw malformedBatch('zstd records are empty');
  while (pos < data.length) {
    if (pos + 4 > data.length) throw malformedBatch('a zstd frame magic is cut short');
    const magic = data.readUInt32LE(pos);
    if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
      if (pos + 8 > data.length) throw malformedBatch('a zstd skippable frame is cut short');
      pos += 8 + data.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== ZSTD_FRAME_MAGIC) throw malformedBatch('zstd records are not zstd frames');
    if (pos + 5 > data.length) throw malformedBatch('a zstd frame header is cut short');
    const descriptor = data[pos + 4] as number;
    const singleSegment = (descriptor & 0x20) !== 0;
    const contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6] as number;
    const dictionaryIdBytes = [0, 1, 2, 4][descriptor & 0x03] as number;
    pos += 5 + (singleSegment ? 0 : 1) + dictionaryIdBytes + contentSizeBytes;
    for (let last = false; !last;) {
      if (pos + 3 > data.length) throw malformedBatch('a zstd block header is cut short');
      const header = data.readUIntLE(pos, 3);
      pos += 3;
      last = (header & 1) === 1;
      const type = (header >> 1) & 0x03;
      const size = header >>> 3;
      if (type === 3) throw malformedBatch('a zstd block has the reserved type');
      if (size > ZSTD_BLOCK_MAX_BYTES) throw malformedBatch(`a zstd block of ${size} bytes is over 128 KiB`);
      bound += type === 2 ? ZSTD_BLOCK_MAX_BYTES : size;
      pos += type === 1 ? 1 : size;
    }
    pos += descriptor & 0x04 ? 4 : 0;
  }
  if (pos !== data.length) throw malformedBatch('zstd records do not end where their last frame ends');
  return bound;
}
