/**
 * Goal: BookKeeper's metadata layer — cluster init/nuke, ledger id generation, the LedgerManager and bookie
 * registration with cookies — behaves the same on both MetadataStore implementations, as a bookie, a ledger
 * client or an operator would observe it.
 *
 * Method: one `describe.each` runs every case against a real etcd (started by the harness on free loopback ports)
 * and against the embedded RocksDB store in a temporary directory. Each case works under its own scope. Where
 * BookKeeper has several processes (a bookie registering, a client watching, two ledger id generators), the etcd
 * run gives each its own client connection; the embedded store admits one client per directory, so there they
 * share it. Nothing is mocked. Waits are bounded polls or awaited events; no sleep decides an outcome.
 */
import { silentLogger } from '../../../common';
import {
  BadVersionError,
  BookieAlreadyRegisteredError,
  BookiesStillRegisteredError,
  ClusterNotInitializedError,
  CookieNotFoundError,
  EmbeddedMetadataStore,
  ETCD_LEDGER_LAYOUT,
  EtcdMetadataStore,
  InstanceIdMismatchError,
  LedgerExistsError,
  LedgerIdGenerator,
  LedgerManager,
  NoSuchLedgerError,
  RegistrationClient,
  RegistrationManager,
  BUCKET_COUNT,
  bucketKey,
  bucketOfLedgerId,
  getInstanceId,
  initNewCluster,
  isClusterInitialized,
  layoutKey,
  ledgerKey,
  nukeExistingCluster,
  readLayout,
  writableBookieKey,
} from '../../../metadata';
import type {
  Cookie,
  LedgerMetadataEvent,
  MetadataStore,
  RegisteredBookies,
  RegistrationManagerOptions,
} from '../../../metadata';
import { EtcdServer, TempDirs, closedLedgerMetadata, eventually, openLedgerMetadata } from '../../harness';

// jest reads `testTimeout` only from the top-level config, not per project: set the integration project's 60 s.

const logger = silentLogger();
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ID_IN_BUCKET_MASK = (1n << 56n) - 1n;

interface Implementation {
  name: 'etcd' | 'embedded';
  open(): Promise<MetadataStore>;
  /** Another client of the same backing store: a new etcd connection; for embedded, the one client itself. */
  peer(store: MetadataStore): Promise<MetadataStore>;
}

let etcd: EtcdServer;
const tempDirs = new TempDirs();
const stores: MetadataStore[] = [];
/** Registration managers, watches: closed after each test, newest first. */
const cleanups: Array<() => Promise<void>> = [];
let scopeCounter = 0;

beforeAll(async () => {
  etcd = await EtcdServer.start();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  for (const store of stores.splice(0).reverse()) await store.close();
  await etcd?.stop();
  tempDirs.removeAll();
});

function track<T extends MetadataStore>(store: T): T {
  stores.push(store);
  return store;
}

function later<T extends { close(): Promise<void> }>(closeable: T): T {
  cleanups.push(() => closeable.close());
  return closeable;
}

const implementations: Implementation[] = [
  {
    name: 'etcd',
    open: async () => track(await EtcdMetadataStore.connect({ endpoints: [etcd.endpoint], logger })),
    peer: () => implementations[0]!.open(),
  },
  {
    name: 'embedded',
    open: async () =>
      track(await EmbeddedMetadataStore.open({ dir: tempDirs.make('ledgerline-bk-metadata-'), logger })),
    peer: async (store) => store,
  },
];

/** A scope no other test uses (the etcd cases share one server, the embedded cases one directory). */
function freshScope(): string {
  scopeCounter += 1;
  return `/bk-${process.pid}-${scopeCounter}`;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

const ascending = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

describe('metadata > bookkeeper', () => {
  describe.each(implementations)('$name', (impl) => {
    let store: MetadataStore;
    let scope: string;

    beforeAll(async () => {
      store = await impl.open();
    });

    beforeEach(() => {
      scope = freshScope();
    });

    function registrationManager(
      on: MetadataStore = store,
      options: RegistrationManagerOptions = {},
    ): RegistrationManager {
      return later(new RegistrationManager(on, scope, logger, options));
    }

    describe('cluster', () => {
      test('before initNewCluster there is no cluster, layout or instance id', async () => {
        expect(await isClusterInitialized(store, scope)).toBe(false);
        expect(await readLayout(store, scope)).toBeUndefined();
        await expect(getInstanceId(store, scope)).rejects.toBeInstanceOf(ClusterNotInitializedError);
      });

      test('initNewCluster writes the etcd layout and a UUID instance id; a second call keeps it', async () => {
        const first = await initNewCluster(store, scope);
        expect(first.created).toBe(true);
        expect(first.instanceId).toMatch(UUID_RE);
        expect(await isClusterInitialized(store, scope)).toBe(true);
        expect(await getInstanceId(store, scope)).toBe(first.instanceId);
        expect(await readLayout(store, scope)).toEqual(ETCD_LEDGER_LAYOUT);
        expect((await store.get(layoutKey(scope)))?.value.toString('utf8')).toBe(
          '2\norg.apache.bookkeeper.metadata.etcd.EtcdLedgerManagerFactory:0',
        );

        const layoutBefore = await store.get(layoutKey(scope));
        const second = await initNewCluster(store, scope);
        expect(second).toEqual({ created: false, instanceId: first.instanceId });
        expect(await store.get(layoutKey(scope))).toEqual(layoutBefore);
      });

      test('two concurrent initNewCluster calls agree on one instance id and exactly one created it', async () => {
        const other = await impl.peer(store);
        const results = await Promise.all([initNewCluster(store, scope), initNewCluster(other, scope)]);
        expect(results.map((r) => r.created).sort()).toEqual([false, true]);
        expect(results[0]!.instanceId).toBe(results[1]!.instanceId);
        expect(await getInstanceId(other, scope)).toBe(results[0]!.instanceId);
      });

      test('nukeExistingCluster refuses while a bookie is registered, writable or read-only, and then deletes everything', async () => {
        const { instanceId } = await initNewCluster(store, scope);
        const ledgers = new LedgerManager(store, scope, logger);
        await ledgers.createLedgerMetadata(7n, openLedgerMetadata(['bookie-1:3181']));
        const bookie = registrationManager();
        await bookie.registerBookie('bookie-1:3181', false);

        const refused = await nukeExistingCluster(store, scope, instanceId).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(BookiesStillRegisteredError);
        expect((refused as Error).message).toContain('bookie-1:3181');
        await bookie.registerBookie('bookie-1:3181', true);
        await expect(nukeExistingCluster(store, scope, instanceId)).rejects.toBeInstanceOf(
          BookiesStillRegisteredError,
        );
        // Refused means untouched.
        expect(await isClusterInitialized(store, scope)).toBe(true);
        expect(await ledgers.ledgerExists(7n)).toBe(true);

        await bookie.close();
        const wrongId = '00000000-0000-4000-8000-000000000000';
        await expect(nukeExistingCluster(store, scope, wrongId)).rejects.toBeInstanceOf(
          InstanceIdMismatchError,
        );
        expect(await isClusterInitialized(store, scope)).toBe(true);

        expect(await nukeExistingCluster(store, scope, instanceId)).toBe(true);
        expect(await isClusterInitialized(store, scope)).toBe(false);
        expect(await store.get(scope)).toBeUndefined();
        expect(await store.list(`${scope}/`)).toEqual([]);
        await expect(getInstanceId(store, scope)).rejects.toBeInstanceOf(ClusterNotInitializedError);
        expect(await nukeExistingCluster(store, scope, instanceId)).toBe(false);

        const again = await initNewCluster(store, scope);
        expect(again.created).toBe(true);
        expect(again.instanceId).not.toBe(instanceId);
      });
    });

    describe('ledger id generator', () => {
      test('300 concurrent ids from two generators on two clients are distinct and follow the bucket scheme', async () => {
        await initNewCluster(store, scope);
        // The same start bucket makes both generators hit the same bucket keys at the same time; 150 each
        // wraps around the 128 buckets, so some buckets are taken four times.
        const generators = [
          new LedgerIdGenerator(store, scope, logger, { startBucket: 0 }),
          new LedgerIdGenerator(await impl.peer(store), scope, logger, { startBucket: 0 }),
        ];
        const ids = await Promise.all(
          generators.flatMap((generator) => Array.from({ length: 150 }, () => generator.generateLedgerId())),
        );
        expect(new Set(ids).size).toBe(300);

        const byBucket = new Map<number, bigint[]>();
        for (const id of ids) {
          expect(id > 0n && id < 1n << 63n).toBe(true);
          const bucket = bucketOfLedgerId(id);
          expect(bucket >= 0 && bucket < BUCKET_COUNT).toBe(true);
          byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), id & ID_IN_BUCKET_MASK]);
        }
        expect(byBucket.size).toBe(BUCKET_COUNT);
        for (const [bucket, inBucket] of byBucket) {
          // Each bucket hands out 1, 2, 3, ... : its key's put count.
          const expected = Array.from({ length: inBucket.length }, (_, i) => BigInt(i + 1));
          expect(inBucket.sort(ascending)).toEqual(expected);
          expect((await store.get(bucketKey(scope, bucket)))?.stat.modCount).toBe(BigInt(inBucket.length));
        }
      });

      test('a generator goes round-robin from the bucket after its start, wrapping past 127', async () => {
        await initNewCluster(store, scope);
        const generator = new LedgerIdGenerator(store, scope, logger, { startBucket: 126 });
        const ids = [
          await generator.generateLedgerId(),
          await generator.generateLedgerId(),
          await generator.generateLedgerId(),
        ];
        expect(ids).toEqual([(127n << 56n) | 1n, 1n, (1n << 56n) | 1n]);
        const another = new LedgerIdGenerator(store, scope, logger, { startBucket: 126 });
        expect(await another.generateLedgerId()).toBe((127n << 56n) | 2n);
      });
    });

    describe('ledger manager', () => {
      let ledgers: LedgerManager;

      beforeEach(async () => {
        await initNewCluster(store, scope);
        ledgers = new LedgerManager(store, scope, logger);
      });

      test('create then read returns the metadata and its version; a second create fails with LedgerExistsError', async () => {
        const md = openLedgerMetadata(['b1:3181', 'b2:3181', 'b3:3181'], { application: 'test' });
        const created = await ledgers.createLedgerMetadata(42n, md);
        expect(created.metadata).toEqual(md);
        const read = await ledgers.readLedgerMetadata(42n);
        expect(read.version).toBe(created.version);
        expect(read.metadata).toEqual(md);
        expect(await ledgers.ledgerExists(42n)).toBe(true);

        const duplicate = await ledgers
          .createLedgerMetadata(42n, openLedgerMetadata(['other:3181']))
          .catch((e: unknown) => e);
        expect(duplicate).toBeInstanceOf(LedgerExistsError);
        expect((duplicate as LedgerExistsError).ledgerId).toBe(42n);
        expect(await ledgers.readLedgerMetadata(42n)).toEqual(read);
      });

      test('reading, updating or deleting a missing ledger fails with NoSuchLedgerError', async () => {
        const missing = await ledgers.readLedgerMetadata(404n).catch((e: unknown) => e);
        expect(missing).toBeInstanceOf(NoSuchLedgerError);
        expect((missing as NoSuchLedgerError).ledgerId).toBe(404n);
        expect(await ledgers.ledgerExists(404n)).toBe(false);
        await expect(
          ledgers.writeLedgerMetadata(404n, openLedgerMetadata(['b1:3181']), 1n),
        ).rejects.toBeInstanceOf(NoSuchLedgerError);
        await expect(ledgers.removeLedgerMetadata(404n, 'any')).rejects.toBeInstanceOf(NoSuchLedgerError);
        expect(await ledgers.ledgerExists(404n)).toBe(false);
      });

      test('an update is a compare-and-set: the current version wins, a stale one fails with BadVersionError', async () => {
        const md = openLedgerMetadata(['b1:3181', 'b2:3181']);
        const v1 = await ledgers.createLedgerMetadata(5n, md);
        const closed = closedLedgerMetadata(md, 99n, 12345n);
        const v2 = await ledgers.writeLedgerMetadata(5n, closed, v1.version);
        expect(v2.version > v1.version).toBe(true);

        const stale = await ledgers
          .writeLedgerMetadata(5n, { ...md, state: 'IN_RECOVERY' }, v1.version)
          .catch((e: unknown) => e);
        expect(stale).toBeInstanceOf(BadVersionError);
        expect((stale as BadVersionError).retriable).toBe(true);
        const read = await ledgers.readLedgerMetadata(5n);
        expect(read.version).toBe(v2.version);
        expect(read.metadata).toMatchObject({ state: 'CLOSED', lastEntryId: 99n, length: 12345n });
      });

      test('race: of 6 clients updating from the same version exactly one wins', async () => {
        const v1 = await ledgers.createLedgerMetadata(6n, openLedgerMetadata(['b1:3181', 'b2:3181']));
        const clients = await Promise.all(
          Array.from({ length: 6 }, async () => new LedgerManager(await impl.peer(store), scope, logger)),
        );
        const outcomes = await Promise.allSettled(
          clients.map((client, i) =>
            client.writeLedgerMetadata(
              6n,
              closedLedgerMetadata(openLedgerMetadata(['b1:3181', 'b2:3181']), BigInt(i), 0n),
              v1.version,
            ),
          ),
        );
        const won = outcomes.flatMap((o, i) =>
          o.status === 'fulfilled' ? [{ i, version: o.value.version }] : [],
        );
        expect(won).toHaveLength(1);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(BadVersionError);
        }
        const read = await ledgers.readLedgerMetadata(6n);
        expect(read.version).toBe(won[0]!.version);
        expect(read.metadata.lastEntryId).toBe(BigInt(won[0]!.i));
      });

      test('delete with a stale version fails with BadVersionError; with the current one the ledger is gone', async () => {
        const v1 = await ledgers.createLedgerMetadata(8n, openLedgerMetadata(['b1:3181']));
        const v2 = await ledgers.writeLedgerMetadata(
          8n,
          closedLedgerMetadata(openLedgerMetadata(['b1:3181']), 0n, 10n),
          v1.version,
        );
        await expect(ledgers.removeLedgerMetadata(8n, v1.version)).rejects.toBeInstanceOf(BadVersionError);
        expect(await ledgers.ledgerExists(8n)).toBe(true);
        await ledgers.removeLedgerMetadata(8n, v2.version);
        expect(await ledgers.ledgerExists(8n)).toBe(false);
        await expect(ledgers.readLedgerMetadata(8n)).rejects.toBeInstanceOf(NoSuchLedgerError);
        await expect(ledgers.removeLedgerMetadata(8n, v2.version)).rejects.toBeInstanceOf(NoSuchLedgerError);

        await ledgers.createLedgerMetadata(9n, openLedgerMetadata(['b1:3181']));
        await ledgers.removeLedgerMetadata(9n, 'any');
        expect(await ledgers.ledgerExists(9n)).toBe(false);
      });

      test('listLedgers yields every ledger in ascending id order across buckets and pages, and nothing else', async () => {
        const explicit = [
          0n,
          1n,
          15n,
          16n,
          255n,
          65536n,
          1n << 32n,
          (1n << 48n) + 3n,
          (5n << 56n) | 1000n,
          (127n << 56n) | 0xabcdefn,
          (1n << 63n) - 1n,
        ];
        // Generated ids come from buckets 10 to 39, which none of the explicit ids is in.
        const generator = new LedgerIdGenerator(store, scope, logger, { startBucket: 9 });
        const generated = await Promise.all(Array.from({ length: 30 }, () => generator.generateLedgerId()));
        const all = [...explicit, ...generated];
        // Create in an order unrelated to the ids.
        for (const id of [...all].reverse()) {
          await ledgers.createLedgerMetadata(id, openLedgerMetadata(['b1:3181']));
        }
        // Keys in the ledgers range that name no ledger, and neighbours of the range, are not ledgers.
        await store.put(`${scope}/ledgers/not-a-ledger`, Buffer.from('x'));
        await store.put(`${scope}/ledgers0`, Buffer.from('x'));
        await store.put(`${scope}/ledgers-sibling/00000000-0000-0000-0000-000000000002`, Buffer.from('x'));

        const expected = [...all].sort(ascending);
        expect(await collect(ledgers.listLedgers({ pageSize: 4 }))).toEqual(expected);
        expect(await collect(ledgers.listLedgers())).toEqual(expected);

        await ledgers.removeLedgerMetadata(255n, 'any');
        expect(await collect(ledgers.listLedgers({ pageSize: 1 }))).toEqual(
          expected.filter((id) => id !== 255n),
        );
      });

      test('listLedgers on a cluster without ledgers yields nothing', async () => {
        expect(await collect(ledgers.listLedgers())).toEqual([]);
      });

      test('a ledger watch sees each update with its version, unreadable values, and the deletion, in order', async () => {
        const md = openLedgerMetadata(['b1:3181', 'b2:3181']);
        const v1 = await ledgers.createLedgerMetadata(77n, md);
        const events: LedgerMetadataEvent[] = [];
        const watcher = new LedgerManager(await impl.peer(store), scope, logger);
        later(await watcher.watchLedger(77n, (event) => events.push(event)));
        // Another ledger's changes are not delivered.
        later(await watcher.watchLedger(78n, (event) => events.push(event)));

        const inRecovery = { ...md, state: 'IN_RECOVERY' as const };
        const v2 = await ledgers.writeLedgerMetadata(77n, inRecovery, v1.version);
        const closed = closedLedgerMetadata(md, 41n, 4200n);
        const v3 = await ledgers.writeLedgerMetadata(77n, closed, v2.version);
        await store.put(ledgerKey(scope, 77n), Buffer.from('not ledger metadata'), {
          expectedVersion: v3.version,
        });
        await ledgers.removeLedgerMetadata(77n, 'any');

        await eventually('4 ledger events', () => (events.length >= 4 ? events : undefined));
        expect(events.map((e) => e.type)).toEqual(['changed', 'changed', 'unreadable', 'deleted']);
        expect(events.every((e) => e.ledgerId === 77n)).toBe(true);
        expect(events[0]).toMatchObject({ version: v2.version, metadata: { state: 'IN_RECOVERY' } });
        expect(events[1]).toMatchObject({
          version: v3.version,
          metadata: { state: 'CLOSED', lastEntryId: 41n, length: 4200n },
        });
      });
    });

    describe('registration', () => {
      let client: RegistrationClient;

      beforeEach(async () => {
        await initNewCluster(store, scope);
        client = new RegistrationClient(await impl.peer(store), scope, logger);
      });

      test('a registered bookie is listed as writable, on its session; registering again is a no-op', async () => {
        const bookie = registrationManager();
        await bookie.registerBookie('127.0.0.1:3181', false);
        expect(await client.getWritableBookies()).toEqual(['127.0.0.1:3181']);
        expect(await client.getReadOnlyBookies()).toEqual([]);
        expect(await bookie.isBookieRegistered('127.0.0.1:3181')).toBe(true);
        const session = await bookie.getSession();
        const stored = await store.get(writableBookieKey(scope, '127.0.0.1:3181'));
        expect(stored?.stat.ephemeralOwner).toBe(session.id);
        expect(stored?.value.length).toBe(0);

        await bookie.registerBookie('127.0.0.1:3181', false);
        expect((await store.get(writableBookieKey(scope, '127.0.0.1:3181')))?.stat).toEqual(stored?.stat);
      });

      test('read-only and back: the bookie is listed in exactly one state; unregister removes it', async () => {
        const bookie = registrationManager();
        await bookie.registerBookie('b1:3181', false);
        await bookie.registerBookie('b1:3181', true);
        expect(await client.getWritableBookies()).toEqual([]);
        expect(await client.getReadOnlyBookies()).toEqual(['b1:3181']);
        await bookie.registerBookie('b1:3181', false);
        expect(await client.getWritableBookies()).toEqual(['b1:3181']);
        expect(await client.getReadOnlyBookies()).toEqual([]);

        await bookie.unregisterBookie('b1:3181', true);
        expect(await client.getWritableBookies()).toEqual(['b1:3181']);
        await bookie.unregisterBookie('b1:3181', false);
        expect(await bookie.isBookieRegistered('b1:3181')).toBe(false);
        expect(await client.getWritableBookies()).toEqual([]);
      });

      test('lists are sorted and hold every bookie of every session; a closed session takes its bookies away', async () => {
        const first = registrationManager();
        const second = registrationManager(await impl.peer(store));
        await first.registerBookie('b3:3181', false);
        await first.registerBookie('b1:3181', false);
        await second.registerBookie('b2:3181', false);
        await second.registerBookie('b4:3181', true);
        expect(await client.getWritableBookies()).toEqual(['b1:3181', 'b2:3181', 'b3:3181']);
        expect(await client.getReadOnlyBookies()).toEqual(['b4:3181']);

        await second.close();
        expect(await client.getWritableBookies()).toEqual(['b1:3181', 'b3:3181']);
        expect(await client.getReadOnlyBookies()).toEqual([]);
      });

      test('watchBookies reports the bookies at start, then a bookie joining, going read-only and leaving', async () => {
        const resident = registrationManager();
        await resident.registerBookie('resident:3181', false);
        const snapshots: RegisteredBookies[] = [];
        const watch = later(await client.watchBookies((bookies) => snapshots.push(bookies)));
        expect(snapshots).toEqual([{ writable: ['resident:3181'], readOnly: [] }]);
        const until = (expected: RegisteredBookies): Promise<RegisteredBookies> =>
          eventually(`bookies ${JSON.stringify(expected)}`, () => {
            const last = snapshots[snapshots.length - 1];
            return JSON.stringify(last) === JSON.stringify(expected) ? last : undefined;
          });

        const joiner = registrationManager(await impl.peer(store));
        await joiner.registerBookie('joiner:3181', false);
        await until({ writable: ['joiner:3181', 'resident:3181'], readOnly: [] });
        const joinedAt = snapshots.length - 1;
        await joiner.registerBookie('joiner:3181', true);
        await until({ writable: ['resident:3181'], readOnly: ['joiner:3181'] });
        await joiner.close();
        await until({ writable: ['resident:3181'], readOnly: [] });
        const leftAt = snapshots.length - 1;
        // Going read-only creates the new key before deleting the old one: never a moment without the bookie.
        for (const snapshot of snapshots.slice(joinedAt, leftAt)) {
          expect([...snapshot.writable, ...snapshot.readOnly]).toContain('joiner:3181');
        }

        await resident.unregisterBookie('resident:3181', false);
        await until({ writable: [], readOnly: [] });

        // A closed watch reports nothing more, while another one still sees changes.
        const delivered = snapshots.length;
        await watch.close();
        const other: RegisteredBookies[] = [];
        later(await client.watchBookies((bookies) => other.push(bookies)));
        await resident.registerBookie('late:3181', false);
        await eventually('the late bookie on the open watch', () =>
          other.some((s) => s.writable.includes('late:3181')) ? true : undefined,
        );
        expect(snapshots).toHaveLength(delivered);
      });

      test('a second session cannot register a bookie id that another live session holds', async () => {
        const holder = registrationManager();
        await holder.registerBookie('b1:3181', false);
        const holderSession = await holder.getSession();
        const ttlSeconds = 1;
        const intruder = registrationManager(await impl.peer(store), { ttlSeconds });

        const startedAt = Date.now();
        const error = await intruder.registerBookie('b1:3181', false).catch((e: unknown) => e);
        // It waits up to 2 x TTL for a previous registration to expire, then gives up.
        expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2 * ttlSeconds * 1000 - 50);
        expect(error).toBeInstanceOf(BookieAlreadyRegisteredError);
        expect((error as BookieAlreadyRegisteredError).retriable).toBe(true);
        expect((await store.get(writableBookieKey(scope, 'b1:3181')))?.stat.ephemeralOwner).toBe(
          holderSession.id,
        );
        expect(await client.getWritableBookies()).toEqual(['b1:3181']);
      });

      test('a restarted bookie takes over its id once the previous session ends within the wait', async () => {
        const previous = registrationManager();
        await previous.registerBookie('b1:3181', false);
        const peer = await impl.peer(store);
        // Learn when the new registration starts waiting: it watches the key it waits on.
        let waiting!: () => void;
        const startedWaiting = new Promise<void>((resolve) => (waiting = resolve));
        const announcing = new Proxy(peer, {
          get(target, property) {
            const value: unknown = Reflect.get(target, property, target);
            if (typeof value !== 'function') return value;
            if (property === 'watch') {
              return (...args: Parameters<MetadataStore['watch']>) => {
                const watch = target.watch(...args);
                void watch.then(() => waiting());
                return watch;
              };
            }
            return (value as (...args: unknown[]) => unknown).bind(target);
          },
        });
        const restarted = registrationManager(announcing, { ttlSeconds: 10 });

        const registering = restarted.registerBookie('b1:3181', false);
        await startedWaiting;
        await previous.close();
        await registering;
        const session = await restarted.getSession();
        expect((await store.get(writableBookieKey(scope, 'b1:3181')))?.stat.ephemeralOwner).toBe(session.id);
        expect(await client.getWritableBookies()).toEqual(['b1:3181']);
      });

      test('cookies: create once, read back, compare-and-set, remove; they outlive the session', async () => {
        const bookie = registrationManager();
        const instanceId = await getInstanceId(store, scope);
        const cookie: Cookie = {
          bookieId: 'b1:3181',
          journalDirs: ['/data/journal'],
          ledgerDirs: ['/data/l1', '/data/l2'],
          instanceId,
        };
        await expect(bookie.readCookie('b1:3181')).rejects.toBeInstanceOf(CookieNotFoundError);
        await expect(bookie.writeCookie(cookie, 1n)).rejects.toBeInstanceOf(CookieNotFoundError);

        const v1 = await bookie.writeCookie(cookie, 'absent');
        expect(await bookie.readCookie('b1:3181')).toEqual({ cookie, version: v1 });
        await expect(bookie.writeCookie({ ...cookie, journalDirs: ['/x'] }, 'absent')).rejects.toBeInstanceOf(
          BadVersionError,
        );

        const grown = { ...cookie, ledgerDirs: [...cookie.ledgerDirs, '/data/l3'] };
        const v2 = await bookie.writeCookie(grown, v1);
        expect(v2 > v1).toBe(true);
        await expect(bookie.writeCookie(cookie, v1)).rejects.toBeInstanceOf(BadVersionError);
        expect(await bookie.readCookie('b1:3181')).toEqual({ cookie: grown, version: v2 });

        await bookie.registerBookie('b1:3181', false);
        await bookie.close();
        const reader = registrationManager(await impl.peer(store));
        expect(await reader.readCookie('b1:3181')).toEqual({ cookie: grown, version: v2 });

        await expect(reader.removeCookie('b1:3181', v1)).rejects.toBeInstanceOf(BadVersionError);
        await reader.removeCookie('b1:3181', v2);
        await expect(reader.readCookie('b1:3181')).rejects.toBeInstanceOf(CookieNotFoundError);
        await expect(reader.removeCookie('b1:3181', 'any')).rejects.toBeInstanceOf(CookieNotFoundError);
      });
    });
  });
});
