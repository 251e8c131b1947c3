import { inflateSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';
import { PulsarFormatError } from './errors';
import {
  decodeMessageMetadata,
  decodeSingleMessageMetadata,
  writeMessageMetadata,
  encodeSingleMessageMetadata,
} from './message-metadata';
import type { MessageMetadata, SingleMessageMetadata } from './message-metadata';
import { WireReader, WireWriter } from './wire';

/**
 * A stored entry, as a Pulsar broker writes it to BookKeeper (all integers big-endian):
 *
 *   [0x0e02][u32 size][BrokerEntryMetadata]                      added by the broker (optional when parsing)
 *   [0x0e01][u32 CRC32C][u32 metadataSize][MessageMetadata][payload]   what a binary-protocol client sends
 *
 * The CRC32C covers everything after the checksum field: metadataSize, metadata and payload. A batch entry's
 * payload is N x ([u32 size][SingleMessageMetadata][bytes]) with MessageMetadata.num_messages_in_batch = N.
 */
export const MAGIC_CRC32C = 0x0e01;
export const MAGIC_BROKER_ENTRY_METADATA = 0x0e02;

/** Bytes before the MessageMetadata: magic, checksum, metadata size. */
const MESSAGE_HEADER_BYTES = 2 + 4 + 4;
/** Bytes before the BrokerEntryMetadata: magic, size. */
const BEM_HEADER_BYTES = 2 + 4;
/** A sane bound for the BrokerEntryMetadata (two varints); anything larger is not ours. */
const BEM_SIZE_MAX = 1024;

export interface BrokerEntryMetadata {
  /** ms since the epoch, when the broker stored the entry. */
  brokerTimestamp?: number;
  /** The topic's running message index of the entry's last message (0 for a topic's first message). */
  index?: bigint;
}

export interface ParsedEntry {
  brokerEntryMetadata?: BrokerEntryMetadata;
  metadata: MessageMetadata;
  /** The payload as stored: for a batch, all of its messages with their SingleMessageMetadata; maybe compressed. */
  payload: Buffer;
  /** How many messages the entry holds (num_messages_in_batch, 1 when absent): what it costs in permits. */
  numMessages: number;
  /** The entry from the 0x0e01 magic on (a view, no copy): what a binary-protocol MESSAGE frame carries. */
  message: Buffer;
}

function malformed(what: string): PulsarFormatError {
  return new PulsarFormatError('MalformedEntry', `malformed entry: ${what}`);
}

/** The writer encodeMessage builds metadata in (encoding never awaits, so one serves every call). */
const metadataWriter = new WireWriter();

/**
 * Room encodeMessage leaves before the message it returns, for the BrokerEntryMetadata the topic prepends when it
 * stores it: magic, size, and two uint64 varints of at most 10 bytes with their keys.
 */
const BEM_HEADROOM_BYTES = BEM_HEADER_BYTES + 2 * (1 + 10);
/**
 * Messages encodeMessage returned whose headroom is still unused: withBrokerEntryMetadata writes into it once (and
 * forgets the message), so storing a message costs no second allocation and copy of it.
 */
const messagesWithHeadroom = new WeakSet<Uint8Array>();

/**
 * A client message (from 0x0e01 on): magic, CRC32C, metadata size, metadata, payload. The buffer returned is a
 * view with room before it for withBrokerEntryMetadata.
 */
export function encodeMessage(metadata: MessageMetadata, payload: Uint8Array): Buffer {
  metadataWriter.reset();
  writeMessageMetadata(metadataWriter, metadata);
  const metadataSize = metadataWriter.pos;
  const size = MESSAGE_HEADER_BYTES + metadataSize + payload.length;
  const out = Buffer.allocUnsafe(BEM_HEADROOM_BYTES + size).subarray(BEM_HEADROOM_BYTES);
  messagesWithHeadroom.add(out);
  out.writeUInt16BE(MAGIC_CRC32C, 0);
  out.writeUInt32BE(metadataSize, 6);
  metadataWriter.buf.copy(out, MESSAGE_HEADER_BYTES, 0, metadataSize);
  out.set(payload, MESSAGE_HEADER_BYTES + metadataSize);
  out.writeUInt32BE(crc32c(out.subarray(6)) >>> 0, 2);
  return out;
}

// BrokerEntryMetadata is two optional uint64 varints; a hand codec keeps protobufjs and Long objects off the
// path every stored entry takes.
const BEM_KEY_BROKER_TIMESTAMP = (1 << 3) | 0;
const BEM_KEY_INDEX = (2 << 3) | 0;

function varintSize(value: bigint): number {
  let size = 1;
  for (let v = value >> 7n; v > 0n; v >>= 7n) size++;
  return size;
}

function writeVarint(out: Buffer, offset: number, value: bigint): number {
  let v = value;
  while (v >= 0x80n) {
    out[offset++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  out[offset++] = Number(v);
  return offset;
}

/**
 * Prepends [0x0e02][u32 size][BrokerEntryMetadata] to a message: in the room encodeMessage left before it, the
 * first time it is given one of encodeMessage's messages; else in one allocation with one copy of the message.
 */
export function withBrokerEntryMetadata(
  message: Uint8Array,
  bem: { brokerTimestamp: number; index: bigint },
): Buffer {
  const timestamp = BigInt.asUintN(64, BigInt(bem.brokerTimestamp));
  const index = BigInt.asUintN(64, bem.index);
  const bemSize = 1 + varintSize(timestamp) + 1 + varintSize(index);
  const prefix = BEM_HEADER_BYTES + bemSize;
  if (messagesWithHeadroom.delete(message)) {
    const out = Buffer.from(message.buffer, message.byteOffset - prefix, prefix + message.length);
    writeBrokerEntryMetadata(out, bemSize, timestamp, index);
    return out;
  }
  const out = Buffer.allocUnsafe(prefix + message.length);
  out.set(message, writeBrokerEntryMetadata(out, bemSize, timestamp, index));
  return out;
}

/** Writes [0x0e02][u32 size][BrokerEntryMetadata] at the start of `out`; the offset after it. */
function writeBrokerEntryMetadata(out: Buffer, bemSize: number, timestamp: bigint, index: bigint): number {
  out.writeUInt16BE(MAGIC_BROKER_ENTRY_METADATA, 0);
  out.writeUInt32BE(bemSize, 2);
  let offset = BEM_HEADER_BYTES;
  out[offset++] = BEM_KEY_BROKER_TIMESTAMP;
  offset = writeVarint(out, offset, timestamp);
  out[offset++] = BEM_KEY_INDEX;
  return writeVarint(out, offset, index);
}

function decodeBrokerEntryMetadata(data: Buffer, start: number, end: number): BrokerEntryMetadata {
  const bem: BrokerEntryMetadata = {};
  const r = new WireReader(data, start, end, 'MalformedEntry', 'broker entry metadata');
  while (r.pos < end) {
    const tag = r.varint32();
    if (tag === BEM_KEY_BROKER_TIMESTAMP) bem.brokerTimestamp = r.varintNumber();
    else if (tag === BEM_KEY_INDEX) bem.index = r.varint64();
    else r.skipUnknown(tag);
  }
  return bem;
}

/** Where the BrokerEntryMetadata of an entry ends (0 when it has none), checking its bounds. */
function brokerEntryMetadataEnd(data: Buffer): number {
  if (data.length < 2 || data.readUInt16BE(0) !== MAGIC_BROKER_ENTRY_METADATA) return 0;
  if (data.length < BEM_HEADER_BYTES) throw malformed(`${data.length} bytes, shorter than its header`);
  const size = data.readUInt32BE(2);
  if (size > BEM_SIZE_MAX || BEM_HEADER_BYTES + size > data.length) {
    throw malformed(`broker entry metadata size ${size} past the end of ${data.length} bytes`);
  }
  return BEM_HEADER_BYTES + size;
}

export interface ParseEntryOptions {
  /**
   * Check the CRC32C (default true). Dispatch passes false for entries read back from the managed ledger: they were
   * checked when they came in (a client's message) or built here, and BookKeeper's digest covers them at rest —
   * Pulsar's broker does not verify the checksum on dispatch either.
   */
  verifyChecksum?: boolean;
}

/**
 * Parses a stored entry (or a client message without broker entry metadata): checks the magic numbers, every size
 * against the bytes there are and the CRC32C (unless options.verifyChecksum is false), then decodes the metadata.
 * Anything wrong is a PulsarFormatError ('MalformedEntry' or 'ChecksumError'); no other exception escapes. The
 * payload and message are views of `data`.
 */
export function parseEntry(data: Buffer, options?: ParseEntryOptions): ParsedEntry {
  const start = brokerEntryMetadataEnd(data);
  const brokerEntryMetadata =
    start === 0 ? undefined : decodeBrokerEntryMetadata(data, BEM_HEADER_BYTES, start);
  if (data.length - start < MESSAGE_HEADER_BYTES) {
    throw malformed(
      `${data.length - start} message bytes, shorter than the ${MESSAGE_HEADER_BYTES}-byte header`,
    );
  }
  const magic = data.readUInt16BE(start);
  if (magic !== MAGIC_CRC32C)
    throw malformed(`magic 0x${magic.toString(16).padStart(4, '0')}, expected 0x0e01`);
  const metadataSize = data.readUInt32BE(start + 6);
  const metadataStart = start + MESSAGE_HEADER_BYTES;
  if (metadataSize > data.length - metadataStart) {
    throw malformed(`metadata size ${metadataSize} past the end of ${data.length} bytes`);
  }
  if (options?.verifyChecksum !== false) {
    const expected = data.readUInt32BE(start + 2);
    const actual = crc32c(data.subarray(start + 6)) >>> 0;
    if (expected !== actual) {
      throw new PulsarFormatError(
        'ChecksumError',
        `entry checksum mismatch: stored 0x${expected.toString(16)}, computed 0x${actual.toString(16)}`,
      );
    }
  }
  const metadata = decodeMessageMetadata(data.subarray(metadataStart, metadataStart + metadataSize));
  const numMessages = metadata.numMessagesInBatch ?? 1;
  if (!(numMessages >= 1)) throw malformed(`num_messages_in_batch ${numMessages}`);
  const entry: ParsedEntry = {
    metadata,
    payload: data.subarray(metadataStart + metadataSize),
    numMessages,
    message: data.subarray(start),
  };
  if (brokerEntryMetadata !== undefined) entry.brokerEntryMetadata = brokerEntryMetadata;
  return entry;
}

/**
 * The running message index of an entry's BrokerEntryMetadata without parsing the rest (no CRC check):
 * undefined when the entry has no broker entry metadata or no index. Malformed bytes are a PulsarFormatError.
 */
export function readBrokerEntryIndex(data: Buffer): bigint | undefined {
  const end = brokerEntryMetadataEnd(data);
  if (end === 0) return undefined;
  return decodeBrokerEntryMetadata(data, BEM_HEADER_BYTES, end).index;
}

/** One message of a batch entry. */
export interface SingleMessage {
  metadata: SingleMessageMetadata;
  payload: Buffer;
}

/** A batch payload: N x ([u32 size][SingleMessageMetadata][payload_size bytes]). */
export function encodeBatchPayload(
  messages: ReadonlyArray<{ metadata: Omit<SingleMessageMetadata, 'payloadSize'>; payload: Uint8Array }>,
): Buffer {
  const parts: Buffer[] = [];
  for (const m of messages) {
    const header = encodeSingleMessageMetadata({ ...m.metadata, payloadSize: m.payload.length });
    const size = Buffer.allocUnsafe(4);
    size.writeUInt32BE(header.length, 0);
    parts.push(size, header, Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength));
  }
  return Buffer.concat(parts);
}

/** Splits an uncompressed batch payload into its `numMessages` messages, checking every size against the bytes. */
export function decodeBatchPayload(payload: Buffer, numMessages: number): SingleMessage[] {
  const messages: SingleMessage[] = [];
  let offset = 0;
  for (let i = 0; i < numMessages; i++) {
    if (payload.length - offset < 4) throw malformed(`batch message ${i} of ${numMessages} past the end`);
    const headerSize = payload.readUInt32BE(offset);
    offset += 4;
    if (headerSize > payload.length - offset)
      throw malformed(`batch message ${i} metadata size ${headerSize}`);
    const metadata = decodeSingleMessageMetadata(payload.subarray(offset, offset + headerSize));
    offset += headerSize;
    if (metadata.payloadSize < 0 || metadata.payloadSize > payload.length - offset) {
      throw malformed(`batch message ${i} payload size ${metadata.payloadSize}`);
    }
    messages.push({ metadata, payload: payload.subarray(offset, offset + metadata.payloadSize) });
    offset += metadata.payloadSize;
  }
  return messages;
}

/**
 * The payload uncompressed: as is for NONE, inflated for ZLIB (Pulsar's zlib stream), bounded by the
 * uncompressed_size the metadata declares. LZ4, ZSTD and SNAPPY are PulsarFormatError('UnsupportedCompression').
 */
export function uncompressPayload(metadata: MessageMetadata, payload: Buffer, sizeMaxBytes: number): Buffer {
  const compression = metadata.compression ?? 'NONE';
  if (compression === 'NONE') return payload;
  if (compression !== 'ZLIB') {
    throw new PulsarFormatError(
      'UnsupportedCompression',
      `payload compressed with ${compression}, not supported`,
    );
  }
  const size = metadata.uncompressedSize ?? 0;
  if (size > sizeMaxBytes) throw malformed(`uncompressed size ${size} over the limit of ${sizeMaxBytes}`);
  try {
    const out = inflateSync(payload, { maxOutputLength: Math.max(size, 1) });
    if (out.length !== size) throw malformed(`uncompressed ${out.length} bytes, metadata says ${size}`);
    return out;
  } catch (err) {
    if (err instanceof PulsarFormatError) throw err;
    throw new PulsarFormatError('MalformedEntry', `cannot inflate payload: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
