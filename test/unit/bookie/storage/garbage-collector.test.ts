import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CompactionStep, DbLedgerStorage, GcOptions } from '../../../../bookie/storage';
import { TempDirs } from '../../../harness';
import { metricValue, openStorage, packedEntry, payloadOf } from './storage-fixtures';

/*
 * Garbage collection and compaction on real entry logs and RocksDB: which ledgers and logs go, that live
 * entries stay readable (byte-identical, also after reopening), and that a compaction stopped at any step
 * loses nothing.
 */

const KIB = 1024;
const LOG_LIMIT = 64 * KIB;

describe('bookie > storage > garbage collection', () => {
  const temp = new TempDirs();
  let dir: string;
  const open: DbLedgerStorage[] = [];
  const start = async (options: Parameters<typeof openStorage>[1] = {}) => {
    const opened = await openStorage([dir], {
      ...options,
      config: { entryLogSizeLimit: LOG_LIMIT, ...options.config },
    });
    open.push(opened.storage);
    return opened;
  };

  beforeEach(() => {
    dir = temp.make('gc-');
  });
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((storage) => storage.close()));
    temp.removeAll();
  });

  const entry = (ledgerId: bigint, entryId: number): Buffer =>
    packedEntry(ledgerId, BigInt(entryId), payloadOf(ledgerId, BigInt(entryId), 500));

  /** Ledgers written side by side, flushed in small steps, so that every entry log holds all of them. */
  async function writeInterleaved(
    storage: DbLedgerStorage,
    ledgerIds: bigint[],
    entries: number,
  ): Promise<void> {
    for (const ledgerId of ledgerIds) await storage.setMasterKey(ledgerId, Buffer.alloc(20, 7));
    for (let e = 0; e < entries; e++) {
      for (const ledgerId of ledgerIds) storage.addEntry(entry(ledgerId, e));
      if (e % 20 === 19) await storage.flush();
    }
    await storage.flush();
  }

  async function expectLedger(storage: DbLedgerStorage, ledgerId: bigint, entries: number): Promise<void> {
    for (let e = 0; e < entries; e++) {
      const body = await storage.getEntry(ledgerId, BigInt(e));
      if (body === undefined || !body.equals(entry(ledgerId, e))) {
        throw new Error(`entry ${ledgerId}/${e} is ${body === undefined ? 'missing' : 'different'}`);
      }
    }
  }

  /** A metadata view in which only `live` ledgers exist. */
  const metadataWith =
    (...live: bigint[]): GcOptions['ledgerExistsInMetadata'] =>
    async (ledgerId) =>
      live.includes(ledgerId);

  test('a ledger is deleted only if metadata says it is gone on both lookups', async () => {
    const { storage, metrics } = await start();
    await writeInterleaved(storage, [1n, 2n, 3n], 10);
    const lookups = new Map<bigint, number>();
    const report = await storage.runGc({
      ledgerExistsInMetadata: async (ledgerId) => {
        const n = (lookups.get(ledgerId) ?? 0) + 1;
        lookups.set(ledgerId, n);
        if (ledgerId === 1n) return true;
        // Ledger 2 is missing on the first lookup only (a lagging view of metadata): it must survive.
        return ledgerId === 2n && n > 1;
      },
    });
    expect(report.ledgersDeleted).toEqual([3n]);
    expect(lookups).toEqual(
      new Map([
        [1n, 1],
        [2n, 2],
        [3n, 2],
      ]),
    );
    expect(await storage.listLedgers()).toEqual([1n, 2n]);
    await expectLedger(storage, 2n, 10);
    expect(await storage.getEntry(3n, 0n)).toBeUndefined();
    expect(await metricValue(metrics, 'bookie_gc_DELETED_LEDGER_COUNT')).toBe(1);
  });

  test('when metadata cannot be read, nothing is deleted', async () => {
    const { storage } = await start();
    await writeInterleaved(storage, [1n, 2n], 10);
    let calls = 0;
    await expect(
      storage.runGc({
        ledgerExistsInMetadata: async () => {
          if (++calls > 1) throw new Error('metadata store unavailable');
          return false;
        },
      }),
    ).rejects.toThrow('metadata store unavailable');
    expect(await storage.listLedgers()).toEqual([1n, 2n]);
    await expectLedger(storage, 1n, 10);
  });

  test('entry logs left without live ledgers are deleted from disk', async () => {
    const { storage, metrics } = await start();
    await writeInterleaved(storage, [1n], 400);
    await writeInterleaved(storage, [2n], 50);
    const before = storage.listEntryLogs();
    const onlyLedger1 = before.filter((log) => !log.current && log.liveLedgers === 1).slice(0, -1);
    expect(onlyLedger1.length).toBeGreaterThan(1);
    const report = await storage.runGc({ ledgerExistsInMetadata: metadataWith(2n) });
    expect(report.ledgersDeleted).toEqual([1n]);
    const deleted = report.entryLogsDeleted.map((log) => log.logId);
    for (const log of onlyLedger1) {
      expect(deleted).toContain(log.logId);
      expect(existsSync(join(dir, 'current', log.fileName))).toBe(false);
    }
    expect(report.reclaimedBytes).toBe(report.entryLogsDeleted.reduce((sum, log) => sum + log.bytes, 0));
    expect(report.reclaimedBytes).toBeGreaterThan(300 * 500);
    expect(await metricValue(metrics, 'bookie_gc_DELETED_ENTRY_LOG_COUNT')).toBe(deleted.length);
    await expectLedger(storage, 2n, 50);
  });

  test('compaction runs when due or forced, by threshold: minor leaves half-used logs, major moves them', async () => {
    let { storage, metrics } = await start();
    await writeInterleaved(storage, [1n, 2n], 300);
    const first = await storage.runGc({ ledgerExistsInMetadata: metadataWith(2n) });
    expect(first.ledgersDeleted).toEqual([1n]);
    expect(first.compactionKind).toBeUndefined();
    const halfUsed = storage.listEntryLogs().filter((log) => !log.current);
    expect(halfUsed.length).toBeGreaterThan(3);
    for (const log of halfUsed) expect(log.usage).toBeCloseTo(0.5, 1);

    expect(storage.gcStatus()).toEqual([
      {
        ledgerDir: dir,
        forceCompacting: false,
        majorCompacting: false,
        minorCompacting: false,
        lastMajorCompactionTime: 0,
        lastMinorCompactionTime: 0,
        majorCompactionCounter: 0,
        minorCompactionCounter: 0,
      },
    ]);
    const minor = await storage.runGc({ ledgerExistsInMetadata: metadataWith(2n), forceMinor: true });
    expect(minor.compactionKind).toBe('minor');
    expect(minor.compactions).toEqual([]);

    const major = await storage.runGc({ ledgerExistsInMetadata: metadataWith(2n), forceMajor: true });
    expect(major.compactionKind).toBe('major');
    expect(major.compactions.map((c) => c.logId).sort()).toEqual(halfUsed.map((log) => log.logId).sort());
    for (const compaction of major.compactions) {
      expect(compaction.kind).toBe('major');
      expect(compaction.entriesMoved).toBeGreaterThan(0);
      expect(existsSync(join(dir, 'current', `${compaction.logId.toString(16)}.log`))).toBe(false);
    }
    expect(major.compactions.reduce((sum, c) => sum + c.entriesMoved, 0)).toBeLessThanOrEqual(300);
    expect(major.reclaimedBytes).toBeGreaterThan(0);
    expect(await metricValue(metrics, 'bookie_gc_COMPACTION_TOTAL')).toBe(major.compactions.length);
    const [status] = storage.gcStatus();
    expect(status).toMatchObject({
      majorCompacting: false,
      majorCompactionCounter: major.compactions.length,
    });
    expect(status!.lastMajorCompactionTime).toBeGreaterThan(0);
    expect(status!.lastMinorCompactionTime).toBeGreaterThan(0);
    await expectLedger(storage, 2n, 300);
    await storage.close();
    ({ storage, metrics } = await start());
    await expectLedger(storage, 2n, 300);
    for (const log of storage.listEntryLogs()) expect(log.usage).toBeGreaterThan(0.9);
  });

  test('entries stay readable while compaction moves them and deletes their logs', async () => {
    const { storage } = await start({ config: { dbStorage_readAheadCacheBatchSize: 1 } });
    await writeInterleaved(storage, [1n, 2n], 300);
    await storage.runGc({ ledgerExistsInMetadata: metadataWith(2n) });
    let compacting = true;
    const gc = storage.runGc({ ledgerExistsInMetadata: metadataWith(2n), forceMajor: true }).finally(() => {
      compacting = false;
    });
    let rounds = 0;
    while (compacting || rounds === 0) {
      await expectLedger(storage, 2n, 300);
      rounds++;
    }
    expect((await gc).compactions.length).toBeGreaterThan(0);
  });

  test.each<CompactionStep>(['appended', 'synced', 'indexed', 'before-delete'])(
    'a compaction stopped after the "%s" step loses nothing, and the next run completes it',
    async (step) => {
      let statusAtStop: unknown;
      let { storage } = await start({
        compactionHooks: {
          onStep: (at) => {
            if (at !== step) return;
            statusAtStop = storage.gcStatus()[0];
            throw new Error(`stopped at ${at}`);
          },
        },
      });
      await writeInterleaved(storage, [1n, 2n, 3n], 150);
      await storage.runGc({ ledgerExistsInMetadata: metadataWith(2n, 3n) });
      await storage.deleteLedger(3n);
      await expect(
        storage.runGc({ ledgerExistsInMetadata: metadataWith(2n), forceMajor: true }),
      ).rejects.toThrow(`stopped at ${step}`);
      expect(statusAtStop).toMatchObject({
        forceCompacting: true,
        majorCompacting: true,
        minorCompacting: false,
      });
      expect(storage.gcStatus()[0]).toMatchObject({ forceCompacting: false, majorCompacting: false });
      await expectLedger(storage, 2n, 150);
      await storage.close();
      ({ storage } = await start());
      await expectLedger(storage, 2n, 150);
      expect(await storage.listLedgers()).toEqual([2n]);
      const report = await storage.runGc({ ledgerExistsInMetadata: metadataWith(2n), forceMajor: true });
      expect(report.compactions.length + report.entryLogsDeleted.length).toBeGreaterThan(0);
      await expectLedger(storage, 2n, 150);
      await storage.close();
      ({ storage } = await start());
      await expectLedger(storage, 2n, 150);
      for (const log of storage.listEntryLogs()) expect(log.usage).toBeGreaterThan(0.8);
    },
  );
});
