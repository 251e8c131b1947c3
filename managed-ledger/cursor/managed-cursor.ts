import type { Logger } from '../../common';
import type { CursorHost, Entry } from '../cursor-host';
import { ManagedLedgerError } from '../errors';
import type { ManagedLedgerErrorCode } from '../errors';
import type { Versioned } from '../meta-store';
import type { ManagedCursorInfo, MessageRange } from '../ml-data-formats';
import { Position } from '../position';
import { CursorPersistence } from './cursor-persistence';
import type { CursorSnapshot } from './cursor-persistence';
import { PositionRangeSet } from './position-range-set';
import type { EntryCounter } from './position-range-set';

type CursorState = 'Open' | 'Closed' | 'Deleted';

/** See ManagedCursor.getInternalState. */
export interface CursorInternalState {
  state: CursorState;
  waitingReadOp: boolean;
  numberOfEntriesSinceFirstNotAckedMessage: number;
  /** -1 when the cursor has no ledger (non-durable, or nothing persisted to a ledger yet). */
  cursorLedger: bigint;
  cursorLedgerLastEntry: number;
  /** When the cursor's current ledger was created; 0 when it has none. */
  lastLedgerSwitchTimestampMs: number;
}

/** The one read-or-wait a cursor may have. */
interface WaitingRead {
  readonly maxEntries: number;
  readonly resolve: (entries: Entry[]) => void;
  readonly reject: (err: unknown) => void;
  cancelListener: (() => void) | undefined;
  recheckTimer: NodeJS.Timeout | undefined;
  /** A read for it is under way: it can no longer be cancelled without losing what that read returns. */
  reading: boolean;
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A cursor on a managed ledger, with Pulsar's semantics (ManagedCursorImpl / NonDurableCursorImpl):
 *
 * - `markDelete` position: every entry at or before it is acknowledged (cumulative `markDelete`);
 * - individually deleted entries after it, as ranges (`delete`); when the gap right after the mark-delete
 *   fills, the mark-delete moves to the end of the first range;
 * - `readPosition`: the next entry `readEntries` hands out (after the mark-delete; reads skip individually
 *   deleted entries);
 * - properties attached to the mark-delete (`Map<string, bigint>`) and cursor properties (`Map<string, string>`).
 *
 * A durable cursor persists its state through CursorPersistence (its own ledger plus its metadata node, throttled);
 * a non-durable cursor lives in memory only and never holds data back from trimming.
 */
export class ManagedCursor {
  readonly name: string;
  readonly durable: boolean;

  private readonly host: CursorHost;
  private readonly logger: Logger;
  private readonly persistence: CursorPersistence | undefined;
  private readonly countEntries: EntryCounter;

  private markDeletePosition: Position;
  private readPosition: Position;
  private readonly individuallyDeleted = new PositionRangeSet();
  /** Entries covered by `individuallyDeleted` (kept up to date, for the fast backlog). */
  private individuallyDeletedCount = 0;
  private properties: Map<string, bigint>;
  private readonly cursorProperties: Map<string, string>;
  private state: CursorState = 'Open';
  private active = true;
  private waiting: WaitingRead | undefined;
  /** The last read queued (reads are serialised). */
  private readTail: Promise<unknown> = RESOLVED;

  private constructor(
    host: CursorHost,
    name: string,
    markDelete: Position,
    properties: Map<string, bigint>,
    cursorProperties: Map<string, string>,
    node: Versioned<ManagedCursorInfo> | undefined,
  ) {
    this.host = host;
    this.name = name;
    this.durable = node !== undefined;
    this.logger = host.logger.child({ cursor: name });
    this.countEntries = (lower, upper) => host.getNumberOfEntries(lower, upper);
    this.markDeletePosition = markDelete;
    this.readPosition = host.getNextValidPosition(markDelete);
    this.properties = new Map(properties);
    this.cursorProperties = new Map(cursorProperties);
    this.persistence =
      node === undefined
        ? undefined
        : new CursorPersistence({
            host,
            cursorName: name,
            logger: this.logger,
            snapshot: () => this.snapshot(),
            node,
          });
  }

  /** A new durable cursor: writes its metadata node (which must not exist yet) at `markDelete`. */
  static async create(
    host: CursorHost,
    name: string,
    markDelete: Position,
    properties: Map<string, bigint> = new Map(),
  ): Promise<ManagedCursor> {
    checkName(host, name);
    checkPosition(host, name, markDelete, 'mark-delete');
    checkLongProperties(host, name, properties);
    const node = await CursorPersistence.createNode(host, name, markDelete, properties);
    const cursor = new ManagedCursor(host, name, markDelete, properties, new Map(), node);
    cursor.logger.info({ markDelete: markDelete.toString() }, 'cursor created');
    return cursor;
  }

  /**
   * A durable cursor from its persisted state (the last PositionInfo in its ledger, else its node), clamped to
   * the managed ledger: a position on a trimmed ledger moves to the first stored one, a position past the last
   * confirmed entry back to it; the read position is the next entry after the mark-delete.
   */
  static async recover(host: CursorHost, name: string): Promise<ManagedCursor> {
    checkName(host, name);
    const logger = host.logger.child({ cursor: name });
    const { node, state } = await CursorPersistence.recover(host, name, logger);
    const first = host.getFirstPosition();
    const last = host.getLastConfirmedEntry();
    let markDelete = state.markDelete ?? first;
    if (markDelete.compareTo(last) > 0) markDelete = last;
    // Last, so that it wins: never a mark-delete on a ledger that is gone.
    if (markDelete.compareTo(first) < 0) markDelete = first;
    const cursor = new ManagedCursor(host, name, markDelete, state.properties, state.cursorProperties, node);
    for (const range of state.ranges) {
      if (range.lower.compareTo(range.upper) < 0) cursor.individuallyDeleted.add(range.lower, range.upper);
    }
    cursor.individuallyDeleted.removeAtOrBelow(markDelete, cursor.countEntries);
    cursor.individuallyDeleted.removeAbove(last);
    cursor.individuallyDeletedCount = cursor.individuallyDeleted.countEntries(cursor.countEntries);
    cursor.absorbFirstRange();
    cursor.readPosition = host.getNextValidPosition(cursor.markDeletePosition);
    cursor.logger.info(
      {
        markDelete: cursor.markDeletePosition.toString(),
        persisted: state.markDelete?.toString(),
        source: state.source,
        ranges: cursor.individuallyDeleted.size,
      },
      'cursor recovered',
    );
    return cursor;
  }

  /** A cursor kept in memory only (a reader's); it never holds data back from trimming. */
  static nonDurable(host: CursorHost, name: string, markDelete: Position): ManagedCursor {
    checkName(host, name);
    checkPosition(host, name, markDelete, 'start');
    return new ManagedCursor(host, name, markDelete, new Map(), new Map(), undefined);
  }

  // ---- reads ----

  /**
   * Reads up to `maxEntries` entries from the read position, across ledgers, skipping individually deleted
   * ones, and moves the read position past them. Resolves with fewer (possibly none) at the end.
   */
  readEntries(maxEntries: number): Promise<Entry[]> {
    const refused = this.readRefusal(maxEntries, 'readEntries');
    if (refused !== undefined) return Promise.reject(refused);
    // Reads run one after the other, so two callers never get the same entries.
    const read = this.readTail.then(() => this.readFromReadPosition(maxEntries));
    this.readTail = read.catch(() => undefined);
    return read;
  }

  private async readFromReadPosition(maxEntries: number): Promise<Entry[]> {
    this.checkOpen('read');
    const out: Entry[] = [];
    while (out.length < maxEntries) {
      const from = this.nextReadablePosition();
      if (!this.isAtOrBeforeLast(from)) break;
      const entries = await this.host.readEntries(from, maxEntries - out.length);
      const lastRead = entries[entries.length - 1];
      if (lastRead === undefined) break;
      const filter = !this.individuallyDeleted.isEmpty();
      for (const entry of entries) {
        if (!filter || !this.individuallyDeleted.contains(entry.position)) out.push(entry);
      }
      // A seek (or a mark-delete past the read position) during the read wins over this read's advance.
      if (this.readPosition !== from) break;
      this.readPosition = this.host.getNextValidPosition(lastRead.position);
    }
    this.host.onReadPositionMoved(this.name);
    return out;
  }

  /**
   * Like readEntries, but when nothing is there to read, waits until entries arrive. One such read may wait at
   * a time (another fails with ConcurrentWaitCallback); a terminated managed ledger fails it with
   * NoMoreEntriesToRead.
   */
  readEntriesOrWait(maxEntries: number): Promise<Entry[]> {
    const refused = this.readRefusal(maxEntries, 'readEntriesOrWait');
    if (refused !== undefined) return Promise.reject(refused);
    if (this.hasMoreEntries()) return this.readEntries(maxEntries);
    if (this.waiting !== undefined) {
      return Promise.reject(
        this.error('ConcurrentWaitCallback', 'another read is already waiting for entries'),
      );
    }
    if (this.host.isTerminated?.() === true) {
      return Promise.reject(this.error('NoMoreEntriesToRead', 'the managed ledger is terminated'));
    }
    return new Promise<Entry[]>((resolve, reject) => {
      const waiting: WaitingRead = {
        maxEntries,
        resolve,
        reject,
        cancelListener: undefined,
        recheckTimer: undefined,
        reading: false,
      };
      this.waiting = waiting;
      this.armWait(waiting);
      // Re-check after a short delay: closes the window between hasMoreEntries() and the registration (and
      // covers a host that notified listeners before it moved its last confirmed entry).
      const delayMs = this.host.config.managedLedgerNewEntriesCheckDelayInMillis;
      waiting.recheckTimer = setTimeout(() => {
        waiting.recheckTimer = undefined;
        this.checkWaitingRead();
      }, delayMs);
    });
  }

  /** Drops the waiting read-or-wait (it fails with ConcurrentWaitCallback). False when there is none to drop. */
  cancelPendingReadRequest(): boolean {
    const waiting = this.waiting;
    if (waiting === undefined || waiting.reading) return false;
    this.finishWait(waiting);
    waiting.reject(this.error('ConcurrentWaitCallback', 'the waiting read was cancelled'));
    return true;
  }

  /** True when an entry that is not individually deleted lies at or after the read position. */
  hasMoreEntries(): boolean {
    return this.isAtOrBeforeLast(this.nextReadablePosition());
  }

  getReadPosition(): Position {
    return this.readPosition;
  }

  getMarkDeletedPosition(): Position {
    return this.markDeletePosition;
  }

  /** Moves the read position (not the mark-delete); a position at or before the mark-delete means the next after it. */
  seek(position: Position): void {
    this.checkOpen('seek');
    this.checkNotBeyondEnd(position, 'seek to');
    this.readPosition =
      position.compareTo(this.markDeletePosition) <= 0
        ? this.host.getNextValidPosition(this.markDeletePosition)
        : position;
    this.host.onReadPositionMoved(this.name);
  }

  /** Read position back to the first entry after the mark-delete (redelivery of everything unacknowledged). */
  rewind(): void {
    this.checkOpen('rewind');
    this.readPosition = this.host.getNextValidPosition(this.markDeletePosition);
    this.host.onReadPositionMoved(this.name);
  }

  /**
   * Repositions the cursor at `position`, backwards or forwards: the mark-delete becomes the entry before it,
   * the read position `position`, individually deleted ranges and mark-delete properties are cleared; persisted
   * at once (no throttling). A position before the first stored entry means the first one.
   */
  async resetCursor(position: Position): Promise<void> {
    this.checkOpen('reset');
    this.checkNotBeyondEnd(position, 'reset to');
    const first = this.host.getFirstPosition();
    const target = position.compareTo(first) <= 0 ? this.host.getNextValidPosition(first) : position;
    this.markDeletePosition = this.host.getPreviousPosition(target);
    this.readPosition = target;
    this.individuallyDeleted.clear();
    this.individuallyDeletedCount = 0;
    this.properties = new Map();
    this.logger.info({ position: target.toString() }, 'cursor reset');
    this.movedMarkDelete();
    this.host.onReadPositionMoved(this.name);
    if (this.persistence !== undefined) await this.persistence.persistNow();
  }

  /**
   * The newest entry after the mark-delete for which `predicate` holds, by binary search (the predicate must
   * hold for a prefix of the entries and not after, as "published before t" does); undefined when none does.
   */
  async findNewestMatching(predicate: (entry: Entry) => boolean): Promise<Position | undefined> {
    this.checkOpen('search');
    if (typeof predicate !== 'function') {
      throw this.error('InvalidArgument', 'findNewestMatching needs a predicate function');
    }
    const last = this.host.getLastConfirmedEntry();
    const start = this.host.getNextValidPosition(this.markDeletePosition);
    if (!this.isAtOrBeforeLast(start)) return undefined;
    const total = this.host.getNumberOfEntries(this.markDeletePosition, last);
    let lo = 0;
    let hi = total - 1;
    let found: Position | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const position = mid === 0 ? start : this.positionAfter(start, mid);
      const [entry] = await this.host.readEntries(position, 1);
      if (entry === undefined) {
        hi = mid - 1;
      } else if (predicate(entry)) {
        found = entry.position;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Moves the mark-delete over the next `count` entries that are not individually deleted yet. */
  async skipEntries(count: number): Promise<void> {
    this.checkOpen('skip entries');
    this.checkCount(count, 'skipEntries', 0);
    if (count === 0) return;
    const last = this.host.getLastConfirmedEntry();
    let from = this.markDeletePosition;
    let target = this.positionAfter(from, count);
    // Entries already deleted individually inside the stretch do not count: go further by as many.
    let alreadyDeleted = this.individuallyDeleted.countEntriesIn(from, target, this.countEntries);
    while (alreadyDeleted > 0 && target.compareTo(last) < 0) {
      from = target;
      target = this.positionAfter(from, alreadyDeleted);
      alreadyDeleted = this.individuallyDeleted.countEntriesIn(from, target, this.countEntries);
    }
    await this.markDelete(target, this.properties);
  }

  // ---- acknowledgements ----

  /**
   * Acknowledges every entry up to `position` (cumulative). A position beyond the last confirmed entry fails
   * with InvalidCursorPosition; one before the current mark-delete is ignored (as Pulsar does). `properties`
   * replace the mark-delete's properties (none given: empty). Resolves once persisted, or at once when the
   * persist is throttled (it is written later, and on close).
   */
  markDelete(position: Position, properties?: Map<string, bigint>): Promise<void> {
    try {
      this.checkOpen('mark-delete');
      checkPosition(this.host, this.name, position, 'mark-delete');
      if (properties !== undefined) checkLongProperties(this.host, this.name, properties);
      const last = this.host.getLastConfirmedEntry();
      if (position.compareTo(last) > 0) {
        throw this.error(
          'InvalidCursorPosition',
          `cannot mark-delete ${position.toString()}: beyond the last confirmed entry ${last.toString()}`,
        );
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (position.compareTo(this.markDeletePosition) < 0) {
      this.logger.debug(
        { position: position.toString(), markDelete: this.markDeletePosition.toString() },
        'mark-delete before the current one ignored',
      );
      return RESOLVED;
    }
    this.properties = properties === undefined ? new Map() : new Map(properties);
    if (!position.equals(this.markDeletePosition)) {
      this.markDeletePosition = position;
      this.individuallyDeletedCount -= this.individuallyDeleted.removeAtOrBelow(position, this.countEntries);
      this.absorbFirstRange();
      this.movedMarkDelete();
    }
    return this.persistence === undefined ? RESOLVED : this.persistence.request();
  }

  /**
   * Acknowledges single entries (out of order). Each must exist (InvalidCursorPosition otherwise, and then none
   * is acknowledged); entries already acknowledged are ignored. When the entries right after the mark-delete
   * are all acknowledged, the mark-delete moves over them. Persisted like markDelete.
   */
  delete(positions: Position | Position[]): Promise<void> {
    const list = Array.isArray(positions) ? positions : [positions];
    try {
      this.checkOpen('delete');
      for (const position of list) {
        checkPosition(this.host, this.name, position, 'delete');
        if (position.compareTo(this.markDeletePosition) > 0 && !this.host.isValidPosition(position)) {
          throw this.error(
            'InvalidCursorPosition',
            `cannot delete ${position.toString()}: no such entry (last confirmed ${this.host.getLastConfirmedEntry().toString()})`,
          );
        }
      }
    } catch (err) {
      return Promise.reject(err);
    }
    let changed = false;
    for (const position of list) {
      if (position.compareTo(this.markDeletePosition) <= 0) continue;
      if (this.individuallyDeleted.add(this.host.getPreviousPosition(position), position)) {
        this.individuallyDeletedCount++;
        changed = true;
      }
    }
    if (!changed) return RESOLVED;
    if (this.absorbFirstRange()) this.movedMarkDelete();
    return this.persistence === undefined ? RESOLVED : this.persistence.request();
  }

  /**
   * What Pulsar's internalStats shows of a cursor besides its positions: its state, whether a read waits for
   * entries, the entries from the first unacknowledged one up to the read position, and the ledger its
   * positions are written to (durable cursors, once one exists).
   */
  getInternalState(): CursorInternalState {
    const last = this.host.getLastConfirmedEntry();
    const readUpTo = this.readPosition.compareTo(last) < 0 ? this.readPosition : last;
    const sinceFirstNotAcked =
      readUpTo.compareTo(this.markDeletePosition) > 0
        ? this.host.getNumberOfEntries(this.markDeletePosition, readUpTo)
        : 0;
    const ledger = this.persistence?.currentLedger();
    return {
      state: this.state,
      waitingReadOp: this.waiting !== undefined,
      numberOfEntriesSinceFirstNotAckedMessage: sinceFirstNotAcked,
      cursorLedger: ledger?.ledgerId ?? -1n,
      cursorLedgerLastEntry: ledger?.lastEntryId ?? -1,
      lastLedgerSwitchTimestampMs: ledger?.createdAtMs ?? 0,
    };
  }

  /** True when the entry is acknowledged (at or before the mark-delete, or individually). */
  isIndividuallyDeleted(position: Position): boolean {
    return position.compareTo(this.markDeletePosition) <= 0 || this.individuallyDeleted.contains(position);
  }

  getIndividuallyDeletedRanges(): MessageRange[] {
    return this.individuallyDeleted.toArray();
  }

  /** How many ranges the individually deleted entries form (Pulsar's name; O(1), unlike copying the ranges). */
  getTotalNonContiguousDeletedMessagesRange(): number {
    return this.individuallyDeleted.size;
  }

  /**
   * Entries after the mark-delete that are not acknowledged. `precise` counts the individually deleted
   * ranges again over the ledger list; otherwise a running count is used.
   */
  getNumberOfEntriesInBacklog(precise = false): number {
    const last = this.host.getLastConfirmedEntry();
    if (this.markDeletePosition.compareTo(last) >= 0) return 0;
    const total = this.host.getNumberOfEntries(this.markDeletePosition, last);
    const deleted = precise
      ? this.individuallyDeleted.countEntriesIn(this.markDeletePosition, last, this.countEntries)
      : this.individuallyDeletedCount;
    return Math.max(0, total - deleted);
  }

  // ---- properties and activity ----

  getProperties(): Map<string, bigint> {
    return new Map(this.properties);
  }

  getCursorProperties(): Map<string, string> {
    return new Map(this.cursorProperties);
  }

  /** Sets a cursor property; a durable cursor writes it to its metadata node before resolving. */
  async putCursorProperty(key: string, value: string): Promise<void> {
    this.checkOpen('set a property');
    if (typeof key !== 'string' || key === '' || typeof value !== 'string') {
      throw this.error(
        'InvalidArgument',
        'a cursor property needs a non-empty string key and a string value',
      );
    }
    this.cursorProperties.set(key, value);
    if (this.persistence !== undefined) await this.persistence.putCursorProperties(this.cursorProperties);
  }

  isActive(): boolean {
    return this.active;
  }

  setActive(): void {
    this.active = true;
  }

  setInactive(): void {
    this.active = false;
  }

  // ---- lifecycle ----

  /** Persists a throttled, not yet persisted state now. */
  async flush(): Promise<void> {
    if (this.persistence !== undefined) await this.persistence.flush();
  }

  /** Flushes and closes the cursor's ledger; a waiting read fails with CursorAlreadyClosed. */
  async close(): Promise<void> {
    if (this.state !== 'Open') return;
    this.state = 'Closed';
    this.failWaitingRead('closed');
    if (this.persistence !== undefined) await this.persistence.close();
    this.logger.info({ markDelete: this.markDeletePosition.toString() }, 'cursor closed');
  }

  /** Deletes the cursor's ledger and metadata node (the managed ledger's deleteCursor). */
  async remove(): Promise<void> {
    if (this.state === 'Deleted') return;
    this.state = 'Deleted';
    this.failWaitingRead('deleted');
    if (this.persistence !== undefined) await this.persistence.remove();
    this.logger.info('cursor deleted');
  }

  /** The managed ledger deleted its oldest ledgers: positions on them move to the first stored position. */
  onLedgersTrimmed(): void {
    const first = this.host.getFirstPosition();
    if (this.markDeletePosition.compareTo(first) < 0) {
      this.markDeletePosition = first;
      this.individuallyDeleted.removeAtOrBelow(first, this.countEntries);
      this.absorbFirstRange();
      // Ranges over deleted ledgers can no longer be counted piecewise: count what is left afresh.
      this.individuallyDeletedCount = this.individuallyDeleted.countEntries(this.countEntries);
    }
    const next = this.host.getNextValidPosition(this.markDeletePosition);
    if (this.readPosition.compareTo(next) < 0) this.readPosition = next;
  }

  /** The state a persist writes (read when the write starts). */
  snapshot(): CursorSnapshot {
    return {
      markDelete: this.markDeletePosition,
      ranges: (limit) => this.individuallyDeleted.toArray(limit),
      properties: this.properties,
      cursorProperties: this.cursorProperties,
    };
  }

  toString(): string {
    return `ManagedCursor(${this.host.name}/${this.name}, markDelete=${this.markDeletePosition.toString()}, read=${this.readPosition.toString()})`;
  }

  // ---- internals ----

  /**
   * While no unacknowledged entry separates the mark-delete from the first individually deleted range, the
   * mark-delete moves to that range's end and the range goes. Returns true when it moved.
   */
  private absorbFirstRange(): boolean {
    let moved = false;
    for (;;) {
      const lower = this.individuallyDeleted.firstLower();
      if (lower === undefined) break;
      if (
        lower.compareTo(this.markDeletePosition) > 0 &&
        this.host.getNextValidPosition(this.markDeletePosition).compareTo(lower) <= 0
      ) {
        break;
      }
      const upper = this.individuallyDeleted.firstUpper()!;
      this.markDeletePosition = upper;
      this.individuallyDeletedCount -= this.individuallyDeleted.removeAtOrBelow(upper, this.countEntries);
      moved = true;
    }
    return moved;
  }

  /** After the mark-delete moved: the read position stays after it, and the managed ledger may trim. */
  private movedMarkDelete(): void {
    if (this.readPosition.compareTo(this.markDeletePosition) <= 0) {
      this.readPosition = this.host.getNextValidPosition(this.markDeletePosition);
    }
    if (this.durable) this.host.onMarkDeleteMoved(this.name);
  }

  /** The read position, moved past individually deleted entries and onto an existing entry. */
  private nextReadablePosition(): Position {
    let position = this.readPosition;
    if (!this.host.isValidPosition(position) && this.isAtOrBeforeLast(position)) {
      // (L, e) past ledger L's end (it was the end when read, then L closed): the next ledger's first entry.
      position = this.host.getNextValidPosition(new Position(position.ledgerId, position.entryId - 1n));
    }
    if (!this.individuallyDeleted.isEmpty()) {
      for (;;) {
        const range = this.individuallyDeleted.rangeContaining(position);
        if (range === undefined) break;
        position = this.host.getNextValidPosition(range.upper);
      }
    }
    if (position !== this.readPosition) this.readPosition = position;
    return position;
  }

  private isAtOrBeforeLast(position: Position): boolean {
    const last = this.host.getLastConfirmedEntry();
    const order = position.compareTo(last);
    return last.entryId >= 0n ? order <= 0 : order < 0;
  }

  /**
   * The position `count` (≥ 1) entries after `start`, or the last confirmed entry when fewer follow. Entries of
   * one ledger are contiguous, so it jumps within a ledger and finds a ledger's end by binary search.
   */
  private positionAfter(start: Position, count: number): Position {
    const last = this.host.getLastConfirmedEntry();
    let current = start;
    let remaining = count;
    while (remaining > 0) {
      const next = this.host.getNextValidPosition(current);
      if (next.compareTo(last) > 0 || !this.host.isValidPosition(next)) return last;
      const wanted = new Position(next.ledgerId, next.entryId + BigInt(remaining - 1));
      if (wanted.compareTo(last) <= 0 && this.host.isValidPosition(wanted)) return wanted;
      // The ledger ends before `wanted`: find its last entry in [next, wanted).
      let lo = next.entryId;
      let hi = wanted.entryId - 1n;
      while (lo < hi) {
        const mid = (lo + hi + 1n) / 2n;
        if (this.host.isValidPosition(new Position(next.ledgerId, mid))) lo = mid;
        else hi = mid - 1n;
      }
      remaining -= Number(lo - next.entryId) + 1;
      current = new Position(next.ledgerId, lo);
    }
    return current;
  }

  private armWait(waiting: WaitingRead): void {
    waiting.cancelListener = this.host.onNextAdd(() => {
      waiting.cancelListener = undefined;
      this.checkWaitingRead();
    });
  }

  private checkWaitingRead(): void {
    const waiting = this.waiting;
    if (waiting === undefined || waiting.reading) return;
    if (!this.hasMoreEntries()) {
      if (this.host.isTerminated?.() === true) {
        this.finishWait(waiting);
        waiting.reject(this.error('NoMoreEntriesToRead', 'the managed ledger is terminated'));
      } else if (waiting.cancelListener === undefined) {
        this.armWait(waiting);
      }
      return;
    }
    waiting.reading = true;
    this.readEntries(waiting.maxEntries).then(
      (entries) => {
        if (this.waiting !== waiting) return;
        if (entries.length > 0) {
          this.finishWait(waiting);
          waiting.resolve(entries);
        } else {
          // Everything there was individually deleted: keep waiting.
          waiting.reading = false;
          this.checkWaitingRead();
        }
      },
      (err: unknown) => {
        if (this.waiting !== waiting) return;
        this.finishWait(waiting);
        waiting.reject(err);
      },
    );
  }

  private finishWait(waiting: WaitingRead): void {
    if (this.waiting === waiting) this.waiting = undefined;
    waiting.cancelListener?.();
    waiting.cancelListener = undefined;
    if (waiting.recheckTimer !== undefined) clearTimeout(waiting.recheckTimer);
    waiting.recheckTimer = undefined;
  }

  private failWaitingRead(what: string): void {
    const waiting = this.waiting;
    if (waiting === undefined) return;
    this.finishWait(waiting);
    waiting.reject(this.error('CursorAlreadyClosed', `the cursor was ${what} while a read was waiting`));
  }

  /** Why a read cannot start (closed cursor, bad count), or undefined. */
  private readRefusal(maxEntries: number, what: string): unknown {
    try {
      this.checkOpen('read');
      this.checkCount(maxEntries, what, 1);
      return undefined;
    } catch (err) {
      return err;
    }
  }

  private checkOpen(what: string): void {
    if (this.state !== 'Open') {
      throw this.error('CursorAlreadyClosed', `cannot ${what}: the cursor is ${this.state.toLowerCase()}`);
    }
  }

  /** A Position no further than the end (the entry after the last confirmed one). */
  private checkNotBeyondEnd(position: Position, what: string): void {
    checkPosition(this.host, this.name, position, what);
    const end = this.host.getNextValidPosition(this.host.getLastConfirmedEntry());
    if (position.compareTo(end) > 0) {
      throw this.error(
        'InvalidCursorPosition',
        `cannot ${what} ${position.toString()}: beyond the end of the managed ledger (${end.toString()})`,
      );
    }
  }

  private checkCount(n: number, what: string, min: number): void {
    if (!Number.isSafeInteger(n) || n < min) {
      throw this.error('InvalidArgument', `${what} needs an integer ≥ ${min}, got ${String(n)}`);
    }
  }

  private error(code: ManagedLedgerErrorCode, message: string): ManagedLedgerError {
    return new ManagedLedgerError(
      code,
      `cursor ${this.name} of managed ledger ${this.host.name}: ${message}`,
    );
  }
}

function checkName(host: CursorHost, name: string): void {
  if (typeof name !== 'string' || name === '') {
    throw new ManagedLedgerError(
      'InvalidArgument',
      `managed ledger ${host.name}: a cursor name must be a non-empty string, got ${String(name)}`,
    );
  }
}

function checkPosition(host: CursorHost, name: string, position: unknown, what: string): void {
  if (!(position instanceof Position)) {
    throw new ManagedLedgerError(
      'InvalidArgument',
      `cursor ${name} of managed ledger ${host.name}: ${what} needs a Position, got ${String(position)}`,
    );
  }
}

function checkLongProperties(host: CursorHost, name: string, properties: unknown): void {
  const ok =
    properties instanceof Map &&
    [...(properties as Map<unknown, unknown>)].every(
      ([k, v]) => typeof k === 'string' && typeof v === 'bigint',
    );
  if (!ok) {
    throw new ManagedLedgerError(
      'InvalidArgument',
      `cursor ${name} of managed ledger ${host.name}: properties must be a Map of string to bigint`,
    );
  }
}
