/**
 * Goal: when a bookie's ledger disk really fills up, the bookie turns read-only within one disk check interval
 * (clients see it move from the writable to the read-only bookies), and when space is freed it turns writable
 * again within one interval.
 *
 * Method: a real 2 MiB tmpfs mounted for this test (the test runs as root; if the mount fails the test fails
 * and says why), the real statfs-based DiskMonitor checking it every 300 ms, driving a real BookieStateManager
 * registered in a real etcd. The disk is filled by writing a file until the kernel answers ENOSPC, and freed by
 * deleting it. A second etcd client watches the registrations with RegistrationClient.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../common';
import {
  EtcdMetadataStore,
  RegistrationClient,
  initNewCluster,
  type RegisteredBookies,
} from '../../../metadata';
import { BookieMetrics, DiskMonitor, BookieStateManager, type BookieState } from '../../../bookie';
import { EtcdServer, TempDirs, eventually } from '../../harness';

const logger = silentLogger();
const CHECK_INTERVAL_MS = 300;
/** Time for a check itself (statfs, a state change, queueing) on a busy 2-core machine. */
const CHECK_SLACK_MS = 400;
const scope = '/ledgers';
const bookieId = '127.0.0.1:3181';

const tempDirs = new TempDirs();
let mountPoint: string | undefined;
let etcd: EtcdServer;
let bookieStore: EtcdMetadataStore;
let clientStore: EtcdMetadataStore;
let state: BookieStateManager;
let monitor: DiskMonitor;
const stateLog: Array<{ atMs: number; state: BookieState }> = [];
const registrations: RegisteredBookies[] = [];
let closeWatch: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const dir = tempDirs.make('ledgerline-tmpfs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(
      `cannot mount a 2 MiB tmpfs at ${dir} (this test needs root and mount(8)): ${stderr ?? String(error)}`,
    );
  }
  mountPoint = dir;
  etcd = await EtcdServer.start();
  bookieStore = await EtcdMetadataStore.connect({ endpoints: [etcd.endpoint], logger });
  clientStore = await EtcdMetadataStore.connect({ endpoints: [etcd.endpoint], logger });
  await initNewCluster(bookieStore, scope);

  const metrics = new BookieMetrics(new Registry());
  state = new BookieStateManager({ bookieId, store: bookieStore, scope, metrics, logger, ttlSeconds: 5 });
  state.onStateChange((s) => stateLog.push({ atMs: Date.now(), state: s }));
  await state.start();
  const watch = await new RegistrationClient(clientStore, scope, logger).watchBookies((bookies) =>
    registrations.push(bookies),
  );
  closeWatch = () => watch.close();
  const ledgerDir = join(mountPoint, 'ledgers');
  mkdirSync(ledgerDir);
  monitor = new DiskMonitor({
    ledgerDirs: [ledgerDir],
    diskCheckIntervalMs: CHECK_INTERVAL_MS,
    diskUsageThreshold: 0.95,
    diskUsageWarnThreshold: 0.9,
    diskUsageLwmThreshold: 0.85,
    state,
    metrics,
    logger,
  });
  expect(await monitor.start()).toMatchObject({ allFull: false, writableDirs: [ledgerDir] });
});

afterAll(async () => {
  monitor?.close();
  await closeWatch?.();
  await state?.shutdown();
  await clientStore?.close();
  await bookieStore?.close();
  await etcd?.stop();
  if (mountPoint !== undefined) execFileSync('umount', [mountPoint]);
  tempDirs.removeAll();
});

/** Writes zeros to `path` until the filesystem refuses with ENOSPC; returns the bytes written. */
function fillUntilEnospc(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    closeSync(fd);
  }
  return written;
}

/** Ms from `sinceMs` until the state log first shows `readOnly`, waiting up to `timeoutMs`. */
async function msUntilReadOnly(readOnly: boolean, sinceMs: number, timeoutMs: number): Promise<number> {
  const entry = await eventually(
    `the bookie to become ${readOnly ? 'read-only' : 'writable'}`,
    () => stateLog.find((e) => e.atMs >= sinceMs && e.state.readOnly === readOnly),
    timeoutMs,
  );
  return entry.atMs - sinceMs;
}

/** Waits until the watching client's latest view of the registrations is `expected`. */
async function clientSees(expected: RegisteredBookies): Promise<void> {
  await eventually(`the client to see ${JSON.stringify(expected)}`, () =>
    JSON.stringify(registrations.at(-1)) === JSON.stringify(expected) ? true : undefined,
  );
}

describe('bookie > disk monitor > a real full disk (tmpfs)', () => {
  test('filling the ledger disk makes the bookie read-only within one check interval; freeing it makes it writable', async () => {
    expect(state.state).toMatchObject({ readOnly: false, registeredAs: 'writable' });
    const filler = join(mountPoint!, 'ledgers', 'filler');

    const filledAt = Date.now();
    expect(fillUntilEnospc(filler)).toBeGreaterThan(1024 * 1024);
    const toReadOnlyMs = await msUntilReadOnly(true, filledAt, 10000);
    expect(toReadOnlyMs).toBeLessThanOrEqual(CHECK_INTERVAL_MS + CHECK_SLACK_MS);
    expect(state.state.readOnlyReasons).toEqual(['disks-full']);
    expect(monitor.writableLedgerDirs()).toEqual([]);
    // Clients see it move to the read-only bookies, never vanish.
    await clientSees({ writable: [], readOnly: [bookieId] });

    const freedAt = Date.now();
    unlinkSync(filler);
    const toWritableMs = await msUntilReadOnly(false, freedAt, 10000);
    expect(toWritableMs).toBeLessThanOrEqual(CHECK_INTERVAL_MS + CHECK_SLACK_MS);
    await clientSees({ writable: [bookieId], readOnly: [] });
    for (const seen of registrations) {
      expect([...seen.writable, ...seen.readOnly]).toContain(bookieId);
    }
  });
});
