// Pulsar's formats, no I/O: message ids, message metadata, the stored entry format, topic names, key hashes.
export { PulsarFormatError } from './errors';
export type { PulsarFormatErrorCode } from './errors';
export {
  EARLIEST_MESSAGE_ID,
  LATEST_MESSAGE_ID,
  compareMessageIds,
  decodeMessageId,
  encodeMessageId,
  formatMessageId,
  messageId,
  messageIdFromBase64,
  messageIdToBase64,
  parseMessageId,
} from './message-id';
export type { MessageId } from './message-id';
export {
  decodeMessageMetadata,
  decodeSingleMessageMetadata,
  encodeMessageMetadata,
  encodeSingleMessageMetadata,
} from './message-metadata';
export type { CompressionType, MessageMetadata, SingleMessageMetadata } from './message-metadata';
export {
  MAGIC_BROKER_ENTRY_METADATA,
  MAGIC_CRC32C,
  decodeBatchPayload,
  encodeBatchPayload,
  encodeMessage,
  parseEntry,
  readBrokerEntryIndex,
  uncompressPayload,
  withBrokerEntryMetadata,
} from './entry-format';
export type { BrokerEntryMetadata, ParseEntryOptions, ParsedEntry, SingleMessage } from './entry-format';
export { TopicName, decodeLocalName, encodeLocalName } from './topic-name';
export type { TopicDomain } from './topic-name';
export { javaStringHash, murmur3_32 } from './hash';
