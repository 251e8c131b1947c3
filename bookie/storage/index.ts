/**
 * bookie/storage — DbLedgerStorage: write caches, entry logs, RocksDB indexes, read cache, garbage collection
 * and compaction. See README.md.
 */
export { WriteCacheFullError } from './ledger-storage-api';
export type { FlushOptions, LedgerInfo, LedgerStorageApi } from './ledger-storage-api';
export { DbLedgerStorage } from './db-ledger-storage';
export type { DbLedgerStorageConfig, DbLedgerStorageOptions, EntryLogListing } from './db-ledger-storage';
export type {
  CompactionHooks,
  CompactionKind,
  CompactionReport,
  CompactionStep,
  GcOptions,
  GcReport,
  GarbageCollectionStatus,
} from './garbage-collector';
export {
  StorageError,
  InvalidEntryError,
  CorruptEntryError,
  CorruptIndexError,
  StorageClosedError,
} from './storage-errors';

// Building blocks, for tools that read entry logs offline (readlog, readlogmetadata) and for their own tests.
export { EntryLogger } from './entry-logger';
export { EntryLogMissingError } from './entry-log-readers';
export { EntryLogMetadata } from './entry-log-metadata';
export type { EntryLoggerOptions, EntryLogStatus, ScannedChunk, ScannedEntry } from './entry-logger';
export {
  ENTRY_LOG_HEADER_BYTES,
  ENTRY_LOG_HEADER_VERSION,
  LEDGERS_MAP_BATCH_MAX,
  encodeEntryLogHeader,
  decodeEntryLogHeader,
  encodeLedgersMap,
  decodeLedgersMap,
  entryLogFileName,
  parseEntryLogFileName,
} from './entry-log-format';
export type { EntryLogHeader } from './entry-log-format';
export { entryLocation, locationLogId, locationOffset, LOG_ID_MAX } from './entry-location';
export type { EntryLocation } from './entry-location';
export { WriteCache } from './write-cache';
export { ReadCache } from './read-cache';
export { encodeLedgerData, decodeLedgerData } from './ledger-metadata-index';
