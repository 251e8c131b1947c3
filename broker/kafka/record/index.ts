// Kafka's RecordBatch v2 and its compression codecs, as pure functions over Buffers: no I/O, no Pulsar.
export { KafkaRecordError } from './errors';
export type { KafkaRecordErrorCode } from './errors';
export {
  COMPRESSION_CODEC_IDS,
  DECOMPRESSED_BYTES_MAX_DEFAULT,
  compress,
  compressionCodecOf,
  decompress,
} from './compression';
export type { CompressionCodec } from './compression';
export {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  MAGIC_V2,
  computeBatchCrc,
  decodeRecordBatch,
  encodeRecordBatch,
  encodeRecords,
  parseBatchHeader,
  readRecords,
  splitBatches,
  validateProducedBatch,
  verifyBatch,
  withBaseOffset,
} from './record-batch';
export type {
  DecodeBatchOptions,
  DecodedRecordBatch,
  EncodeBatchOptions,
  KafkaRecord,
  RecordBatchHeader,
  RecordHeader,
  RecordToEncode,
  SplitBatches,
  TimestampType,
  ValidateProducedBatchOptions,
} from './record-batch';
export { decodeBatchAsMessages, recordAsMessage } from './record-messages';
export type { RecordMessage } from './record-messages';
