/*
 * One of the two write caches of DbLedgerStorage (reference §3): entries added since the last flush, in memory.
 *
 * Entries are copied into large slab segments (allocated and written once when the cache is made, kept across
 * flushes), so an add costs a memcpy and a few typed-array writes, never a Buffer of its own. Written once up
 * front as Java's zeroed direct buffers are: the first write to a fresh page costs a page fault, and on a VM the
 * host's first touch on top; copying 1 KiB entries into never-touched memory took 3.6 us each on the bench
 * machine against 0.09 us once touched, and a fresh bookie under bench/client-write E=3 spent 955 ms of its main
 * thread on those copies, ~8% of it, all of them on the add path. The index is per ledger: parallel typed
 * arrays (entryId, offset, length) in arrival order, plus a Map entryId -> slot once the ids stop being one
 * dense run. Entries of a ledger almost always arrive in entryId order, so the sorted iteration a flush needs is
 * usually the arrival order; otherwise it is sorted once. Re-adding an entry points its slot at the new copy
 * (the old bytes stay until clear()).
 *
 * A full cache refuses the add (put returns false): DbLedgerStorage then swaps caches or reports
 * WriteCacheFullError. Not thread-safe; everything runs on the event loop.
 */

/** Slab size; also the largest entry a cache can hold. */
const SEGMENT_BYTES_MAX = 64 * 1024 * 1024;
const INITIAL_SLOTS = 64;

class LedgerEntries {
  entryIds = new Float64Array(INITIAL_SLOTS);
  offsets = new Float64Array(INITIAL_SLOTS);
  lengths = new Uint32Array(INITIAL_SLOTS);
  count = 0;
  firstEntryId = Number.POSITIVE_INFINITY;
  lastEntryId = -1;
  /**
   * entryId -> slot, built only once entries stop arriving as one dense run: while entry ids are exactly
   * base, base+1, base+2, ... (a writer's normal stream) the slot is entryId - base and no map is needed.
   */
  private slots: Map<number, number> | undefined;
  private baseEntryId = 0;
  /** True while every new entryId was above all earlier ones: slot order is entryId order. */
  private arrivedInOrder = true;
  private sortedSlots: Uint32Array | undefined;

  /** Records the entry at `offset`; false if it replaced an earlier copy. */
  put(entryId: number, offset: number, length: number): boolean {
    const existing = this.slotOf(entryId);
    if (existing !== undefined) {
      this.offsets[existing] = offset;
      this.lengths[existing] = length;
      return false;
    }
    if (this.count === this.entryIds.length) this.grow();
    const slot = this.count++;
    this.entryIds[slot] = entryId;
    this.offsets[slot] = offset;
    this.lengths[slot] = length;
    if (slot === 0) this.baseEntryId = entryId;
    if (this.slots === undefined && entryId !== this.baseEntryId + slot) {
      this.slots = new Map();
      for (let i = 0; i < slot; i++) this.slots.set(this.entryIds[i]!, i);
    }
    this.slots?.set(entryId, slot);
    if (entryId < this.lastEntryId) this.arrivedInOrder = false;
    if (entryId > this.lastEntryId) this.lastEntryId = entryId;
    if (entryId < this.firstEntryId) this.firstEntryId = entryId;
    this.sortedSlots = undefined;
    return true;
  }

  slotOf(entryId: number): number | undefined {
    if (this.slots !== undefined) return this.slots.get(entryId);
    const slot = entryId - this.baseEntryId;
    return slot >= 0 && slot < this.count ? slot : undefined;
  }

  /** The slot at sorted position `index` (entryId order). */
  slotAt(index: number): number {
    if (this.arrivedInOrder) return index;
    if (this.sortedSlots === undefined) {
      const order = new Uint32Array(this.count);
      for (let i = 0; i < this.count; i++) order[i] = i;
      const ids = this.entryIds;
      order.sort((a, b) => ids[a]! - ids[b]!);
      this.sortedSlots = order;
    }
    return this.sortedSlots[index]!;
  }

  private grow(): void {
    const size = this.entryIds.length * 2;
    const entryIds = new Float64Array(size);
    entryIds.set(this.entryIds);
    const offsets = new Float64Array(size);
    offsets.set(this.offsets);
    const lengths = new Uint32Array(size);
    lengths.set(this.lengths);
    this.entryIds = entryIds;
    this.offsets = offsets;
    this.lengths = lengths;
  }
}

/** Called per entry by forEachEntry; return true to pause the walk (it can be resumed where it stopped). */
export type WriteCacheVisitor = (
  entryId: number,
  segment: Buffer,
  start: number,
  length: number,
) => boolean | void;

export class WriteCache {
  /** The largest entry this cache can ever hold. */
  readonly maxEntryBytes: number;
  private readonly segmentBytes: number;
  private readonly segments: Buffer[] = [];
  private readonly ledgers = new Map<bigint, LedgerEntries>();
  /** Next free byte, across segments: segment = floor(position / segmentBytes). */
  private position = 0;
  private entries = 0;

  constructor(readonly capacityBytes: number) {
    this.segmentBytes = Math.min(capacityBytes, SEGMENT_BYTES_MAX);
    this.maxEntryBytes = this.segmentBytes;
    for (let start = 0; start < capacityBytes; start += this.segmentBytes) {
      this.segments.push(Buffer.allocUnsafeSlow(Math.min(this.segmentBytes, capacityBytes - start)).fill(0));
    }
  }

  /** Bytes used, including copies that a re-add replaced. */
  get sizeBytes(): number {
    return this.position;
  }

  get count(): number {
    return this.entries;
  }

  get isEmpty(): boolean {
    return this.entries === 0;
  }

  /** Copies the entry in; false (nothing changed) when there is no room for it. */
  put(ledgerId: bigint, entryId: number, entry: Buffer): boolean {
    const length = entry.length;
    let offset = this.position;
    const inSegment = offset % this.segmentBytes;
    // An entry never straddles two segments: skip the rest of this one.
    if (inSegment + length > this.segmentBytes) offset += this.segmentBytes - inSegment;
    if (offset + length > this.capacityBytes) return false;
    const segmentIndex = Math.floor(offset / this.segmentBytes);
    entry.copy(this.segments[segmentIndex]!, offset - segmentIndex * this.segmentBytes);
    this.position = offset + length;
    let ledger = this.ledgers.get(ledgerId);
    if (ledger === undefined) {
      ledger = new LedgerEntries();
      this.ledgers.set(ledgerId, ledger);
    }
    if (ledger.put(entryId, offset, length)) this.entries++;
    return true;
  }

  /** A copy of the cached entry, or undefined. */
  get(ledgerId: bigint, entryId: number): Buffer | undefined {
    const ledger = this.ledgers.get(ledgerId);
    const slot = ledger?.slotOf(entryId);
    if (ledger === undefined || slot === undefined) return undefined;
    const offset = ledger.offsets[slot]!;
    const length = ledger.lengths[slot]!;
    const segmentIndex = Math.floor(offset / this.segmentBytes);
    const start = offset - segmentIndex * this.segmentBytes;
    const copy = Buffer.allocUnsafe(length);
    this.segments[segmentIndex]!.copy(copy, 0, start, start + length);
    return copy;
  }

  hasLedger(ledgerId: bigint): boolean {
    return this.ledgers.has(ledgerId);
  }

  lastEntryId(ledgerId: bigint): number | undefined {
    return this.ledgers.get(ledgerId)?.lastEntryId;
  }

  /** The [first, last] entry ids cached for the ledger. */
  entryRange(ledgerId: bigint): { first: number; last: number } | undefined {
    const ledger = this.ledgers.get(ledgerId);
    return ledger === undefined ? undefined : { first: ledger.firstEntryId, last: ledger.lastEntryId };
  }

  /** Cached entry ids of the ledger, ascending. */
  entryIds(ledgerId: bigint): number[] {
    const ledger = this.ledgers.get(ledgerId);
    if (ledger === undefined) return [];
    const ids = new Array<number>(ledger.count);
    for (let i = 0; i < ledger.count; i++) ids[i] = ledger.entryIds[ledger.slotAt(i)]!;
    return ids;
  }

  /** Ledgers with cached entries, ascending. */
  ledgerIds(): bigint[] {
    return [...this.ledgers.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * Visits the ledger's entries in entryId order from sorted position `from`. Returns the position to resume at
   * when the visitor paused, or -1 when every entry was visited.
   */
  forEachEntry(ledgerId: bigint, visit: WriteCacheVisitor, from = 0): number {
    const ledger = this.ledgers.get(ledgerId);
    if (ledger === undefined) return -1;
    for (let i = from; i < ledger.count; i++) {
      const slot = ledger.slotAt(i);
      const offset = ledger.offsets[slot]!;
      const segmentIndex = Math.floor(offset / this.segmentBytes);
      const start = offset - segmentIndex * this.segmentBytes;
      if (
        visit(ledger.entryIds[slot]!, this.segments[segmentIndex]!, start, ledger.lengths[slot]!) === true
      ) {
        return i + 1 < ledger.count ? i + 1 : -1;
      }
    }
    return -1;
  }

  /** Forgets a deleted ledger's entries (their bytes are reclaimed once the cache is empty). */
  deleteLedger(ledgerId: bigint): void {
    const ledger = this.ledgers.get(ledgerId);
    if (ledger === undefined) return;
    this.entries -= ledger.count;
    this.ledgers.delete(ledgerId);
    if (this.entries === 0) this.clear();
  }

  /** Empties the cache, keeping its segments for reuse. */
  clear(): void {
    this.ledgers.clear();
    this.position = 0;
    this.entries = 0;
  }
}
