import { PulsarFormatError } from './errors';
import {
  COMPRESSION_TYPES,
  has,
  messageMetadataType,
  propertiesIn,
  propertiesOut,
  toBuffer,
} from './message-metadata';
import type { Decoded, MessageMetadata } from './message-metadata';
import { bigIntToLong, decodeOrThrow, longToBigInt, longToNumber, numberToLong } from './schema';
import type { DecodedLong } from './schema';

/**
 * The protobufjs decode of MessageMetadata, straight from proto/PulsarApi.proto. The broker decodes with the
 * hand-written reader in message-metadata.ts; this one is the reference the unit tests hold it to (same values for
 * any encoded metadata, both refusing malformed bytes).
 */
/** MessageMetadata decoded by protobufjs from the .proto: what the hand-written decoder must agree with. */
export function decodeMessageMetadataReference(bytes: Uint8Array): MessageMetadata {
  const o = decodeOrThrow(messageMetadataType(), bytes, 'MalformedEntry', 'message metadata');
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

/** MessageMetadata encoded by protobufjs: the bytes the hand-written encoder must give. */
export function encodeMessageMetadataReference(metadata: MessageMetadata): Buffer {
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
