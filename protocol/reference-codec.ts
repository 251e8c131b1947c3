import type { Type } from 'protobufjs';
import { Enum } from 'protobufjs';
import { MessageDecodeError } from './errors';
import { protocolType } from './schema';
import type { Request, Response } from './types';

/**
 * The protobufjs codec for the same messages, kept as the reference the hand-written codec is tested and
 * benchmarked against. It converts between our typed objects (bigint for 64-bit fields, absent for unset)
 * and protobufjs's (Long for 64-bit fields, defaults on the prototype), walking the reflected schema.
 */

interface LongLike {
  low: number;
  high: number;
}

function toLongBits(value: bigint): LongLike {
  const bits = BigInt.asUintN(64, value);
  return { low: Number(bits & 0xffff_ffffn) | 0, high: Number(bits >> 32n) | 0 };
}

function fromLong(value: unknown, unsigned: boolean): bigint {
  if (typeof value === 'number') return BigInt(value);
  const long = value as LongLike;
  const bits = (BigInt(long.high >>> 0) << 32n) | BigInt(long.low >>> 0);
  return unsigned ? bits : BigInt.asIntN(64, bits);
}

type Plain = Record<string, unknown>;

/** Our object to protobufjs's: only 64-bit fields and nested messages need converting. */
function toProtobufjs(type: Type, message: Plain): Plain {
  const out: Plain = {};
  for (const field of type.fieldsArray) {
    const value = message[field.name];
    if (value === undefined || value === null) continue;
    const nested = field.resolvedType;
    if (nested !== null && !(nested instanceof Enum)) {
      out[field.name] = field.repeated
        ? (value as Plain[]).map((item) => toProtobufjs(nested, item))
        : toProtobufjs(nested, value as Plain);
    } else if (field.type === 'int64' || field.type === 'uint64') {
      out[field.name] = toLongBits(value as bigint);
    } else {
      out[field.name] = value;
    }
  }
  return out;
}

/** protobufjs's decoded object to ours: own properties only (set on the wire), Longs to bigint. */
function fromProtobufjs(type: Type, message: Plain): Plain {
  const out: Plain = {};
  for (const field of type.fieldsArray) {
    if (!Object.prototype.hasOwnProperty.call(message, field.name)) continue;
    const value = message[field.name];
    const nested = field.resolvedType;
    if (field.repeated && (value as unknown[]).length === 0) continue;
    if (nested !== null && !(nested instanceof Enum)) {
      out[field.name] = field.repeated
        ? (value as Plain[]).map((item) => fromProtobufjs(nested, item))
        : fromProtobufjs(nested, value as Plain);
    } else if (field.type === 'int64' || field.type === 'uint64') {
      out[field.name] = fromLong(value, field.type === 'uint64');
    } else {
      out[field.name] = value;
    }
  }
  return out;
}

function encodeWith(type: Type, message: Plain): Buffer {
  const bytes = type.encode(toProtobufjs(type, message)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function decodeWith(type: Type, payload: Buffer): Plain {
  let decoded: Plain;
  try {
    decoded = type.decode(payload) as unknown as Plain;
  } catch (error) {
    // protobufjs throws RangeError on truncation and its own error class for missing required fields.
    throw new MessageDecodeError(type.name, 0, `protobufjs: ${(error as Error).message}`);
  }
  return fromProtobufjs(type, decoded);
}

let requestType: Type | undefined;
let responseType: Type | undefined;

function request(): Type {
  return (requestType ??= protocolType('Request'));
}

function response(): Type {
  return (responseType ??= protocolType('Response'));
}

export const referenceCodec = {
  encodeRequest(message: Request): Buffer {
    return encodeWith(request(), message as unknown as Plain);
  },
  decodeRequest(payload: Buffer): Request {
    return decodeWith(request(), payload) as unknown as Request;
  },
  encodeResponse(message: Response): Buffer {
    return encodeWith(response(), message as unknown as Plain);
  },
  decodeResponse(payload: Buffer): Response {
    return decodeWith(response(), payload) as unknown as Response;
  },
};
