import { ChurnMap, churnKey } from '../../../common';
import type { Position } from '../../../managed-ledger';

/** A value that knows its own position (what PositionMap stores). */
export interface Positioned {
  readonly position: Position;
}

/**
 * A map keyed by managed-ledger position, as two levels (ledgerId, then entryId), so a lookup allocates nothing —
 * Pulsar's ConcurrentLongLongPairHashMap for pending acks and redelivery sets. Each ledger's level is a ChurnMap:
 * a message is added at delivery and removed at its ack, and a Map there got every pending ack promoted.
 */
export class PositionMap<V extends Positioned> {
  private readonly ledgers = new Map<bigint, ChurnMap<number | string, V>>();
  private count = 0;
  /** What sorted() returned, until the next change. */
  private sortedCache: V[] | undefined;

  get size(): number {
    return this.count;
  }

  get(position: Position): V | undefined {
    return this.ledgers.get(position.ledgerId)?.get(churnKey(position.entryId));
  }

  has(position: Position): boolean {
    return this.get(position) !== undefined;
  }

  /** Stores `value` at its position; returns the value it replaced. */
  set(value: V): V | undefined {
    const { ledgerId, entryId } = value.position;
    let entries = this.ledgers.get(ledgerId);
    if (entries === undefined) {
      entries = new ChurnMap();
      this.ledgers.set(ledgerId, entries);
    }
    const key = churnKey(entryId);
    const previous = entries.get(key);
    entries.set(key, value);
    this.sortedCache = undefined;
    if (previous === undefined) this.count++;
    return previous;
  }

  /** Removes and returns the value at `position`. */
  delete(position: Position): V | undefined {
    const entries = this.ledgers.get(position.ledgerId);
    const key = churnKey(position.entryId);
    const value = entries?.get(key);
    if (value === undefined) return undefined;
    entries!.delete(key);
    if (entries!.size === 0) this.ledgers.delete(position.ledgerId);
    this.count--;
    this.sortedCache = undefined;
    return value;
  }

  /** Removes and returns every value at or before `position`. */
  deleteAtOrBefore(position: Position): V[] {
    const removed: V[] = [];
    for (const [ledgerId, entries] of this.ledgers) {
      if (ledgerId > position.ledgerId) continue;
      for (const value of entries.values()) {
        const { entryId } = value.position;
        if (ledgerId < position.ledgerId || entryId <= position.entryId) {
          entries.delete(churnKey(entryId));
          removed.push(value);
        }
      }
      if (entries.size === 0) this.ledgers.delete(ledgerId);
    }
    this.count -= removed.length;
    if (removed.length > 0) this.sortedCache = undefined;
    return removed;
  }

  clear(): void {
    this.ledgers.clear();
    this.count = 0;
    this.sortedCache = undefined;
  }

  /** Every value, in no particular order. */
  *values(): IterableIterator<V> {
    for (const entries of this.ledgers.values()) yield* entries.values();
  }

  /** Every value in position order (kept until the next change: do not modify the array). */
  sorted(): readonly V[] {
    if (this.sortedCache !== undefined) return this.sortedCache;
    const out: V[] = [];
    const ledgerIds = [...this.ledgers.keys()].sort(compareBigInt);
    for (const ledgerId of ledgerIds) {
      const entries = this.ledgers.get(ledgerId)!.values();
      entries.sort((a, b) => compareBigInt(a.position.entryId, b.position.entryId));
      for (const value of entries) out.push(value);
    }
    this.sortedCache = out;
    return out;
  }
}

function compareBigInt(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
