import { join } from 'node:path';
import { loadSync } from 'protobufjs';
import type { Root, Type } from 'protobufjs';
import { PulsarFormatError } from './errors';
import type { PulsarFormatErrorCode } from './errors';

/**
 * PulsarApi.proto, parsed once. The build copies `broker/pulsar/proto/` next to the compiled code, so the same
 * relative path works from source (jest) and from dist/. Each type is looked up once and kept: the codecs on the
 * hot path (every send and every dispatch) never look a type up by name.
 */
export const PULSAR_API_PROTO_PATH = join(__dirname, 'proto', 'PulsarApi.proto');

let root: Root | undefined;

function pulsarApi(): Root {
  if (root === undefined) {
    root = loadSync(PULSAR_API_PROTO_PATH);
    root.resolveAll();
  }
  return root;
}

/** A lazily looked-up message type: `type()` returns the same Type object on every call after the first. */
export function lazyType(name: string): () => Type {
  let type: Type | undefined;
  return () => (type ??= pulsarApi().lookupType(`pulsar.proto.${name}`));
}

/** A 64-bit protobuf value as protobufjs decodes it (a Long) or, for small values it wrote itself, a number. */
export type DecodedLong = number | { low: number; high: number };

/**
 * A uint64/int64 field as Java reads it: a signed 64-bit long. Pulsar declares ids and sequence ids uint64 but
 * handles them as Java longs, so MessageId.earliest (-1:-1) is written as 2^64 - 1 and must read back as -1.
 */
export function longToBigInt(value: DecodedLong): bigint {
  if (typeof value === 'number') return BigInt(value);
  return BigInt.asIntN(64, (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0));
}

/** A 64-bit field to a millisecond time or a count: exact up to 2^53, which every real time and count is under. */
export function longToNumber(value: DecodedLong): number {
  if (typeof value === 'number') return value;
  return value.high * 0x1_0000_0000 + (value.low >>> 0);
}

/** A bigint in [-2^63, 2^64) to the bits protobufjs writes for a 64-bit field (two's complement for negatives). */
export function bigIntToLong(value: bigint): { low: number; high: number; unsigned: boolean } {
  const bits = BigInt.asUintN(64, value);
  return { low: Number(bits & 0xffff_ffffn) | 0, high: Number(bits >> 32n) | 0, unsigned: true };
}

/** A non-negative safe integer (ms, counts) to the bits of a 64-bit field. */
export function numberToLong(value: number): { low: number; high: number; unsigned: boolean } {
  return { low: (value % 0x1_0000_0000) | 0, high: Math.floor(value / 0x1_0000_0000) | 0, unsigned: true };
}

/**
 * Decodes `bytes` as `type`; whatever protobufjs throws (junk, a truncated field, a missing required field) becomes a
 * PulsarFormatError with `code`, naming `what`. Only the fields present in the bytes are own properties of the result.
 */
export function decodeOrThrow(
  type: Type,
  bytes: Uint8Array,
  code: PulsarFormatErrorCode,
  what: string,
): Record<string, unknown> {
  try {
    return type.decode(bytes) as unknown as Record<string, unknown>;
  } catch (err) {
    throw new PulsarFormatError(code, `bad ${what}: ${(err as Error).message}`, { cause: err });
  }
}
