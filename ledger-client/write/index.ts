/**
 * The write side of the ledger client: creating ledgers, write handles, and the add pipeline (LedgerWriter) that
 * recovery reuses. See ../README.md.
 */
export { LedgerWriter } from './ledger-writer';
export type { LedgerWriterInit } from './ledger-writer';
export type { AddCallback } from './pending-add-op';
export { LedgerWriteHandle, WriteHandle, WriteAdvHandle } from './write-handle';
export type { EntryData, WriteHandleInit } from './write-handle';
export { createLedgerMetadata, ledgerParams, newWriteHandle, passwordBytes } from './create-ledger';
export type {
  CreateLedgerOptions,
  CreateAdvLedgerOptions,
  LedgerParams,
  WriteFlagName,
} from './create-ledger';
export { closeLedgerMetadata, changeEnsembleInMetadata, updateLedgerMetadata } from './metadata-updates';
export { metadataError, bookieError } from './add-errors';
