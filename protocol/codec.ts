import assert from 'node:assert';
import { Enum } from 'protobufjs';
import type { Type } from 'protobufjs';
import { encodeAddRequestFrame, encodeAddResponseFrame } from './add-codec';
import { MessageDecodeError } from './errors';
import { FRAME_LENGTH_BYTES, checkFrameLength } from './frame';
import { protocolType } from './schema';
import type {
  AddRequest,
  AddResponse,
  AuthMessage,
  BKPacketHeader,
  ReadRequest,
  ReadResponse,
  Request,
  Response,
} from './types';
import {
  Reader,
  WIRE_LENGTH_DELIMITED,
  WIRE_VARINT,
  int32Size,
  readLength,
  readVarint32,
  readVarint64,
  skipField,
  varint64Size,
  varintSize,
  writeInt32,
  writeUint32,
  writeVarint,
  writeVarint64,
} from './wire';

/**
 * The v3 message codec: a hand-written proto2 encoder/decoder driven by field tables that are derived, once,
 * from the protobufjs parse of BookkeeperProtocol.proto. protobufjs stays the reference (reference-codec.ts)
 * and the tests check both produce and accept the same bytes; this codec exists because it converts 64-bit
 * fields straight to bigint (no Long objects) and slices bytes fields without copying, which is where
 * protobufjs spends its time on the add and read paths.
 *
 * Encoding writes fields in ascending field number, as protobufjs and protobuf-java do, so all three produce
 * identical bytes. Decoding accepts fields in any order, skips unknown fields, lets a repeated scalar field
 * overwrite (last one wins) and checks required fields at the end.
 */

const KIND_INT64 = 0;
const KIND_UINT64 = 1;
const KIND_INT32 = 2; // also enums, which proto2 encodes as int32
const KIND_UINT32 = 3;
const KIND_BYTES = 4;
const KIND_STRING = 5;
const KIND_MESSAGE = 6;

interface FieldSpec {
  readonly name: string;
  readonly number: number;
  readonly kind: number;
  readonly wireType: number;
  readonly required: boolean;
  readonly repeated: boolean;
  /** This field's bit in the required-field bookkeeping of one decode. */
  readonly bit: number;
  /** The encoded key (number << 3 | wire type) and its varint size. */
  readonly key: number;
  readonly keySize: number;
  readonly message: MessageSpec | undefined;
}

interface MessageSpec {
  readonly name: string;
  /** Ascending field number: the order every encoder writes in. */
  readonly fields: readonly FieldSpec[];
  /** Field by number; dense up to the highest number (200 at most here), so a lookup is one array index. */
  readonly byNumber: readonly (FieldSpec | undefined)[];
  readonly requiredMask: number;
  /** The two encoding passes for this message type, generated on first use (compileEncoder). */
  encoder?: MessageEncoder;
  /** The decoding pass, generated on first use (compileDecoder). */
  decoder?: MessageDecoder;
}

type MessageDecoder = (r: Reader, end: number) => Message;

interface MessageEncoder {
  size(message: Message): number;
  write(buf: Buffer, pos: number, message: Message): number;
}

const SCALAR_KINDS: Record<string, number> = {
  int64: KIND_INT64,
  uint64: KIND_UINT64,
  int32: KIND_INT32,
  uint32: KIND_UINT32,
  bytes: KIND_BYTES,
  string: KIND_STRING,
};

function buildSpec(type: Type, built: Map<string, MessageSpec>): MessageSpec {
  const existing = built.get(type.fullName);
  if (existing !== undefined) return existing;
  const sorted = [...type.fieldsArray].sort((a, b) => a.id - b.id);
  // 31 bits of required-field bookkeeping per message; the schema's largest message has 11 fields.
  assert(sorted.length <= 31, `${type.name} has too many fields for the codec`);
  const fields: FieldSpec[] = [];
  const maxNumber = sorted.length === 0 ? 0 : sorted[sorted.length - 1]!.id;
  const byNumber: (FieldSpec | undefined)[] = new Array<FieldSpec | undefined>(maxNumber + 1).fill(undefined);
  let requiredMask = 0;
  const spec: MessageSpec = { name: type.name, fields, byNumber, requiredMask: 0 };
  built.set(type.fullName, spec);
  sorted.forEach((field, index) => {
    field.resolve();
    let kind: number;
    let message: MessageSpec | undefined;
    if (field.resolvedType instanceof Enum) {
      kind = KIND_INT32;
    } else if (field.resolvedType !== null) {
      kind = KIND_MESSAGE;
      message = buildSpec(field.resolvedType, built);
    } else {
      const scalar = SCALAR_KINDS[field.type];
      assert(
        scalar !== undefined,
        `${type.name}.${field.name}: type ${field.type} is not supported by the codec`,
      );
      kind = scalar;
    }
    assert(
      !field.repeated || kind === KIND_MESSAGE,
      `${type.name}.${field.name}: only repeated messages supported`,
    );
    const wireType =
      kind === KIND_BYTES || kind === KIND_STRING || kind === KIND_MESSAGE
        ? WIRE_LENGTH_DELIMITED
        : WIRE_VARINT;
    const key = ((field.id << 3) | wireType) >>> 0;
    const bit = 1 << index;
    if (field.required) requiredMask |= bit;
    const fieldSpec: FieldSpec = {
      name: field.name,
      number: field.id,
      kind,
      wireType,
      required: field.required,
      repeated: field.repeated,
      bit,
      key,
      keySize: varintSize(key),
      message,
    };
    fields.push(fieldSpec);
    byNumber[field.id] = fieldSpec;
  });
  (spec as { requiredMask: number }).requiredMask = requiredMask;
  return spec;
}

const specs = new Map<string, MessageSpec>();

function specFor(name: string): MessageSpec {
  return buildSpec(protocolType(name), specs);
}

const REQUEST = specFor('Request');
const RESPONSE = specFor('Response');

type Message = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------------
// Encoding: one pass to size, one allocation, one pass to write.

/**
 * The sizes of the nested messages of the message being encoded, in the order both passes meet them (a
 * parent before its children, fields in ascending number): the sizing pass records each one, the writing pass
 * reads them back for the length prefixes, so no nested message is sized twice. Encoding is synchronous, so
 * one array serves every encode.
 */
const nestedSizes: number[] = [];
let nestedSizesRead = 0;

/**
 * Parts mode (encodeResponseFrameInto): bytes fields of at least `largeBytesMin` bytes are left out of the
 * encoded buffer, which then holds every other byte; they are listed here with the offsets they belong at.
 * Infinity outside parts mode, so writeValue copies everything.
 */
let largeBytesMin = Infinity;
const largeBytes: Buffer[] = [];
const largeBytesAt: number[] = [];
/** The bytes of those fields, summed by the sizing pass. */
let largeBytesSkipped = 0;

function sizeOfValue(field: FieldSpec, value: unknown): number {
  switch (field.kind) {
    case KIND_INT64:
    case KIND_UINT64:
      return varint64Size(value as bigint);
    case KIND_INT32:
      return int32Size(value as number);
    case KIND_UINT32:
      return varintSize(value as number);
    case KIND_BYTES: {
      const length = (value as Buffer).length;
      if (length >= largeBytesMin) largeBytesSkipped += length;
      return varintSize(length) + length;
    }
    case KIND_STRING: {
      const length = Buffer.byteLength(value as string, 'utf8');
      return varintSize(length) + length;
    }
    default: {
      const slot = nestedSizes.length;
      nestedSizes.push(0);
      const length = sizeOfMessage(field.message!, value as Message);
      nestedSizes[slot] = length;
      return varintSize(length) + length;
    }
  }
}

function sizeOfMessage(spec: MessageSpec, message: Message): number {
  spec.encoder ??= compileEncoder(spec);
  return spec.encoder.size(message);
}

function writeValue(buf: Buffer, pos: number, field: FieldSpec, value: unknown): number {
  pos = writeVarint(buf, pos, field.key);
  switch (field.kind) {
    case KIND_INT64:
      return writeVarint64(buf, pos, value as bigint, true);
    case KIND_UINT64:
      return writeVarint64(buf, pos, value as bigint, false);
    case KIND_INT32:
      return writeInt32(buf, pos, value as number);
    case KIND_UINT32:
      return writeUint32(buf, pos, value as number);
    case KIND_BYTES: {
      const bytes = value as Buffer;
      pos = writeVarint(buf, pos, bytes.length);
      if (bytes.length >= largeBytesMin) {
        // Parts mode: the frame goes out as [buf up to here, bytes, buf from here], with no copy of `bytes`.
        largeBytes.push(bytes);
        largeBytesAt.push(pos);
        return pos;
      }
      bytes.copy(buf, pos);
      return pos + bytes.length;
    }
    case KIND_STRING: {
      const text = value as string;
      const length = Buffer.byteLength(text, 'utf8');
      pos = writeVarint(buf, pos, length);
      return pos + buf.write(text, pos, length, 'utf8');
    }
    default: {
      pos = writeVarint(buf, pos, nestedSizes[nestedSizesRead++]!);
      return writeMessage(buf, pos, field.message!, value as Message);
    }
  }
}

function writeMessage(buf: Buffer, pos: number, spec: MessageSpec, message: Message): number {
  spec.encoder ??= compileEncoder(spec);
  return spec.encoder.write(buf, pos, message);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Generates a message type's sizing and writing passes as functions that read each field by its own name
 * (`m.ledgerId`), as protobufjs's generated code does. A read by a fixed name gets its own inline cache; the
 * generic loop's `message[field.name]`, run for every field of every message, present or not, went through
 * V8's generic keyed lookup (measured: 11% of the benchmark client's CPU, most of it for absent fields).
 * Fields stay in ascending number order; absent means undefined or null; a missing required field is a bug
 * in the caller (messages are built in code), reported with its name.
 */
function compileEncoder(spec: MessageSpec): MessageEncoder {
  const sizeLines: string[] = [];
  const writeLines: string[] = [];
  spec.fields.forEach((field, i) => {
    assert(IDENTIFIER.test(field.name), `${spec.name}.${field.name} is not an identifier`);
    const read = `v = m.${field.name};`;
    const absent = `v === undefined || v === null`;
    const onAbsent = field.required ? `missing(${i});` : '';
    const f = `f${i}`;
    if (field.repeated) {
      sizeLines.push(
        `${read} if (${absent}) { ${onAbsent} } else for (const item of v) size += ${f}.keySize + sizeOfValue(${f}, item);`,
      );
      writeLines.push(
        `${read} if (!(${absent})) for (const item of v) pos = writeValue(buf, pos, ${f}, item);`,
      );
    } else {
      sizeLines.push(
        `${read} if (${absent}) { ${onAbsent} } else size += ${f}.keySize + sizeOfValue(${f}, v);`,
      );
      writeLines.push(`${read} if (!(${absent})) pos = writeValue(buf, pos, ${f}, v);`);
    }
  });
  const fieldConstants = spec.fields.map((_, i) => `const f${i} = fields[${i}];`).join('\n');
  const missing = (i: number): never => assert.fail(`${spec.name}.${spec.fields[i]!.name} is required`);
  // Source built only from field names checked above and constant text.
  const build = new Function(
    'fields',
    'sizeOfValue',
    'writeValue',
    'missing',
    `${fieldConstants}
    return {
      size(m) { let size = 0; let v; ${sizeLines.join('\n')} return size; },
      write(buf, pos, m) { let v; ${writeLines.join('\n')} return pos; },
    };`,
  ) as (
    fields: readonly FieldSpec[],
    size: typeof sizeOfValue,
    write: typeof writeValue,
    missing: (i: number) => never,
  ) => MessageEncoder;
  return build(spec.fields, sizeOfValue, writeValue, missing);
}

/**
 * Encodes `message`, after a `prefixBytes` length prefix when asked for (a frame, whose length is first checked
 * against `maxFrameSizeBytes`).
 */
function encodeMessage(
  spec: MessageSpec,
  message: Message,
  prefixBytes: number,
  maxFrameSizeBytes?: number,
): Buffer {
  nestedSizes.length = 0;
  nestedSizesRead = 0;
  largeBytesSkipped = 0;
  const size = sizeOfMessage(spec, message);
  if (prefixBytes > 0) checkFrameLength(size, maxFrameSizeBytes);
  const buf = Buffer.allocUnsafe(prefixBytes + size - largeBytesSkipped);
  if (prefixBytes > 0) buf.writeUInt32BE(size, 0);
  const end = writeMessage(buf, prefixBytes, spec, message);
  assert.equal(end, buf.length, `${spec.name}: encoded size differs from computed size`);
  return buf;
}

// ---------------------------------------------------------------------------------------------------------
// Decoding: every read is bounded by the end of the enclosing message.

function decodeMessage(spec: MessageSpec, r: Reader, end: number): Message {
  spec.decoder ??= compileDecoder(spec);
  return spec.decoder(r, end);
}

/** Reads one field's value of a kind; the generated decoders call these for all but the plain varints. */
function readBytes(r: Reader, end: number, type: string): Buffer {
  const length = readLength(r, end, type);
  const value = r.buf.subarray(r.pos, r.pos + length);
  r.pos += length;
  return value;
}

function readString(r: Reader, end: number, type: string): string {
  const length = readLength(r, end, type);
  const value = r.buf.toString('utf8', r.pos, r.pos + length);
  r.pos += length;
  return value;
}

function readNested(spec: MessageSpec, r: Reader, end: number, type: string): Message {
  const length = readLength(r, end, type);
  return decodeMessage(spec, r, r.pos + length);
}

/**
 * A key no case of the generated switch took: field number 0 or a known field with another wire type is an
 * error; an unknown field is skipped, so newer peers can add fields.
 */
function otherKey(spec: MessageSpec, r: Reader, end: number, keyAt: number, key: number): void {
  const number = key >>> 3;
  const wireType = key & 7;
  if (number === 0) throw new MessageDecodeError(spec.name, keyAt, 'field number 0');
  const field = number < spec.byNumber.length ? spec.byNumber[number] : undefined;
  if (field === undefined) {
    skipField(r, end, wireType, spec.name);
    return;
  }
  throw new MessageDecodeError(
    spec.name,
    keyAt,
    `field ${field.name} has wire type ${wireType}, expected ${field.wireType}`,
  );
}

function missingRequired(spec: MessageSpec, seen: number, end: number): never {
  const missing = spec.fields.filter((f) => f.required && (seen & f.bit) === 0).map((f) => f.name);
  throw new MessageDecodeError(spec.name, end, `missing required field ${missing.join(', ')}`);
}

/**
 * Generates a message type's decoder, as compileEncoder does its encoder: one switch on the whole key (number
 * and wire type), each case reading its field into a local, and the message built at the end by stores to
 * fixed names, present fields only. The generic loop it replaced stored by computed name into an object of
 * changing shape (V8's slow keyed path) and dispatched twice per field; the add path decodes a request per
 * entry. Every read is bounded by `end`, the end of the enclosing message; a repeated non-repeated field keeps
 * its last value; a missing required field is an error naming it.
 */
function compileDecoder(spec: MessageSpec): MessageDecoder {
  const locals = spec.fields.map((_, i) => `v${i}`);
  const cases = spec.fields.map((field, i) => {
    assert(IDENTIFIER.test(field.name), `${spec.name}.${field.name} is not an identifier`);
    let read: string;
    switch (field.kind) {
      case KIND_INT64:
        read = 'readVarint64(r, end, name, true)';
        break;
      case KIND_UINT64:
        read = 'readVarint64(r, end, name, false)';
        break;
      case KIND_INT32:
        read = 'readVarint32(r, end, name) | 0';
        break;
      case KIND_UINT32:
        read = 'readVarint32(r, end, name) >>> 0';
        break;
      case KIND_BYTES:
        read = 'readBytes(r, end, name)';
        break;
      case KIND_STRING:
        read = 'readString(r, end, name)';
        break;
      default:
        read = `readNested(fields[${i}].message, r, end, name)`;
    }
    const store = field.repeated ? `(v${i} ??= []).push(${read});` : `v${i} = ${read};`;
    return `case ${field.key}: ${store} seen |= ${field.bit}; break;`;
  });
  const builds = spec.fields.map((field, i) => `if (v${i} !== undefined) m.${field.name} = v${i};`);
  // Source built only from field names checked above, numbers and constant text.
  const build = new Function(
    'spec',
    'fields',
    'name',
    'readVarint32',
    'readVarint64',
    'readBytes',
    'readString',
    'readNested',
    'otherKey',
    'missingRequired',
    `return function decode(r, end) {
      ${locals.length > 0 ? `let ${locals.join(', ')};` : ''}
      let seen = 0;
      while (r.pos < end) {
        const keyAt = r.pos;
        const key = readVarint32(r, end, name) >>> 0;
        switch (key) {
          ${cases.join('\n          ')}
          default: otherKey(spec, r, end, keyAt, key);
        }
      }
      if ((seen & ${spec.requiredMask}) !== ${spec.requiredMask}) missingRequired(spec, seen, end);
      const m = {};
      ${builds.join('\n      ')}
      return m;
    };`,
  ) as (
    spec: MessageSpec,
    fields: readonly FieldSpec[],
    name: string,
    read32: typeof readVarint32,
    read64: typeof readVarint64,
    bytes: typeof readBytes,
    string: typeof readString,
    nested: typeof readNested,
    other: typeof otherKey,
    missing: typeof missingRequired,
  ) => MessageDecoder;
  return build(
    spec,
    spec.fields,
    spec.name,
    readVarint32,
    readVarint64,
    readBytes,
    readString,
    readNested,
    otherKey,
    missingRequired,
  );
}

function decodeWhole(spec: MessageSpec, bytes: Buffer): Message {
  const r = new Reader(bytes);
  const message = decodeMessage(spec, r, bytes.length);
  assert.equal(r.pos, bytes.length);
  return message;
}

// ---------------------------------------------------------------------------------------------------------
// Public, typed entry points. The casts are the one trust point between the field tables and the TypeScript
// interfaces; the round-trip tests against protobufjs hold them together.

/** Encodes a Request (the payload of one frame, without the length prefix). */
export function encodeRequest(request: Request): Buffer {
  return encodeMessage(REQUEST, request as unknown as Message, 0);
}

/** Decodes a Request from one frame's payload. Bytes fields are slices of `payload`. */
export function decodeRequest(payload: Buffer): Request {
  return decodeWhole(REQUEST, payload) as unknown as Request;
}

export function encodeResponse(response: Response): Buffer {
  return encodeMessage(RESPONSE, response as unknown as Message, 0);
}

export function decodeResponse(payload: Buffer): Response {
  return decodeWhole(RESPONSE, payload) as unknown as Response;
}

/**
 * Encodes a Request with its 4-byte length prefix in a single allocation, ready for the socket: saves the
 * copy `encodeFrame(encodeRequest(r))` would make. Throws FrameError if it would exceed the frame limit.
 */
export function encodeRequestFrame(request: Request, maxFrameSizeBytes?: number): Buffer {
  if (isPlainAdd(request))
    return encodeAddRequestFrame(request.header, request.addRequest, maxFrameSizeBytes);
  return encodeMessage(REQUEST, request as unknown as Message, FRAME_LENGTH_BYTES, maxFrameSizeBytes);
}

export function encodeResponseFrame(response: Response, maxFrameSizeBytes?: number): Buffer {
  if (isPlainAddResponse(response)) {
    return encodeAddResponseFrame(response.header, response.status, response.addResponse, maxFrameSizeBytes);
  }
  return encodeMessage(RESPONSE, response as unknown as Message, FRAME_LENGTH_BYTES, maxFrameSizeBytes);
}

/**
 * Encodes a framed Response as buffers to write in order, appended to `out`; returns how many bytes they
 * hold. Bytes fields of at least `largeBytesMinBytes` bytes (a read entry's body) are not copied into the frame:
 * they go to `out` themselves, between the frame's other bytes, so they must not change until written.
 */
export function encodeResponseFrameInto(
  response: Response,
  out: Buffer[],
  largeBytesMinBytes: number,
  maxFrameSizeBytes?: number,
): number {
  if (isPlainAddResponse(response)) {
    const frame = encodeAddResponseFrame(
      response.header,
      response.status,
      response.addResponse,
      maxFrameSizeBytes,
    );
    out.push(frame);
    return frame.length;
  }
  largeBytesMin = largeBytesMinBytes;
  largeBytes.length = 0;
  largeBytesAt.length = 0;
  let frame: Buffer;
  try {
    frame = encodeMessage(RESPONSE, response as unknown as Message, FRAME_LENGTH_BYTES, maxFrameSizeBytes);
  } finally {
    largeBytesMin = Infinity;
  }
  let from = 0;
  let total = frame.length;
  for (let i = 0; i < largeBytes.length; i++) {
    const at = largeBytesAt[i]!;
    if (at > from) out.push(frame.subarray(from, at));
    out.push(largeBytes[i]!);
    total += largeBytes[i]!.length;
    from = at;
  }
  if (from < frame.length) out.push(frame.subarray(from));
  largeBytes.length = 0;
  largeBytesAt.length = 0;
  return total;
}

/** A Request holding a header and an AddRequest only: add-codec.ts writes it. */
function isPlainAdd(request: Request): request is Request & { addRequest: AddRequest } {
  return (
    request.addRequest !== undefined &&
    request.readRequest === undefined &&
    request.authRequest === undefined &&
    request.writeLacRequest === undefined &&
    request.readLacRequest === undefined &&
    request.getBookieInfoRequest === undefined &&
    request.startTLSRequest === undefined &&
    request.forceLedgerRequest === undefined &&
    request.getListOfEntriesOfLedgerRequest === undefined &&
    request.requestContext === undefined
  );
}

/** A Response holding a header, a status and an AddResponse only. */
function isPlainAddResponse(response: Response): response is Response & { addResponse: AddResponse } {
  return (
    response.addResponse !== undefined &&
    response.readResponse === undefined &&
    response.authResponse === undefined &&
    response.writeLacResponse === undefined &&
    response.readLacResponse === undefined &&
    response.getBookieInfoResponse === undefined &&
    response.startTLSResponse === undefined &&
    response.forceLedgerResponse === undefined &&
    response.getListOfEntriesOfLedgerResponse === undefined
  );
}

/** A paired encoder/decoder for one sub-message, e.g. for AuthMessage carried inside a v2 AUTH packet. */
function messageCodec<T>(name: string): { encode(message: T): Buffer; decode(bytes: Buffer): T } {
  const spec = specFor(name);
  return {
    encode: (message) => encodeMessage(spec, message as unknown as Message, 0),
    decode: (bytes) => decodeWhole(spec, bytes) as unknown as T,
  };
}

const addRequestCodec = messageCodec<AddRequest>('AddRequest');
const addResponseCodec = messageCodec<AddResponse>('AddResponse');
const readRequestCodec = messageCodec<ReadRequest>('ReadRequest');
const readResponseCodec = messageCodec<ReadResponse>('ReadResponse');
const authMessageCodec = messageCodec<AuthMessage>('AuthMessage');
const headerCodec = messageCodec<BKPacketHeader>('BKPacketHeader');

export const encodeAddRequest = addRequestCodec.encode;
export const decodeAddRequest = addRequestCodec.decode;
export const encodeAddResponse = addResponseCodec.encode;
export const decodeAddResponse = addResponseCodec.decode;
export const encodeReadRequest = readRequestCodec.encode;
export const decodeReadRequest = readRequestCodec.decode;
export const encodeReadResponse = readResponseCodec.encode;
export const decodeReadResponse = readResponseCodec.decode;
export const encodeAuthMessage = authMessageCodec.encode;
export const decodeAuthMessage = authMessageCodec.decode;
export const encodePacketHeader = headerCodec.encode;
export const decodePacketHeader = headerCodec.decode;
