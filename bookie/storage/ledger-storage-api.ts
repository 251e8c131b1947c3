/*
 * Ledger storage's contract with the rest of the bookie: DbLedgerStorage (reference §3). Entries are added to
 * an in-memory write cache (not durable by itself: the journal is what makes an add durable) and moved to entry
 * logs plus a RocksDB location index by flush(), which the bookie calls at each checkpoint. Reads look in the
 * write cache, then the read cache, then the index and entry log.
 *
 * Per-ledger state (master key, fenced, explicit LAC) lives in a RocksDB "ledgers" index with an in-memory
 * cache; the bookie journals each change first, and replay re-applies it, so the index may lag until flush.
 *
 * Implementation: ./db-ledger-storage.ts.
 */

export interface LedgerInfo {
  readonly ledgerId: bigint;
  /** 20 bytes, set on first contact; empty until then. */
  readonly masterKey: Buffer;
  readonly fenced: boolean;
  /** The digest-protected explicit-LAC blob from WRITE_LAC, if any. */
  readonly explicitLac: Buffer | undefined;
}

export interface FlushOptions {
  /** The periodic checkpoint: nobody waits for it, so it may pause between stretches of work. */
  background?: boolean;
}

/** Thrown by addEntry when both write caches are full (a flush is behind); the bookie's throttle waits then. */
export class WriteCacheFullError extends Error {
  constructor(message = 'write cache full') {
    super(message);
    this.name = 'WriteCacheFullError';
  }
}

export interface LedgerStorageApi {
  /**
   * Adds a packed entry (ledgerId at offset 0, entryId at 8). Synchronous: copies into the write cache.
   * Re-adding an existing (ledgerId, entryId) replaces it (recovery adds and replay do that).
   * Throws WriteCacheFullError when both write caches are full (a flush is behind); a flush has then been
   * started if none runs, and `onWriteCacheFreed` listeners hear when it ends.
   */
  addEntry(entry: Buffer): void;
  /**
   * `listener` is called (synchronously, on the event loop) each time a flush has ended, successful or not —
   * the moment adds refused with WriteCacheFullError may fit again (the bookie's write throttle retries them).
   */
  onWriteCacheFreed(listener: () => void): void;
  /** The stored packed entry; entryId -1n = the ledger's last entry. Undefined if absent. */
  getEntry(ledgerId: bigint, entryId: bigint): Promise<Buffer | undefined>;
  /** The highest entry id stored for the ledger, or undefined if it has none. */
  getLastEntryId(ledgerId: bigint): Promise<bigint | undefined>;
  /** Entry ids stored for the ledger, ascending (GET_LIST_OF_ENTRIES_OF_LEDGER). */
  getEntryIds(ledgerId: bigint): Promise<bigint[]>;

  /** The ledger's info, or undefined if the bookie has never seen the ledger. */
  getLedgerInfo(ledgerId: bigint): Promise<LedgerInfo | undefined>;
  /** The cached info without I/O: defined only for ledgers touched since start (hot path). */
  peekLedgerInfo(ledgerId: bigint): LedgerInfo | undefined;
  /** Creates the ledger with this master key if new; no-op if it exists (the key check is the caller's). */
  setMasterKey(ledgerId: bigint, masterKey: Buffer): Promise<void>;
  /** Marks the ledger fenced; returns true if it was not fenced before. */
  setFenced(ledgerId: bigint): Promise<boolean>;
  setExplicitLac(ledgerId: bigint, lacBlob: Buffer): Promise<void>;

  /** Removes the ledger's entries and info (GC of a ledger deleted from metadata). */
  deleteLedger(ledgerId: bigint): Promise<void>;
  /** Every ledger id the bookie stores, ascending. */
  listLedgers(): Promise<bigint[]>;

  /**
   * Checkpoint: writes the frozen write cache into entry logs sorted by (ledgerId, entryId), syncs the logs,
   * writes their locations and the ledger infos to RocksDB in one synced batch, then drops the frozen cache.
   * Concurrent calls share one flush. Adds keep going into the other cache meanwhile. A `background` flush (the
   * periodic checkpoint's) may pace itself to leave the CPU to requests; any other caller's flush does not.
   */
  flush(options?: FlushOptions): Promise<void>;
  /** Bytes held in the write caches (for metrics and the checkpoint trigger). */
  readonly writeCacheBytes: number;

  close(): Promise<void>;
}
