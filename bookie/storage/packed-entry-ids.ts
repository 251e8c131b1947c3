import { InvalidEntryError } from './storage-errors';

/*
 * The ids storage reads from a packed entry (ledgerId at offset 0, entryId at 8; reference §2). Ledger ids stay
 * bigints. Entry ids are kept as JS numbers inside storage (write cache, read cache, index keys are still 8-byte
 * big-endian): a number needs no allocation per entry. A ledger would need 2^53 entries to go past that, so ids
 * above Number.MAX_SAFE_INTEGER are refused as invalid rather than silently rounded.
 */

/** The bytes storage needs to find an entry's ids. */
export const PACKED_ENTRY_IDS_BYTES = 16;
export const ENTRY_ID_MAX = Number.MAX_SAFE_INTEGER;
const SAFE_HIGH_WORD_MAX = 2 ** 21 - 1;

/** The ledgerId of an entry being added, checked: present and not negative. */
export function readStoredLedgerId(entry: Buffer): bigint {
  if (entry.length < PACKED_ENTRY_IDS_BYTES) {
    throw new InvalidEntryError(`packed entry of ${entry.length} bytes is too short for its ids`);
  }
  const ledgerId = entry.readBigInt64BE(0);
  if (ledgerId < 0n) throw new InvalidEntryError(`negative ledgerId ${ledgerId}`);
  return ledgerId;
}

/** The entryId of an entry being added, as a number: 0..2^53-1. */
export function readStoredEntryId(entry: Buffer): number {
  const entryId = readEntryIdNumber(entry, 8);
  if (entryId === undefined) {
    throw new InvalidEntryError(`entryId ${entry.readBigInt64BE(8)} is not a storable entry id`);
  }
  return entryId;
}

/** An 8-byte big-endian entry id at `at` as a number, or undefined if negative or beyond 2^53-1. No allocation. */
export function readEntryIdNumber(bytes: Buffer, at: number): number | undefined {
  const high = bytes.readUInt32BE(at);
  if (high > SAFE_HIGH_WORD_MAX) return undefined;
  return high * 2 ** 32 + bytes.readUInt32BE(at + 4);
}

export function writeEntryIdNumber(target: Buffer, entryId: number, at: number): void {
  target.writeUInt32BE(Math.floor(entryId / 2 ** 32), at);
  target.writeUInt32BE(entryId % 2 ** 32, at + 4);
}

/** A requested entry id (bigint, from the wire) as a storable number, or undefined if none can exist. */
export function storableEntryId(entryId: bigint): number | undefined {
  return entryId >= 0n && entryId <= BigInt(ENTRY_ID_MAX) ? Number(entryId) : undefined;
}
