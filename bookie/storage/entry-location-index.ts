import { readLocation, writeLocation, LOCATION_BYTES } from './entry-location';
import type { EntryLocation } from './entry-location';
import { readEntryIdNumber, writeEntryIdNumber } from './packed-entry-ids';
import { RocksDb } from './rocks-db';
import type { RocksBatch, RocksDbOptions } from './rocks-db';
import { CorruptIndexError } from './storage-errors';

/*
 * The "locations" RocksDB of DbLedgerStorage (reference §3): key ledgerId (8 BE) ‖ entryId (8 BE) -> location
 * (8 BE, entry-location.ts). Big-endian keys sort by ledger, then entry, so a ledger is one key range: its last
 * entry is the first key of a reverse scan, its entries one forward scan, its deletion one range of deletes.
 */

const KEY_BYTES = 16;
/** Deletes per synced batch when a ledger is removed: bounds the batch's memory for huge ledgers. */
const DELETE_BATCH_MAX = 10000;

export interface IndexedEntry {
  readonly entryId: number;
  readonly location: EntryLocation;
}

/** Location updates gathered during a flush or compaction, written atomically and synced by commit(). */
export class LocationBatch {
  // One key and one value buffer for the whole batch: the native batch copies on put.
  private readonly key = Buffer.alloc(KEY_BYTES);
  private readonly value = Buffer.alloc(LOCATION_BYTES);
  /** The ledger whose id the key holds: a flush puts a ledger's entries one after another. */
  private keyLedgerId: bigint | undefined;

  constructor(private readonly batch: RocksBatch) {}

  put(ledgerId: bigint, entryId: number, location: EntryLocation): void {
    if (ledgerId !== this.keyLedgerId) {
      this.key.writeBigUInt64BE(ledgerId, 0);
      this.keyLedgerId = ledgerId;
    }
    writeEntryIdNumber(this.key, entryId, 8);
    writeLocation(this.value, location);
    this.batch.put(this.key, this.value);
  }

  get length(): number {
    return this.batch.length;
  }

  commit(): Promise<void> {
    return this.batch.write({ sync: true });
  }
}

export class EntryLocationIndex {
  private constructor(private readonly db: RocksDb) {}

  static async open(dir: string, options: RocksDbOptions = {}): Promise<EntryLocationIndex> {
    return new EntryLocationIndex(await RocksDb.open(dir, options));
  }

  newBatch(): LocationBatch {
    return new LocationBatch(this.db.batch());
  }

  async getLocation(ledgerId: bigint, entryId: number): Promise<EntryLocation | undefined> {
    const value = await this.db.get(entryKey(ledgerId, entryId));
    return value === undefined ? undefined : decodeLocation(value, ledgerId, entryId);
  }

  /** Locations of many entries in one RocksDB call; undefined where absent. */
  async getLocations(
    keys: ReadonlyArray<{ ledgerId: bigint; entryId: number }>,
  ): Promise<Array<EntryLocation | undefined>> {
    const values = await this.db.getMany(keys.map((k) => entryKey(k.ledgerId, k.entryId)));
    return values.map((value, i) =>
      value === undefined ? undefined : decodeLocation(value, keys[i]!.ledgerId, keys[i]!.entryId),
    );
  }

  /** The ledger's highest indexed entry: the first key of a reverse scan of its range. */
  async lastEntry(ledgerId: bigint): Promise<IndexedEntry | undefined> {
    let last: IndexedEntry | undefined;
    await this.db.forEach({ ...ledgerRange(ledgerId), reverse: true, limit: 1 }, (key, value) => {
      const entryId = decodeEntryId(key);
      last = { entryId, location: decodeLocation(value, ledgerId, entryId) };
    });
    return last;
  }

  /**
   * The indexed entries among fromEntryId .. fromEntryId+count−1, ascending (read-ahead), in one multi-get. An
   * iterator over the same range cost the event loop about half as much again per entry (each row a key and a
   * value Buffer, a callback and a promise) besides its creation; entry ids are dense, so the keys are known.
   */
  async indexedFrom(ledgerId: bigint, fromEntryId: number, count: number): Promise<IndexedEntry[]> {
    const ids = Array.from({ length: count }, (_, i) => ({ ledgerId, entryId: fromEntryId + i }));
    const locations = await this.getLocations(ids);
    const found: IndexedEntry[] = [];
    locations.forEach((location, i) => {
      if (location !== undefined) found.push({ entryId: fromEntryId + i, location });
    });
    return found;
  }

  /** Every indexed entry id of the ledger, ascending. */
  async entryIds(ledgerId: bigint): Promise<number[]> {
    const ids: number[] = [];
    await this.db.forEach({ ...ledgerRange(ledgerId), values: false }, (key) => {
      ids.push(decodeEntryId(key));
    });
    return ids;
  }

  /** Removes every location of the ledger, in synced batches; returns how many. */
  async deleteLedger(ledgerId: bigint): Promise<number> {
    let deleted = 0;
    for (;;) {
      const batch = this.db.batch();
      await this.db.forEach({ ...ledgerRange(ledgerId), values: false, limit: DELETE_BATCH_MAX }, (key) => {
        batch.del(key);
      });
      if (batch.length === 0) return deleted;
      await batch.write({ sync: true });
      deleted += batch.length;
    }
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

function entryKey(ledgerId: bigint, entryId: number): Buffer {
  const key = Buffer.allocUnsafe(KEY_BYTES);
  key.writeBigUInt64BE(ledgerId, 0);
  writeEntryIdNumber(key, entryId, 8);
  return key;
}

/** [ledgerId ‖ 0, ledgerId + 1 ‖ 0): every key of the ledger. */
function ledgerRange(ledgerId: bigint): { gte: Buffer; lt: Buffer } {
  const gte = Buffer.alloc(KEY_BYTES);
  gte.writeBigUInt64BE(ledgerId, 0);
  const lt = Buffer.alloc(KEY_BYTES);
  // Stored ledger ids are below 2^63 (packed-entry-ids.ts), so ledgerId + 1 fits.
  lt.writeBigUInt64BE(ledgerId + 1n, 0);
  return { gte, lt };
}

function decodeEntryId(key: Buffer): number {
  const entryId = key.length === KEY_BYTES ? readEntryIdNumber(key, 8) : undefined;
  if (entryId === undefined)
    throw new CorruptIndexError(`location index key ${key.toString('hex')} is not an entry`);
  return entryId;
}

function decodeLocation(value: Buffer, ledgerId: bigint, entryId: number): EntryLocation {
  const location = value.length === LOCATION_BYTES ? readLocation(value) : undefined;
  if (location === undefined) {
    throw new CorruptIndexError(
      `location of entry ${ledgerId}/${entryId} is corrupt (${value.toString('hex')})`,
    );
  }
  return location;
}
