import { isUtf8 } from 'node:buffer';
import { decodeRecordBatch } from './record-batch';
import type { DecodeBatchOptions, KafkaRecord } from './record-batch';

/**
 * A Kafka record as a message of a protocol whose keys and properties are text (Pulsar's WebSocket API): what a
 * WebSocket consumer of a topic written by Kafka clients gets for each record.
 */
export interface RecordMessage {
  /**
   * The key as text: its UTF-8 decoding when the bytes are valid UTF-8 (so the text encodes back to exactly those
   * bytes), else their base64 (`keyBase64` true), as Pulsar hands out a key set as bytes. Undefined for a null key.
   */
  key: string | undefined;
  keyBase64: boolean;
  /** The value; an empty buffer for a null value (a tombstone), `nullValue` telling the two apart. */
  value: Buffer;
  nullValue: boolean;
  /**
   * The headers as name → UTF-8 text, a null header value as "" and bytes that are not UTF-8 decoded with U+FFFD
   * replacing them (as KoP turns headers into properties); a name given twice keeps its last value.
   */
  properties: Map<string, string>;
  /** The record's timestamp: first timestamp + delta (CreateTime), the batch's max timestamp (LogAppendTime). */
  timestamp: number;
  /** The record's offset, as the batch gives it (base offset + delta). */
  offset: bigint;
}

const EMPTY = Buffer.alloc(0);

/** One decoded record as a message. */
export function recordAsMessage(record: KafkaRecord): RecordMessage {
  const properties = new Map<string, string>();
  for (const header of record.headers) {
    properties.set(header.key, header.value === null ? '' : header.value.toString('utf8'));
  }
  const { key } = record;
  const keyBase64 = key !== null && !isUtf8(key);
  return {
    key: key === null ? undefined : key.toString(keyBase64 ? 'base64' : 'utf8'),
    keyBase64,
    value: record.value ?? EMPTY,
    nullValue: record.value === null,
    properties,
    timestamp: record.timestamp,
    offset: record.offset,
  };
}

/**
 * The records of one whole batch as messages, in order: decodeRecordBatch (CRC-32C checked unless told not to,
 * decompressed within `decompressedBytesMax`) then recordAsMessage. Throws KafkaRecordError on any bad byte.
 */
export async function decodeBatchAsMessages(
  batch: Buffer,
  options: DecodeBatchOptions = {},
): Promise<RecordMessage[]> {
  const { records } = await decodeRecordBatch(batch, options);
  return records.map(recordAsMessage);
}
