/**
 * kafkajs 2.2.4's own RecordBatch v2 encoder and decoder (node_modules/kafkajs/src/protocol/recordBatch), typed
 * just enough for the tests: an independent implementation to compare our bytes against.
 */

interface KafkajsEncoder {
  buffer: Buffer;
}

interface KafkajsRecordInput {
  offsetDelta?: number;
  timestampDelta?: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer>;
}

interface KafkajsBatchInput {
  compression?: number;
  firstOffset?: unknown;
  firstTimestamp: number;
  maxTimestamp: number;
  partitionLeaderEpoch?: number;
  lastOffsetDelta: number;
  producerEpoch?: number;
  firstSequence?: number;
  records: KafkajsEncoder[];
}

export interface KafkajsDecodedRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}

/* eslint-disable @typescript-eslint/no-require-imports */
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (input: KafkajsBatchInput) => Promise<KafkajsEncoder>;
};
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (
  input: KafkajsRecordInput,
) => KafkajsEncoder;
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
  decoder: unknown,
) => Promise<{ records: KafkajsDecodedRecord[]; firstOffset: string; maxTimestamp: string }>;
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;
/* eslint-enable @typescript-eslint/no-require-imports */

export const KAFKAJS_GZIP = 1;

export async function kafkajsBatch(
  input: Omit<KafkajsBatchInput, 'records'> & { records: KafkajsRecordInput[] },
): Promise<Buffer> {
  const encoded = await RecordBatch({ ...input, records: input.records.map((r) => Record(r)) });
  return encoded.buffer;
}

export function kafkajsDecode(batch: Buffer): ReturnType<typeof decodeBatch> {
  return decodeBatch(new Decoder(batch));
}
