import type { Logger } from '../common';
import { isBKError } from '../ledger-client';
import type { BookKeeper, ReadHandle } from '../ledger-client';
import type { CursorHost, Entry } from './cursor-host';
import type { EntryCache } from './entry-cache';
import { ManagedLedgerError } from './errors';
import type { ManagedLedgerConfig } from './managed-ledger-config';
import type { MetaStore } from './meta-store';
import type { LedgerInfo } from './ml-data-formats';
import { EARLIEST, LATEST, Position } from './position';

export interface ManagedLedgerViewInit {
  name: string;
  config: ManagedLedgerConfig;
  metaStore: MetaStore;
  bookKeeper: BookKeeper;
  logger: Logger;
}

/**
 * What a managed ledger and a read-only view of one share: the ordered ledger list, positions over it (Pulsar's
 * getNextValidPosition, getPreviousPosition, isValidPosition, getNumberOfEntries) and reads that cross ledger
 * boundaries through per-ledger read handles and the entry cache. It is the CursorHost a cursor navigates.
 *
 * `ledgers` is sorted by ledger id; each LedgerInfo counts the entries confirmed in it (for the ledger being
 * written, the entries confirmed so far), so "the entries of ledger L" are always (L, 0..entries-1) and the log
 * is the concatenation of the ledgers in order. `lastConfirmed` is the last entry of the last non-empty ledger,
 * or `(firstLedgerId, -1)` when no ledger holds an entry.
 */
export abstract class ManagedLedgerView implements CursorHost {
  readonly name: string;
  readonly config: ManagedLedgerConfig;
  readonly metaStore: MetaStore;
  readonly bookKeeper: BookKeeper;
  readonly logger: Logger;

  protected ledgers: LedgerInfo[] = [];
  protected lastConfirmed: Position = new Position(-1n, -1n);
  protected cache: EntryCache | undefined;
  /** Read handles by ledger id, opened without recovery (nothing is fenced), closed when the ledger goes. */
  private readonly readHandles = new Map<bigint, Promise<ReadHandle>>();

  protected constructor(init: ManagedLedgerViewInit) {
    this.name = init.name;
    this.config = init.config;
    this.metaStore = init.metaStore;
    this.bookKeeper = init.bookKeeper;
    this.logger = init.logger;
  }

  /**
   * Opens the last ledger of the list (with recovery: fencing its writer and closing it; without: as far as its
   * bookies confirm) and records its entries and size. A ledger that no longer exists counts as empty.
   */
  protected async measureLastLedger(recovery: boolean): Promise<void> {
    const last = this.ledgers[this.ledgers.length - 1];
    if (last === undefined) return;
    try {
      const handle = await this.bookKeeper.openLedger({
        ledgerId: last.ledgerId,
        password: this.config.managedLedgerPassword,
        recovery,
      });
      last.entries = Number(handle.getLastAddConfirmed() + 1n);
      last.size = Number(handle.getLength());
      await handle.close();
    } catch (error) {
      if (!isNoSuchLedger(error)) {
        throw new ManagedLedgerError(
          'BookKeeperException',
          `managed ledger ${this.name}: cannot open its last ledger ${last.ledgerId}: ${(error as Error).message}`,
          { cause: error, retriable: true },
        );
      }
      this.logger.warn({ ledgerId: last.ledgerId.toString() }, 'last ledger does not exist');
      last.entries = 0;
      last.size = 0;
    }
  }

  /**
   * The mark-delete position a cursor starting at `start` gets: 'earliest' (or EARLIEST) before the first stored
   * entry, 'latest' (or LATEST) the last confirmed one, a position itself, clamped to the stored range.
   */
  protected startMarkDelete(start: unknown): Position {
    if (start === 'earliest' || (start instanceof Position && start.equals(EARLIEST)))
      return this.getFirstPosition();
    if (start === 'latest' || (start instanceof Position && start.equals(LATEST))) return this.lastConfirmed;
    if (!(start instanceof Position)) {
      throw new ManagedLedgerError(
        'InvalidArgument',
        `managed ledger ${this.name}: a non-durable cursor starts at a Position, 'earliest' or 'latest', not ${String(start)}`,
      );
    }
    const first = this.getFirstPosition();
    if (start.isBefore(first)) return first;
    return start.isAfter(this.lastConfirmed) ? this.lastConfirmed : start;
  }

  /** Throws when the view can no longer be used (closed, fenced), naming what was attempted. */
  protected abstract checkReadable(what: string): void;

  /** Calls `listener` once after the next add (or terminate, close). */
  abstract onNextAdd(listener: () => void): () => void;
  abstract onMarkDeleteMoved(cursorName: string): void;
  abstract onReadPositionMoved(cursorName: string): void;

  getLastConfirmedEntry(): Position {
    return this.lastConfirmed;
  }

  /** A copy of the ledger list, oldest first (the ledger being written, if any, last). */
  getLedgersInfo(): LedgerInfo[] {
    return this.ledgers.map((l) => ({ ...l }));
  }

  getFirstPosition(): Position {
    const first = this.ledgers[0];
    return new Position(first === undefined ? this.lastConfirmed.ledgerId : first.ledgerId, -1n);
  }

  ledgerExists(ledgerId: bigint): boolean {
    return this.indexOfLedger(ledgerId) >= 0;
  }

  isValidPosition(p: Position): boolean {
    if (p.entryId < 0n) return false;
    const i = this.indexOfLedger(p.ledgerId);
    return i >= 0 && p.entryId < BigInt(this.ledgers[i]!.entries);
  }

  getNextValidPosition(p: Position): Position {
    // Fast path: the next entry of the same ledger (what a reader asks after almost every entry).
    const i = this.indexOfLedger(p.ledgerId);
    if (i >= 0 && p.entryId + 1n < BigInt(this.ledgers[i]!.entries) && p.entryId >= -1n) return p.next();
    const found = this.firstEntryAtOrAfter(p.ledgerId, p.entryId + 1n);
    if (found !== undefined) return found;
    // Past the last entry: "the end", where the next entry will be readable from.
    const end = this.lastConfirmed.next();
    return end.isAfter(p) ? end : p.next();
  }

  getPreviousPosition(p: Position): Position {
    for (let i = this.upperIndex(p.ledgerId); i >= 0; i--) {
      const info = this.ledgers[i]!;
      if (info.entries === 0) continue;
      if (info.ledgerId < p.ledgerId) return new Position(info.ledgerId, BigInt(info.entries - 1));
      if (p.entryId > 0n) {
        const last = BigInt(info.entries - 1);
        return new Position(info.ledgerId, p.entryId - 1n < last ? p.entryId - 1n : last);
      }
    }
    return this.getFirstPosition();
  }

  getNumberOfEntries(): number;
  getNumberOfEntries(from: Position, to: Position, fromInclusive?: boolean): number;
  getNumberOfEntries(from?: Position, to?: Position, fromInclusive = false): number {
    if (from === undefined || to === undefined) return this.totalEntries();
    let count = 0;
    for (const info of this.ledgers) {
      if (info.ledgerId < from.ledgerId || info.ledgerId > to.ledgerId || info.entries === 0) continue;
      let lo = 0;
      if (info.ledgerId === from.ledgerId) lo = clampToNumber(from.entryId) + (fromInclusive ? 0 : 1);
      let hi = info.entries - 1;
      if (info.ledgerId === to.ledgerId) hi = Math.min(hi, clampToNumber(to.entryId));
      if (lo < 0) lo = 0;
      if (hi >= lo) count += hi - lo + 1;
    }
    return count;
  }

  /** Entries in every ledger of the list. */
  protected totalEntries(): number {
    let count = 0;
    for (const info of this.ledgers) count += info.entries;
    return count;
  }

  /** Payload bytes in every ledger of the list. */
  getTotalSize(): number {
    let size = 0;
    for (const info of this.ledgers) size += info.size;
    return size;
  }

  async readEntries(from: Position, maxEntries: number, maxPosition?: Position): Promise<Entry[]> {
    this.checkReadable(`read entries from ${from}`);
    if (!(from instanceof Position)) {
      throw new ManagedLedgerError(
        'InvalidArgument',
        `managed ledger ${this.name}: read from a non-position`,
      );
    }
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new ManagedLedgerError(
        'InvalidArgument',
        `managed ledger ${this.name}: cannot read ${String(maxEntries)} entries from ${from}: need a positive integer`,
      );
    }
    const out: Entry[] = [];
    let next: Position | undefined = from;
    while (out.length < maxEntries && next !== undefined) {
      const start = this.firstEntryAtOrAfter(next.ledgerId, next.entryId < 0n ? 0n : next.entryId);
      const limit =
        maxPosition !== undefined && maxPosition.isBefore(this.lastConfirmed)
          ? maxPosition
          : this.lastConfirmed;
      if (start === undefined || start.isAfter(limit)) break;
      const info = this.ledgers[this.indexOfLedger(start.ledgerId)]!;
      let last = BigInt(info.entries - 1);
      if (start.ledgerId === limit.ledgerId && limit.entryId < last) last = limit.entryId;
      const wanted = start.entryId + BigInt(maxEntries - out.length) - 1n;
      if (wanted < last) last = wanted;
      next = await this.readRange(start.ledgerId, start.entryId, last, out);
    }
    return out;
  }

  /**
   * Reads entries first..last of one ledger into `out`, from the cache where it has them. Returns where the next
   * read continues, or undefined when the ledger went away meanwhile and nothing more can be read after it here.
   */
  private async readRange(
    ledgerId: bigint,
    first: bigint,
    last: bigint,
    out: Entry[],
  ): Promise<Position | undefined> {
    const cached: Entry[] = [];
    const runStart = this.cache?.collect(ledgerId, first, last, cached);
    try {
      if (runStart === undefined) {
        await this.readFromBookies(ledgerId, first, last, out);
      } else {
        if (runStart > first) await this.readFromBookies(ledgerId, first, runStart - 1n, out);
        for (const entry of cached) out.push(entry);
        const runEnd = runStart + BigInt(cached.length) - 1n;
        if (runEnd < last) await this.readFromBookies(ledgerId, runEnd + 1n, last, out);
      }
    } catch (error) {
      // A ledger trimmed while it was being read: the reader continues with the ledgers that remain.
      if (!this.ledgerExists(ledgerId) && !(error instanceof ManagedLedgerError)) {
        this.logger.info({ ledgerId: ledgerId.toString() }, 'ledger trimmed during a read');
        return new Position(ledgerId + 1n, 0n);
      }
      throw error;
    }
    return new Position(ledgerId, last + 1n);
  }

  private async readFromBookies(ledgerId: bigint, first: bigint, last: bigint, out: Entry[]): Promise<void> {
    let entries;
    try {
      const handle = await this.readHandle(ledgerId);
      // Bounded by the entries this managed ledger knows are confirmed, which a handle of the ledger being
      // written may not have learned yet.
      entries = await handle.readUnconfirmed(first, last);
    } catch (error) {
      if (!this.ledgerExists(ledgerId)) throw error;
      throw new ManagedLedgerError(
        'BookKeeperException',
        `managed ledger ${this.name}: cannot read entries ${ledgerId}:${first}..${ledgerId}:${last}: ${(error as Error).message}`,
        { cause: error, retriable: true },
      );
    }
    for (const entry of entries)
      out.push({ position: new Position(ledgerId, entry.entryId), data: entry.data });
  }

  private readHandle(ledgerId: bigint): Promise<ReadHandle> {
    let handle = this.readHandles.get(ledgerId);
    if (handle === undefined) {
      handle = this.bookKeeper.openLedger({
        ledgerId,
        password: this.config.managedLedgerPassword,
        recovery: false,
      });
      this.readHandles.set(ledgerId, handle);
      handle.catch(() => {
        if (this.readHandles.get(ledgerId) === handle) this.readHandles.delete(ledgerId);
      });
    }
    return handle;
  }

  /** Closes the read handle of a ledger that left the list. */
  protected closeReadHandle(ledgerId: bigint): void {
    const handle = this.readHandles.get(ledgerId);
    if (handle === undefined) return;
    this.readHandles.delete(ledgerId);
    handle.then((h) => h.close()).catch(() => undefined);
  }

  protected async closeReadHandles(): Promise<void> {
    const handles = [...this.readHandles.values()];
    this.readHandles.clear();
    await Promise.allSettled(handles.map(async (h) => (await h).close()));
  }

  /** The ledger's index in the list, or -1. */
  protected indexOfLedger(ledgerId: bigint): number {
    const i = this.lowerIndex(ledgerId);
    return i < this.ledgers.length && this.ledgers[i]!.ledgerId === ledgerId ? i : -1;
  }

  /** The index of the first ledger with an id >= `ledgerId`. */
  private lowerIndex(ledgerId: bigint): number {
    let lo = 0;
    let hi = this.ledgers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ledgers[mid]!.ledgerId < ledgerId) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The index of the last ledger with an id <= `ledgerId`, or -1. */
  private upperIndex(ledgerId: bigint): number {
    const i = this.lowerIndex(ledgerId);
    return i < this.ledgers.length && this.ledgers[i]!.ledgerId === ledgerId ? i : i - 1;
  }

  /** The first existing entry at or after (ledgerId, entryId), if any. */
  private firstEntryAtOrAfter(ledgerId: bigint, entryId: bigint): Position | undefined {
    for (let i = this.lowerIndex(ledgerId); i < this.ledgers.length; i++) {
      const info = this.ledgers[i]!;
      if (info.ledgerId === ledgerId) {
        if (entryId < BigInt(info.entries)) return new Position(ledgerId, entryId < 0n ? 0n : entryId);
      } else if (info.entries > 0) {
        return new Position(info.ledgerId, 0n);
      }
    }
    return undefined;
  }
}

/** An entry id as a number, saturated to the safe range (ids beyond it cannot be counts of real entries). */
function clampToNumber(id: bigint): number {
  if (id > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (id < -1n) return -1;
  return Number(id);
}

/** True for ledger-client errors that say the ledger is gone. */
export function isNoSuchLedger(error: unknown): boolean {
  return (
    isBKError(error, 'NoSuchLedgerExistsOnMetadataServerException') ||
    isBKError(error, 'NoSuchLedgerExistsException')
  );
}
