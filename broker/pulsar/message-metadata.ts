import { bigIntToLong, decodeOrThrow, lazyType, longToBigInt, longToNumber, numberToLong } from './schema';
import type { DecodedLong } from './schema';
import {
  WIRE_LENGTH_DELIMITED,
  WIRE_VARINT,
  WireReader,
  WireWriter,
  asBuffer,
  delimitedStringSize,
  varintSize,
} from './wire';

export type CompressionType = 'NONE' | 'LZ4' | 'ZLIB' | 'ZSTD' | 'SNAPPY';
export const COMPRESSION_TYPES: readonly CompressionType[] = ['NONE', 'LZ4', 'ZLIB', 'ZSTD', 'SNAPPY'];

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

export const messageMetadataType = lazyType('MessageMetadata');
const singleMessageMetadataType = lazyType('SingleMessageMetadata');

interface KeyValueObject {
  key: string;
  value: string;
}

/** The decoded protobufjs message: only the fields present in the bytes are own properties. */
export type Decoded = Record<string, unknown>;

export const has = (o: Decoded, field: string): boolean => Object.hasOwn(o, field);

export function propertiesOut(properties: Map<string, string>): KeyValueObject[] {
  const out: KeyValueObject[] = [];
  for (const [key, value] of properties) out.push({ key, value });
  return out;
}

export function propertiesIn(list: unknown): Map<string, string> {
  const map = new Map<string, string>();
  for (const kv of list as KeyValueObject[]) map.set(kv.key, kv.value);
  return map;
}

export const toBuffer = (bytes: unknown): Buffer => {
  const u8 = bytes as Uint8Array;
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
};

/** One writer for every encode (encoding never awaits). */
const writer = new WireWriter();

/** MessageMetadata as Pulsar writes it (fields in ascending number; reference-codec.ts holds the protobufjs twin). */
export function encodeMessageMetadata(metadata: MessageMetadata): Buffer {
  writer.reset();
  writeMessageMetadata(writer, metadata);
  return writer.toBuffer();
}

/** Writes `m` at the writer's position: the hand-written encoder the send path uses (no Long objects). */
export function writeMessageMetadata(w: WireWriter, m: MessageMetadata): void {
  w.varint(delimitedTag(1));
  w.string(m.producerName);
  w.varint(varintTag(2));
  w.varint64(m.sequenceId);
  w.varint(varintTag(3));
  w.varint(m.publishTime);
  for (const [key, value] of m.properties) writeKeyValue(w, delimitedTag(4), key, value);
  if (m.replicatedFrom !== undefined) stringField(w, 5, m.replicatedFrom);
  if (m.partitionKey !== undefined) stringField(w, 6, m.partitionKey);
  if (m.replicateTo !== undefined) for (const cluster of m.replicateTo) stringField(w, 7, cluster);
  if (m.compression !== undefined) int32Field(w, 8, COMPRESSION_TYPES.indexOf(m.compression));
  if (m.uncompressedSize !== undefined) numberField(w, 9, m.uncompressedSize >>> 0);
  if (m.numMessagesInBatch !== undefined) int32Field(w, 11, m.numMessagesInBatch);
  if (m.eventTime !== undefined) numberField(w, 12, m.eventTime);
  if (m.encryptionKeys !== undefined) for (const k of m.encryptionKeys) writeEncryptionKeys(w, k);
  if (m.encryptionAlgo !== undefined) stringField(w, 14, m.encryptionAlgo);
  if (m.encryptionParam !== undefined) bytesField(w, 15, m.encryptionParam);
  if (m.schemaVersion !== undefined) bytesField(w, 16, m.schemaVersion);
  if (m.partitionKeyB64Encoded !== undefined) boolField(w, 17, m.partitionKeyB64Encoded);
  if (m.orderingKey !== undefined) bytesField(w, 18, m.orderingKey);
  if (m.deliverAtTime !== undefined) longField(w, 19, BigInt(m.deliverAtTime));
  if (m.markerType !== undefined) int32Field(w, 20, m.markerType);
  if (m.txnidLeastBits !== undefined) longField(w, 22, m.txnidLeastBits);
  if (m.txnidMostBits !== undefined) longField(w, 23, m.txnidMostBits);
  if (m.highestSequenceId !== undefined) longField(w, 24, m.highestSequenceId);
  if (m.nullValue !== undefined) boolField(w, 25, m.nullValue);
  if (m.uuid !== undefined) stringField(w, 26, m.uuid);
  if (m.numChunksFromMsg !== undefined) int32Field(w, 27, m.numChunksFromMsg);
  if (m.totalChunkMsgSize !== undefined) int32Field(w, 28, m.totalChunkMsgSize);
  if (m.chunkId !== undefined) int32Field(w, 29, m.chunkId);
  if (m.nullPartitionKey !== undefined) boolField(w, 30, m.nullPartitionKey);
}

/** A field's tag (its number and wire type). */
const delimitedTag = (field: number): number => (field << 3) | WIRE_LENGTH_DELIMITED;
const varintTag = (field: number): number => (field << 3) | WIRE_VARINT;

const stringField = (w: WireWriter, field: number, value: string): void => {
  w.varint(delimitedTag(field));
  w.string(value);
};
const bytesField = (w: WireWriter, field: number, value: Uint8Array): void => {
  w.varint(delimitedTag(field));
  w.bytes(value);
};
const numberField = (w: WireWriter, field: number, value: number): void => {
  w.varint(varintTag(field));
  w.varint(value);
};
const int32Field = (w: WireWriter, field: number, value: number): void => {
  w.varint(varintTag(field));
  w.int32(value);
};
const longField = (w: WireWriter, field: number, value: bigint): void => {
  w.varint(varintTag(field));
  w.varint64(value);
};
const boolField = (w: WireWriter, field: number, value: boolean): void => {
  w.varint(varintTag(field));
  w.varint(value ? 1 : 0);
};

/** A KeyValue {1: key, 2: value} as field `tag`. */
function writeKeyValue(w: WireWriter, tag: number, key: string, value: string): void {
  w.varint(tag);
  w.delimited(1 + delimitedStringSize(key) + 1 + delimitedStringSize(value), () => {
    stringField(w, 1, key);
    stringField(w, 2, value);
  });
}

function writeEncryptionKeys(
  w: WireWriter,
  k: { key: string; value: Uint8Array; metadata: Map<string, string> },
): void {
  let size = 1 + delimitedStringSize(k.key) + 1 + varintSize(k.value.length) + k.value.length;
  for (const [key, value] of k.metadata) {
    const kv = 1 + delimitedStringSize(key) + 1 + delimitedStringSize(value);
    size += 1 + varintSize(kv) + kv;
  }
  w.varint(delimitedTag(13));
  w.delimited(size, () => {
    stringField(w, 1, k.key);
    bytesField(w, 2, k.value);
    for (const [key, value] of k.metadata) writeKeyValue(w, delimitedTag(3), key, value);
  });
}

/**
 * Decodes MessageMetadata (every dispatched entry goes through here, so it is a hand-written proto2 reader rather
 * than protobufjs; reference-codec.ts keeps the protobufjs decode the tests compare it with). Junk, a field past
 * the end or a missing required field is a PulsarFormatError('MalformedEntry'). Bytes fields are views of `bytes`.
 */
export function decodeMessageMetadata(bytes: Uint8Array): MessageMetadata {
  const buf = asBuffer(bytes);
  const r = new WireReader(buf, 0, buf.length, 'MalformedEntry', 'message metadata');
  const m: MessageMetadata = { producerName: '', sequenceId: 0n, publishTime: 0, properties: new Map() };
  let required = 0;
  while (r.pos < r.end) {
    const key = r.varint32();
    const field = key >>> 3;
    const wireType = key & 7;
    const expected = FIELD_WIRE_TYPES[field];
    if (expected === undefined) {
      r.skipUnknown(key);
      continue;
    }
    r.expect(wireType, expected, field);
    switch (field) {
      case 1:
        m.producerName = r.string();
        required |= 1;
        break;
      case 2:
        m.sequenceId = r.varint64();
        required |= 2;
        break;
      case 3:
        m.publishTime = r.varintNumber();
        required |= 4;
        break;
      case 4:
        readKeyValue(r, m.properties);
        break;
      case 5:
        m.replicatedFrom = r.string();
        break;
      case 6:
        m.partitionKey = r.string();
        break;
      case 7:
        (m.replicateTo ??= []).push(r.string());
        break;
      case 8: {
        const value = r.varint32() | 0;
        const compression = COMPRESSION_TYPES[value];
        if (compression === undefined) throw r.fail(`compression ${value}`);
        m.compression = compression;
        break;
      }
      case 9:
        m.uncompressedSize = r.varint32();
        break;
      case 11:
        m.numMessagesInBatch = r.varint32() | 0;
        break;
      case 12:
        m.eventTime = r.varintNumber();
        break;
      case 13:
        (m.encryptionKeys ??= []).push(readEncryptionKeys(r));
        break;
      case 14:
        m.encryptionAlgo = r.string();
        break;
      case 15:
        m.encryptionParam = r.bytes();
        break;
      case 16:
        m.schemaVersion = r.bytes();
        break;
      case 17:
        m.partitionKeyB64Encoded = r.varint32() !== 0;
        break;
      case 18:
        m.orderingKey = r.bytes();
        break;
      case 19:
        m.deliverAtTime = Number(r.varint64());
        break;
      case 20:
        m.markerType = r.varint32() | 0;
        break;
      case 22:
        m.txnidLeastBits = r.varint64();
        break;
      case 23:
        m.txnidMostBits = r.varint64();
        break;
      case 24:
        m.highestSequenceId = r.varint64();
        break;
      case 25:
        m.nullValue = r.varint32() !== 0;
        break;
      case 26:
        m.uuid = r.string();
        break;
      case 27:
        m.numChunksFromMsg = r.varint32() | 0;
        break;
      case 28:
        m.totalChunkMsgSize = r.varint32() | 0;
        break;
      case 29:
        m.chunkId = r.varint32() | 0;
        break;
      case 30:
        m.nullPartitionKey = r.varint32() !== 0;
        break;
    }
  }
  if (required !== 7) {
    const missing = ['producer_name', 'sequence_id', 'publish_time'].filter(
      (_, i) => (required & (1 << i)) === 0,
    );
    throw r.fail(`missing required ${missing.join(', ')}`);
  }
  return m;
}

/** MessageMetadata's field numbers and their wire types (10 and 21 are unused in Pulsar). */
const FIELD_WIRE_TYPES: ReadonlyArray<number | undefined> = (() => {
  const table: Array<number | undefined> = [];
  const delimited = [1, 4, 5, 6, 7, 13, 14, 15, 16, 18, 26];
  const varint = [2, 3, 8, 9, 11, 12, 17, 19, 20, 22, 23, 24, 25, 27, 28, 29, 30];
  for (const field of delimited) table[field] = WIRE_LENGTH_DELIMITED;
  for (const field of varint) table[field] = WIRE_VARINT;
  return table;
})();

const TAG_1_DELIMITED = (1 << 3) | WIRE_LENGTH_DELIMITED;
const TAG_2_DELIMITED = (2 << 3) | WIRE_LENGTH_DELIMITED;
const TAG_3_DELIMITED = (3 << 3) | WIRE_LENGTH_DELIMITED;

/** A KeyValue (1: key, 2: value, both required) into `into`. */
function readKeyValue(r: WireReader, into: Map<string, string>): void {
  const inner = r.nested('message metadata property');
  let key: string | undefined;
  let value: string | undefined;
  while (inner.pos < inner.end) {
    const tag = inner.varint32();
    if (tag === TAG_1_DELIMITED) key = inner.string();
    else if (tag === TAG_2_DELIMITED) value = inner.string();
    else inner.skipUnknown(tag);
  }
  if (key === undefined || value === undefined) throw inner.fail('missing required key or value');
  into.set(key, value);
}

/** An EncryptionKeys (1: key, 2: value, 3: metadata KeyValues). */
function readEncryptionKeys(r: WireReader): { key: string; value: Buffer; metadata: Map<string, string> } {
  const inner = r.nested('message metadata encryption key');
  let key: string | undefined;
  let value: Buffer | undefined;
  const metadata = new Map<string, string>();
  while (inner.pos < inner.end) {
    const tag = inner.varint32();
    if (tag === TAG_1_DELIMITED) key = inner.string();
    else if (tag === TAG_2_DELIMITED) value = inner.bytes();
    else if (tag === TAG_3_DELIMITED) readKeyValue(inner, metadata);
    else inner.skipUnknown(tag);
  }
  if (key === undefined || value === undefined) throw inner.fail('missing required key or value');
  return { key, value, metadata };
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
