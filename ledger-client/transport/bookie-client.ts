import type { StatusCode } from '../../protocol';

/**
 * The contract between the ledger logic (write/read handles, recovery) and the connections to bookies.
 * The ledger logic never sees sockets, frames or txn ids; the transport never interprets ledger state.
 *
 * Every request names the bookie by its id (`host:port`, as registered under `bookies/writable/`).
 * Every request completes exactly once: with the bookie's status (EOK or an error status, which the caller
 * interprets), or with a transport failure (`status` undefined, `error` set: connection lost, connect
 * refused, per-request timeout, client closed, too many requests in flight). Completion may be synchronous
 * only for a failure detected before anything was sent; callers must cope.
 */

/** Why a request got no status from the bookie. */
export type TransportFailure =
  'connect-failed' | 'connection-lost' | 'timeout' | 'too-many-in-flight' | 'client-closed';

export interface TransportError extends Error {
  readonly failure: TransportFailure;
  readonly bookieId: string;
}

export interface AddEntryRequest {
  ledgerId: bigint;
  entryId: bigint;
  masterKey: Buffer;
  /**
   * The packed entry (DigestManager.packEntry), sent as is; with `payload`, only its header and digest
   * (DigestManager.packEntryParts).
   */
  body: Buffer;
  /**
   * The rest of the packed entry after `body` (the caller's payload, packEntryParts): written to every bookie from
   * this buffer, never copied, so it must not change until the add completes.
   */
  payload?: Buffer;
  recoveryAdd?: boolean;
  deferredSync?: boolean;
  /** Milliseconds; the pool's default (addEntryTimeoutSec) when absent. */
  timeoutMs?: number;
}

export type AddEntryCallback = (
  status: StatusCode | undefined,
  error: TransportError | undefined,
  bookieId: string,
) => void;

export interface ReadEntryRequest {
  ledgerId: bigint;
  /** -1n (LAST_ADD_CONFIRMED) asks for the last entry the bookie has. */
  entryId: bigint;
  /** FENCE_LEDGER: the bookie fences the ledger before answering; needs masterKey. */
  fence?: boolean;
  masterKey?: Buffer;
  /** Recovery reads and fencing reads go with HIGH_PRIORITY, as BookKeeper sends them. */
  highPriority?: boolean;
  /** Long poll: answer once the bookie's LAC passes previousLAC, or after longPollTimeoutMs. */
  previousLAC?: bigint;
  longPollTimeoutMs?: number;
  /** With a long poll, also return entry previousLAC + 1 when it is there. */
  piggyback?: boolean;
  /** Milliseconds; the pool's default (readEntryTimeoutSec) when absent; a long poll adds its own wait. */
  timeoutMs?: number;
}

export interface ReadEntryResult {
  status: StatusCode;
  ledgerId: bigint;
  entryId: bigint;
  /** The packed entry as stored (verify it with the ledger's DigestManager). */
  body?: Buffer;
  maxLAC?: bigint;
}

export interface ReadLacResult {
  status: StatusCode;
  lacBody?: Buffer;
  lastEntryBody?: Buffer;
}

export interface BookieInfo {
  status: StatusCode;
  totalDiskCapacity?: bigint;
  freeDiskSpace?: bigint;
}

/** Outcome of a promise-style request: the bookie answered (any status) or the transport failed. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: TransportError };

export interface BookieClient {
  /** Hot path: callback style, no promise per replica. */
  addEntry(bookieId: string, request: AddEntryRequest, callback: AddEntryCallback): void;
  readEntry(bookieId: string, request: ReadEntryRequest): Promise<Outcome<ReadEntryResult>>;
  readLac(bookieId: string, ledgerId: bigint, timeoutMs?: number): Promise<Outcome<ReadLacResult>>;
  writeLac(
    bookieId: string,
    request: { ledgerId: bigint; lac: bigint; masterKey: Buffer; body: Buffer },
  ): Promise<Outcome<StatusCode>>;
  forceLedger(bookieId: string, ledgerId: bigint): Promise<Outcome<StatusCode>>;
  getBookieInfo(bookieId: string): Promise<Outcome<BookieInfo>>;
  /**
   * Listeners learn when a bookie's connection fails (so writers can start an ensemble change before their
   * per-request timeouts fire). Returns an unsubscribe function.
   */
  onBookieFailure(listener: (bookieId: string, error: TransportError) => void): () => void;
  /** Fails every outstanding request with 'client-closed' and closes every connection. */
  close(): Promise<void>;
}
