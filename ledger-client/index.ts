/**
 * ledger-client — BookKeeper's client: create, append, open (with recovery), read, tail, close, delete ledgers.
 * See README.md.
 */
export { BookKeeper } from './bookkeeper';
export type { BookKeeperOptions, OpenLedgerOptions } from './bookkeeper';
export { BKError, BK_CODES, isBKError } from './errors';
export type { BKCodeName, BKErrorOptions } from './errors';
export { clientConfig, clientConfigSchema } from './client-config';
export type { ClientConfig } from './client-config';
export { WriteHandle, WriteAdvHandle, LedgerWriteHandle } from './write';
export type { CreateAdvLedgerOptions, CreateLedgerOptions, EntryData, WriteFlagName } from './write';
export type { ReadHandle, LastConfirmedAndEntry, TailOptions, LedgerEntry, LedgerEntries } from './read';
export { BookieClientPool, BookieTransportError } from './transport';
export type {
  AddEntryCallback,
  AddEntryRequest,
  BookieClient,
  BookieClientPoolOptions,
  BookieInfo,
  Outcome,
  ReadEntryRequest,
  ReadEntryResult,
  ReadLacResult,
  TransportError,
  TransportFailure,
} from './transport';
export * from './placement';
