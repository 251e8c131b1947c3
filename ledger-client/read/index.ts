/**
 * The read side of the ledger client: opening a ledger (with or without recovery), ReadHandle, reads with
 * replica fallback and speculative reads, LAC discovery, long-poll tailing. See README.md.
 */
export { openLedger } from './open-ledger';
export type { OpenLedgerArgs } from './open-ledger';
export type { ReadHandle, LastConfirmedAndEntry, TailOptions } from './read-handle';
export type { LedgerEntry, LedgerEntries } from './ledger-view';
