import { checkFrameLength, FRAME_LENGTH_BYTES } from './frame';
import type { AddRequest, AddResponse, BKPacketHeader } from './types';
import { int32Size, varint64Size, varintSize, writeInt32, writeVarint, writeVarint64 } from './wire';

/**
 * The add path's two frames, written field by field: a Request carrying only a header and an AddRequest, and a
 * Response carrying only a header, a status and an AddResponse. These are the bulk of a bookie's traffic, and
 * the generic encoder (codec.ts) spends its time there reading a dozen absent optional fields per message.
 * The bytes are exactly the generic encoder's (fields in ascending number, optional fields written when
 * present): the codec tests compare the two on random messages, and encodeRequestFrame/encodeResponseFrame
 * route add messages here, so every caller gets the fast path.
 *
 * Field numbers (BookkeeperProtocol.proto): Request.header 1, Request.addRequest 101; Response.header 1,
 * Response.status 2, Response.addResponse 101; BKPacketHeader version 1, operation 2, txnId 3, priority 4;
 * AddRequest ledgerId 1, entryId 2, masterKey 3, body 4, writeFlags 5, flag 100; AddResponse status 1,
 * ledgerId 2, entryId 3.
 */

/** Field 1, length-delimited: a nested header. */
const KEY_HEADER = 0x0a;
/** Field 101, length-delimited, as a two-byte varint key: addRequest / addResponse. */
const KEY_ADD_LO = 0xaa;
const KEY_ADD_HI = 0x06;
/** Field 100, varint, as a two-byte key: AddRequest.flag. */
const KEY_FLAG_LO = 0xa0;
const KEY_FLAG_HI = 0x06;

function headerSize(header: BKPacketHeader): number {
  let size = 1 + int32Size(header.version) + 1 + int32Size(header.operation) + 1;
  size += varint64Size(header.txnId);
  if (header.priority !== undefined && header.priority !== null)
    size += 1 + varintSize(header.priority >>> 0);
  return size;
}

function writeHeader(buf: Buffer, pos: number, header: BKPacketHeader, size: number): number {
  buf[pos++] = KEY_HEADER;
  pos = writeVarint(buf, pos, size);
  buf[pos++] = 0x08;
  pos = writeInt32(buf, pos, header.version);
  buf[pos++] = 0x10;
  pos = writeInt32(buf, pos, header.operation);
  buf[pos++] = 0x18;
  pos = writeVarint64(buf, pos, header.txnId, false);
  if (header.priority !== undefined && header.priority !== null) {
    buf[pos++] = 0x20;
    pos = writeVarint(buf, pos, header.priority >>> 0);
  }
  return pos;
}

function present<T>(value: T | undefined | null): value is T {
  return value !== undefined && value !== null;
}

/** A framed Request { header, addRequest }: one allocation, no intermediate objects. */
export function encodeAddRequestFrame(
  header: BKPacketHeader,
  add: AddRequest,
  maxFrameSizeBytes?: number,
): Buffer {
  return encodeAdd(header, add, add.body, 0, maxFrameSizeBytes);
}

/**
 * A framed Request { header, addRequest } whose body is `bodyHead` followed by `bodyTail` (a packed entry as
 * DigestManager.packEntryParts gives it), as buffers to write in order: the frame up to the body's end of
 * `bodyHead`, then `bodyTail` itself (never copied: a large entry goes to every bookie of its write set from the
 * caller's buffer), then the fields after the body when there are any. `add.body` is not read.
 */
export function encodeAddRequestFrameParts(
  header: BKPacketHeader,
  add: AddRequest,
  bodyHead: Buffer,
  bodyTail: Buffer,
  maxFrameSizeBytes?: number,
): Buffer[] {
  const buf = encodeAdd(header, add, bodyHead, bodyTail.length, maxFrameSizeBytes);
  // The fields after the body are the buffer's last bytes: the tail goes between them and the rest.
  const bodyEnd = buf.length - afterBodySize(add);
  if (bodyEnd === buf.length) return [buf, bodyTail];
  return [buf.subarray(0, bodyEnd), bodyTail, buf.subarray(bodyEnd)];
}

/** The bytes of the AddRequest fields written after its body: writeFlags and flag when present. */
function afterBodySize(add: AddRequest): number {
  let size = 0;
  if (present(add.writeFlags)) size += 1 + int32Size(add.writeFlags);
  if (present(add.flag)) size += 2 + int32Size(add.flag);
  return size;
}

/**
 * The frame of an AddRequest whose body is `bodyHead` followed by `tailBytes` more bytes, in one buffer holding
 * every byte but those (none for a whole body).
 */
function encodeAdd(
  header: BKPacketHeader,
  add: AddRequest,
  bodyHead: Buffer,
  tailBytes: number,
  maxFrameSizeBytes: number | undefined,
): Buffer {
  const hSize = headerSize(header);
  const keyBytes = add.masterKey.length;
  const bodyBytes = bodyHead.length + tailBytes;
  const aSize =
    1 +
    varint64Size(add.ledgerId) +
    1 +
    varint64Size(add.entryId) +
    1 +
    varintSize(keyBytes) +
    keyBytes +
    1 +
    varintSize(bodyBytes) +
    bodyBytes +
    afterBodySize(add);
  const size = 1 + varintSize(hSize) + hSize + 2 + varintSize(aSize) + aSize;
  checkFrameLength(size, maxFrameSizeBytes);
  const buf = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + size - tailBytes);
  buf.writeUInt32BE(size, 0);
  let pos = writeHeader(buf, FRAME_LENGTH_BYTES, header, hSize);
  buf[pos++] = KEY_ADD_LO;
  buf[pos++] = KEY_ADD_HI;
  pos = writeVarint(buf, pos, aSize);
  buf[pos++] = 0x08;
  pos = writeVarint64(buf, pos, add.ledgerId, true);
  buf[pos++] = 0x10;
  pos = writeVarint64(buf, pos, add.entryId, true);
  buf[pos++] = 0x1a;
  pos = writeVarint(buf, pos, keyBytes);
  pos += add.masterKey.copy(buf, pos);
  buf[pos++] = 0x22;
  pos = writeVarint(buf, pos, bodyBytes);
  pos += bodyHead.copy(buf, pos);
  if (present(add.writeFlags)) {
    buf[pos++] = 0x28;
    pos = writeInt32(buf, pos, add.writeFlags);
  }
  if (present(add.flag)) {
    buf[pos++] = KEY_FLAG_LO;
    buf[pos++] = KEY_FLAG_HI;
    pos = writeInt32(buf, pos, add.flag);
  }
  if (pos !== buf.length) throw new Error(`AddRequest frame: wrote ${pos} of ${buf.length} bytes`);
  return buf;
}

/** A framed Response { header, status, addResponse }. */
export function encodeAddResponseFrame(
  header: BKPacketHeader,
  status: number,
  add: AddResponse,
  maxFrameSizeBytes?: number,
): Buffer {
  const hSize = headerSize(header);
  const aSize = 1 + int32Size(add.status) + 1 + varint64Size(add.ledgerId) + 1 + varint64Size(add.entryId);
  const size = 1 + varintSize(hSize) + hSize + 1 + int32Size(status) + 2 + varintSize(aSize) + aSize;
  checkFrameLength(size, maxFrameSizeBytes);
  const buf = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + size);
  buf.writeUInt32BE(size, 0);
  let pos = writeHeader(buf, FRAME_LENGTH_BYTES, header, hSize);
  buf[pos++] = 0x10;
  pos = writeInt32(buf, pos, status);
  buf[pos++] = KEY_ADD_LO;
  buf[pos++] = KEY_ADD_HI;
  pos = writeVarint(buf, pos, aSize);
  buf[pos++] = 0x08;
  pos = writeInt32(buf, pos, add.status);
  buf[pos++] = 0x10;
  pos = writeVarint64(buf, pos, add.ledgerId, true);
  buf[pos++] = 0x18;
  pos = writeVarint64(buf, pos, add.entryId, true);
  if (pos !== buf.length) throw new Error(`AddResponse frame: wrote ${pos} of ${buf.length} bytes`);
  return buf;
}

/** What the add path needs of an add's Response; readAddResponse fills one the caller reuses. */
export interface AddResponseSummary {
  txnId: number;
  operation: number;
  /** AddResponse.status when present, else Response.status: the add's outcome (as PendingAdd reads it). */
  status: number;
}

/** readVarintAt's results besides a value: a well-formed varint of 2^53 or more, and malformed bytes. */
const VARINT_BIG = -1;
const VARINT_BAD = -2;
/** Where readVarintAt stopped: a module variable rather than a [value, position] pair per varint. */
let readAt = 0;

/** The varint at `readAt` (before `end`) as a number below 2^53, or VARINT_BIG / VARINT_BAD; advances readAt. */
function readVarintAt(buf: Buffer, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (readAt >= end) return VARINT_BAD;
    const byte = buf[readAt++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value <= Number.MAX_SAFE_INTEGER ? value : VARINT_BIG;
    scale *= 128;
  }
  return VARINT_BAD;
}

/** A non-negative int32 field's value, or -1 for anything else (negative, too long, malformed). */
function readInt32At(buf: Buffer, end: number): number {
  const value = readVarintAt(buf, end);
  return value >= 0 && value <= 0x7fffffff ? value : -1;
}

const SEEN_VERSION = 1;
const SEEN_OPERATION = 2;
const SEEN_TXN_ID = 4;
const SEEN_PRIORITY = 8;
const SEEN_HEADER = 16;
const SEEN_STATUS = 32;
const SEEN_ADD = 64;
const SEEN_ADD_STATUS = 128;
const SEEN_LEDGER_ID = 256;
const SEEN_ENTRY_ID = 512;

/** The value readHeaderField / readAddField read with the bit they returned: -1 when it is out of range. */
let fieldValue = 0;

/** A BKPacketHeader field at readAt (its key just read): its seen-bit, its value in fieldValue; -1 if not taken. */
function readHeaderField(buf: Buffer, key: number, end: number): number {
  switch (key) {
    case 0x08:
      fieldValue = readInt32At(buf, end);
      return SEEN_VERSION;
    case 0x10:
      fieldValue = readInt32At(buf, end);
      return SEEN_OPERATION;
    case 0x18:
      fieldValue = readVarintAt(buf, end);
      return SEEN_TXN_ID;
    case 0x20:
      fieldValue = readInt32At(buf, end);
      return SEEN_PRIORITY;
    default:
      return -1;
  }
}

/** An AddResponse field, as readHeaderField; ledgerId and entryId (any int64) are only checked to be well formed. */
function readAddField(buf: Buffer, key: number, end: number): number {
  switch (key) {
    case 0x08:
      fieldValue = readInt32At(buf, end);
      return SEEN_ADD_STATUS;
    case 0x10:
    case 0x18:
      fieldValue = readVarintAt(buf, end) === VARINT_BAD ? -1 : 0;
      return key === 0x10 ? SEEN_LEDGER_ID : SEEN_ENTRY_ID;
    default:
      return -1;
  }
}

/**
 * The nested message at readAt (its length, then its fields, each read by `readField`) into `into`: returns
 * `seen` with the bits of its fields added, or -1 for a field not taken, twice, out of range, or overrunning.
 */
function readNestedAt(
  buf: Buffer,
  end: number,
  seen: number,
  readField: (buf: Buffer, key: number, end: number) => number,
  into: AddResponseSummary,
): number {
  const length = readVarintAt(buf, end);
  if (length < 0 || length > end - readAt) return -1;
  const nestedEnd = readAt + length;
  while (readAt < nestedEnd) {
    const bit = readField(buf, buf[readAt++]!, nestedEnd);
    if (bit < 0 || fieldValue < 0 || (seen & bit) !== 0) return -1;
    seen |= bit;
    if (bit === SEEN_OPERATION) into.operation = fieldValue;
    else if (bit === SEEN_TXN_ID) into.txnId = fieldValue;
    else if (bit === SEEN_ADD_STATUS) into.status = fieldValue;
  }
  return seen;
}

/**
 * Reads a Response payload (no length prefix) holding a header, a status and optionally an AddResponse —
 * what a bookie answers to an add — into `into`, allocating nothing: the generic decoder builds four objects
 * and three bigints per response, and a client writing to three bookies decodes three responses per entry.
 * Returns false for anything else: another field, a field twice, a txnId or status out of the plain range,
 * malformed or truncated bytes. The caller then decodes with decodeResponse, which knows every field and
 * reports what is wrong. Where it returns true, decodeResponse gives the same txnId, operation and status
 * (a property test compares them).
 */
export function readAddResponse(payload: Buffer, into: AddResponseSummary): boolean {
  const end = payload.length;
  let seen = 0;
  let status = -1;
  readAt = 0;
  while (readAt < end && seen >= 0) {
    const key = payload[readAt++]!;
    if (key === KEY_HEADER && (seen & SEEN_HEADER) === 0) {
      seen = readNestedAt(payload, end, seen | SEEN_HEADER, readHeaderField, into);
    } else if (key === KEY_ADD_LO && (seen & SEEN_ADD) === 0) {
      if (readAt >= end || payload[readAt++] !== KEY_ADD_HI) return false;
      seen = readNestedAt(payload, end, seen | SEEN_ADD, readAddField, into);
    } else if (key === 0x10 && (seen & SEEN_STATUS) === 0) {
      seen |= SEEN_STATUS;
      status = readInt32At(payload, end);
      if (status < 0) return false;
    } else {
      return false;
    }
  }
  const required = SEEN_HEADER | SEEN_VERSION | SEEN_OPERATION | SEEN_TXN_ID | SEEN_STATUS;
  if (seen < 0 || (seen & required) !== required) return false;
  if ((seen & SEEN_ADD) === 0) into.status = status;
  else if (
    (seen & (SEEN_ADD_STATUS | SEEN_LEDGER_ID | SEEN_ENTRY_ID)) !==
    (SEEN_ADD_STATUS | SEEN_LEDGER_ID | SEEN_ENTRY_ID)
  )
    return false;
  return true;
}
