/*
 * The journal's on-disk format, BookKeeper's version 6 (reference bookkeeper.md §3, Journal.java/JournalChannel.java):
 *
 *   file    <hex logId>.txn under <journalDir>/current/
 *   header  "BKLG" | int32 version (6) | zeros up to 512 bytes
 *   record  int32 len | len bytes
 *             data         the packed entry: ledgerId(8) | entryId(8) | lastAddConfirmed(8) | length(8) | digest | payload
 *             LEDGER_KEY   ledgerId(8) | -0x1000(8) | int32 keyLen | masterKey
 *             FENCE        ledgerId(8) | -0x2000(8)
 *             EXPLICIT_LAC ledgerId(8) | -0x8000(8) | int32 lacLen | lac blob
 *   padding int32 -0x100 | int32 padLen | padLen zeros      (so the next group starts on a 512-byte boundary)
 *
 * Everything is big-endian. A length of 0 ends a file (the preallocated zeros after the last record).
 * Encoders write into a buffer the caller reserved, so appending a record allocates nothing.
 */
import { ENTRY_METADATA_LENGTH } from '../../protocol';

export const JOURNAL_MAGIC = Buffer.from('BKLG', 'latin1');
/** The version we write. Version 5 (the same layout without EXPLICIT_LAC records) is read as well. */
export const JOURNAL_FORMAT_VERSION = 6;
export const JOURNAL_OLDEST_READABLE_VERSION = 5;
export const JOURNAL_HEADER_BYTES = 512;
export const RECORD_LENGTH_BYTES = 4;
/** The length field of a padding record (BookKeeper's PADDING_MASK). */
export const PADDING_MASK = -0x100;
/** Padding mask and padLen: the smallest padding record. */
export const PADDING_HEADER_BYTES = 8;
/** ledgerId and metaEntryId, the start of every meta record. */
export const META_RECORD_HEADER_BYTES = 16;

/** The metaEntryId of each meta record kind. FORCE_LEDGER is a barrier only and is never written. */
export const MetaEntryId = {
  LEDGER_KEY: -0x1000n,
  FENCE: -0x2000n,
  FORCE_LEDGER: -0x4000n,
  EXPLICIT_LAC: -0x8000n,
} as const;

const JOURNAL_FILE_RE = /^([0-9a-f]{1,16})\.txn$/i;

export function journalFileName(logId: bigint): string {
  return `${logId.toString(16)}.txn`;
}

/** The logId of a journal file name, or undefined when the name is not one. */
export function parseJournalFileName(name: string): bigint | undefined {
  const match = JOURNAL_FILE_RE.exec(name);
  return match ? BigInt(`0x${match[1]!}`) : undefined;
}

export function encodeJournalHeader(): Buffer {
  const header = Buffer.alloc(JOURNAL_HEADER_BYTES);
  JOURNAL_MAGIC.copy(header, 0);
  header.writeInt32BE(JOURNAL_FORMAT_VERSION, JOURNAL_MAGIC.length);
  return header;
}

export type JournalHeader =
  | { kind: 'valid'; version: number }
  /** Shorter than a header, or all zeros: the file was created but its header never reached the disk. */
  | { kind: 'torn' }
  /** Not a journal we can read. */
  | { kind: 'foreign'; reason: string };

export function decodeJournalHeader(header: Buffer): JournalHeader {
  if (header.length < JOURNAL_HEADER_BYTES) return { kind: 'torn' };
  const head = header.subarray(0, JOURNAL_MAGIC.length + 4);
  if (head.every((byte) => byte === 0)) return { kind: 'torn' };
  if (!head.subarray(0, JOURNAL_MAGIC.length).equals(JOURNAL_MAGIC)) {
    return { kind: 'foreign', reason: `magic is not "BKLG"` };
  }
  const version = head.readInt32BE(JOURNAL_MAGIC.length);
  if (version < JOURNAL_OLDEST_READABLE_VERSION || version > JOURNAL_FORMAT_VERSION) {
    return { kind: 'foreign', reason: `unsupported journal format version ${version}` };
  }
  return { kind: 'valid', version };
}

/** Bytes a data record takes in the file, length field included. */
export function dataRecordBytes(entry: Buffer): number {
  return RECORD_LENGTH_BYTES + entry.length;
}

/** Writes `int32 len | entry` at `offset`; returns the offset after it. */
export function writeDataRecord(target: Buffer, offset: number, entry: Buffer): number {
  target.writeInt32BE(entry.length, offset);
  return offset + RECORD_LENGTH_BYTES + entry.copy(target, offset + RECORD_LENGTH_BYTES);
}

/** Bytes a meta record takes in the file; `blobBytes` is the master key or LAC blob (undefined for FENCE). */
export function metaRecordBytes(blobBytes: number | undefined): number {
  return RECORD_LENGTH_BYTES + META_RECORD_HEADER_BYTES + (blobBytes === undefined ? 0 : 4 + blobBytes);
}

/**
 * Writes a meta record at `offset`: `int32 len | ledgerId | metaEntryId`, then `int32 blobLen | blob` when a
 * blob is given (LEDGER_KEY, EXPLICIT_LAC). Returns the offset after it.
 */
export function writeMetaRecord(
  target: Buffer,
  offset: number,
  ledgerId: bigint,
  metaEntryId: bigint,
  blob: Buffer | undefined,
): number {
  const recordBytes = metaRecordBytes(blob?.length) - RECORD_LENGTH_BYTES;
  let at = target.writeInt32BE(recordBytes, offset);
  at = target.writeBigInt64BE(ledgerId, at);
  at = target.writeBigInt64BE(metaEntryId, at);
  if (blob !== undefined) {
    at = target.writeInt32BE(blob.length, at);
    at += blob.copy(target, at);
  }
  return at;
}

/**
 * Bytes of the padding record that brings `position` to a multiple of `alignmentBytes`: 0 when aligned. A
 * padding record needs at least 8 bytes, so a gap smaller than that is padded up to the following boundary
 * (as BookKeeper's Journal.writePaddingBytes does).
 */
export function paddingRecordBytes(position: number, alignmentBytes: number): number {
  const gap = (alignmentBytes - (position % alignmentBytes)) % alignmentBytes;
  if (gap === 0) return 0;
  return gap < PADDING_HEADER_BYTES ? gap + alignmentBytes : gap;
}

/** Writes a padding record of `recordBytes` (from paddingRecordBytes) at `offset`; returns the offset after it. */
export function writePaddingRecord(target: Buffer, offset: number, recordBytes: number): number {
  target.writeInt32BE(PADDING_MASK, offset);
  target.writeInt32BE(recordBytes - PADDING_HEADER_BYTES, offset + 4);
  target.fill(0, offset + PADDING_HEADER_BYTES, offset + recordBytes);
  return offset + recordBytes;
}

/** One record read back from a journal file (the bytes after its length field). */
export type JournalRecord =
  | { kind: 'entry'; entry: Buffer }
  | { kind: 'ledgerKey'; ledgerId: bigint; masterKey: Buffer }
  | { kind: 'fence'; ledgerId: bigint }
  | { kind: 'explicitLac'; ledgerId: bigint; lacBlob: Buffer }
  /** Not a record we wrote: replay treats it as the start of a torn or corrupted tail. */
  | { kind: 'malformed'; reason: string };

/**
 * Decodes a record body. Returned buffers are views of `record`. Data records must hold at least the packed
 * entry's 32-byte metadata; meta records must be exactly as long as their kind says.
 */
export function decodeJournalRecord(record: Buffer): JournalRecord {
  if (record.length < META_RECORD_HEADER_BYTES) {
    return {
      kind: 'malformed',
      reason: `record of ${record.length} bytes is shorter than ledgerId + entryId`,
    };
  }
  const ledgerId = record.readBigInt64BE(0);
  const entryId = record.readBigInt64BE(8);
  if (entryId >= 0n) {
    if (record.length < ENTRY_METADATA_LENGTH) {
      return {
        kind: 'malformed',
        reason: `data record of ${record.length} bytes is shorter than entry metadata`,
      };
    }
    return { kind: 'entry', entry: record };
  }
  switch (entryId) {
    case MetaEntryId.FENCE:
      return record.length === META_RECORD_HEADER_BYTES
        ? { kind: 'fence', ledgerId }
        : { kind: 'malformed', reason: `FENCE record of ${record.length} bytes` };
    case MetaEntryId.LEDGER_KEY: {
      const masterKey = decodeBlob(record);
      return masterKey === undefined
        ? { kind: 'malformed', reason: `LEDGER_KEY record of ${record.length} bytes with a bad key length` }
        : { kind: 'ledgerKey', ledgerId, masterKey };
    }
    case MetaEntryId.EXPLICIT_LAC: {
      const lacBlob = decodeBlob(record);
      return lacBlob === undefined
        ? { kind: 'malformed', reason: `EXPLICIT_LAC record of ${record.length} bytes with a bad LAC length` }
        : { kind: 'explicitLac', ledgerId, lacBlob };
    }
    default:
      return { kind: 'malformed', reason: `unknown metaEntryId ${entryId}` };
  }
}

/** The `int32 len | blob` after a meta record's header, when it fills the record exactly. */
function decodeBlob(record: Buffer): Buffer | undefined {
  const blobAt = META_RECORD_HEADER_BYTES + 4;
  if (record.length < blobAt) return undefined;
  const blobBytes = record.readInt32BE(META_RECORD_HEADER_BYTES);
  if (blobBytes < 0 || blobAt + blobBytes !== record.length) return undefined;
  return record.subarray(blobAt);
}
