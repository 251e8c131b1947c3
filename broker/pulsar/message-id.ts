import { PulsarFormatError } from './errors';
import { decodeOrThrow, lazyType, longToBigInt } from './schema';
import { asBuffer, WireReader, WireWriter } from './wire';
import type { DecodedLong } from './schema';

/**
 * A Pulsar message id: the managed-ledger position of the entry (ledgerId, entryId), the partition of a
 * partitioned topic and the index of the message inside a batch entry. `partition` and `batchIndex` are -1 when
 * absent, as in Pulsar's MessageIdImpl; `batchSize` is the MessageIdData field batch_size when an id carries it
 * (Pulsar's clients since 2.10 write batch_size 0 even for a message that is not in a batch), kept so that an id
 * read from a client is written back to it byte for byte.
 */
export interface MessageId {
  ledgerId: bigint;
  entryId: bigint;
  partition: number;
  batchIndex: number;
  batchSize?: number;
}

/** Pulsar's MessageId.earliest and MessageId.latest. */
export const EARLIEST_MESSAGE_ID: Readonly<MessageId> = Object.freeze({
  ledgerId: -1n,
  entryId: -1n,
  partition: -1,
  batchIndex: -1,
});
export const LATEST_MESSAGE_ID: Readonly<MessageId> = Object.freeze({
  ledgerId: 0x7fff_ffff_ffff_ffffn,
  entryId: 0x7fff_ffff_ffff_ffffn,
  partition: -1,
  batchIndex: -1,
});

export function messageId(ledgerId: bigint, entryId: bigint, partition = -1, batchIndex = -1): MessageId {
  return { ledgerId, entryId, partition, batchIndex };
}

const messageIdDataType = lazyType('MessageIdData');

/** The writer message ids are encoded in (encoding never awaits, so one serves every call). */
const idWriter = new WireWriter();

// MessageIdData's field keys (field number << 3 | varint wire type).
const KEY_LEDGER_ID = (1 << 3) | 0;
const KEY_ENTRY_ID = (2 << 3) | 0;
const KEY_PARTITION = (3 << 3) | 0;
const KEY_BATCH_INDEX = (4 << 3) | 0;
const KEY_BATCH_SIZE = (6 << 3) | 0;

/** Writes MessageIdData into idWriter by hand (a message id goes out with every message delivered). */
function writeMessageId(id: MessageId): void {
  const w = idWriter;
  w.reset();
  w.varint(KEY_LEDGER_ID);
  w.varint64(id.ledgerId);
  w.varint(KEY_ENTRY_ID);
  w.varint64(id.entryId);
  if (id.partition >= 0) {
    w.varint(KEY_PARTITION);
    w.int32(id.partition);
  }
  if (id.batchIndex >= 0) {
    w.varint(KEY_BATCH_INDEX);
    w.int32(id.batchIndex);
  }
  if (id.batchSize !== undefined && id.batchSize >= 0) {
    w.varint(KEY_BATCH_SIZE);
    w.int32(id.batchSize);
  }
}

/**
 * MessageIdData bytes as Pulsar's MessageIdImpl.toByteArray writes them: partition only when >= 0, batch_index
 * only when >= 0, batch_size only when set (>= 0). An id without batchSize gives the short form of Pulsar's
 * examples (0:3 is `CAAQAw==`). These bytes, base64-encoded, are the `messageId` of the WebSocket API.
 */
export function encodeMessageId(id: MessageId): Buffer {
  writeMessageId(id);
  return idWriter.toBuffer();
}

/**
 * MessageIdData read by hand when it holds only varint fields 1-4 and 6 (every id this broker or a client writes for
 * a message); undefined for anything else — other fields, bad bytes, a missing id — which protobufjs then decodes
 * (or refuses) as before. Values as protobufjs reads them: 64-bit ids as Java longs, int32s as their low 32 bits.
 */
function decodeSimpleMessageId(bytes: Uint8Array): MessageId | undefined {
  const r = new WireReader(asBuffer(bytes), 0, bytes.length, 'MalformedMessageId', 'message id');
  let ledgerId: bigint | undefined;
  let entryId: bigint | undefined;
  let partition = -1;
  let batchIndex = -1;
  let batchSize: number | undefined;
  try {
    while (r.pos < r.end) {
      const key = r.varint32();
      if (key === KEY_LEDGER_ID) ledgerId = r.varint64();
      else if (key === KEY_ENTRY_ID) entryId = r.varint64();
      else if (key === KEY_PARTITION) partition = r.varint32() | 0;
      else if (key === KEY_BATCH_INDEX) batchIndex = r.varint32() | 0;
      else if (key === KEY_BATCH_SIZE) batchSize = r.varint32() | 0;
      else return undefined;
    }
  } catch {
    return undefined;
  }
  if (ledgerId === undefined || entryId === undefined) return undefined;
  const id: MessageId = { ledgerId, entryId, partition, batchIndex };
  if (batchSize !== undefined) id.batchSize = batchSize;
  return id;
}

/** Decodes MessageIdData; anything else (junk, missing ledgerId or entryId) is a PulsarFormatError. */
export function decodeMessageId(bytes: Uint8Array): MessageId {
  const simple = decodeSimpleMessageId(bytes);
  if (simple !== undefined) return simple;
  const data = decodeOrThrow(messageIdDataType(), bytes, 'MalformedMessageId', 'message id');
  const id: MessageId = {
    ledgerId: longToBigInt(data.ledgerId as DecodedLong),
    entryId: longToBigInt(data.entryId as DecodedLong),
    partition: (data.partition as number | undefined) ?? -1,
    batchIndex: (data.batchIndex as number | undefined) ?? -1,
  };
  if (Object.hasOwn(data, 'batchSize')) id.batchSize = data.batchSize as number;
  return id;
}

export function messageIdToBase64(id: MessageId): string {
  writeMessageId(id);
  return idWriter.buf.toString('base64', 0, idWriter.pos);
}

// Java's Base64.getDecoder(): the standard alphabet, padding optional; anything else is refused (Node's decoder
// would skip it silently).
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export function messageIdFromBase64(text: string): MessageId {
  const unpadded = text.replace(/=+$/, '');
  if (!BASE64_RE.test(text) || unpadded.length % 4 === 1 || text.length > 1024) {
    throw new PulsarFormatError('MalformedMessageId', `not a base64 message id: '${text.slice(0, 64)}'`);
  }
  return decodeMessageId(Buffer.from(text, 'base64'));
}

/** "ledgerId:entryId", with ":partition:batchIndex" when either is set (Pulsar prints batch ids that way). */
export function formatMessageId(id: MessageId): string {
  if (id.partition < 0 && id.batchIndex < 0) return `${id.ledgerId}:${id.entryId}`;
  return `${id.ledgerId}:${id.entryId}:${id.partition}:${id.batchIndex}`;
}

const FORMATTED_RE = /^(-?\d{1,20}):(-?\d{1,20})(?::(-?\d{1,10}))?(?::(-?\d{1,10}))?$/;

/** The inverse of formatMessageId; also takes Pulsar's "L:E:P" and "L:E:P:B" forms. */
export function parseMessageId(text: string): MessageId {
  const match = FORMATTED_RE.exec(text);
  if (match === null) {
    throw new PulsarFormatError('MalformedMessageId', `not a message id: '${text.slice(0, 64)}'`);
  }
  const ledgerId = BigInt(match[1] as string);
  const entryId = BigInt(match[2] as string);
  const partition = match[3] === undefined ? -1 : Number(match[3]);
  const batchIndex = match[4] === undefined ? -1 : Number(match[4]);
  if (BigInt.asIntN(64, ledgerId) !== ledgerId || BigInt.asIntN(64, entryId) !== entryId) {
    throw new PulsarFormatError('MalformedMessageId', `message id out of range: '${text}'`);
  }
  if ((partition | 0) !== partition || (batchIndex | 0) !== batchIndex) {
    throw new PulsarFormatError('MalformedMessageId', `message id out of range: '${text}'`);
  }
  return { ledgerId, entryId, partition, batchIndex };
}

/** Orders ids as Pulsar's MessageIdImpl.compareTo: ledgerId, entryId, partition, then batchIndex (-1 first). */
export function compareMessageIds(a: MessageId, b: MessageId): number {
  if (a.ledgerId !== b.ledgerId) return a.ledgerId < b.ledgerId ? -1 : 1;
  if (a.entryId !== b.entryId) return a.entryId < b.entryId ? -1 : 1;
  if (a.partition !== b.partition) return a.partition < b.partition ? -1 : 1;
  if (a.batchIndex !== b.batchIndex) return a.batchIndex < b.batchIndex ? -1 : 1;
  return 0;
}
