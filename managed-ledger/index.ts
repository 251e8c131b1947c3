/**
 * managed-ledger — Pulsar's managed-ledger layer: a topic's log as a rolling chain of ledgers, durable and
 * non-durable cursors, positions, an entry cache, and Pulsar's MLDataFormats metadata. See README.md.
 */
export { Position, EARLIEST, LATEST } from './position';
export { ManagedLedgerError, ML_ERROR_CODES, isManagedLedgerError } from './errors';
export type { ManagedLedgerErrorCode } from './errors';
export { managedLedgerConfig, managedLedgerConfigSchema } from './managed-ledger-config';
export type { ManagedLedgerConfig } from './managed-ledger-config';
export {
  encodeManagedLedgerInfo,
  decodeManagedLedgerInfo,
  encodePositionInfo,
  decodePositionInfo,
  encodeManagedCursorInfo,
  decodeManagedCursorInfo,
} from './ml-data-formats';
export type {
  LedgerInfo,
  ManagedLedgerInfo,
  MessageRange,
  PositionInfo,
  ManagedCursorInfo,
} from './ml-data-formats';
export { MetaStore, MANAGED_LEDGERS_ROOT } from './meta-store';
export type { Versioned } from './meta-store';
export { ManagedCursor } from './cursor/managed-cursor';
export type { CursorInternalState } from './cursor/managed-cursor';
export { PositionRangeSet } from './cursor/position-range-set';
export { ManagedLedger } from './managed-ledger';
export type { ManagedLedgerInterceptor, ManagedLedgerState, OpenCursorOptions } from './managed-ledger';
export { ManagedLedgerFactory } from './managed-ledger-factory';
export type { ManagedLedgerFactoryOptions } from './managed-ledger-factory';
export { ReadOnlyManagedLedger } from './read-only-managed-ledger';
export { EntryCache } from './entry-cache';
export type { Entry, CursorHost } from './cursor-host';
