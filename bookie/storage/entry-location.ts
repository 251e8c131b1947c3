import assert from 'node:assert';

/*
 * Where an entry lives: BookKeeper's location, (logId << 32) | offset, where offset is the byte position of the
 * entry's data in the entry log (just past its int32 size). We keep it as one JS number, logId * 2^32 + offset,
 * which is exact while logId < 2^21: numbers avoid a bigint allocation per entry on the flush and read paths.
 * 2^21 entry logs per directory (two million rotations) is far beyond any real bookie; log ids wrap below it
 * (entry-logger.ts). On disk (RocksDB values) a location is the same 64-bit value, big-endian.
 */
export type EntryLocation = number;

const OFFSET_SPAN = 2 ** 32;
/** The largest entry log id a location can carry. */
export const LOG_ID_MAX = 2 ** 21 - 1;
export const LOCATION_BYTES = 8;

export function entryLocation(logId: number, offset: number): EntryLocation {
  assert(Number.isInteger(logId) && logId >= 0 && logId <= LOG_ID_MAX, 'entry log id out of range');
  assert(Number.isInteger(offset) && offset >= 0 && offset < OFFSET_SPAN, 'entry log offset out of range');
  return logId * OFFSET_SPAN + offset;
}

export function locationLogId(location: EntryLocation): number {
  return Math.floor(location / OFFSET_SPAN);
}

export function locationOffset(location: EntryLocation): number {
  return location % OFFSET_SPAN;
}

export function writeLocation(target: Buffer, location: EntryLocation, at = 0): void {
  target.writeUInt32BE(locationLogId(location), at);
  target.writeUInt32BE(locationOffset(location), at + 4);
}

/** The location in 8 big-endian bytes, or undefined when the value cannot be one (corrupt index value). */
export function readLocation(source: Buffer, at = 0): EntryLocation | undefined {
  if (source.length < at + LOCATION_BYTES) return undefined;
  const logId = source.readUInt32BE(at);
  if (logId > LOG_ID_MAX) return undefined;
  return logId * OFFSET_SPAN + source.readUInt32BE(at + 4);
}
