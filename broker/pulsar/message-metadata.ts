import { PulsarFormatError } from './errors';
import { bigIntToLong, decodeOrThrow, lazyType, longToBigInt, longToNumber, numberToLong } from './schema';
import type { DecodedLong } from './schema';

export type CompressionType = 'NONE' | 'LZ4' | 'ZLIB' | 'ZSTD' | 'SNAPPY';
const COMPRESSION_TYPES: readonly CompressionType[] = ['NONE', 'LZ4', 'ZLIB', 'ZSTD', 'SNAPPY'];

/**
 * Pulsar's MessageMetadata, field for field in camelCase. Sequence ids are bigints read as Java longs; times are
 * ms since the epoch. An optional field is present here exactly when it is present in the bytes, so a decode
 * followed by an encode gives the same bytes back. Encryption fields are kept as bytes-level passengers only.
 */
export interface MessageMetadata {
  producerName: string;
  sequenceId: bigint;
  publishTime: number;
  properties: Map<string, string>;
  replicatedFrom?: string;
  partitionKey?: string;
  replicateTo?: string[];
  compression?: CompressionType;
  uncompressedSize?: number;
  /** Present (and > 1 or = 1) when the payload is a batch of SingleMessageMetadata-framed messages. */
  numMessagesInBatch?: number;
  eventTime?: number;
  encryptionKeys?: Array<{ key: string; value: Buffer; metadata: Map<string, string> }>;
  encryptionAlgo?: string;
  encryptionParam?: Buffer;
  schemaVersion?: Buffer;
  partitionKeyB64Encoded?: boolean;
  orderingKey?: Buffer;
  deliverAtTime?: number;
  markerType?: number;
  txnidLeastBits?: bigint;
  txnidMostBits?: bigint;
  highestSequenceId?: bigint;
  nullValue?: boolean;
  uuid?: string;
  numChunksFromMsg?: number;
  totalChunkMsgSize?: number;
  chunkId?: number;
  nullPartitionKey?: boolean;
}

/** Pulsar's SingleMessageMetadata: the header of one message inside a batch payload. */
export interface SingleMessageMetadata {
  properties: Map<string, string>;
  partitionKey?: string;
  payloadSize: number;
  compactedOut?: boolean;
  eventTime?: number;
  partitionKeyB64Encoded?: boolean;
  orderingKey?: Buffer;
  sequenceId?: bigint;
  nullValue?: boolean;
  nullPartitionKey?: boolean;
}

const messageMetadataType = lazyType('MessageMetadata');
const singleMessageMetadataType = lazyType('SingleMessageMetadata');

interface KeyValueObject {
  key: string;
  value: string;
}

/** The decoded protobufjs message: only the fields present in the bytes are own properties. */
type Decoded = Record<string, unknown>;

const has = (o: Decoded, field: string): boolean => Object.hasOwn(o, field);

function propertiesOut(properties: Map<string, string>): KeyValueObject[] {
  const out: KeyValueObject[] = [];
  for (const [key, value] of properties) out.push({ key, value });
  return out;
}

function propertiesIn(list: unknown): Map<string, string> {
  const map = new Map<string, string>();
  for (const kv of list as KeyValueObject[]) map.set(kv.key, kv.value);
  return map;
}

const toBuffer = (bytes: unknown): Buffer => {
  const u8 = bytes as Uint8Array;
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
};

export function encodeMessageMetadata(metadata: MessageMetadata): Buffer {
  const m = metadata;
  const object: Decoded = {
    producerName: m.producerName,
    sequenceId: bigIntToLong(m.sequenceId),
    publishTime: numberToLong(m.publishTime),
    properties: propertiesOut(m.properties),
    replicatedFrom: m.replicatedFrom,
    partitionKey: m.partitionKey,
    replicateTo: m.replicateTo,
    compression: m.compression === undefined ? undefined : COMPRESSION_TYPES.indexOf(m.compression),
    uncompressedSize: m.uncompressedSize,
    numMessagesInBatch: m.numMessagesInBatch,
    eventTime: m.eventTime === undefined ? undefined : numberToLong(m.eventTime),
    encryptionKeys: m.encryptionKeys?.map((k) => ({
      key: k.key,
      value: k.value,
      metadata: propertiesOut(k.metadata),
    })),
    encryptionAlgo: m.encryptionAlgo,
    encryptionParam: m.encryptionParam,
    schemaVersion: m.schemaVersion,
    partitionKeyB64Encoded: m.partitionKeyB64Encoded,
    orderingKey: m.orderingKey,
    deliverAtTime: m.deliverAtTime === undefined ? undefined : bigIntToLong(BigInt(m.deliverAtTime)),
    markerType: m.markerType,
    txnidLeastBits: m.txnidLeastBits === undefined ? undefined : bigIntToLong(m.txnidLeastBits),
    txnidMostBits: m.txnidMostBits === undefined ? undefined : bigIntToLong(m.txnidMostBits),
    highestSequenceId: m.highestSequenceId === undefined ? undefined : bigIntToLong(m.highestSequenceId),
    nullValue: m.nullValue,
    uuid: m.uuid,
    numChunksFromMsg: m.numChunksFromMsg,
    totalChunkMsgSize: m.totalChunkMsgSize,
    chunkId: m.chunkId,
    nullPartitionKey: m.nullPartitionKey,
  };
  return Buffer.from(messageMetadataType().encode(object).finish());
}

/** Decodes MessageMetadata; junk or a missing required field is a PulsarFormatError('MalformedEntry'). */
export function decodeMessageMetadata(bytes: Uint8Array): MessageMetadata {
  let o: Decoded;
  try {
    o = messageMetadataType().decode(bytes) as unknown as Decoded;
  } catch (err) {
    throw new PulsarFormatError('MalformedEntry', `bad message metadata: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const m: MessageMetadata = {
    producerName: o.producerName as string,
    sequenceId: longToBigInt(o.sequenceId as DecodedLong),
    publishTime: longToNumber(o.publishTime as DecodedLong),
    properties: propertiesIn(o.properties),
  };
  // The common case (a plain message with a key or two) touches only the fields below; the rest are rare.
  if (has(o, 'partitionKey')) m.partitionKey = o.partitionKey as string;
  if (has(o, 'orderingKey')) m.orderingKey = toBuffer(o.orderingKey);
  if (has(o, 'eventTime')) m.eventTime = longToNumber(o.eventTime as DecodedLong);
  if (has(o, 'numMessagesInBatch')) m.numMessagesInBatch = o.numMessagesInBatch as number;
  if (has(o, 'compression')) {
    const compression = COMPRESSION_TYPES[o.compression as number];
    if (compression === undefined) {
      throw new PulsarFormatError(
        'MalformedEntry',
        `bad message metadata: compression ${String(o.compression)}`,
      );
    }
    m.compression = compression;
  }
  if (has(o, 'uncompressedSize')) m.uncompressedSize = o.uncompressedSize as number;
  if (has(o, 'replicatedFrom')) m.replicatedFrom = o.replicatedFrom as string;
  if ((o.replicateTo as string[]).length > 0) m.replicateTo = o.replicateTo as string[];
  if ((o.encryptionKeys as unknown[]).length > 0) {
    m.encryptionKeys = (o.encryptionKeys as Array<{ key: string; value: Uint8Array; metadata: unknown }>).map(
      (k) => ({ key: k.key, value: toBuffer(k.value), metadata: propertiesIn(k.metadata) }),
    );
  }
  if (has(o, 'encryptionAlgo')) m.encryptionAlgo = o.encryptionAlgo as string;
  if (has(o, 'encryptionParam')) m.encryptionParam = toBuffer(o.encryptionParam);
  if (has(o, 'schemaVersion')) m.schemaVersion = toBuffer(o.schemaVersion);
  if (has(o, 'partitionKeyB64Encoded')) m.partitionKeyB64Encoded = o.partitionKeyB64Encoded as boolean;
  if (has(o, 'deliverAtTime')) m.deliverAtTime = Number(longToBigInt(o.deliverAtTime as DecodedLong));
  if (has(o, 'markerType')) m.markerType = o.markerType as number;
  if (has(o, 'txnidLeastBits')) m.txnidLeastBits = longToBigInt(o.txnidLeastBits as DecodedLong);
  if (has(o, 'txnidMostBits')) m.txnidMostBits = longToBigInt(o.txnidMostBits as DecodedLong);
  if (has(o, 'highestSequenceId')) m.highestSequenceId = longToBigInt(o.highestSequenceId as DecodedLong);
  if (has(o, 'nullValue')) m.nullValue = o.nullValue as boolean;
  if (has(o, 'uuid')) m.uuid = o.uuid as string;
  if (has(o, 'numChunksFromMsg')) m.numChunksFromMsg = o.numChunksFromMsg as number;
  if (has(o, 'totalChunkMsgSize')) m.totalChunkMsgSize = o.totalChunkMsgSize as number;
  if (has(o, 'chunkId')) m.chunkId = o.chunkId as number;
  if (has(o, 'nullPartitionKey')) m.nullPartitionKey = o.nullPartitionKey as boolean;
  return m;
}

export function encodeSingleMessageMetadata(metadata: SingleMessageMetadata): Buffer {
  const m = metadata;
  return Buffer.from(
    singleMessageMetadataType()
      .encode({
        properties: propertiesOut(m.properties),
        partitionKey: m.partitionKey,
        payloadSize: m.payloadSize,
        compactedOut: m.compactedOut,
        eventTime: m.eventTime === undefined ? undefined : numberToLong(m.eventTime),
        partitionKeyB64Encoded: m.partitionKeyB64Encoded,
        orderingKey: m.orderingKey,
        sequenceId: m.sequenceId === undefined ? undefined : bigIntToLong(m.sequenceId),
        nullValue: m.nullValue,
        nullPartitionKey: m.nullPartitionKey,
      })
      .finish(),
  );
}

export function decodeSingleMessageMetadata(bytes: Uint8Array): SingleMessageMetadata {
  const o = decodeOrThrow(singleMessageMetadataType(), bytes, 'MalformedEntry', 'single message metadata');
  const m: SingleMessageMetadata = {
    properties: propertiesIn(o.properties),
    payloadSize: o.payloadSize as number,
  };
  if (has(o, 'partitionKey')) m.partitionKey = o.partitionKey as string;
  if (has(o, 'compactedOut')) m.compactedOut = o.compactedOut as boolean;
  if (has(o, 'eventTime')) m.eventTime = longToNumber(o.eventTime as DecodedLong);
  if (has(o, 'partitionKeyB64Encoded')) m.partitionKeyB64Encoded = o.partitionKeyB64Encoded as boolean;
  if (has(o, 'orderingKey')) m.orderingKey = toBuffer(o.orderingKey);
  if (has(o, 'sequenceId')) m.sequenceId = longToBigInt(o.sequenceId as DecodedLong);
  if (has(o, 'nullValue')) m.nullValue = o.nullValue as boolean;
  if (has(o, 'nullPartitionKey')) m.nullPartitionKey = o.nullPartitionKey as boolean;
  return m;
}
