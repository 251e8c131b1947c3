import { Registry } from 'prom-client';
import { silentLogger } from '../../../../common';
import {
  EmbeddedMetadataStore,
  readonlyBookieKey,
  writableBookieKey,
  type MetadataStore,
  type WatchEvent,
} from '../../../../metadata';
import { BookieMetrics } from '../../../../bookie/bookie-metrics';
import {
  BookieFatalError,
  BookieStateManager,
  ReadOnlyModeDisabledError,
  type BookieState,
  type BookieStateManagerOptions,
} from '../../../../bookie/state';
import { eventually, TempDirs } from '../../../harness';

/*
 * The state manager against the embedded (RocksDB) metadata store: what the bookie's state says, which
 * registration key exists, and SERVER_STATUS, after each transition. Session loss and a second process
 * watching are in test/integration/bookie/ops-state.test.ts (real etcd).
 */

const logger = silentLogger();
const scope = '/ledgers';
const bookieId = '127.0.0.1:3181';
const tempDirs = new TempDirs();
let store: MetadataStore;
const managers: BookieStateManager[] = [];

beforeEach(async () => {
  store = await EmbeddedMetadataStore.open({ dir: tempDirs.make('ledgerline-state-'), logger });
});

afterEach(async () => {
  for (const manager of managers.splice(0)) await manager.shutdown();
  await store.close();
  tempDirs.removeAll();
});

function newManager(options: Partial<BookieStateManagerOptions> = {}): {
  manager: BookieStateManager;
  metrics: BookieMetrics;
} {
  const metrics = new BookieMetrics(new Registry());
  const manager = new BookieStateManager({ bookieId, store, scope, metrics, logger, ...options });
  managers.push(manager);
  return { manager, metrics };
}

async function registeredKeys(): Promise<string[]> {
  const keys: string[] = [];
  if ((await store.get(writableBookieKey(scope, bookieId))) !== undefined) keys.push('writable');
  if ((await store.get(readonlyBookieKey(scope, bookieId))) !== undefined) keys.push('readonly');
  return keys;
}

async function serverStatus(metrics: BookieMetrics): Promise<number | undefined> {
  return (await metrics.serverStatus.get()).values[0]?.value;
}

describe('bookie > state > BookieStateManager', () => {
  test('is unregistered (-1) until started, then registered writable (1) and running', async () => {
    const { manager, metrics } = newManager();
    expect(await serverStatus(metrics)).toBe(-1);
    expect(manager.isRunning()).toBe(false);
    await manager.start();
    expect(manager.state).toEqual({
      running: true,
      shuttingDown: false,
      readOnly: false,
      forcedReadOnly: false,
      readOnlyReasons: [],
      availableForHighPriorityWrites: true,
      registeredAs: 'writable',
    });
    expect(await registeredKeys()).toEqual(['writable']);
    expect(await serverStatus(metrics)).toBe(1);
    const stored = await store.get(writableBookieKey(scope, bookieId));
    expect(stored?.stat.ephemeralOwner).toBeDefined();
  });

  test('going read-only refuses at once, then moves the registration: readonly key created before writable deleted', async () => {
    const { manager, metrics } = newManager();
    await manager.start();
    const events: WatchEvent[] = [];
    const watch = await store.watch('/ledgers/bookies/', (e) => events.push(e), { prefix: true });
    const transition = manager.transitionToReadOnly('disks-full');
    // The bookie's add path asks isReadOnly() synchronously: it must already say so.
    expect(manager.isReadOnly()).toBe(true);
    await transition;
    await eventually('both watch events', () => (events.length >= 2 ? true : undefined));
    await watch.close();
    expect(events.map((e) => `${e.type} ${e.key}`)).toEqual([
      `put ${readonlyBookieKey(scope, bookieId)}`,
      `delete ${writableBookieKey(scope, bookieId)}`,
    ]);
    expect(await registeredKeys()).toEqual(['readonly']);
    expect(manager.state).toMatchObject({
      readOnly: true,
      readOnlyReasons: ['disks-full'],
      registeredAs: 'readonly',
    });
    expect(await serverStatus(metrics)).toBe(0);

    await manager.transitionToWritable('disks-full');
    expect(await registeredKeys()).toEqual(['writable']);
    expect(await serverStatus(metrics)).toBe(1);
  });

  test('stays read-only while any reason holds', async () => {
    const { manager } = newManager();
    await manager.start();
    await manager.transitionToReadOnly('disks-full');
    await manager.transitionToReadOnly('admin');
    await manager.transitionToWritable('disks-full');
    expect(manager.state).toMatchObject({
      readOnly: true,
      readOnlyReasons: ['admin'],
      registeredAs: 'readonly',
    });
    expect(await registeredKeys()).toEqual(['readonly']);
    await manager.transitionToWritable('admin');
    expect(manager.isReadOnly()).toBe(false);
    expect(await registeredKeys()).toEqual(['writable']);
  });

  test('forced read-only (forceReadOnlyBookie) registers read-only from the start and never clears', async () => {
    const { manager, metrics } = newManager({ forceReadOnly: true });
    await manager.start();
    expect(await registeredKeys()).toEqual(['readonly']);
    expect(await serverStatus(metrics)).toBe(0);
    await manager.transitionToReadOnly('admin');
    await manager.transitionToWritable('admin');
    expect(manager.state).toMatchObject({
      readOnly: true,
      forcedReadOnly: true,
      readOnlyReasons: ['forced'],
    });
    expect(await registeredKeys()).toEqual(['readonly']);
  });

  test('forceReadOnly() at run time keeps the bookie read-only after its other reasons clear', async () => {
    const { manager } = newManager();
    await manager.start();
    await manager.forceReadOnly();
    expect(await registeredKeys()).toEqual(['readonly']);
    await manager.transitionToReadOnly('disks-full');
    await manager.transitionToWritable('disks-full');
    expect(manager.isForcedReadOnly()).toBe(true);
    expect(await registeredKeys()).toEqual(['readonly']);
  });

  test('with readOnlyModeEnabled=false, an operator request throws and full disks are fatal (reported once)', async () => {
    const { manager } = newManager({ readOnlyModeEnabled: false });
    await manager.start();
    const fatal: BookieFatalError[] = [];
    manager.onFatal((error) => fatal.push(error));
    await expect(manager.transitionToReadOnly('admin')).rejects.toBeInstanceOf(ReadOnlyModeDisabledError);
    await manager.transitionToReadOnly('disks-full');
    await manager.transitionToReadOnly('disks-full');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toBeInstanceOf(BookieFatalError);
    expect(fatal[0]!.message).toBe(
      'the bookie must stop: it would go read-only (disks-full) but readOnlyModeEnabled=false',
    );
    expect(manager.isReadOnly()).toBe(false);
    expect(await registeredKeys()).toEqual(['writable']);
  });

  test('onStateChange sees each change once, in order, and can unsubscribe', async () => {
    const { manager } = newManager();
    const seen: Array<Pick<BookieState, 'running' | 'readOnly' | 'registeredAs' | 'shuttingDown'>> = [];
    const unsubscribe = manager.onStateChange(({ running, readOnly, registeredAs, shuttingDown }) =>
      seen.push({ running, readOnly, registeredAs, shuttingDown }),
    );
    await manager.start();
    await manager.transitionToReadOnly('admin');
    manager.setHighPriorityWritesAvailable(true); // no change: no call
    await manager.shutdown();
    unsubscribe();
    await manager.transitionToWritable('admin');
    expect(seen).toEqual([
      { running: false, readOnly: false, registeredAs: 'writable', shuttingDown: false },
      { running: true, readOnly: false, registeredAs: 'writable', shuttingDown: false },
      { running: true, readOnly: true, registeredAs: 'writable', shuttingDown: false },
      { running: true, readOnly: true, registeredAs: 'readonly', shuttingDown: false },
      { running: true, readOnly: true, registeredAs: 'readonly', shuttingDown: true },
      { running: false, readOnly: true, registeredAs: undefined, shuttingDown: true },
    ]);
  });

  test('high-priority write availability is reported as set', async () => {
    const { manager } = newManager();
    manager.setHighPriorityWritesAvailable(false);
    expect(manager.isAvailableForHighPriorityWrites()).toBe(false);
    expect(manager.state.availableForHighPriorityWrites).toBe(false);
  });

  test('shutdown marks shutting down at once, unregisters (-1), and ignores later transitions', async () => {
    const { manager, metrics } = newManager();
    await manager.start();
    const stopping = manager.shutdown();
    expect(manager.isShuttingDown()).toBe(true);
    await stopping;
    expect(await registeredKeys()).toEqual([]);
    expect(await serverStatus(metrics)).toBe(-1);
    expect(manager.isRunning()).toBe(false);
    await manager.transitionToReadOnly('disks-full');
    expect(manager.isReadOnly()).toBe(false);
    expect(await registeredKeys()).toEqual([]);
    await expect(manager.shutdown()).resolves.toBeUndefined();
  });

  test('start refuses to run twice', async () => {
    const { manager } = newManager();
    await manager.start();
    await expect(manager.start()).rejects.toThrow('called twice');
  });
});
