import { appendFileSync, existsSync, readdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  CorruptEntryError,
  EntryLogger,
  InvalidEntryError,
  locationOffset,
  StorageClosedError,
  WriteCacheFullError,
} from '../../../../bookie/storage';
import type { DbLedgerStorage } from '../../../../bookie/storage';
import { DigestMismatchError } from '../../../../protocol';
import { captureError, eventually, TempDirs } from '../../../harness';
import {
  int32,
  metricValue,
  openStorage,
  packedEntry,
  payloadOf,
  verifiedPayload,
  writeAt,
} from './storage-fixtures';

/*
 * DbLedgerStorage against real RocksDB indexes and real entry log files: what a bookie (and through it a
 * client) observes across the write cache, flushes, the read cache and reopening.
 */

const MASTER_KEY = Buffer.alloc(20, 0xab);

describe('bookie > storage > DbLedgerStorage', () => {
  const temp = new TempDirs();
  let dir: string;
  const open: Array<DbLedgerStorage> = [];
  const start = async (options: Parameters<typeof openStorage>[1] = {}, dirs = [dir]) => {
    const opened = await openStorage(dirs, options);
    open.push(opened.storage);
    return opened;
  };
  const reopen = async (storage: DbLedgerStorage, options: Parameters<typeof openStorage>[1] = {}) => {
    await storage.close();
    return start(options);
  };

  beforeEach(() => {
    dir = temp.make('db-ledger-storage-');
  });
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((storage) => storage.close()));
    temp.removeAll();
  });

  function addRange(storage: DbLedgerStorage, ledgerId: bigint, from: number, to: number, size = 100): void {
    for (let e = from; e < to; e++)
      storage.addEntry(packedEntry(ledgerId, BigInt(e), payloadOf(ledgerId, BigInt(e), size)));
  }

  async function expectEntries(
    storage: DbLedgerStorage,
    ledgerId: bigint,
    from: number,
    to: number,
    size = 100,
  ) {
    for (let e = from; e < to; e++) {
      const body = await storage.getEntry(ledgerId, BigInt(e));
      expect(body).toBeDefined();
      expect(body!.equals(packedEntry(ledgerId, BigInt(e), payloadOf(ledgerId, BigInt(e), size)))).toBe(true);
    }
  }

  test('entries read back byte-identical from the write cache, after a flush, and after reopening', async () => {
    let { storage } = await start();
    await storage.setMasterKey(1n, MASTER_KEY);
    addRange(storage, 1n, 0, 500);
    addRange(storage, 2n, 0, 50);
    await expectEntries(storage, 1n, 0, 500);
    expect(storage.writeCacheBytes).toBeGreaterThan(0);
    await storage.flush();
    expect(storage.writeCacheBytes).toBe(0);
    await expectEntries(storage, 1n, 0, 500);
    ({ storage } = await reopen(storage));
    await expectEntries(storage, 1n, 0, 500);
    await expectEntries(storage, 2n, 0, 50);
    expect(await storage.getEntry(1n, 500n)).toBeUndefined();
    expect(await storage.getEntry(3n, 0n)).toBeUndefined();
    expect(await storage.listLedgers()).toEqual([1n, 2n]);
  });

  test('the last entry and the entry list combine the caches and the index', async () => {
    const { storage } = await start();
    expect(await storage.getLastEntryId(1n)).toBeUndefined();
    expect(await storage.getEntry(1n, -1n)).toBeUndefined();
    addRange(storage, 1n, 0, 10);
    await storage.flush();
    addRange(storage, 1n, 10, 12);
    expect(await storage.getLastEntryId(1n)).toBe(11n);
    expect((await storage.getEntry(1n, -1n))!.equals(packedEntry(1n, 11n))).toBe(true);
    // A gap, as a striped ledger leaves on one bookie: only stored ids are listed.
    storage.addEntry(packedEntry(1n, 20n));
    expect(await storage.getEntryIds(1n)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n, 20n]);
    await storage.flush();
    expect(await storage.getLastEntryId(1n)).toBe(20n);
    expect((await storage.getEntry(1n, -1n))!.equals(packedEntry(1n, 20n))).toBe(true);
    expect(await storage.getEntryIds(1n)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n, 20n]);
  });

  test('cold reads fill the read cache by reading ahead in the entry log', async () => {
    let { storage, metrics } = await start();
    addRange(storage, 1n, 0, 300);
    await storage.close();
    ({ storage, metrics } = await start());
    await expectEntries(storage, 1n, 0, 300);
    const misses = await metricValue(metrics, 'bookie_dbstorage_read_cache_misses');
    const hits = await metricValue(metrics, 'bookie_dbstorage_read_cache_hits');
    // dbStorage_readAheadCacheBatchSize = 100: each miss reads the next 99 entries ahead.
    expect(misses).toBe(3);
    expect(hits).toBe(300 - misses);
  });

  test('on a striped ledger (every other entry here) read-ahead covers the stored ids of the next 100', async () => {
    let { storage, metrics } = await start();
    for (let e = 0n; e < 400n; e += 2n) storage.addEntry(packedEntry(3n, e));
    await storage.close();
    ({ storage, metrics } = await start());
    for (let e = 0n; e < 400n; e++) {
      const body = await storage.getEntry(3n, e);
      if (e % 2n === 0n) expect({ e, same: body?.equals(packedEntry(3n, e)) }).toEqual({ e, same: true });
      else expect({ e, body }).toEqual({ e, body: undefined });
    }
    // Ids 0..99 hold 50 of this bookie's entries: one read-ahead per 100 ids, four for the ledger; each of the
    // 200 ids it does not hold is a miss too.
    expect(await metricValue(metrics, 'bookie_dbstorage_read_cache_misses')).toBe(4 + 200);
  });

  test('concurrent cold reads of consecutive entries share the read-ahead in progress instead of each reading', async () => {
    let { storage } = await start();
    addRange(storage, 1n, 0, 300);
    ({ storage } = await reopen(storage));
    const blockReads = jest.spyOn(EntryLogger.prototype, 'readBlock');
    try {
      // A pipelining reader: all 300 reads are asked for before the first read-ahead completes.
      const bodies = await Promise.all(
        Array.from({ length: 300 }, (_, e) => storage.getEntry(1n, BigInt(e))),
      );
      bodies.forEach((body, e) =>
        expect(body?.equals(packedEntry(1n, BigInt(e), payloadOf(1n, BigInt(e), 100)))).toBe(true),
      );
      // One read-ahead of 100 entries (dbStorage_readAheadCacheBatchSize) per range, not one per read.
      expect(blockReads).toHaveBeenCalledTimes(3);
    } finally {
      blockReads.mockRestore();
    }
  });

  test('re-adding an entry replaces it, in the cache, after a flush, and over a read-cached copy', async () => {
    let { storage } = await start();
    const v1 = packedEntry(1n, 1n, payloadOf(1n, 1n, 100, 1));
    const v2 = packedEntry(1n, 1n, payloadOf(1n, 1n, 120, 2));
    const v3 = packedEntry(1n, 1n, payloadOf(1n, 1n, 80, 3));
    storage.addEntry(packedEntry(1n, 0n));
    storage.addEntry(v1);
    storage.addEntry(packedEntry(1n, 2n));
    storage.addEntry(v2);
    expect((await storage.getEntry(1n, 1n))!.equals(v2)).toBe(true);
    await storage.flush();
    ({ storage } = await reopen(storage));
    // Reading entry 0 reads ahead and caches entry 1 (v2); then v3 replaces it.
    expect((await storage.getEntry(1n, 0n))!.equals(packedEntry(1n, 0n))).toBe(true);
    storage.addEntry(v3);
    expect((await storage.getEntry(1n, 1n))!.equals(v3)).toBe(true);
    await storage.flush();
    expect((await storage.getEntry(1n, 1n))!.equals(v3)).toBe(true);
    ({ storage } = await reopen(storage));
    expect((await storage.getEntry(1n, 1n))!.equals(v3)).toBe(true);
    expect(await storage.getEntryIds(1n)).toEqual([0n, 1n, 2n]);
  });

  test('when both write caches are full, adds fail with WriteCacheFullError, the flush started then is announced when it ends, and nothing is dropped', async () => {
    const { storage } = await start({ config: { dbStorage_writeCacheMaxSizeMb: 1 } });
    let freed = 0;
    storage.onWriteCacheFreed(() => freed++);
    // A burst that never yields: the first full cache is swapped and flushed in the background, but the flush
    // cannot run before the burst ends, so the second cache fills too.
    let accepted = 0;
    let refused: unknown;
    for (let e = 0; e < 10_000; e++) {
      try {
        storage.addEntry(packedEntry(1n, BigInt(e), payloadOf(1n, BigInt(e), 1000)));
        accepted++;
      } catch (err) {
        refused = err;
        break;
      }
    }
    expect(refused).toBeInstanceOf(WriteCacheFullError);
    expect(accepted).toBeGreaterThan(900);
    // The flush the full cache started ends, and says so.
    await eventually('the background flushes to end', () => (freed >= 1 ? true : undefined), 10_000);
    await storage.flush();
    storage.addEntry(packedEntry(1n, BigInt(accepted), payloadOf(1n, BigInt(accepted), 1000)));
    await expectEntries(storage, 1n, 0, accepted + 1, 1000);
  });

  test('adds that arrive while a flush runs are kept, and a flush() waits for every add made before it', async () => {
    let { storage } = await start({ config: { dbStorage_writeCacheMaxSizeMb: 8 } });
    addRange(storage, 1n, 0, 2000, 1000);
    const first = storage.flush();
    let e = 2000;
    let done = false;
    void first.then(() => (done = true));
    while (!done) {
      // As a bookie would: an add refused for a full cache is answered ETOOMANYREQUESTS and the client retries.
      try {
        storage.addEntry(packedEntry(1n, BigInt(e), payloadOf(1n, BigInt(e), 1000)));
        e++;
        if (e % 10 === 0) await nextTurn();
      } catch (err) {
        expect(err).toBeInstanceOf(WriteCacheFullError);
        await nextTurn();
      }
    }
    expect(e).toBeGreaterThan(2000);
    const second = storage.flush();
    addRange(storage, 2n, 0, 10);
    const third = storage.flush();
    await second;
    await third;
    expect(storage.writeCacheBytes).toBe(0);
    ({ storage } = await reopen(storage));
    await expectEntries(storage, 1n, 0, e, 1000);
    await expectEntries(storage, 2n, 0, 10);
  });

  test('ledger info (master key, fenced, explicit LAC) is kept in memory and survives flush and reopen', async () => {
    let { storage } = await start();
    expect(await storage.getLedgerInfo(5n)).toBeUndefined();
    await storage.setMasterKey(5n, MASTER_KEY);
    await storage.setMasterKey(5n, Buffer.alloc(20, 1)); // the first key stays
    expect(await storage.setFenced(5n)).toBe(true);
    expect(await storage.setFenced(5n)).toBe(false);
    await storage.setExplicitLac(5n, Buffer.from('lac-blob'));
    await storage.setExplicitLac(6n, Buffer.from('other'));
    const expected = {
      ledgerId: 5n,
      masterKey: MASTER_KEY,
      fenced: true,
      explicitLac: Buffer.from('lac-blob'),
    };
    expect(storage.peekLedgerInfo(5n)).toEqual(expected);
    await storage.flush();
    ({ storage } = await reopen(storage));
    expect(storage.peekLedgerInfo(5n)).toEqual(expected);
    expect(await storage.getLedgerInfo(5n)).toEqual(expected);
    expect(await storage.getLedgerInfo(6n)).toEqual({
      ledgerId: 6n,
      masterKey: Buffer.alloc(0),
      fenced: false,
      explicitLac: Buffer.from('other'),
    });
    // A ledger known only through its entries has a record too, without a key until one is set.
    storage.addEntry(packedEntry(7n, 0n));
    await storage.flush();
    expect(storage.peekLedgerInfo(7n)).toEqual({
      ledgerId: 7n,
      masterKey: Buffer.alloc(0),
      fenced: false,
      explicitLac: undefined,
    });
    await storage.setMasterKey(7n, MASTER_KEY);
    expect(storage.peekLedgerInfo(7n)?.masterKey).toEqual(MASTER_KEY);
  });

  test('deleteLedger removes entries and info, in caches, index and after reopen; other ledgers stay', async () => {
    let { storage } = await start();
    await storage.setMasterKey(1n, MASTER_KEY);
    await storage.setMasterKey(2n, MASTER_KEY);
    addRange(storage, 1n, 0, 100);
    addRange(storage, 2n, 0, 100);
    await storage.flush();
    addRange(storage, 1n, 100, 110);
    await expectEntries(storage, 1n, 0, 10); // read cache holds some of ledger 1 now
    await storage.deleteLedger(1n);
    expect(await storage.getEntry(1n, 5n)).toBeUndefined();
    expect(await storage.getEntry(1n, 105n)).toBeUndefined();
    expect(await storage.getLastEntryId(1n)).toBeUndefined();
    expect(await storage.getEntryIds(1n)).toEqual([]);
    expect(await storage.getLedgerInfo(1n)).toBeUndefined();
    expect(await storage.listLedgers()).toEqual([2n]);
    ({ storage } = await reopen(storage));
    expect(await storage.getEntry(1n, 5n)).toBeUndefined();
    expect(await storage.listLedgers()).toEqual([2n]);
    await expectEntries(storage, 2n, 0, 100);
  });

  test('a log left as a crash leaves it (no ledgers map, a torn tail) is scanned on open and stays usable', async () => {
    let { storage } = await start();
    addRange(storage, 1n, 0, 200);
    addRange(storage, 2n, 0, 200);
    await storage.close();
    // Undo the clean close: no map offset in the header, and half a record of junk after the last entry.
    const log = join(dir, 'current', '0.log');
    const mapOffset = Number(readFileSync(log).readBigInt64BE(8));
    writeAt(log, 8, Buffer.alloc(12));
    truncateSync(log, mapOffset);
    appendFileSync(log, Buffer.concat([int32(500), Buffer.alloc(100, 0x33)]));
    ({ storage } = await start());
    const [scanned] = storage.listEntryLogs();
    expect(scanned!.totalBytes).toBe(400 * (4 + packedEntry(1n, 0n).length));
    expect(scanned!.usage).toBe(1);
    await expectEntries(storage, 1n, 0, 200);
    await expectEntries(storage, 2n, 0, 200);
    addRange(storage, 1n, 200, 210);
    await storage.flush();
    ({ storage } = await reopen(storage));
    await expectEntries(storage, 1n, 0, 210);
    await storage.runGc({ ledgerExistsInMetadata: async (ledgerId) => ledgerId === 2n });
    expect(storage.listEntryLogs().find((l) => l.logId === 0)!.usage).toBeCloseTo(0.5, 2);
    await expectEntries(storage, 2n, 0, 200);
  });

  test('a flipped payload byte on disk is served as stored; the client digest rejects it', async () => {
    let { storage } = await start();
    addRange(storage, 1n, 0, 3);
    await storage.close();
    const log = join(dir, 'current', '0.log');
    const bytes = readFileSync(log);
    const entry1 = bytes.indexOf(packedEntry(1n, 1n));
    writeAt(log, entry1 + 60, Buffer.from([bytes[entry1 + 60]! ^ 0x80]));
    ({ storage } = await start());
    const stored = await storage.getEntry(1n, 1n);
    expect(stored).toBeDefined();
    expect(stored!.equals(packedEntry(1n, 1n))).toBe(false);
    expect(() => verifiedPayload(1n, 1n, stored!)).toThrow(DigestMismatchError);
    await expectEntries(storage, 1n, 2, 3);
  });

  test('a corrupt size or a ledger mismatch in a log fails that read with CorruptEntryError; storage keeps working', async () => {
    let { storage } = await start({ config: { dbStorage_readAheadCacheBatchSize: 1 } });
    addRange(storage, 1n, 0, 3);
    addRange(storage, 2n, 0, 3);
    await storage.close();
    const log = join(dir, 'current', '0.log');
    const bytes = readFileSync(log);
    const sizeOf = (ledgerId: bigint, entryId: bigint): number =>
      bytes.indexOf(packedEntry(ledgerId, entryId)) - 4;
    writeAt(log, sizeOf(1n, 1n), int32(-5));
    // Ledger 2's entry 0 now claims to belong to ledger 9.
    writeAt(log, sizeOf(2n, 0n) + 4, Buffer.from('0000000000000009', 'hex'));
    ({ storage } = await start({ config: { dbStorage_readAheadCacheBatchSize: 1 } }));
    await expect(storage.getEntry(1n, 1n)).rejects.toBeInstanceOf(CorruptEntryError);
    await expect(storage.getEntry(2n, 0n)).rejects.toBeInstanceOf(CorruptEntryError);
    await expect(storage.getEntry(2n, -1n)).resolves.toEqual(packedEntry(2n, 2n));
    await expectEntries(storage, 1n, 2, 3);
    addRange(storage, 3n, 0, 5);
    await storage.flush();
    await expectEntries(storage, 3n, 0, 5);
  });

  test('bad entries are refused with InvalidEntryError and never stored', async () => {
    const { storage } = await start({ config: { dbStorage_writeCacheMaxSizeMb: 1 } });
    const negativeLedger = packedEntry(1n, 0n);
    negativeLedger.writeBigInt64BE(-3n, 0);
    const negativeEntry = packedEntry(1n, 0n);
    negativeEntry.writeBigInt64BE(-1n, 8);
    const hugeEntryId = packedEntry(1n, 0n);
    hugeEntryId.writeBigInt64BE(2n ** 60n, 8);
    for (const bad of [
      Buffer.alloc(15),
      negativeLedger,
      negativeEntry,
      hugeEntryId,
      packedEntry(1n, 0n, Buffer.alloc(600_000)),
    ]) {
      expect(captureError(() => storage.addEntry(bad))).toBeInstanceOf(InvalidEntryError);
    }
    expect(await storage.listLedgers()).toEqual([]);
    expect(await storage.getEntry(1n, 2n ** 60n)).toBeUndefined();
    expect(await storage.getEntry(1n, -7n)).toBeUndefined();
  });

  test('with several ledger directories a ledger lives in directory ledgerId mod count; indexes can go elsewhere', async () => {
    const dirs = [temp.make('dir0-'), temp.make('dir1-')];
    const indexDir = temp.make('index-');
    let { storage } = await start({ indexDir }, dirs);
    for (const ledgerId of [10n, 11n, 12n]) addRange(storage, ledgerId, 0, 20);
    await storage.flush();
    expect(storage.listEntryLogs().map((log) => log.ledgerDir)).toEqual(dirs);
    expect(existsSync(join(indexDir, 'ledger-dir-0', 'current', 'locations'))).toBe(true);
    expect(existsSync(join(dirs[0]!, 'current', 'locations'))).toBe(false);
    await storage.close();
    ({ storage } = await openStorage(dirs, { indexDir }));
    open.push(storage);
    for (const ledgerId of [10n, 11n, 12n]) await expectEntries(storage, ledgerId, 0, 20);
    expect(await storage.listLedgers()).toEqual([10n, 11n, 12n]);
    // Ledger 11 is the only one in the second directory.
    const logs = storage.listEntryLogs();
    expect(logs.find((log) => log.ledgerDir === dirs[1])!.liveLedgers).toBe(1);
  });

  test('after close every call reports StorageClosedError', async () => {
    const { storage } = await start();
    await storage.close();
    expect(captureError(() => storage.addEntry(packedEntry(1n, 0n)))).toBeInstanceOf(StorageClosedError);
    await expect(storage.getEntry(1n, 0n)).rejects.toBeInstanceOf(StorageClosedError);
    await expect(storage.flush()).rejects.toBeInstanceOf(StorageClosedError);
    await storage.close();
  });

  test('metrics count flushes, flushed bytes and the write cache size', async () => {
    const { storage, metrics } = await start();
    addRange(storage, 1n, 0, 10);
    await storage.flush();
    expect(await metricValue(metrics, 'bookie_dbstorage_flush_total')).toBe(1);
    expect(await metricValue(metrics, 'bookie_dbstorage_flush_size_bytes')).toBe(
      10 * (4 + packedEntry(1n, 0n).length),
    );
    expect(await metricValue(metrics, 'bookie_dbstorage_write_cache_size_bytes')).toBe(0);
  });

  describe('pacing of flushes nobody waits for', () => {
    // 2,000 entries of ~1 KiB: about 8 stretches of 256 KiB, so about 8 pauses when paced.
    const ENTRIES = 2000;
    const pauses = (metrics: Awaited<ReturnType<typeof start>>['metrics']) =>
      metricValue(metrics, 'bookie_dbstorage_flush_pauses_total');

    test('a background flush pauses between stretches, and its entries are indexed and readable as any', async () => {
      const { storage, metrics } = await start();
      addRange(storage, 1n, 0, ENTRIES, 1000);
      await storage.flush({ background: true });
      expect(await pauses(metrics)).toBeGreaterThanOrEqual(6);
      expect(storage.writeCacheBytes).toBe(0);
      const { storage: reopened } = await reopen(storage);
      await expectEntries(reopened, 1n, 0, ENTRIES, 1000);
    });

    test('a flush someone waits for does not pause, and hurries a background flush that is running', async () => {
      const { storage, metrics } = await start();
      addRange(storage, 1n, 0, ENTRIES, 1000);
      await storage.flush();
      expect(await pauses(metrics)).toBe(0);
      addRange(storage, 1n, ENTRIES, 2 * ENTRIES, 1000);
      const background = storage.flush({ background: true });
      await storage.flush();
      await background;
      expect(await pauses(metrics)).toBe(0);
      await expectEntries(storage, 1n, 0, 2 * ENTRIES, 1000);
    });

    test('a paced flush stops pausing once adds fill the active cache faster than it writes the frozen one', async () => {
      const { storage, metrics } = await start();
      addRange(storage, 1n, 0, ENTRIES, 1000);
      const flushed = storage.flush({ background: true });
      await nextTurn(); // the caches have swapped; the flush is under way
      // The test config's caches hold 2 MiB each: 1,100 more entries fill more than half of the active one, and
      // a paced flush pauses only while the share it has written, halved, is above the active cache's fill.
      addRange(storage, 2n, 0, 1100, 1000);
      const pausesBefore = await pauses(metrics);
      await flushed;
      expect(await pauses(metrics)).toBe(pausesBefore);
      await expectEntries(storage, 2n, 0, 1100, 1000);
    });

    test('the flush an add starts when the active cache fills is paced while no more adds arrive', async () => {
      const { storage, metrics } = await start();
      // 2,100 entries of ~1 KiB overflow the 2 MiB active cache: the add that does not fit swaps the caches and
      // starts a flush of the full one; nothing hurries it.
      addRange(storage, 1n, 0, 2100, 1000);
      expect(await metricValue(metrics, 'bookie_dbstorage_flush_total')).toBe(0);
      await eventually('the flush to end', async () =>
        (await metricValue(metrics, 'bookie_dbstorage_flush_total')) === 1 ? true : undefined,
      );
      expect(await pauses(metrics)).toBeGreaterThanOrEqual(4);
      await storage.flush();
      await expectEntries(storage, 1n, 0, 2100, 1000);
    });
  });

  test('the locations index takes dbStorage_rocksDB_writeBufferSizeMB as its memtable; the ledgers index keeps 4 MB', async () => {
    const { storage } = await start({ config: { dbStorage_rocksDB_writeBufferSizeMB: 16 } });
    addRange(storage, 1n, 0, 10);
    await storage.flush();
    const writeBufferSize = (index: string): number => {
      const indexDir = join(dir, 'current', index);
      const options = readdirSync(indexDir).filter((name) => name.startsWith('OPTIONS-'));
      expect(options.length).toBeGreaterThan(0);
      const text = readFileSync(join(indexDir, options.sort().at(-1)!), 'utf8');
      return Number(/^\s*write_buffer_size=(\d+)$/m.exec(text)![1]);
    };
    expect(writeBufferSize('locations')).toBe(16 * 1024 * 1024);
    expect(writeBufferSize('ledgers')).toBe(4 * 1024 * 1024);
  });

  test("RocksDB's compaction threads run at nice 10, its memtable flushes at the process's priority", async () => {
    await start();
    const threads = readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // After "(comm) ": the line's 3rd field (state) onwards; nice is the 19th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return {
        tid: Number(tid),
        name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
        nice: Number(fields[16]),
      };
    });
    const main = threads.find((thread) => thread.tid === process.pid)!;
    const compactions = threads.filter((thread) => thread.name.startsWith('rocksdb:low'));
    const flushes = threads.filter((thread) => thread.name.startsWith('rocksdb:high'));
    expect(compactions.length).toBeGreaterThan(0);
    expect(flushes.length).toBeGreaterThan(0);
    for (const thread of compactions) expect(thread.nice).toBe(10);
    for (const thread of flushes) expect(thread.nice).toBe(main.nice);
  });

  test("the entry log layout on disk is BookKeeper's: <ledgerDir>/current/<hex>.log beside the RocksDB indexes", async () => {
    const { storage } = await start({ config: { entryLogSizeLimit: 64 * 1024 } });
    addRange(storage, 1n, 0, 1000);
    await storage.flush();
    const logs = storage.listEntryLogs();
    expect(logs.length).toBeGreaterThan(2);
    expect(logs.filter((log) => log.current)).toHaveLength(1);
    const files = readdirSync(join(dir, 'current'));
    for (const log of logs) expect(files).toContain(log.fileName);
    expect(files).toEqual(expect.arrayContaining(['locations', 'ledgers', 'lastId']));
    expect(locationOffset(2 ** 32 + 1028)).toBe(1028);
  });
});
