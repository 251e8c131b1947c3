import assert from 'node:assert';
import { StorageError } from './storage-errors';

/*
 * BookKeeper's entry log file format (DefaultEntryLogger; reference §3), all integers big-endian:
 *
 *   header, 1024 bytes:  "BKLO" | int32 headerVersion (1) | int64 ledgersMapOffset | int32 ledgersCount | zeros
 *   records:             int32 size | packed entry (size bytes; ledgerId at 0, entryId at 8)
 *   ledgers map, written when the log is rotated, at ledgersMapOffset; batches of at most 10000 ledgers:
 *                        int32 size | int64 ledgerId = -1 | int64 entryId = -2 | int32 count
 *                        | count * (int64 ledgerId | int64 bytes)
 *
 * `bytes` is what the ledger occupies in the log, size ints included. ledgersMapOffset = 0 means "no map yet":
 * the log was being written when the bookie stopped, and its usage is computed by scanning the records.
 */

export const ENTRY_LOG_HEADER_BYTES = 1024;
export const ENTRY_LOG_HEADER_VERSION = 1;
const MAGIC = Buffer.from('BKLO', 'latin1');
/** The int32 before each record. */
export const RECORD_SIZE_BYTES = 4;
/** Ledger and entry ids that mark a ledgers-map batch among records. */
export const LEDGERS_MAP_LEDGER_ID = -1n;
export const LEDGERS_MAP_ENTRY_ID = -2n;
export const LEDGERS_MAP_BATCH_MAX = 10000;
/** ledgerId + entryId + count, after the batch's size int. */
const MAP_BATCH_HEADER_BYTES = 8 + 8 + 4;
const MAP_PAIR_BYTES = 16;

export interface EntryLogHeader {
  version: number;
  /** Where the ledgers map starts; 0 when the log has none. */
  ledgersMapOffset: number;
  ledgersCount: number;
}

export function encodeEntryLogHeader(header: EntryLogHeader): Buffer {
  const bytes = Buffer.alloc(ENTRY_LOG_HEADER_BYTES);
  MAGIC.copy(bytes, 0);
  bytes.writeInt32BE(header.version, 4);
  bytes.writeBigInt64BE(BigInt(header.ledgersMapOffset), 8);
  bytes.writeInt32BE(header.ledgersCount, 16);
  return bytes;
}

/**
 * The header of a log, `undefined` for an all-zero header (a log whose header never reached the disk: it is read
 * as a log without map). Throws for anything else that is not a version-1 entry log header.
 */
export function decodeEntryLogHeader(bytes: Buffer): EntryLogHeader | undefined {
  if (bytes.length < 20) throw new StorageError('BadEntryLog', 'entry log shorter than its header');
  if (bytes.subarray(0, 20).every((b) => b === 0)) return undefined;
  if (!bytes.subarray(0, 4).equals(MAGIC))
    throw new StorageError('BadEntryLog', 'not an entry log (no BKLO)');
  const version = bytes.readInt32BE(4);
  if (version !== ENTRY_LOG_HEADER_VERSION) {
    throw new StorageError('BadEntryLog', `unsupported entry log header version ${version}`);
  }
  const ledgersMapOffset = bytes.readBigInt64BE(8);
  const ledgersCount = bytes.readInt32BE(16);
  if (ledgersMapOffset < 0n || ledgersMapOffset > BigInt(Number.MAX_SAFE_INTEGER) || ledgersCount < 0) {
    throw new StorageError('BadEntryLog', 'entry log header has a negative ledgers map offset or count');
  }
  return { version, ledgersMapOffset: Number(ledgersMapOffset), ledgersCount };
}

/** The ledgers map records for `ledgers` (ledgerId -> bytes), in batches of at most 10000, ascending ledger id. */
export function encodeLedgersMap(ledgers: ReadonlyMap<bigint, number>): Buffer {
  const ids = [...ledgers.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const batches = Math.ceil(ids.length / LEDGERS_MAP_BATCH_MAX);
  const bytes = Buffer.alloc(
    batches * (RECORD_SIZE_BYTES + MAP_BATCH_HEADER_BYTES) + ids.length * MAP_PAIR_BYTES,
  );
  let at = 0;
  for (let first = 0; first < ids.length; first += LEDGERS_MAP_BATCH_MAX) {
    const count = Math.min(LEDGERS_MAP_BATCH_MAX, ids.length - first);
    at = bytes.writeInt32BE(MAP_BATCH_HEADER_BYTES + count * MAP_PAIR_BYTES, at);
    at = bytes.writeBigInt64BE(LEDGERS_MAP_LEDGER_ID, at);
    at = bytes.writeBigInt64BE(LEDGERS_MAP_ENTRY_ID, at);
    at = bytes.writeInt32BE(count, at);
    for (let i = first; i < first + count; i++) {
      const ledgerId = ids[i]!;
      at = bytes.writeBigInt64BE(ledgerId, at);
      at = bytes.writeBigInt64BE(BigInt(ledgers.get(ledgerId)!), at);
    }
  }
  assert.equal(at, bytes.length);
  return bytes;
}

/** Decodes the ledgers map that starts at `bytes[0]`; throws unless it is well formed and holds `ledgersCount`. */
export function decodeLedgersMap(bytes: Buffer, ledgersCount: number): Map<bigint, number> {
  const bad = (why: string): StorageError => new StorageError('BadLedgersMap', `bad ledgers map: ${why}`);
  const ledgers = new Map<bigint, number>();
  let at = 0;
  while (ledgers.size < ledgersCount) {
    if (at + RECORD_SIZE_BYTES + MAP_BATCH_HEADER_BYTES > bytes.length) throw bad('truncated batch header');
    const size = bytes.readInt32BE(at);
    const ledgerId = bytes.readBigInt64BE(at + 4);
    const entryId = bytes.readBigInt64BE(at + 12);
    const count = bytes.readInt32BE(at + 20);
    if (ledgerId !== LEDGERS_MAP_LEDGER_ID || entryId !== LEDGERS_MAP_ENTRY_ID) throw bad('not a map batch');
    if (
      count <= 0 ||
      count > LEDGERS_MAP_BATCH_MAX ||
      size !== MAP_BATCH_HEADER_BYTES + count * MAP_PAIR_BYTES
    ) {
      throw bad(`batch of ${count} ledgers in ${size} bytes`);
    }
    at += RECORD_SIZE_BYTES + MAP_BATCH_HEADER_BYTES;
    if (at + count * MAP_PAIR_BYTES > bytes.length) throw bad('truncated batch');
    for (let i = 0; i < count; i++, at += MAP_PAIR_BYTES) {
      const id = bytes.readBigInt64BE(at);
      const used = bytes.readBigInt64BE(at + 8);
      if (id < 0n || used < 0n || used > BigInt(Number.MAX_SAFE_INTEGER))
        throw bad(`ledger ${id} uses ${used}`);
      ledgers.set(id, Number(used));
    }
  }
  if (ledgers.size !== ledgersCount) throw bad(`${ledgers.size} ledgers, header says ${ledgersCount}`);
  return ledgers;
}

/** The name of a log's file: lowercase hex id, as BookKeeper (`a.log`). */
export function entryLogFileName(logId: number): string {
  return `${logId.toString(16)}.log`;
}

/** The log id of an entry log file name, or undefined if the name is not one. */
export function parseEntryLogFileName(name: string): number | undefined {
  const match = /^([0-9a-f]{1,8})\.log$/.exec(name);
  return match === null ? undefined : Number.parseInt(match[1]!, 16);
}
