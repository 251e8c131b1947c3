import type { Logger } from '../common';
import type { BookKeeper } from '../ledger-client';
import type { ManagedLedgerConfig } from './managed-ledger-config';
import type { MetaStore } from './meta-store';
import type { Position } from './position';

/** One entry of a managed ledger, as a read returns it. */
export interface Entry {
  readonly position: Position;
  readonly data: Buffer;
}

/**
 * What a cursor needs from the managed ledger it belongs to — the seam between managed-ledger.ts (which
 * implements it) and the cursors (managed-cursor.ts, non-durable-cursor.ts), so each side can be tested alone.
 *
 * Positions: the ledger list is the managed ledger's ordered LedgerInfo list plus the current ledger. "Valid"
 * positions are entries that exist: in a closed ledger L, (L, 0..entries-1); in the current ledger,
 * (L, 0..lastConfirmed). `(L, -1)` stands for "before ledger L's first entry".
 */
export interface CursorHost {
  readonly name: string;
  readonly config: ManagedLedgerConfig;
  readonly metaStore: MetaStore;
  /** The client cursors create their own ledgers with (PositionInfo entries). */
  readonly bookKeeper: BookKeeper;
  readonly logger: Logger;

  /** True once the managed ledger was terminated (no more entries will come); absent means never. */
  isTerminated?(): boolean;
  /** The last entry acknowledged to a writer; `(L, -1)` of the first ledger when nothing was ever written. */
  getLastConfirmedEntry(): Position;
  /** The position just before the first entry still stored: `(firstLedgerId, -1)`. */
  getFirstPosition(): Position;
  /** The first valid position strictly after `p` (may be one past the last confirmed entry: "the end"). */
  getNextValidPosition(p: Position): Position;
  /** The valid position just before `p`, or `(firstLedgerId, -1)` when there is none. */
  getPreviousPosition(p: Position): Position;
  /** True when `p` is an existing entry. */
  isValidPosition(p: Position): boolean;
  /** True when the managed ledger has (or had, before trimming) a ledger with this id. */
  ledgerExists(ledgerId: bigint): boolean;
  /**
   * Number of entries in `(from, to]` (or `[from, to]` when `fromInclusive`), walking the ledger list;
   * positions outside the stored range are clamped.
   */
  getNumberOfEntries(from: Position, to: Position, fromInclusive?: boolean): number;

  /**
   * Reads up to `maxEntries` entries starting at `from` (inclusive), crossing ledger boundaries, never past the
   * last confirmed entry (nor `maxPosition` if given), through the entry cache. Resolves with fewer entries
   * (possibly none) at the end of the managed ledger.
   */
  readEntries(from: Position, maxEntries: number, maxPosition?: Position): Promise<Entry[]>;

  /**
   * Calls `listener` once, the next time an entry is added (or the managed ledger is terminated or closed).
   * Returns a function that cancels the registration.
   */
  onNextAdd(listener: () => void): () => void;

  /** A durable cursor's mark-delete moved: the managed ledger may trim ledgers and evict cache entries. */
  onMarkDeleteMoved(cursorName: string): void;
  /** A cursor's read position moved: the entry cache may evict what every active cursor has passed. */
  onReadPositionMoved(cursorName: string): void;
}
