import { LedgerlineError } from '../../../common';

/**
 * What went wrong with a Kafka RECORDS field or one RecordBatch in it (the Kafka error a broker answers with is in
 * brackets; the choice is the caller's, this layer only names the fault):
 * - `UnsupportedMagic`: magic (byte 16) is not 2, an old MessageSet (INVALID_RECORD on Produce v3+, or
 *   UNSUPPORTED_FOR_MESSAGE_FORMAT)
 * - `MalformedBatch`: bytes that do not parse as a batch or its records: short header, a length or count that
 *   does not fit, bad varints, trailing bytes, a codec frame that is not what the attributes say (CORRUPT_MESSAGE)
 * - `TruncatedBatch`: the batch length points past the end of the bytes given (CORRUPT_MESSAGE on Produce; a
 *   Fetch reader drops such a tail)
 * - `ChecksumMismatch`: the CRC-32C over attributes..end differs from the one in the header (CORRUPT_MESSAGE)
 * - `UnsupportedCompression`: compression id 5-7, which no Kafka release defines (UNSUPPORTED_COMPRESSION_TYPE)
 * - `DecompressedTooLarge`: the records would decompress past the configured cap (MESSAGE_TOO_LARGE)
 * - `InvalidProducerBatch`: a well-formed batch that a producer may not send: a control batch, no records,
 *   recordCount not lastOffsetDelta + 1, record offset deltas not 0, 1, 2, ... (CORRUPT_MESSAGE; Kafka 2.4+
 *   answers INVALID_RECORD to Produce v8+)
 * - `InvalidRecord`: a record given to the encoder that Kafka cannot carry (no records, a timestamp that is not
 *   a safe integer, an offset delta out of int32 range)
 * Never retriable: the same bytes fail the same way.
 */
export type KafkaRecordErrorCode =
  | 'UnsupportedMagic'
  | 'MalformedBatch'
  | 'TruncatedBatch'
  | 'ChecksumMismatch'
  | 'UnsupportedCompression'
  | 'DecompressedTooLarge'
  | 'InvalidProducerBatch'
  | 'InvalidRecord';

export class KafkaRecordError extends LedgerlineError {
  declare readonly code: KafkaRecordErrorCode;

  constructor(code: KafkaRecordErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

export function malformedBatch(what: string, cause?: unknown): KafkaRecordError {
  return new KafkaRecordError('MalformedBatch', `malformed record batch: ${what}`, { cause });
}
