import { open } from 'node:fs/promises';
import type { Logger } from '../../common';
import { DEFAULT_MAX_FRAME_SIZE_BYTES } from '../../protocol';
import type { JournalReplayVisitor, LogMark, ReplayReport, TruncatedTail } from './journal-api';
import { JournalError } from './journal-errors';
import { listJournalFiles } from './journal-file';
import type { JournalFileEntry } from './journal-file';
import {
  decodeJournalHeader,
  decodeJournalRecord,
  JOURNAL_HEADER_BYTES,
  PADDING_MASK,
  RECORD_LENGTH_BYTES,
} from './journal-format';
import { JournalReader } from './journal-reader';

export interface ReplayOptions {
  journalDir: string;
  /** The checkpoint's lastMark: replay starts here (LOG_MARK_ZERO: every file from its start). */
  from: LogMark;
  visitor: JournalReplayVisitor;
  logger: Logger;
  /** Longest record accepted (nettyMaxFrameSizeBytes, default 5 MiB); a longer length is junk. */
  maxRecordBytes?: number;
}

/**
 * Replays the journal files with logId ≥ from.logFileId, oldest first, from `from.offset` in the mark's own
 * file, handing each record to the visitor in order (and awaiting it when it returns a promise).
 *
 * Each file is read until it ends cleanly (end of file at a record boundary, or a zero length followed by
 * nothing but zeros, the preallocated space) or until something that a complete write could not have left:
 * a short read, a negative length that is not padding, a length past the end of the file or above
 * `maxRecordBytes`, a record too short for its kind, or non-zero bytes after a zero length. That ends the file:
 * what came before is kept, the tail is reported (`truncatedTails`) and logged, and replay goes on with the
 * next file. A crash mid-write leaves exactly such a tail, and records in it were never acknowledged (a record
 * is acknowledged only after its whole group is synced). Only I/O errors, and a file whose header is not a
 * journal header at all, throw.
 *
 * Buffers given to the visitor are views of read buffers that are never reused; copy to keep one small part.
 */
export async function replayJournals(options: ReplayOptions): Promise<ReplayReport> {
  const { journalDir, from, logger } = options;
  const files = (await listJournalFiles(journalDir)).filter((file) => file.logId >= from.logFileId);
  const report: ReplayReport = { entries: 0, metaRecords: 0, files: [], truncatedTails: [] };
  for (const file of files) {
    report.files.push(file.path);
    const startOffset = file.logId === from.logFileId ? from.offset : 0n;
    const tail = await replayFile(file, startOffset, options, report);
    if (tail !== undefined) {
      report.truncatedTail = tail;
      report.truncatedTails.push(tail);
      logger.warn(
        { file: tail.file, offset: tail.offset.toString(), reason: tail.reason },
        'journal file ends in a torn or corrupted tail; replayed the records before it',
      );
    }
  }
  logger.info(
    { files: files.length, entries: report.entries, metaRecords: report.metaRecords, from: markText(from) },
    'journal replayed',
  );
  return report;
}

async function replayFile(
  file: JournalFileEntry,
  startOffset: bigint,
  options: ReplayOptions,
  report: ReplayReport,
): Promise<TruncatedTail | undefined> {
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_FRAME_SIZE_BYTES;
  const visitor = options.visitor;
  const handle = await open(file.path, 'r');
  try {
    const { size } = await handle.stat();
    const tail = (offset: number, reason: string): TruncatedTail => ({
      file: file.path,
      offset: BigInt(offset),
      reason,
    });
    const headerReader = new JournalReader(handle, size, 0);
    const header = decodeJournalHeader((await headerReader.bytes(JOURNAL_HEADER_BYTES)) ?? Buffer.alloc(0));
    if (header.kind === 'torn') return tail(0, 'the file header never reached the disk');
    if (header.kind === 'foreign') {
      throw new JournalError('BadJournalHeader', `${file.path} is not a readable journal: ${header.reason}`);
    }
    const start = Math.max(JOURNAL_HEADER_BYTES, Number(startOffset));
    if (start > size) return tail(start, `the checkpoint mark is past the end of the file (${size} bytes)`);
    const reader = new JournalReader(handle, size, start);
    while (true) {
      const recordOffset = reader.offset;
      const lengthField = await reader.bytes(RECORD_LENGTH_BYTES);
      if (lengthField === undefined) {
        return reader.remaining === 0 ? undefined : tail(recordOffset, 'the file ends inside a length field');
      }
      const length = lengthField.readInt32BE(0);
      if (length === 0) {
        return (await reader.restIsZero())
          ? undefined
          : tail(recordOffset, 'non-zero bytes after a zero length');
      }
      if (length === PADDING_MASK) {
        const paddingField = await reader.bytes(RECORD_LENGTH_BYTES);
        const paddingBytes = paddingField?.readInt32BE(0) ?? -1;
        if (paddingBytes < 0 || paddingBytes > reader.remaining) {
          return tail(recordOffset, 'a padding record with a torn or impossible length');
        }
        await reader.bytes(paddingBytes);
        continue;
      }
      if (length < 0) return tail(recordOffset, `a negative record length ${length}`);
      if (length > maxRecordBytes)
        return tail(recordOffset, `a record length ${length} above ${maxRecordBytes}`);
      if (length > reader.remaining)
        return tail(recordOffset, `a record length ${length} past the end of the file`);
      const record = decodeJournalRecord((await reader.bytes(length))!);
      switch (record.kind) {
        case 'malformed':
          return tail(recordOffset, record.reason);
        case 'entry':
          await visitor.entry(record.entry);
          report.entries++;
          break;
        case 'ledgerKey':
          await visitor.ledgerKey(record.ledgerId, record.masterKey);
          report.metaRecords++;
          break;
        case 'fence':
          await visitor.fence(record.ledgerId);
          report.metaRecords++;
          break;
        case 'explicitLac':
          await visitor.explicitLac(record.ledgerId, record.lacBlob);
          report.metaRecords++;
          break;
      }
    }
  } finally {
    await handle.close();
  }
}

function markText(mark: LogMark): string {
  return `${mark.logFileId.toString(16)}@${mark.offset}`;
}
