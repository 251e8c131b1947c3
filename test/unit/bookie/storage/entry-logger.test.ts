import fs, { appendFileSync, constants, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../../../common';
import {
  CorruptEntryError,
  decodeEntryLogHeader,
  decodeLedgersMap,
  ENTRY_LOG_HEADER_BYTES,
  entryLocation,
  EntryLogger,
  EntryLogMissingError,
  locationLogId,
  locationOffset,
} from '../../../../bookie/storage';
import type { EntryLocation } from '../../../../bookie/storage';
import { DigestMismatchError } from '../../../../protocol';
import { takesDirectIo, TempDirs } from '../../../harness';
import { int32, packedEntry, payloadOf, verifiedPayload, writeAt } from './storage-fixtures';

const KIB = 1024;

function openLogger(
  dir: string,
  directWrites: boolean,
  entryLogSizeLimit = 1024 * KIB,
): Promise<EntryLogger> {
  return EntryLogger.open({
    dir,
    entryLogSizeLimit,
    entryBytesMax: 4096 * KIB,
    logger: silentLogger(),
    directWrites,
  });
}

describe.each([
  ['through the page cache', false],
  ['direct writes', true],
])('bookie > storage > entry logger (%s)', (_mode, directWrites) => {
  const temp = new TempDirs();
  let dir: string;
  const open = (entryLogSizeLimit = 1024 * KIB): Promise<EntryLogger> =>
    openLogger(dir, directWrites, entryLogSizeLimit);

  beforeEach(() => {
    dir = join(temp.make('entry-logger-'), 'current');
  });
  afterEach(() => temp.removeAll());

  /** Appends entries (ledgerId, entryId) and returns their locations. */
  function appendAll(logger: EntryLogger, entries: Array<[bigint, bigint]>, size = 100): EntryLocation[] {
    return entries.map(([ledgerId, entryId]) => {
      const entry = packedEntry(ledgerId, entryId, payloadOf(ledgerId, entryId, size));
      return logger.append(ledgerId, entry, 0, entry.length);
    });
  }

  async function expectReadable(
    logger: EntryLogger,
    entries: Array<[bigint, bigint]>,
    locations: EntryLocation[],
    size = 100,
  ): Promise<void> {
    for (const [i, [ledgerId, entryId]] of entries.entries()) {
      const entry = await logger.readEntry(locations[i]!, ledgerId, Number(entryId));
      // Buffer.equals: jest's deep equality walks a payload byte by byte, seconds for a few MiB.
      const same = verifiedPayload(ledgerId, entryId, entry).equals(payloadOf(ledgerId, entryId, size));
      expect({ ledgerId, entryId, same }).toEqual({ ledgerId, entryId, same: true });
    }
  }

  const range = (ledgerId: bigint, count: number): Array<[bigint, bigint]> =>
    Array.from({ length: count }, (_, e) => [ledgerId, BigInt(e)]);

  test('appended entries are readable after sync; the first record starts after the 1024-byte header', async () => {
    const logger = await open();
    const entries = range(1n, 10);
    const locations = appendAll(logger, entries);
    await logger.sync();
    expect(locations[0]).toBe(entryLocation(0, ENTRY_LOG_HEADER_BYTES + 4));
    await expectReadable(logger, entries, locations);
    await logger.close();
    expect(readdirSync(dir).sort()).toEqual(['0.log', 'lastId']);
  });

  test('past entryLogSizeLimit the log is rotated, ending in a ledgers map that its header points at', async () => {
    const logger = await open(64 * KIB);
    const entries = [...range(1n, 300), ...range(2n, 300)];
    const locations = appendAll(logger, entries, 200);
    await logger.sync();
    const logIds = [...new Set(locations.map(locationLogId))];
    expect(logIds.length).toBeGreaterThanOrEqual(3);
    for (const location of locations) expect(locationOffset(location)).toBeLessThan(64 * KIB);
    // Every log but the current one is complete: header -> map -> per-ledger bytes (size ints included).
    for (const logId of logIds.slice(0, -1)) {
      const bytes = readFileSync(join(dir, `${logId.toString(16)}.log`));
      const header = decodeEntryLogHeader(bytes)!;
      expect(header.ledgersMapOffset).toBeGreaterThan(ENTRY_LOG_HEADER_BYTES);
      const ledgers = decodeLedgersMap(bytes.subarray(header.ledgersMapOffset), header.ledgersCount);
      const expected = new Map<bigint, number>();
      entries.forEach(([ledgerId], i) => {
        if (locationLogId(locations[i]!) !== logId) return;
        expected.set(
          ledgerId,
          (expected.get(ledgerId) ?? 0) + 4 + packedEntry(ledgerId, 0n, payloadOf(1n, 0n, 200)).length,
        );
      });
      expect(ledgers).toEqual(expected);
    }
    await expectReadable(logger, entries, locations, 200);
    await logger.close();
  });

  test('after a clean close, reopening reads each log from its ledgers map and continues with a new log id', async () => {
    let logger = await open(64 * KIB);
    const entries = range(7n, 500);
    const locations = appendAll(logger, entries);
    await logger.close();
    logger = await open(64 * KIB);
    const status = logger.status();
    expect(status.reduce((sum, log) => sum + log.totalBytes, 0)).toBe(500 * (4 + packedEntry(7n, 0n).length));
    await expectReadable(logger, entries, locations);
    const [next] = appendAll(logger, [[7n, 500n]]);
    expect(locationLogId(next!)).toBe(Math.max(...status.map((log) => log.logId)) + 1);
    await logger.close();
  });

  test('many MiB appended between syncs (many bufferfuls, rotations among them) read back whole', async () => {
    // 20 KB entries, 12 MB per sync against 3 MiB logs: the 1 MiB buffer fills a dozen times between syncs, and
    // each rotation's header is written after the log's first bufferful.
    const logger = await open(3 * 1024 * KIB);
    const entries = [...range(1n, 300), ...range(2n, 300)];
    const locations = appendAll(logger, entries, 20_000);
    await logger.sync();
    await expectReadable(logger, entries, locations, 20_000);
    const more = range(3n, 150);
    const moreLocations = appendAll(logger, more, 20_000);
    await logger.close();
    const logIds = [...new Set([...locations, ...moreLocations].map(locationLogId))];
    expect(logIds.length).toBeGreaterThanOrEqual(5);
    for (const logId of logIds) {
      const bytes = readFileSync(join(dir, `${logId.toString(16)}.log`));
      const header = decodeEntryLogHeader(bytes)!;
      expect(header.ledgersMapOffset).toBeGreaterThan(ENTRY_LOG_HEADER_BYTES);
      expect(
        decodeLedgersMap(bytes.subarray(header.ledgersMapOffset), header.ledgersCount).size,
      ).toBeGreaterThan(0);
    }
    const reopened = await open(3 * 1024 * KIB);
    const recordBytes = 4 + packedEntry(1n, 0n, payloadOf(1n, 0n, 20_000)).length;
    expect(reopened.status().reduce((sum, log) => sum + log.totalBytes, 0)).toBe(750 * recordBytes);
    await expectReadable(reopened, [...entries, ...more], [...locations, ...moreLocations], 20_000);
    await reopened.close();
  }, 20_000);

  test('a log without a ledgers map (the current one when the bookie died) is scanned and fully usable', async () => {
    const crashed = await open();
    const entries = [...range(1n, 50), ...range(3n, 20)];
    const locations = appendAll(crashed, entries);
    await crashed.sync();
    // No close: the log keeps a zero map offset, as after a crash.
    expect(decodeEntryLogHeader(readFileSync(join(dir, '0.log')))!.ledgersMapOffset).toBe(0);
    const logger = await open();
    const [log] = logger.status();
    expect(log!.totalBytes).toBe(70 * (4 + packedEntry(1n, 0n).length));
    await expectReadable(logger, entries, locations);
    let scanned = 0;
    expect(await logger.scan(0, (chunk) => void (scanned += chunk.entries.length))).toBe(true);
    expect(scanned).toBe(70);
    await logger.close();
  });

  test.each([
    ['a record cut short', (): Buffer => Buffer.concat([int32(5000), Buffer.alloc(100, 7)])],
    ['a size int cut short', (): Buffer => Buffer.from([0, 0])],
    ['junk', (): Buffer => Buffer.alloc(3000, 0xff)],
    ['zeros (preallocated space)', (): Buffer => Buffer.alloc(3000)],
  ])('a torn tail (%s) after the last entry is ignored on reopen', async (_what, tail) => {
    const crashed = await open();
    const entries = range(1n, 30);
    const locations = appendAll(crashed, entries);
    await crashed.sync();
    appendFileSync(join(dir, '0.log'), tail());
    const logger = await open();
    expect(logger.status()[0]!.totalBytes).toBe(30 * (4 + packedEntry(1n, 0n).length));
    await expectReadable(logger, entries, locations);
    // New entries go to a new log, never after the junk.
    const [next] = appendAll(logger, [[1n, 30n]]);
    expect(locationLogId(next!)).toBe(1);
    await logger.sync();
    await expectReadable(logger, [[1n, 30n]], [next!]);
    await logger.close();
  });

  test('a flipped payload byte is returned as stored; the client digest catches it', async () => {
    const logger = await open();
    const [location] = appendAll(logger, [[1n, 0n]]);
    await logger.sync();
    const payloadByte = locationOffset(location!) + 40 + 10;
    flipByte(join(dir, '0.log'), payloadByte);
    const stored = await logger.readEntry(location!, 1n, 0);
    expect(stored.equals(packedEntry(1n, 0n))).toBe(false);
    expect(stored.length).toBe(packedEntry(1n, 0n).length);
    expect(() => verifiedPayload(1n, 0n, stored)).toThrow(DigestMismatchError);
    await logger.close();
  });

  test('a corrupt size int, or ids other than the index promised, fail that read with CorruptEntryError', async () => {
    const logger = await open();
    const locations = appendAll(logger, range(1n, 3));
    await logger.sync();
    const sizeOfSecond = locationOffset(locations[1]!) - 4;
    writeAt(join(dir, '0.log'), sizeOfSecond, int32(0x7fffffff));
    await expect(logger.readEntry(locations[1]!, 1n, 1)).rejects.toBeInstanceOf(CorruptEntryError);
    writeAt(join(dir, '0.log'), sizeOfSecond, int32(3));
    await expect(logger.readEntry(locations[1]!, 1n, 1)).rejects.toBeInstanceOf(CorruptEntryError);
    await expect(logger.readEntry(locations[0]!, 2n, 0)).rejects.toThrow(/holds 1\/0/);
    await expect(logger.readEntry(locations[0]!, 1n, 1)).rejects.toBeInstanceOf(CorruptEntryError);
    await expect(logger.readEntry(entryLocation(0, 10), 1n, 0)).rejects.toBeInstanceOf(CorruptEntryError);
    await expect(logger.readEntry(entryLocation(0, 1 << 30), 1n, 0)).rejects.toBeInstanceOf(
      CorruptEntryError,
    );
    await expect(logger.readEntry(entryLocation(9, 2000), 1n, 0)).rejects.toBeInstanceOf(
      EntryLogMissingError,
    );
    // The neighbours are untouched, and a scan stops at the damage and says so.
    expect(verifiedPayload(1n, 2n, await logger.readEntry(locations[2]!, 1n, 2))).toEqual(payloadOf(1n, 2n));
    let scanned = 0;
    expect(await logger.scan(0, (chunk) => void (scanned += chunk.entries.length))).toBe(false);
    expect(scanned).toBe(1);
    await logger.close();
  });

  test('entries larger than the write buffer are written whole and read back whole', async () => {
    const logger = await open(8 * 1024 * KIB);
    const big = packedEntry(5n, 0n, Buffer.alloc(1536 * KIB, 0x5a));
    const small = packedEntry(5n, 1n);
    const first = logger.append(5n, small, 0, small.length);
    const second = logger.append(5n, big, 0, big.length);
    const third = logger.append(5n, small, 0, small.length);
    await logger.sync();
    expect((await logger.readEntry(first, 5n, 1)).equals(small)).toBe(true);
    expect((await logger.readEntry(second, 5n, 0)).equals(big)).toBe(true);
    expect((await logger.readEntry(third, 5n, 1)).equals(small)).toBe(true);
    let scanned = 0;
    expect(await logger.scan(0, (chunk) => void (scanned += chunk.entries.length))).toBe(true);
    expect(scanned).toBe(3);
    await logger.close();
  });

  test('a deleted log is gone from disk and reads of it report the log missing', async () => {
    const logger = await open(16 * KIB);
    const locations = appendAll(logger, range(1n, 200));
    await logger.sync();
    logger.markRotatedLogsIndexed();
    const [oldest] = logger.collectableLogs();
    expect(oldest!.logId).toBe(0);
    await logger.readEntry(locations[1]!, 1n, 1); // the log's read handle is open
    const stillReading = logger.readEntry(locations[0]!, 1n, 0);
    expect(logger.deleteLog(0)).toBeGreaterThan(ENTRY_LOG_HEADER_BYTES);
    expect(readdirSync(dir)).not.toContain('0.log');
    // A read that already held the file finishes; a new one finds the log gone.
    expect(verifiedPayload(1n, 0n, await stillReading)).toEqual(payloadOf(1n, 0n));
    await expect(logger.readEntry(locations[0]!, 1n, 0)).rejects.toBeInstanceOf(EntryLogMissingError);
    await logger.close();
  });
});

function flipByte(path: string, position: number): void {
  const byte = readFileSync(path)[position]!;
  writeAt(path, position, Buffer.from([byte ^ 0x01]));
}

describe('bookie > storage > entry logger > direct writes', () => {
  const temp = new TempDirs();
  afterEach(() => temp.removeAll());
  const open = openLogger;

  /** The open flags of this process's descriptors on `path`, from /proc/self/fdinfo. */
  function openFlagsOf(path: string): number[] {
    return readdirSync('/proc/self/fd').flatMap((fd) => {
      let target: string;
      try {
        target = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return [];
      }
      if (target !== path) return [];
      const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'));
      return flags === null ? [] : [Number.parseInt(flags[1]!, 8)];
    });
  }

  function appendEntries(logger: EntryLogger, ledgerId: bigint, from: number, count: number, size: number) {
    return Array.from({ length: count }, (_, i) => {
      const entry = packedEntry(ledgerId, BigInt(from + i), payloadOf(ledgerId, BigInt(from + i), size));
      return logger.append(ledgerId, entry, 0, entry.length);
    });
  }

  test('the current log is written through a descriptor opened with O_DIRECT', async () => {
    const dir = join(temp.make('entry-logger-direct-'), 'current');
    const direct = takesDirectIo(dir);
    const logger = await open(dir, true);
    appendEntries(logger, 1n, 0, 3, 100);
    await logger.sync();
    expect(logger.writesDirect).toBe(direct);
    const flags = openFlagsOf(join(dir, '0.log'));
    expect(flags.some((f) => (f & constants.O_DIRECT) !== 0)).toBe(direct);
    await logger.close();
    // Without the option, no descriptor of the next log has it.
    const plain = await open(dir, false);
    appendEntries(plain, 1n, 3, 1, 100);
    expect(plain.writesDirect).toBe(false);
    expect(openFlagsOf(join(dir, '1.log')).every((f) => (f & constants.O_DIRECT) === 0)).toBe(true);
    await plain.close();
  });

  test('syncs that end mid-block: the file ends at the last record, and a reopen after a crash reads every entry', async () => {
    const dir = join(temp.make('entry-logger-direct-'), 'current');
    const crashed = await open(dir, true, 64 * 1024 * KIB);
    // Odd sizes (some past the 1 MiB buffer) so that syncs end mid-block and the next write continues in it.
    const locations: EntryLocation[] = [];
    const entries: Array<[bigint, bigint, number]> = [];
    let logicalEnd = ENTRY_LOG_HEADER_BYTES;
    for (let round = 0; round < 40; round++) {
      const size = round % 10 === 9 ? 1100 * KIB + round : 37 + round * 211;
      locations.push(...appendEntries(crashed, 2n, round, 1, size));
      entries.push([2n, BigInt(round), size]);
      logicalEnd += 4 + packedEntry(2n, BigInt(round), payloadOf(2n, BigInt(round), size)).length;
      if (round % 3 !== 1) await crashed.sync();
      // No close, as after a crash: nothing lies past the last record, not even padding to a block.
      if (round % 3 !== 1) expect(statSync(join(dir, '0.log')).size).toBe(logicalEnd);
    }
    const logger = await open(dir, true, 64 * 1024 * KIB);
    expect(logger.status()[0]!.totalBytes).toBe(logicalEnd - ENTRY_LOG_HEADER_BYTES);
    for (const [i, [ledgerId, entryId, size]] of entries.entries()) {
      const entry = await logger.readEntry(locations[i]!, ledgerId, Number(entryId));
      expect(verifiedPayload(ledgerId, entryId, entry).equals(payloadOf(ledgerId, entryId, size))).toBe(true);
    }
    let scanned = 0;
    await logger.scan(0, (chunk) => void (scanned += chunk.entries.length));
    expect(scanned).toBe(40);
    await logger.close();
  });

  test.each([
    ['a whole-block O_DIRECT write', (length: number): boolean => length % 4096 === 0],
    ['a page-cache write of a partial block', (length: number): boolean => length % 4096 !== 0],
  ])(
    '%s failing (ENOSPC) abandons the log; synced entries stay readable, new ones go to a new log',
    async (_what, isTarget) => {
      const dir = join(temp.make('entry-logger-direct-'), 'current');
      const logger = await open(dir, true, 64 * 1024 * KIB);
      const synced = appendEntries(logger, 4n, 0, 30, 3000);
      await logger.sync();
      const realWriteSync = fs.writeSync;
      let failed = 0;
      const spy = jest.spyOn(fs, 'writeSync').mockImplementation(((
        ...args: Parameters<typeof fs.writeSync>
      ) => {
        const length = args[3];
        if (failed === 0 && typeof length === 'number' && isTarget(length)) {
          failed++;
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        return realWriteSync(...args);
      }) as typeof fs.writeSync);
      try {
        // Entries of 3000 bytes: the buffer fills (a whole-block write) or a sync writes a partial block.
        let thrown: unknown;
        try {
          for (let i = 30; i < 800 && thrown === undefined; i++) {
            appendEntries(logger, 4n, i, 1, 3000);
            if (i % 100 === 0) await logger.sync();
          }
        } catch (err) {
          thrown = err;
        }
        expect(failed).toBe(1);
        expect((thrown as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        spy.mockRestore();
      }
      for (const [i, location] of synced.entries()) {
        const entry = await logger.readEntry(location, 4n, i);
        expect(verifiedPayload(4n, BigInt(i), entry).equals(payloadOf(4n, BigInt(i), 3000))).toBe(true);
      }
      const [next] = appendEntries(logger, 4n, 1000, 1, 3000);
      expect(locationLogId(next!)).toBe(1);
      await logger.sync();
      expect(
        verifiedPayload(4n, 1000n, await logger.readEntry(next!, 4n, 1000)).equals(
          payloadOf(4n, 1000n, 3000),
        ),
      ).toBe(true);
      await logger.close();
    },
  );

  test('sealed logs are byte for byte the ones the page-cache path writes (header, records, ledgers map)', async () => {
    const root = temp.make('entry-logger-direct-');
    const write = async (dir: string, directWrites: boolean): Promise<void> => {
      const logger = await open(dir, directWrites, 1024 * KIB);
      // Unaligned sizes, a record larger than the write buffer, rotations, and syncs in between.
      for (let round = 0; round < 12; round++) {
        for (let ledger = 1n; ledger <= 5n; ledger++)
          appendEntries(logger, ledger, round * 10, 10, 1000 + round * 997);
        if (round === 5) appendEntries(logger, 9n, 0, 1, 1300 * KIB);
        if (round % 3 === 0) await logger.sync();
      }
      await logger.close();
    };
    await write(join(root, 'plain'), false);
    await write(join(root, 'direct'), true);
    const names = readdirSync(join(root, 'plain')).sort();
    expect(readdirSync(join(root, 'direct')).sort()).toEqual(names);
    expect(names.length).toBeGreaterThanOrEqual(4);
    for (const name of names) {
      const same = readFileSync(join(root, 'plain', name)).equals(readFileSync(join(root, 'direct', name)));
      expect({ name, same }).toEqual({ name, same: true });
    }
  });

  /**
   * Counts fs.write (thread pool) and whole-block fs.writeSync calls; `fail` makes the first fs.write fail,
   * `delayMs` holds each fs.write back that long before it starts.
   */
  function watchWrites(
    fail?: NodeJS.ErrnoException,
    delayMs = 0,
  ): { background: number; wholeSync: number; restore(): void } {
    const counts = { background: 0, wholeSync: 0 };
    const realWrite = fs.write;
    const realWriteSync = fs.writeSync;
    const write = jest.spyOn(fs, 'write').mockImplementation(((...args: unknown[]) => {
      counts.background++;
      if (fail !== undefined && counts.background === 1) {
        const callback = args[args.length - 1] as (
          error: NodeJS.ErrnoException | null,
          bytes: number,
        ) => void;
        setImmediate(() => callback(fail, 0));
        return;
      }
      if (delayMs === 0) return (realWrite as (...a: unknown[]) => void)(...args);
      setTimeout(() => (realWrite as (...a: unknown[]) => void)(...args), delayMs);
    }) as typeof fs.write);
    const writeSync = jest.spyOn(fs, 'writeSync').mockImplementation(((
      ...args: Parameters<typeof fs.writeSync>
    ) => {
      const length = args[3];
      if (typeof length === 'number' && length > 0 && length % 4096 === 0) counts.wholeSync++;
      return realWriteSync(...args);
    }) as typeof fs.writeSync);
    return Object.assign(counts, {
      restore: () => {
        write.mockRestore();
        writeSync.mockRestore();
      },
    });
  }

  test('full buffers go to the device on the thread pool while appends fill the other buffer; sync waits for them', async () => {
    const dir = join(temp.make('entry-logger-direct-'), 'current');
    if (!takesDirectIo(dir)) return expect(takesDirectIo(dir)).toBe(false);
    const logger = await open(dir, true, 64 * 1024 * KIB);
    const writes = watchWrites();
    const locations: EntryLocation[] = [];
    let wholeSyncBeforeSync: number;
    try {
      // 8 MiB in 256 KiB stretches, with a turn of the event loop and writesSettled() between them, as a flush appends.
      for (let stretch = 0; stretch < 32; stretch++) {
        locations.push(...appendEntries(logger, 6n, stretch * 64, 64, 4000));
        await new Promise((resolve) => setImmediate(resolve));
        await logger.writesSettled();
      }
      wholeSyncBeforeSync = writes.wholeSync;
      await logger.sync();
    } finally {
      writes.restore();
    }
    // Every full buffer but the log's first went in the background (the spare was free each time). The first holds
    // the header's block, which rotation rewrites; sync() writes its last whole blocks itself before fdatasync.
    expect(writes.background).toBeGreaterThanOrEqual(6);
    expect(wholeSyncBeforeSync).toBe(1);
    expect(statSync(join(dir, '0.log')).size).toBe(logger.status()[0]!.totalBytes + ENTRY_LOG_HEADER_BYTES);
    for (const [i, location] of locations.entries()) {
      const entry = await logger.readEntry(location, 6n, i);
      expect(verifiedPayload(6n, BigInt(i), entry).equals(payloadOf(6n, BigInt(i), 4000))).toBe(true);
    }
    await logger.close();
  });

  test('a background write that fails (EIO) fails the next sync and abandons the log; synced entries stay readable', async () => {
    const dir = join(temp.make('entry-logger-direct-'), 'current');
    if (!takesDirectIo(dir)) return expect(takesDirectIo(dir)).toBe(false);
    const logger = await open(dir, true, 64 * 1024 * KIB);
    const synced = appendEntries(logger, 7n, 0, 30, 3000);
    await logger.sync();
    const writes = watchWrites(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }));
    let thrown: unknown;
    try {
      // Past one buffer, so its whole blocks go in the background (and fail).
      appendEntries(logger, 7n, 30, 400, 3000);
      await logger.sync();
    } catch (err) {
      thrown = err;
    } finally {
      writes.restore();
    }
    expect(writes.background).toBeGreaterThanOrEqual(1);
    expect((thrown as NodeJS.ErrnoException).code).toBe('EIO');
    for (const [i, location] of synced.entries()) {
      const entry = await logger.readEntry(location, 7n, i);
      expect(verifiedPayload(7n, BigInt(i), entry).equals(payloadOf(7n, BigInt(i), 3000))).toBe(true);
    }
    // The failed log takes no more appends; a retry writes a new one, and it is whole.
    const retried = appendEntries(logger, 7n, 30, 400, 3000);
    expect(new Set(retried.map(locationLogId))).toEqual(new Set([1]));
    await logger.sync();
    for (const [i, location] of retried.entries()) {
      const entry = await logger.readEntry(location, 7n, 30 + i);
      expect(verifiedPayload(7n, BigInt(30 + i), entry).equals(payloadOf(7n, BigInt(30 + i), 3000))).toBe(
        true,
      );
    }
    await logger.close();
  });

  test('a rotation while earlier buffers are still being written leaves every header whole and every entry readable', async () => {
    const dir = join(temp.make('entry-logger-direct-'), 'current');
    if (!takesDirectIo(dir)) return expect(takesDirectIo(dir)).toBe(false);
    const logger = await open(dir, true, 2048 * KIB);
    // Each background write starts 30 ms late: the logs rotate (headers written) while writes are in flight.
    const writes = watchWrites(undefined, 30);
    const locations: EntryLocation[] = [];
    try {
      for (let stretch = 0; stretch < 24; stretch++) {
        locations.push(...appendEntries(logger, 8n, stretch * 64, 64, 4000));
        if (stretch % 4 === 3) await new Promise((resolve) => setImmediate(resolve));
      }
      await logger.sync();
    } finally {
      writes.restore();
    }
    expect(writes.background).toBeGreaterThanOrEqual(1);
    await logger.close();
    const reopened = await open(dir, true, 2048 * KIB);
    const names = readdirSync(dir).filter((name) => name.endsWith('.log'));
    expect(names.length).toBeGreaterThanOrEqual(3);
    for (const name of names) {
      const header = decodeEntryLogHeader(readFileSync(join(dir, name)).subarray(0, ENTRY_LOG_HEADER_BYTES))!;
      expect({ name, mapped: header.ledgersMapOffset > 0 }).toEqual({ name, mapped: true });
    }
    for (const [i, location] of locations.entries()) {
      const entry = await reopened.readEntry(location, 8n, i);
      expect(verifiedPayload(8n, BigInt(i), entry).equals(payloadOf(8n, BigInt(i), 4000))).toBe(true);
    }
    await reopened.close();
  });
});
