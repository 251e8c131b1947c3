/**
 * A map for entries that come and go at a high rate in a long-lived owner: requests in flight by txnId, adds
 * pending by entry id, messages awaiting an ack by entry id. It has Map's methods for what those owners do (get,
 * has, set, delete, size, clear, values) and keeps integer keys in a hash table of its own (open addressing,
 * linear probing, backward-shift deletion) in two flat arrays.
 *
 * Why not a Map: V8 replaces a Map's hash table whenever it grows, shrinks or fills with deleted slots, and the
 * table it replaces keeps a pointer to its successor (so that live iterators can follow) and its old entries.
 * Once the Map's table has lived through two scavenges it is in old space; from then on each dead table keeps
 * the next one, and every value stored in it, alive through scavenges: all of it is promoted and stays until the
 * next full GC. A client appending at 30k/s to one bookie had ~1.3 MB promoted and a 7-10 ms scavenge every
 * ~100 ms from its in-flight request Map alone, with ~60 requests in flight; with this table, ~0 promoted and
 * ~1 ms. Here a table is replaced only to grow or shrink, and a replaced one is plain garbage. (An object in
 * dictionary mode has no chain either, but costs ~4x a Map per operation; this table costs ~1/3 of one.)
 *
 * Keys that are integers from 0 to 2^53 - 1 take the table. Any other key (a string, a larger id) is kept in a
 * plain Map beside it, made on first use: correct, with a Map's costs. Values must not be undefined.
 */
export class ChurnMap<K extends number | string, V> {
  /**
   * Slot keys; EMPTY where a slot is free. A plain array (numbers, on V8's heap): a typed array's store is
   * external memory, and allocating it counts towards V8's external-memory GC trigger.
   */
  private keys: number[];
  private vals: Array<V | undefined>;
  /** log2 of the slot count. */
  private bits: number;
  private mask: number;
  private count = 0;
  /** Keys the table does not take. */
  private others: Map<K, V> | undefined;

  constructor() {
    this.bits = MIN_BITS;
    this.mask = (1 << MIN_BITS) - 1;
    this.keys = new Array<number>(1 << MIN_BITS).fill(EMPTY);
    this.vals = new Array<V | undefined>(1 << MIN_BITS).fill(undefined);
  }

  get size(): number {
    return this.count + (this.others?.size ?? 0);
  }

  get(key: K): V | undefined {
    if (!isTableKey(key)) return this.others?.get(key);
    const keys = this.keys;
    for (let slot = this.home(key); ; slot = (slot + 1) & this.mask) {
      const found = keys[slot];
      if (found === key) return this.vals[slot];
      if (found === EMPTY) return undefined;
    }
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V): this {
    if (!isTableKey(key)) {
      (this.others ??= new Map()).set(key, value);
      return this;
    }
    const keys = this.keys;
    for (let slot = this.home(key); ; slot = (slot + 1) & this.mask) {
      const found = keys[slot];
      if (found === key) {
        this.vals[slot] = value;
        return this;
      }
      if (found === EMPTY) {
        keys[slot] = key;
        this.vals[slot] = value;
        // At most half full, so probe runs stay short.
        if (++this.count * 2 > keys.length) this.resize(this.bits + 1);
        return this;
      }
    }
  }

  delete(key: K): boolean {
    if (!isTableKey(key)) return this.others?.delete(key) ?? false;
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let hole = this.home(key);
    for (; ; hole = (hole + 1) & mask) {
      const found = keys[hole];
      if (found === key) break;
      if (found === EMPTY) return false;
    }
    // Backward-shift deletion: move later entries of the run into the hole when their home allows, so that no
    // tombstones are needed and every lookup still stops at the first free slot.
    for (let slot = (hole + 1) & mask; keys[slot] !== EMPTY; slot = (slot + 1) & mask) {
      const home = this.home(keys[slot]!);
      // The entry at `slot` may move back to `hole` unless its home lies cyclically in (hole, slot].
      const homeAfterHole = (home - hole - 1) & mask;
      const slotAfterHole = (slot - hole - 1) & mask;
      if (homeAfterHole <= slotAfterHole) continue;
      keys[hole] = keys[slot]!;
      vals[hole] = vals[slot];
      hole = slot;
    }
    keys[hole] = EMPTY;
    vals[hole] = undefined;
    this.count--;
    // Shrink a large table that emptied out after a burst, to a quarter full at most. Small ones stay: a table
    // that grows and shrinks with every tick's adds allocates as much as the Map did.
    if (this.bits > SHRINK_FLOOR_BITS && this.count * 8 < keys.length) this.resize(this.bits - 1);
    return true;
  }

  clear(): void {
    this.bits = MIN_BITS;
    this.mask = (1 << MIN_BITS) - 1;
    this.keys = new Array<number>(1 << MIN_BITS).fill(EMPTY);
    this.vals = new Array<V | undefined>(1 << MIN_BITS).fill(undefined);
    this.count = 0;
    this.others = undefined;
  }

  /**
   * The values as an array of their own (the map may change while the caller goes through them), in no
   * particular order.
   */
  values(): V[] {
    const out: V[] = [];
    const keys = this.keys;
    for (let slot = 0; slot < keys.length; slot++) if (keys[slot] !== EMPTY) out.push(this.vals[slot]!);
    if (this.others !== undefined) for (const value of this.others.values()) out.push(value);
    return out;
  }

  /** As values(), ordered by key: the table's keys ascending, then the other keys in the order they were set. */
  valuesByKey(): V[] {
    const slots: number[] = [];
    const keys = this.keys;
    for (let slot = 0; slot < keys.length; slot++) if (keys[slot] !== EMPTY) slots.push(slot);
    slots.sort((a, b) => keys[a]! - keys[b]!);
    const out: V[] = slots.map((slot) => this.vals[slot]!);
    if (this.others !== undefined) for (const value of this.others.values()) out.push(value);
    return out;
  }

  /** The slot a key hashes to: Fibonacci hashing of its two 32-bit halves, so strided ids spread too. */
  private home(key: number): number {
    const mixed = Math.imul((key | 0) ^ ((key / 4294967296) | 0), 0x9e3779b1);
    return (mixed >>> (32 - this.bits)) & this.mask;
  }

  private resize(bits: number): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    this.bits = bits;
    this.mask = (1 << bits) - 1;
    this.keys = new Array<number>(1 << bits).fill(EMPTY);
    this.vals = new Array<V | undefined>(1 << bits).fill(undefined);
    const keys = this.keys;
    for (let old = 0; old < oldKeys.length; old++) {
      const key = oldKeys[old]!;
      if (key === EMPTY) continue;
      let slot = this.home(key);
      while (keys[slot] !== EMPTY) slot = (slot + 1) & this.mask;
      keys[slot] = key;
      this.vals[slot] = oldVals[old];
    }
  }
}

const MAX_SAFE_ID = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A bigint id (an entry id, a ledger id) as a ChurnMap key: the number when exact, as every id is in practice,
 * so it takes the table; its decimal digits above 2^53.
 */
export function churnKey(id: bigint): number | string {
  return id <= MAX_SAFE_ID && id >= 0n ? Number(id) : id.toString();
}

/** log2 of the smallest table: 16 slots. */
const MIN_BITS = 4;
/** Tables of up to 2^10 slots are never shrunk. */
const SHRINK_FLOOR_BITS = 10;
const EMPTY = -1;

function isTableKey(key: number | string): key is number {
  return typeof key === 'number' && Number.isSafeInteger(key) && key >= 0;
}
