import { join } from 'node:path';
import * as protobuf from 'protobufjs';

/**
 * BookKeeper's DataFormats.proto, loaded once with protobufjs. The build copies `metadata/proto/` next to the
 * compiled code, so the same path works under jest (sources) and from `dist/`.
 */
let root: protobuf.Root | undefined;

function dataFormats(): protobuf.Root {
  root ??= protobuf.loadSync(join(__dirname, 'proto', 'DataFormats.proto'));
  return root;
}

export function ledgerMetadataFormatType(): protobuf.Type {
  return dataFormats().lookupType('LedgerMetadataFormat');
}

export function cookieFormatType(): protobuf.Type {
  return dataFormats().lookupType('CookieFormat');
}

/** A protobufjs 64-bit value (a `Long` when long.js is present, else a number) as a bigint. */
export function longToBigInt(value: unknown): bigint {
  if (typeof value === 'number') return BigInt(value);
  if (typeof value === 'bigint') return value;
  if (typeof value === 'object' && value !== null && 'low' in value && 'high' in value) {
    const { low, high, unsigned } = value as { low: number; high: number; unsigned?: boolean };
    const hi = unsigned === true ? BigInt(high >>> 0) : BigInt(high | 0);
    return (hi << 32n) | BigInt(low >>> 0);
  }
  throw new TypeError(`not a 64-bit integer: ${typeof value}`);
}

/** A bigint in [-2^63, 2^63) as the `{low, high}` shape protobufjs writers accept for int64 fields. */
export function bigIntToLong(value: bigint): { low: number; high: number; unsigned: boolean } {
  const bits = BigInt.asUintN(64, value);
  return { low: Number(bits & 0xffff_ffffn) | 0, high: Number(bits >> 32n) | 0, unsigned: false };
}
