import { crc32c } from '@node-rs/crc32';
import type { CompressionCodec } from './compression';
import {
  COMPRESSION_CODEC_IDS,
  DECOMPRESSED_BYTES_MAX_DEFAULT,
  compress,
  compressionCodecOf,
  decompress,
} from './compression';
import { KafkaRecordError, malformedBatch } from './errors';
import { RecordReader, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint';

/**
 * Kafka's RecordBatch v2 (magic 2), as pure functions over Buffers. All fixed-width integers big-endian:
 *
 *   0 baseOffset int64 | 8 batchLength int32 (bytes after it) | 12 partitionLeaderEpoch int32 | 16 magic int8 = 2
 *   17 crc uint32 (CRC-32C of bytes 21..end) | 21 attributes int16 | 23 lastOffsetDelta int32
 *   27 baseTimestamp int64 | 35 maxTimestamp int64 | 43 producerId int64 | 51 producerEpoch int16
 *   53 baseSequence int32 | 57 recordCount int32 | 61 records (one compressed blob when attributes say so)
 *
 * A record (zigzag varints): length, attributes int8, timestampDelta varlong, offsetDelta varint, key
 * (varint length, -1 null), value (likewise), header count varint, per header a key (varint length + UTF-8)
 * and a value (varint length, -1 null).
 *
 * Offsets are bigint (64-bit ids, as everywhere in ledgerline). Timestamps are numbers of ms since the epoch:
 * they reach an API that speaks ms numbers (Pulsar's publishTime/eventTime), and every real one is far inside
 * 2^53; a header or record timestamp outside the safe-integer range is refused as malformed.
 */

/** Bytes of the batch header, up to and including recordCount. */
export const BATCH_HEADER_BYTES = 61;
/** Bytes before the batchLength-counted part: baseOffset and batchLength. */
export const BATCH_LOG_OVERHEAD_BYTES = 12;
export const MAGIC_V2 = 2;
/** Where the CRC-32C's coverage starts (attributes). */
const CRC_START = 21;
/** The smallest possible record: length, attributes, timestampDelta, offsetDelta, key, value, header count. */
const RECORD_MIN_BYTES = 7;

const ATTRIBUTE_TIMESTAMP_TYPE = 0x08;
const ATTRIBUTE_TRANSACTIONAL = 0x10;
const ATTRIBUTE_CONTROL = 0x20;

export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface RecordBatchHeader {
  baseOffset: bigint;
  /** Bytes after the batchLength field: the whole batch is batchLength + 12 bytes. */
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** The CRC-32C as stored (unsigned). */
  crc: number;
  attributes: number;
  compression: CompressionCodec;
  timestampType: TimestampType;
  transactional: boolean;
  control: boolean;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** A decoded record; key, value and header values are views of the batch (or its decompressed records). */
export interface KafkaRecord {
  offset: bigint;
  /** baseTimestamp + timestampDelta; for a LogAppendTime batch, the batch's maxTimestamp (as Kafka reads it). */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

function readTimestamp(buf: Buffer, pos: number, what: string): number {
  const value = buf.readBigInt64BE(pos);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw malformedBatch(`${what} ${value} is out of the range ledgerline reads`);
  }
  return Number(value);
}

/** Throws UnsupportedMagic when the magic byte (16) is there and is not 2: old MessageSets are not parsed. */
function checkMagic(buf: Buffer): void {
  if (buf.length > 16 && buf[16] !== MAGIC_V2) {
    throw new KafkaRecordError(
      'UnsupportedMagic',
      `record batch has magic ${buf[16] as number}; only magic 2 (RecordBatch v2) is supported`,
    );
  }
}

/**
 * The 61-byte header of the batch at the start of `buf`. Checks the magic first, then that the header is
 * there and batchLength is at least a header's worth; it does not need the records to be there.
 */
export function parseBatchHeader(buf: Buffer): RecordBatchHeader {
  checkMagic(buf);
  if (buf.length < BATCH_HEADER_BYTES) {
    throw new KafkaRecordError(
      'TruncatedBatch',
      `record batch header needs ${BATCH_HEADER_BYTES} bytes, ${buf.length} given`,
    );
  }
  const batchLength = buf.readInt32BE(8);
  if (batchLength < BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD_BYTES) {
    throw malformedBatch(`batch length ${batchLength} is shorter than a batch header`);
  }
  const attributes = buf.readInt16BE(21);
  return {
    baseOffset: buf.readBigInt64BE(0),
    batchLength,
    partitionLeaderEpoch: buf.readInt32BE(12),
    magic: MAGIC_V2,
    crc: buf.readUInt32BE(17),
    attributes,
    compression: compressionCodecOf(attributes),
    timestampType: attributes & ATTRIBUTE_TIMESTAMP_TYPE ? 'LogAppendTime' : 'CreateTime',
    transactional: (attributes & ATTRIBUTE_TRANSACTIONAL) !== 0,
    control: (attributes & ATTRIBUTE_CONTROL) !== 0,
    lastOffsetDelta: buf.readInt32BE(23),
    baseTimestamp: readTimestamp(buf, 27, 'base timestamp'),
    maxTimestamp: readTimestamp(buf, 35, 'max timestamp'),
    producerId: buf.readBigInt64BE(43),
    producerEpoch: buf.readInt16BE(51),
    baseSequence: buf.readInt32BE(53),
    recordCount: buf.readInt32BE(57),
  };
}

/** The CRC-32C a batch should carry: over attributes through the last record byte. */
export function computeBatchCrc(batch: Buffer): number {
  return crc32c(batch.subarray(CRC_START)) >>> 0;
}

/**
 * Checks that `batch` is exactly one whole v2 batch: magic 2, batchLength + 12 equal to its size, the CRC-32C
 * right, recordCount not negative. Returns its header. What a broker runs on each produced batch before storing
 * it as received.
 */
export function verifyBatch(batch: Buffer): RecordBatchHeader {
  const header = parseBatchHeader(batch);
  const size = header.batchLength + BATCH_LOG_OVERHEAD_BYTES;
  if (size > batch.length) {
    throw new KafkaRecordError(
      'TruncatedBatch',
      `record batch of ${size} bytes is cut short at ${batch.length}`,
    );
  }
  if (size < batch.length) {
    throw malformedBatch(`${batch.length - size} bytes follow the ${size}-byte batch`);
  }
  const crc = computeBatchCrc(batch);
  if (crc !== header.crc) {
    throw new KafkaRecordError(
      'ChecksumMismatch',
      `record batch CRC-32C is ${hex32(header.crc)} but its bytes give ${hex32(crc)}`,
    );
  }
  if (header.recordCount < 0) throw malformedBatch(`record count ${header.recordCount} is negative`);
  return header;
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

export interface SplitBatches {
  /** The whole batches, in order (views of the input, no copy). */
  batches: Buffer[];
  /** Bytes of an incomplete batch at the end (0 when the input ends on a batch boundary). */
  truncatedBytes: number;
}

/**
 * Splits a RECORDS field holding several batches, by their batchLength fields; checks each batch's magic and
 * length, not its CRC. A trailing batch cut short (as a Fetch response may end) is not an error here: it is
 * reported in `truncatedBytes` and left out; a Produce handler treats it as corrupt.
 */
export function splitBatches(records: Buffer): SplitBatches {
  const batches: Buffer[] = [];
  let pos = 0;
  while (pos < records.length) {
    const rest = records.subarray(pos);
    if (rest.length < BATCH_LOG_OVERHEAD_BYTES) return { batches, truncatedBytes: rest.length };
    const batchLength = rest.readInt32BE(8);
    if (batchLength < BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD_BYTES) {
      checkMagic(rest);
      throw malformedBatch(`batch length ${batchLength} at byte ${pos} is shorter than a batch header`);
    }
    checkMagic(rest);
    const size = batchLength + BATCH_LOG_OVERHEAD_BYTES;
    if (size > rest.length) return { batches, truncatedBytes: rest.length };
    batches.push(rest.subarray(0, size));
    pos += size;
  }
  return { batches, truncatedBytes: 0 };
}

/**
 * The batch with baseOffset set to `baseOffset`: a copy by default, or `batch` itself changed in place. The
 * CRC does not cover baseOffset, so it stays valid.
 */
export function withBaseOffset(
  batch: Buffer,
  baseOffset: bigint,
  mode: 'copy' | 'in-place' = 'copy',
): Buffer {
  if (batch.length < BATCH_HEADER_BYTES) {
    throw new KafkaRecordError('TruncatedBatch', `record batch of ${batch.length} bytes has no whole header`);
  }
  const out = mode === 'copy' ? Buffer.from(batch) : batch;
  out.writeBigInt64BE(baseOffset, 0);
  return out;
}

export interface DecodeBatchOptions {
  /** Check the CRC-32C first (default true); a fetch path reading back what it checked on the way in may skip. */
  verifyChecksum?: boolean;
  /** Cap on the decompressed records (default DECOMPRESSED_BYTES_MAX_DEFAULT, 80 MiB). */
  decompressedBytesMax?: number;
}

export interface DecodedRecordBatch {
  header: RecordBatchHeader;
  records: KafkaRecord[];
}

/**
 * Decodes one whole batch: header, then its records, decompressing them first when the attributes name a
 * codec. Throws KafkaRecordError on any bad byte.
 */
export async function decodeRecordBatch(
  batch: Buffer,
  options: DecodeBatchOptions = {},
): Promise<DecodedRecordBatch> {
  let header: RecordBatchHeader;
  if (options.verifyChecksum === false) {
    header = parseBatchHeader(batch);
    if (header.batchLength + BATCH_LOG_OVERHEAD_BYTES !== batch.length) {
      throw malformedBatch(`batch length ${header.batchLength} + 12 is not the ${batch.length} bytes given`);
    }
  } else {
    header = verifyBatch(batch);
  }
  const records = await uncompressedRecords(header, batch, options.decompressedBytesMax);
  return { header, records: readRecords(header, records) };
}

/** The records' bytes of a whole batch, decompressed (within `decompressedBytesMax`) when they are compressed. */
async function uncompressedRecords(
  header: RecordBatchHeader,
  batch: Buffer,
  decompressedBytesMax = DECOMPRESSED_BYTES_MAX_DEFAULT,
): Promise<Buffer> {
  if (header.compression !== 'none' && header.recordCount > decompressedBytesMax / RECORD_MIN_BYTES) {
    throw malformedBatch(`record count ${header.recordCount} cannot fit in ${decompressedBytesMax} bytes`);
  }
  return decompress(header.compression, batch.subarray(BATCH_HEADER_BYTES), decompressedBytesMax);
}

/**
 * Reads `header.recordCount` records from `records` (the uncompressed bytes after the header), which they must
 * fill exactly. Synchronous: the core of decodeRecordBatch, for callers that hold uncompressed records.
 */
export function readRecords(header: RecordBatchHeader, records: Buffer): KafkaRecord[] {
  const out: KafkaRecord[] = [];
  forEachRecord(header, records, (reader, i) => {
    out.push(readRecord(reader, header, i));
  });
  return out;
}

/**
 * Checks what readRecords would read, without building the records (a producer's batch of a thousand records is
 * checked, not kept): every record's framing and fields, and offset deltas 0, 1, 2, ...
 */
function checkRecords(header: RecordBatchHeader, records: Buffer): void {
  forEachRecord(header, records, (reader, i) => {
    const offsetDelta = skipRecord(reader, header, i);
    if (offsetDelta !== i) throw invalidProducerBatch(`record ${i} has offset delta ${offsetDelta}`);
  });
}

/**
 * The framing of `header.recordCount` records filling `records` exactly: `read` is given a reader bounded to each
 * record's bytes in turn and must consume all of them.
 */
function forEachRecord(
  header: RecordBatchHeader,
  records: Buffer,
  read: (reader: RecordReader, index: number) => void,
): void {
  const count = header.recordCount;
  if (count < 0) throw malformedBatch(`record count ${count} is negative`);
  if (count > records.length / RECORD_MIN_BYTES) {
    throw malformedBatch(`record count ${count} cannot fit in ${records.length} bytes`);
  }
  const reader = new RecordReader(records, 0, records.length);
  const end = records.length;
  for (let i = 0; i < count; i++) {
    const length = reader.readVarint();
    if (length < RECORD_MIN_BYTES - 1 || length > end - reader.pos) {
      throw malformedBatch(`record ${i} of ${length} bytes does not fit in the ${end - reader.pos} left`);
    }
    const recordEnd = reader.pos + length;
    reader.end = recordEnd;
    read(reader, i);
    if (reader.pos !== recordEnd) {
      throw malformedBatch(
        `record ${i} declares ${length} bytes but its fields take ${length - reader.remaining}`,
      );
    }
    reader.end = end;
  }
  if (reader.pos !== end)
    throw malformedBatch(`${end - reader.pos} bytes follow the last of ${count} records`);
}

function readRecord(reader: RecordReader, header: RecordBatchHeader, index: number): KafkaRecord {
  reader.readInt8(); // record attributes: unused by every Kafka release
  const timestampDelta = reader.readVarlong();
  const offsetDelta = reader.readVarint();
  const key = reader.readNullableBytes(`record ${index} key`);
  const value = reader.readNullableBytes(`record ${index} value`);
  const headerCount = readHeaderCount(reader, index);
  const headers: RecordHeader[] = new Array<RecordHeader>(headerCount);
  for (let h = 0; h < headerCount; h++) {
    const keyLength = reader.readVarint();
    const headerKey = reader.readBytes(keyLength, `record ${index} header key`).toString('utf8');
    headers[h] = { key: headerKey, value: reader.readNullableBytes(`record ${index} header value`) };
  }
  const timestamp = recordTimestamp(header, timestampDelta, index);
  return { offset: header.baseOffset + BigInt(offsetDelta), timestamp, key, value, headers };
}

/** A record's header count, checked against the bytes left (each header takes at least two). */
function readHeaderCount(reader: RecordReader, index: number): number {
  const headerCount = reader.readVarint();
  if (headerCount < 0 || headerCount > reader.remaining / 2) {
    throw malformedBatch(
      `record ${index} header count ${headerCount} does not fit in ${reader.remaining} bytes`,
    );
  }
  return headerCount;
}

/** A record's timestamp: the batch's max for LogAppendTime, else base + delta, which must be a safe integer. */
function recordTimestamp(header: RecordBatchHeader, timestampDelta: number, index: number): number {
  if (header.timestampType === 'LogAppendTime') return header.maxTimestamp;
  const timestamp = header.baseTimestamp + timestampDelta;
  if (!Number.isSafeInteger(timestamp)) throw malformedBatch(`record ${index} timestamp is out of range`);
  return timestamp;
}

/** Steps over one record as readRecord reads it, with the same checks; its offset delta. */
function skipRecord(reader: RecordReader, header: RecordBatchHeader, index: number): number {
  reader.readInt8();
  const timestampDelta = reader.readVarlong();
  const offsetDelta = reader.readVarint();
  reader.skipNullableBytes('a record key');
  reader.skipNullableBytes('a record value');
  const headerCount = readHeaderCount(reader, index);
  for (let h = 0; h < headerCount; h++) {
    reader.skipBytes(reader.readVarint(), 'a record header key');
    reader.skipNullableBytes('a record header value');
  }
  recordTimestamp(header, timestampDelta, index);
  return offsetDelta;
}

export interface ValidateProducedBatchOptions {
  /** Also decode the records (decompressing them) and check their offset deltas (default true). */
  checkRecords?: boolean;
  /** Cap on the decompressed records (default DECOMPRESSED_BYTES_MAX_DEFAULT, 80 MiB). */
  decompressedBytesMax?: number;
}

function invalidProducerBatch(what: string): KafkaRecordError {
  return new KafkaRecordError('InvalidProducerBatch', `produced record batch refused: ${what}`);
}

/**
 * What a broker checks on a batch from a Produce request before storing it as received: verifyBatch, then what
 * a producer's batch must be for offsets assigned from its header to be right (Kafka's LogValidator checks the
 * same): not a control batch, at least one record, recordCount = lastOffsetDelta + 1; with `checkRecords`
 * (the default) its records decode, within the decompression cap, with offset deltas 0, 1, 2, ... Returns the
 * header.
 */
export async function validateProducedBatch(
  batch: Buffer,
  options: ValidateProducedBatchOptions = {},
): Promise<RecordBatchHeader> {
  const header = verifyBatch(batch);
  if (header.control) throw invalidProducerBatch('clients may not write control batches');
  if (header.recordCount === 0) throw invalidProducerBatch('the batch has no records');
  if (header.recordCount !== header.lastOffsetDelta + 1) {
    throw invalidProducerBatch(
      `record count ${header.recordCount} is not lastOffsetDelta ${header.lastOffsetDelta} + 1`,
    );
  }
  if (options.checkRecords !== false)
    checkRecords(header, await uncompressedRecords(header, batch, options.decompressedBytesMax));
  return header;
}

/** A record to encode: offsetDelta defaults to its index in the batch. */
export interface RecordToEncode {
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: readonly RecordHeader[];
  offsetDelta?: number;
}

export interface EncodeBatchOptions {
  baseOffset?: bigint;
  compression?: CompressionCodec;
  timestampType?: TimestampType;
  /** -1 (Kafka's "no epoch") unless given. */
  partitionLeaderEpoch?: number;
  /** -1n, -1, -1 (not idempotent) unless given. */
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
}

function invalidRecord(what: string): KafkaRecordError {
  return new KafkaRecordError('InvalidRecord', `cannot encode record batch: ${what}`);
}

function isInt32(value: number): boolean {
  return Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff;
}

/** Bytes a record's body takes: all of it but its length varint. */
function sizeOfRecordBody(record: RecordToEncode, offsetDelta: number, timestampDelta: number): number {
  let size = 1 + sizeOfVarlong(timestampDelta) + sizeOfVarint(offsetDelta);
  size += record.key === null ? 1 : sizeOfVarint(record.key.length) + record.key.length;
  size += record.value === null ? 1 : sizeOfVarint(record.value.length) + record.value.length;
  const headers = record.headers ?? [];
  size += sizeOfVarint(headers.length);
  for (const h of headers) {
    const keySize = Buffer.byteLength(h.key, 'utf8');
    size += sizeOfVarint(keySize) + keySize;
    size += h.value === null ? 1 : sizeOfVarint(h.value.length) + h.value.length;
  }
  return size;
}

function writeNullableBytes(buf: Buffer, pos: number, bytes: Buffer | null): number {
  if (bytes === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, bytes.length);
  bytes.copy(buf, pos);
  return pos + bytes.length;
}

/** The records of a batch, uncompressed, as they follow recordCount. */
export function encodeRecords(records: readonly RecordToEncode[], baseTimestamp: number): Buffer {
  const bodySizes = new Array<number>(records.length);
  let total = 0;
  let previousOffsetDelta = -1;
  records.forEach((record, i) => {
    const offsetDelta = record.offsetDelta ?? i;
    if (!isInt32(offsetDelta) || offsetDelta <= previousOffsetDelta) {
      throw invalidRecord(
        `record ${i} offset delta ${offsetDelta} is not above the one before (${previousOffsetDelta})`,
      );
    }
    previousOffsetDelta = offsetDelta;
    if (!Number.isSafeInteger(record.timestamp))
      throw invalidRecord(`record ${i} timestamp ${record.timestamp}`);
    const timestampDelta = record.timestamp - baseTimestamp;
    if (Math.abs(timestampDelta) > 2 ** 52)
      throw invalidRecord(`record ${i} timestamp is too far from the first`);
    const bodySize = sizeOfRecordBody(record, offsetDelta, timestampDelta);
    bodySizes[i] = bodySize;
    total += sizeOfVarint(bodySize) + bodySize;
  });
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  records.forEach((record, i) => {
    pos = writeVarint(buf, pos, bodySizes[i] as number);
    buf[pos++] = 0;
    pos = writeVarlong(buf, pos, record.timestamp - baseTimestamp);
    pos = writeVarint(buf, pos, record.offsetDelta ?? i);
    pos = writeNullableBytes(buf, pos, record.key);
    pos = writeNullableBytes(buf, pos, record.value);
    const headers = record.headers ?? [];
    pos = writeVarint(buf, pos, headers.length);
    for (const h of headers) {
      pos = writeNullableBytes(buf, pos, Buffer.from(h.key, 'utf8'));
      pos = writeNullableBytes(buf, pos, h.value);
    }
  });
  return buf;
}

/**
 * Encodes records as one v2 batch: baseTimestamp is the first record's timestamp, maxTimestamp the largest,
 * lastOffsetDelta the last record's offsetDelta; the records are compressed with `options.compression`
 * (default none). The batch for the Pulsar-to-Kafka direction: messages stored by other protocols, fetched by
 * Kafka consumers.
 */
export async function encodeRecordBatch(
  records: readonly RecordToEncode[],
  options: EncodeBatchOptions = {},
): Promise<Buffer> {
  const first = records[0];
  const last = records[records.length - 1];
  if (first === undefined || last === undefined) throw invalidRecord('a batch needs at least one record');
  const baseTimestamp = first.timestamp;
  const body = encodeRecords(records, baseTimestamp);
  let maxTimestamp = baseTimestamp;
  for (const record of records) if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
  const compression = options.compression ?? 'none';
  const payload = await compress(compression, body);

  const batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + payload.length);
  batch.writeBigInt64BE(options.baseOffset ?? 0n, 0);
  batch.writeInt32BE(batch.length - BATCH_LOG_OVERHEAD_BYTES, 8);
  batch.writeInt32BE(options.partitionLeaderEpoch ?? -1, 12);
  batch.writeInt8(MAGIC_V2, 16);
  let attributes = COMPRESSION_CODEC_IDS[compression];
  if (options.timestampType === 'LogAppendTime') attributes |= ATTRIBUTE_TIMESTAMP_TYPE;
  if (options.transactional === true) attributes |= ATTRIBUTE_TRANSACTIONAL;
  batch.writeInt16BE(attributes, 21);
  batch.writeInt32BE(last.offsetDelta ?? records.length - 1, 23);
  batch.writeBigInt64BE(BigInt(baseTimestamp), 27);
  batch.writeBigInt64BE(BigInt(maxTimestamp), 35);
  batch.writeBigInt64BE(options.producerId ?? -1n, 43);
  batch.writeInt16BE(options.producerEpoch ?? -1, 51);
  batch.writeInt32BE(options.baseSequence ?? -1, 53);
  batch.writeInt32BE(records.length, 57);
  payload.copy(batch, BATCH_HEADER_BYTES);
  batch.writeUInt32BE(computeBatchCrc(batch), 17);
  return batch;
}
