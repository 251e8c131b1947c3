import {
  decodeBatchPayload,
  encodeMessage,
  parseEntry,
  readBrokerEntryIndex,
  uncompressPayload,
} from '../../pulsar';
import type { MessageMetadata, ParsedEntry } from '../../pulsar';
import { encodeRecordBatch, parseBatchHeader, withBaseOffset } from '../record';
import type { RecordHeader, RecordToEncode } from '../record';

/**
 * The MessageMetadata property marking an entry whose payload is one Kafka RecordBatch as the producer sent it
 * (KoP's entryFormat=kafka). Entries without it are Pulsar messages (from the WebSocket API), converted to a
 * record batch when a Kafka client fetches them.
 */
export const KAFKA_ENTRY_FORMAT_PROPERTY = '__kafka_entry_format';
export const KAFKA_ENTRY_FORMAT = 'kafka';

/** The most a Pulsar batch entry may decompress to when converted for a Kafka consumer. */
const UNCOMPRESSED_BYTES_MAX = 80 * 1024 * 1024;

/** A verified batch from a Produce request as a Pulsar message (from 0x0e01 on), with its record count. */
export function encodeKafkaEntry(
  batch: Buffer,
  options: { producerName: string; sequenceId: bigint; publishTime: number; recordCount: number },
): Buffer {
  const metadata: MessageMetadata = {
    producerName: options.producerName,
    sequenceId: options.sequenceId,
    publishTime: options.publishTime,
    properties: new Map([[KAFKA_ENTRY_FORMAT_PROPERTY, KAFKA_ENTRY_FORMAT]]),
    numMessagesInBatch: options.recordCount,
  };
  return encodeMessage(metadata, batch);
}

/** An entry's Kafka offsets: its last (the running index stamped on it), its base and its message count. */
export interface EntryOffsets {
  baseOffset: bigint;
  lastOffset: bigint;
  count: number;
  publishTime: number;
  parsed: ParsedEntry;
}

/** The offsets of a stored entry; undefined for an entry without a running index (never written by this broker). */
export function entryOffsets(data: Buffer): EntryOffsets | undefined {
  const lastOffset = readBrokerEntryIndex(data);
  if (lastOffset === undefined) return undefined;
  const parsed = parseEntry(data, { verifyChecksum: false });
  const count = parsed.numMessages;
  return {
    baseOffset: lastOffset - BigInt(count - 1),
    lastOffset,
    count,
    publishTime: parsed.metadata.publishTime,
    parsed,
  };
}

/** The last offset of a stored entry (the binary searches' key), -1 when it has none. */
export function lastOffsetOf(data: Buffer): bigint {
  return readBrokerEntryIndex(data) ?? -1n;
}

export function isKafkaEntry(parsed: ParsedEntry): boolean {
  return parsed.metadata.properties.get(KAFKA_ENTRY_FORMAT_PROPERTY) === KAFKA_ENTRY_FORMAT;
}

/**
 * The record batch a Kafka consumer gets for an entry, at its base offset: a Kafka entry's stored batch (base
 * offset rewritten in a copy only when it differs: the producer path stores it already set), or a Pulsar message
 * or batch converted (key = partition key, value = payload, headers = properties, timestamp = event time, else
 * publish time).
 */
export async function entryToBatch(offsets: EntryOffsets): Promise<Buffer> {
  const { parsed, baseOffset } = offsets;
  if (isKafkaEntry(parsed)) {
    const batch = parsed.payload;
    return parseBatchHeader(batch).baseOffset === baseOffset
      ? batch
      : withBaseOffset(batch, baseOffset, 'copy');
  }
  const { metadata } = parsed;
  const records: RecordToEncode[] = [];
  if (metadata.numMessagesInBatch === undefined) {
    records.push({
      timestamp: metadata.eventTime ?? metadata.publishTime,
      key: keyOf(metadata.partitionKey, metadata.partitionKeyB64Encoded),
      value: metadata.nullValue === true ? null : parsed.payload,
      headers: headersOf(metadata.properties),
    });
  } else {
    const payload = uncompressPayload(metadata, parsed.payload, UNCOMPRESSED_BYTES_MAX);
    for (const message of decodeBatchPayload(payload, parsed.numMessages)) {
      const single = message.metadata;
      records.push({
        timestamp: single.eventTime ?? metadata.eventTime ?? metadata.publishTime,
        key: keyOf(single.partitionKey, single.partitionKeyB64Encoded),
        value: single.nullValue === true ? null : message.payload,
        headers: headersOf(single.properties),
      });
    }
  }
  return encodeRecordBatch(records, { baseOffset });
}

function headersOf(properties: Map<string, string>): RecordHeader[] {
  return [...properties].map(([key, value]) => ({ key, value: Buffer.from(value) }));
}

/** A Pulsar partition key as a Kafka key: its bytes (base64-decoded when the producer sent bytes). */
function keyOf(partitionKey: string | undefined, base64: boolean | undefined): Buffer | null {
  if (partitionKey === undefined) return null;
  return Buffer.from(partitionKey, base64 === true ? 'base64' : 'utf8');
}
