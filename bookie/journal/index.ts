/**
 * bookie/journal — the bookie's write-ahead log with group commit, its replay, and the lastMark checkpoint
 * file. See README.md.
 */
export { LOG_MARK_ZERO, compareLogMarks } from './journal-api';
export type {
  JournalApi,
  JournalCallback,
  JournalReplayVisitor,
  LogMark,
  ReplayReport,
  TruncatedTail,
} from './journal-api';
export { Journal } from './journal';
export type { JournalConfig, JournalOptions } from './journal';
export { JournalError } from './journal-errors';
export type { JournalErrorCode } from './journal-errors';
export { replayJournals } from './journal-replay';
export type { ReplayOptions } from './journal-replay';
export {
  LAST_MARK_FILE_NAME,
  LOG_MARK_BYTES,
  decodeLogMark,
  encodeLogMark,
  lastMarkFileName,
  readLastMark,
  writeLastMark,
} from './last-mark';
export type { LastMarkOptions } from './last-mark';
export { journalCurrentDir, listJournalFiles } from './journal-file';
export type { JournalFileEntry } from './journal-file';
export {
  JOURNAL_FORMAT_VERSION,
  JOURNAL_HEADER_BYTES,
  MetaEntryId,
  PADDING_MASK,
  decodeJournalHeader,
  decodeJournalRecord,
  encodeJournalHeader,
  journalFileName,
  metaRecordBytes,
  paddingRecordBytes,
  parseJournalFileName,
  writeDataRecord,
  writeMetaRecord,
  writePaddingRecord,
} from './journal-format';
export type { JournalHeader, JournalRecord } from './journal-format';
