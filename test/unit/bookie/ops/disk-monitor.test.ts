import { Registry } from 'prom-client';
import { ConfigError, silentLogger } from '../../../../common';
import { EmbeddedMetadataStore, type MetadataStore } from '../../../../metadata';
import { BookieMetrics } from '../../../../bookie/bookie-metrics';
import {
  DiskMonitor,
  type DiskMonitorOptions,
  type DiskSpaceSample,
  type DiskStateTarget,
  type LedgerDirStatus,
} from '../../../../bookie/disk-monitor';
import { BookieStateManager, type BookieFatalError } from '../../../../bookie/state';
import { TempDirs } from '../../../harness';

/*
 * The disk monitor with an injected disk-space source (a table of fake filesystems) driving a real
 * BookieStateManager on the embedded metadata store. The real statfs on a real full tmpfs is in
 * test/integration/bookie/ops-disk-full.test.ts.
 */

const logger = silentLogger();
const tempDirs = new TempDirs();
const GB = 1024 ** 3;

/** Fake filesystems: dir -> sample, or an Error to throw. */
class FakeDisks {
  private readonly samples = new Map<string, DiskSpaceSample | Error>();
  reads = 0;

  setUsage(dir: string, usage: number, filesystemId = dir): void {
    this.samples.set(dir, {
      totalBytes: 100 * GB,
      usableBytes: Math.round((1 - usage) * 100 * GB),
      filesystemId,
    });
  }

  fail(dir: string): void {
    this.samples.set(dir, new Error(`EIO: i/o error, statfs '${dir}'`));
  }

  readonly source = async (dir: string): Promise<DiskSpaceSample> => {
    this.reads += 1;
    const sample = this.samples.get(dir);
    if (sample === undefined) throw new Error(`ENOENT: no such file or directory, statfs '${dir}'`);
    if (sample instanceof Error) throw sample;
    return sample;
  };
}

let store: MetadataStore;
let state: BookieStateManager;
let metrics: BookieMetrics;
let disks: FakeDisks;
const monitors: DiskMonitor[] = [];

beforeEach(async () => {
  store = await EmbeddedMetadataStore.open({ dir: tempDirs.make('ledgerline-disk-'), logger });
  metrics = new BookieMetrics(new Registry());
  state = new BookieStateManager({ bookieId: 'bookie-1:3181', store, scope: '/ledgers', metrics, logger });
  await state.start();
  disks = new FakeDisks();
});

afterEach(async () => {
  for (const monitor of monitors.splice(0)) monitor.close();
  await state.shutdown();
  await store.close();
  tempDirs.removeAll();
});

function newMonitor(options: Partial<DiskMonitorOptions> = {}): DiskMonitor {
  const monitor = new DiskMonitor({
    ledgerDirs: ['/disk/a', '/disk/b'],
    diskCheckIntervalMs: 60000,
    diskUsageThreshold: 0.95,
    diskUsageWarnThreshold: 0.9,
    diskUsageLwmThreshold: 0.85,
    state,
    metrics,
    logger,
    diskSpace: disks.source,
    ...options,
  });
  monitors.push(monitor);
  return monitor;
}

async function statuses(monitor: DiskMonitor): Promise<LedgerDirStatus[]> {
  return (await monitor.check()).dirs.map((d) => d.status);
}

async function writableDirsMetric(): Promise<number | undefined> {
  return (await metrics.writableDirs.get()).values[0]?.value;
}

describe('bookie > disk monitor', () => {
  test('a dir is warned above the warn threshold, full above the threshold, and writable again only below the low-water mark', async () => {
    const monitor = newMonitor({ ledgerDirs: ['/disk/a'] });
    const sequence: Array<[number, LedgerDirStatus]> = [
      [0.5, 'writable'],
      [0.92, 'warn'],
      [0.96, 'full'],
      [0.93, 'full'], // below the threshold, above the low-water mark: still full
      [0.86, 'full'],
      [0.84, 'writable'],
      [0.88, 'writable'],
      [0.951, 'full'],
      [0.849, 'writable'],
    ];
    for (const [usage, expected] of sequence) {
      disks.setUsage('/disk/a', usage);
      expect([usage, await statuses(monitor)]).toEqual([usage, [expected]]);
    }
  });

  test('the bookie goes read-only when every ledger dir is full and writable when one comes back', async () => {
    const monitor = newMonitor();
    disks.setUsage('/disk/a', 0.5);
    disks.setUsage('/disk/b', 0.5);
    expect(await monitor.check()).toMatchObject({ allFull: false, writableDirs: ['/disk/a', '/disk/b'] });
    expect(await writableDirsMetric()).toBe(2);

    disks.setUsage('/disk/a', 0.97);
    expect(await monitor.check()).toMatchObject({ allFull: false, writableDirs: ['/disk/b'] });
    expect(state.isReadOnly()).toBe(false);
    expect(await writableDirsMetric()).toBe(1);

    disks.setUsage('/disk/b', 0.99);
    expect(await monitor.check()).toMatchObject({ allFull: true, writableDirs: [] });
    expect(state.state).toMatchObject({
      readOnly: true,
      readOnlyReasons: ['disks-full'],
      registeredAs: 'readonly',
    });
    expect(monitor.writableLedgerDirs()).toEqual([]);
    expect(await writableDirsMetric()).toBe(0);

    disks.setUsage('/disk/b', 0.9); // below the threshold but not the low-water mark: stays full
    await monitor.check();
    expect(state.isReadOnly()).toBe(true);

    disks.setUsage('/disk/b', 0.6);
    expect(await monitor.check()).toMatchObject({ allFull: false, writableDirs: ['/disk/b'] });
    expect(state.state).toMatchObject({ readOnly: false, registeredAs: 'writable' });
  });

  test('an index dir of its own that fills makes the bookie read-only while the ledger dirs have room', async () => {
    const monitor = newMonitor({ indexDirs: ['/disk/index'] });
    disks.setUsage('/disk/a', 0.5);
    disks.setUsage('/disk/b', 0.5);
    disks.setUsage('/disk/index', 0.5);
    expect(await monitor.check()).toMatchObject({
      allFull: false,
      indexDirsFull: false,
      indexDirs: [{ dir: '/disk/index', status: 'writable' }],
    });
    expect(state.isReadOnly()).toBe(false);

    disks.setUsage('/disk/index', 0.97);
    expect(await monitor.check()).toMatchObject({
      allFull: false,
      indexDirsFull: true,
      writableDirs: ['/disk/a', '/disk/b'],
      highPriorityWritesAvailable: false,
    });
    expect(state.state).toMatchObject({
      readOnly: true,
      readOnlyReasons: ['disks-full'],
      registeredAs: 'readonly',
    });

    disks.setUsage('/disk/index', 0.9); // below the threshold but not the low-water mark: stays full
    await monitor.check();
    expect(state.isReadOnly()).toBe(true);
    disks.setUsage('/disk/index', 0.5);
    expect(await monitor.check()).toMatchObject({ indexDirsFull: false });
    expect(state.state).toMatchObject({ readOnly: false, registeredAs: 'writable' });
  });

  test('an index dir that is also a ledger dir is checked once, as a ledger dir', async () => {
    const monitor = newMonitor({ ledgerDirs: ['/disk/a'], indexDirs: ['/disk/a'] });
    disks.setUsage('/disk/a', 0.5);
    const report = await monitor.check();
    expect(report).toMatchObject({ indexDirs: [], indexDirsFull: false });
    expect(disks.reads).toBe(1);
  });

  test('a dir whose space cannot be read counts as not writable; all failed means read-only', async () => {
    const monitor = newMonitor();
    disks.setUsage('/disk/a', 0.1);
    disks.fail('/disk/b');
    const report = await monitor.check();
    expect(report.dirs).toEqual([
      { dir: '/disk/a', status: 'writable', usage: expect.closeTo(0.1, 5), usableBytes: 90 * GB },
      { dir: '/disk/b', status: 'failed', usage: undefined, usableBytes: 0 },
    ]);
    expect(state.isReadOnly()).toBe(false);
    disks.fail('/disk/a');
    expect(await monitor.check()).toMatchObject({ allFull: true, highPriorityWritesAvailable: false });
    expect(state.state).toMatchObject({ readOnly: true, availableForHighPriorityWrites: false });
  });

  test('while every dir is full, high-priority writes stay available only if a dir has minUsableSizeForHighPriorityWrites left', async () => {
    const monitor = newMonitor({ minUsableSizeForHighPriorityWritesBytes: 3 * GB });
    disks.setUsage('/disk/a', 0.96); // 4 GB usable
    disks.setUsage('/disk/b', 0.99); // 1 GB usable
    expect(await monitor.check()).toMatchObject({ allFull: true, highPriorityWritesAvailable: true });
    expect(state.isAvailableForHighPriorityWrites()).toBe(true);
    disks.setUsage('/disk/a', 0.98);
    expect(await monitor.check()).toMatchObject({ allFull: true, highPriorityWritesAvailable: false });
    expect(state.isAvailableForHighPriorityWrites()).toBe(false);
    disks.setUsage('/disk/a', 0.1);
    await monitor.check();
    expect(state.isAvailableForHighPriorityWrites()).toBe(true);
  });

  test('an operator read-only request outlives the disks coming back', async () => {
    const monitor = newMonitor();
    disks.setUsage('/disk/a', 0.99);
    disks.setUsage('/disk/b', 0.99);
    await monitor.check();
    await state.transitionToReadOnly('admin');
    disks.setUsage('/disk/a', 0.1);
    disks.setUsage('/disk/b', 0.1);
    await monitor.check();
    expect(state.state).toMatchObject({ readOnly: true, readOnlyReasons: ['admin'] });
  });

  test('with readOnlyModeEnabled=false, full disks are reported as fatal instead', async () => {
    await state.shutdown();
    state = new BookieStateManager({
      bookieId: 'bookie-2:3181',
      store,
      scope: '/ledgers',
      metrics,
      logger,
      readOnlyModeEnabled: false,
    });
    await state.start();
    const fatal: BookieFatalError[] = [];
    state.onFatal((error) => fatal.push(error));
    const monitor = newMonitor();
    disks.setUsage('/disk/a', 0.99);
    disks.setUsage('/disk/b', 0.99);
    await monitor.check();
    expect(fatal.map((e) => e.message)).toEqual([
      'the bookie must stop: it would go read-only (disks-full) but readOnlyModeEnabled=false',
    ]);
    expect(state.isReadOnly()).toBe(false);
  });

  test('checks every diskCheckInterval ms once started, and schedules nothing after close', async () => {
    jest.useFakeTimers();
    try {
      const calls: string[] = [];
      const recorder: DiskStateTarget = {
        transitionToReadOnly: async (reason) => void calls.push(`read-only ${reason}`),
        transitionToWritable: async (reason) => void calls.push(`writable ${reason}`),
        setHighPriorityWritesAvailable: () => undefined,
      };
      disks.setUsage('/disk/a', 0.5);
      disks.setUsage('/disk/b', 0.5);
      const monitor = newMonitor({ diskCheckIntervalMs: 1000, state: recorder });
      await monitor.start();
      expect(calls).toEqual(['writable disks-full']);
      disks.setUsage('/disk/a', 0.99);
      disks.setUsage('/disk/b', 0.99);
      await jest.advanceTimersByTimeAsync(999);
      expect(calls).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(calls).toEqual(['writable disks-full', 'read-only disks-full']);
      await jest.advanceTimersByTimeAsync(1000);
      expect(calls).toHaveLength(3);
      monitor.close();
      expect(jest.getTimerCount()).toBe(0);
      await jest.advanceTimersByTimeAsync(5000);
      expect(calls).toHaveLength(3);
    } finally {
      jest.useRealTimers();
    }
  });

  test('concurrent checks share one pass over the dirs', async () => {
    const monitor = newMonitor();
    disks.setUsage('/disk/a', 0.5);
    disks.setUsage('/disk/b', 0.5);
    const [first, second] = await Promise.all([monitor.check(), monitor.check()]);
    expect(second).toBe(first);
    expect(disks.reads).toBe(2);
  });

  test('disk space counts each filesystem once', async () => {
    const monitor = newMonitor({ ledgerDirs: ['/disk/a', '/disk/a2', '/disk/b'] });
    disks.setUsage('/disk/a', 0.25, 'fs-1');
    disks.setUsage('/disk/a2', 0.25, 'fs-1');
    disks.setUsage('/disk/b', 0.5, 'fs-2');
    expect(await monitor.diskSpace()).toEqual({ totalBytes: 200 * GB, freeBytes: 125 * GB });
  });

  test('refuses thresholds that are not fractions, or a low-water mark above the threshold', () => {
    expect(() => newMonitor({ diskUsageThreshold: 1 })).toThrow(ConfigError);
    expect(() => newMonitor({ diskUsageThreshold: 0 })).toThrow(
      'diskUsageThreshold=0 is invalid: expected a fraction strictly between 0 and 1',
    );
    expect(() => newMonitor({ diskUsageLwmThreshold: 0.96 })).toThrow(
      'diskUsageLwmThreshold=0.96 is invalid: expected at most diskUsageThreshold=0.95',
    );
    expect(() => newMonitor({ ledgerDirs: [] })).toThrow('ledgerDirectories is empty');
  });
});
