/**
 * Goal: both MetadataStore implementations — etcd and the embedded RocksDB store — keep the same contract:
 * Stat semantics, compare-and-set (including under a race of concurrent writers), ordered range listing, watches
 * that miss nothing once established, and sessions whose ephemeral keys vanish with them.
 *
 * Method: one `describe.each` suite runs every case against a real etcd (started by the harness on free loopback
 * ports) and against a real RocksDB in a temporary directory. Each case works under its own key prefix. Cases
 * that only make sense for one implementation (persistence across reopen, lease expiry after a SIGKILL, an
 * unreachable endpoint) follow in their own blocks. Crashes are real: a child Node process running our compiled
 * store (dist/, built by `npm test`'s pretest) is SIGKILLed. Nothing sleeps where an event can be awaited; every
 * wait is bounded.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { Etcd3 } from 'etcd3';
import { silentLogger } from '../../common';
import {
  BadVersionError,
  EmbeddedMetadataStore,
  EtcdMetadataStore,
  MetadataUnavailableError,
  PortMetadataStore,
  serveMetadataStore,
  NoSuchKeyError,
  SessionLostError,
  createMetadataStore,
} from '../../metadata';
import type { MetadataStore, Stat, StoredValue, WatchEvent } from '../../metadata';
import { EtcdServer, TempDirs, freePort } from '../harness';

// jest reads `testTimeout` only from the top-level config, not per project: set the contract project's 60 s here.

const ROOT = resolve(__dirname, '..', '..');
const SESSION_HOLDER = join(ROOT, 'test', 'fixtures', 'session-holder.js');
const DIST_METADATA = join(ROOT, 'dist', 'metadata', 'index.js');

interface Implementation {
  name: 'etcd' | 'embedded' | 'port';
  /** Opens a client on the implementation's shared backing store (a fresh one per test for embedded). */
  open(): Promise<MetadataStore>;
  /**
   * Clients for concurrent writers: separate etcd clients; for the embedded store, whose directory one client
   * holds, the same client shared by concurrent callers.
   */
  writers(store: MetadataStore, count: number): Promise<MetadataStore[]>;
  /** Another client after the test's closed: a new store on the same data (for port, on the same served store). */
  reopen(): Promise<MetadataStore>;
}

let etcd: EtcdServer;
const tempDirs = new TempDirs();
let embeddedDir: string;
const opened: MetadataStore[] = [];
const ports: MessagePort[] = [];
let prefixCounter = 0;

beforeAll(async () => {
  etcd = await EtcdServer.start();
});

afterAll(async () => {
  await etcd?.stop();
  tempDirs.removeAll();
});

beforeEach(() => {
  embeddedDir = tempDirs.make('ledgerline-embedded-');
});

afterEach(async () => {
  for (const store of opened.splice(0).reverse()) await store.close();
  for (const port of ports.splice(0)) port.close();
});

function track<T extends MetadataStore>(store: T): T {
  opened.push(store);
  return store;
}

/** The store the port implementation's clients reach, opened with the test's client. */
let served: EmbeddedMetadataStore | undefined;

/** A PortMetadataStore served by `store` across a new MessageChannel (closed before it: `opened` closes in reverse). */
function portClient(store: MetadataStore): MetadataStore {
  const channel = new MessageChannel();
  serveMetadataStore(store, channel.port1);
  ports.push(channel.port1, channel.port2);
  return track(new PortMetadataStore(channel.port2));
}

const implementations: Implementation[] = [
  {
    name: 'etcd',
    // A small page size makes `list` page even over a few keys.
    open: async () =>
      track(
        await EtcdMetadataStore.connect({
          endpoints: [etcd.endpoint],
          logger: silentLogger(),
          listPageSize: 3,
        }),
      ),
    writers: async (store, count) => [
      store,
      ...(await Promise.all(Array.from({ length: count - 1 }, () => implementations[0]!.open()))),
    ],
    reopen: () => implementations[0]!.open(),
  },
  {
    name: 'embedded',
    open: async () => track(await EmbeddedMetadataStore.open({ dir: embeddedDir, logger: silentLogger() })),
    writers: async (store, count) => Array.from({ length: count }, () => store),
    reopen: () => implementations[1]!.open(),
  },
  {
    // What a standalone bookie thread uses: the embedded store served across a MessagePort.
    name: 'port',
    open: async () => {
      served = track(await EmbeddedMetadataStore.open({ dir: embeddedDir, logger: silentLogger() }));
      return portClient(served);
    },
    writers: async (store, count) => Array.from({ length: count }, () => store),
    reopen: async () => portClient(served!),
  },
];

/** A key prefix no other test uses (tests of the etcd implementation share one server). */
function freshPrefix(): string {
  prefixCounter += 1;
  return `/contract/${process.pid}-${prefixCounter}/`;
}

/** Collects watch events; `waitFor(n)` resolves once n have arrived, or fails after a bounded wait. */
class EventLog {
  readonly events: WatchEvent[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  readonly listener = (event: WatchEvent): void => {
    this.events.push(event);
    this.waiters = this.waiters.filter((waiter) => {
      if (this.events.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  };

  async waitFor(count: number, timeoutMs = 10000): Promise<WatchEvent[]> {
    if (this.events.length < count) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.waiters.push({ count, resolve })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(`expected ${count} watch events, got ${this.events.length} within ${timeoutMs} ms`),
              ),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    }
    return this.events.slice(0, count);
  }
}

function summary(event: WatchEvent): string {
  return event.type === 'put' ? `put ${event.key}=${event.value.toString()}` : `delete ${event.key}`;
}

function versionOf(event: WatchEvent): bigint {
  return event.type === 'put' ? event.stat.version : event.version;
}

function expectIncreasing(versions: bigint[]): void {
  for (let i = 1; i < versions.length; i++) expect(versions[i]! > versions[i - 1]!).toBe(true);
}

const buf = (text: string): Buffer => Buffer.from(text);

describe('metadata store', () => {
  describe.each(implementations)('$name', (impl) => {
    let store: MetadataStore;
    let prefix: string;

    beforeEach(async () => {
      store = await impl.open();
      prefix = freshPrefix();
    });

    describe('basics', () => {
      test('a missing key reads as undefined', async () => {
        expect(await store.get(`${prefix}missing`)).toBeUndefined();
      });

      test('put then get returns the value and a stat with modCount 1', async () => {
        const key = `${prefix}a`;
        const stat = await store.put(key, buf('one'));
        expect(stat.version > 0n).toBe(true);
        expect(stat.modCount).toBe(1n);
        expect(stat.ephemeralOwner).toBeUndefined();
        const read = await store.get(key);
        expect(read?.key).toBe(key);
        expect(read?.value.toString()).toBe('one');
        expect(read?.stat).toEqual(stat);
      });

      test('each put raises the version and counts in modCount', async () => {
        const key = `${prefix}a`;
        const first = await store.put(key, buf('1'));
        const second = await store.put(key, buf('2'));
        const third = await store.put(key, buf('3'));
        expectIncreasing([first.version, second.version, third.version]);
        expect([first.modCount, second.modCount, third.modCount]).toEqual([1n, 2n, 3n]);
        expect((await store.get(key))?.value.toString()).toBe('3');
      });

      test('the version is store-wide: a change to another key raises it', async () => {
        const a = await store.put(`${prefix}a`, buf('a'));
        const b = await store.put(`${prefix}b`, buf('b'));
        expect(b.version > a.version).toBe(true);
      });

      test('empty and binary values round-trip', async () => {
        const bytes = Buffer.from([0, 255, 1, 254, 0]);
        await store.put(`${prefix}empty`, Buffer.alloc(0));
        await store.put(`${prefix}binary`, bytes);
        expect((await store.get(`${prefix}empty`))?.value.length).toBe(0);
        expect((await store.get(`${prefix}binary`))?.value.equals(bytes)).toBe(true);
      });

      test('delete removes the key; deleting a missing key throws NoSuchKeyError', async () => {
        const key = `${prefix}a`;
        await store.put(key, buf('x'));
        await store.delete(key);
        expect(await store.get(key)).toBeUndefined();
        await expect(store.delete(key)).rejects.toBeInstanceOf(NoSuchKeyError);
      });

      test('delete then re-create resets modCount to 1 with a higher version', async () => {
        const key = `${prefix}a`;
        await store.put(key, buf('1'));
        const before = await store.put(key, buf('2'));
        await store.delete(key);
        const recreated = await store.put(key, buf('3'));
        expect(before.modCount).toBe(2n);
        expect(recreated.modCount).toBe(1n);
        expect(recreated.version > before.version).toBe(true);
      });
    });

    describe('cas', () => {
      test("'absent' creates a missing key and fails with BadVersionError when it exists", async () => {
        const key = `${prefix}a`;
        const created = await store.put(key, buf('first'), { expectedVersion: 'absent' });
        expect(created.modCount).toBe(1n);
        const error = await store
          .put(key, buf('second'), { expectedVersion: 'absent' })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(BadVersionError);
        expect((error as BadVersionError).code).toBe('BadVersion');
        expect((error as BadVersionError).retriable).toBe(true);
        expect((await store.get(key))?.value.toString()).toBe('first');
      });

      test('the current version wins; a stale version fails with BadVersionError and changes nothing', async () => {
        const key = `${prefix}a`;
        const v1 = await store.put(key, buf('1'));
        const v2 = await store.put(key, buf('2'), { expectedVersion: v1.version });
        expect(v2.modCount).toBe(2n);
        await expect(store.put(key, buf('stale'), { expectedVersion: v1.version })).rejects.toBeInstanceOf(
          BadVersionError,
        );
        const read = await store.get(key);
        expect(read?.value.toString()).toBe('2');
        expect(read?.stat).toEqual(v2);
      });

      test('a version on a missing key fails with NoSuchKeyError', async () => {
        await expect(store.put(`${prefix}missing`, buf('x'), { expectedVersion: 1n })).rejects.toBeInstanceOf(
          NoSuchKeyError,
        );
        expect(await store.get(`${prefix}missing`)).toBeUndefined();
      });

      test('delete with a stale version fails with BadVersionError; with the current one it succeeds', async () => {
        const key = `${prefix}a`;
        const v1 = await store.put(key, buf('1'));
        const v2 = await store.put(key, buf('2'));
        await expect(store.delete(key, v1.version)).rejects.toBeInstanceOf(BadVersionError);
        await expect(store.delete(`${prefix}missing`, v1.version)).rejects.toBeInstanceOf(NoSuchKeyError);
        await store.delete(key, v2.version);
        expect(await store.get(key)).toBeUndefined();
      });

      test('race: in each round of 8 writers holding the same version exactly one CAS wins', async () => {
        const key = `${prefix}counter`;
        const writers = await impl.writers(store, 8);
        await store.put(key, buf('0'), { expectedVersion: 'absent' });
        const rounds = 5;
        let successes = 0;
        for (let round = 0; round < rounds; round++) {
          const reads = await Promise.all(writers.map((writer) => writer.get(key)));
          const read = reads[0]!;
          for (const other of reads) expect(other?.stat.version).toBe(read.stat.version);
          const outcomes = await Promise.allSettled(
            writers.map((writer) =>
              writer.put(key, buf(String(Number(read.value.toString()) + 1)), {
                expectedVersion: read.stat.version,
              }),
            ),
          );
          const won = outcomes.filter((o): o is PromiseFulfilledResult<Stat> => o.status === 'fulfilled');
          const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
          expect(won).toHaveLength(1);
          for (const outcome of lost) expect(outcome.reason).toBeInstanceOf(BadVersionError);
          successes += won.length;
          expect((await store.get(key))?.stat).toEqual(won[0]!.value);
        }
        const final = await store.get(key);
        expect(successes).toBe(rounds);
        expect(final?.value.toString()).toBe(String(successes));
        expect(final?.stat.modCount).toBe(BigInt(1 + successes));
      });

      test('race: a writer whose create lost reads the winner at once (no refusal before the winner is readable)', async () => {
        const writers = await impl.writers(store, 8);
        for (let round = 0; round < 5; round++) {
          const key = `${prefix}created-${round}`;
          const seen = await Promise.all(
            writers.map(async (writer, index) => {
              try {
                await writer.put(key, buf(`writer-${index}`), { expectedVersion: 'absent' });
                return `writer-${index}`;
              } catch (error) {
                expect(error).toBeInstanceOf(BadVersionError);
                // What refused the create must already be visible to this writer.
                return (await writer.get(key))?.value.toString();
              }
            }),
          );
          const winner = (await store.get(key))?.value.toString();
          expect(winner).toBeDefined();
          expect(seen).toEqual(writers.map(() => winner));
        }
      });

      test('race: 8 free-running read-modify-write loops lose no increment', async () => {
        const key = `${prefix}counter`;
        const writers = await impl.writers(store, 8);
        await store.put(key, buf('0'), { expectedVersion: 'absent' });
        const attemptsPerWriter = 6;
        let successes = 0;
        let conflicts = 0;
        await Promise.all(
          writers.map(async (writer) => {
            for (let attempt = 0; attempt < attemptsPerWriter; attempt++) {
              const read = (await writer.get(key))!;
              try {
                await writer.put(key, buf(String(Number(read.value.toString()) + 1)), {
                  expectedVersion: read.stat.version,
                });
                successes += 1;
              } catch (err) {
                expect(err).toBeInstanceOf(BadVersionError);
                conflicts += 1;
              }
            }
          }),
        );
        const final = await store.get(key);
        expect(successes + conflicts).toBe(writers.length * attemptsPerWriter);
        expect(successes).toBeGreaterThan(0);
        expect(final?.value.toString()).toBe(String(successes));
        expect(final?.stat.modCount).toBe(BigInt(successes + 1));
      });
    });

    describe('watch', () => {
      test('a key watch delivers puts and the delete in order, with their versions', async () => {
        const key = `${prefix}a`;
        const log = new EventLog();
        await store.watch(key, log.listener);
        const s1 = await store.put(key, buf('1'));
        await store.put(`${prefix}other`, buf('not watched'));
        const s2 = await store.put(key, buf('2'));
        await store.delete(key);
        const events = await log.waitFor(3);
        expect(events.map(summary)).toEqual([`put ${key}=1`, `put ${key}=2`, `delete ${key}`]);
        expect(events[0]).toMatchObject({ type: 'put', stat: s1 });
        expect(events[1]).toMatchObject({ type: 'put', stat: s2 });
        expectIncreasing(events.map(versionOf));
      });

      test('a prefix watch delivers changes under the prefix only, in order', async () => {
        const log = new EventLog();
        await store.watch(`${prefix}dir/`, log.listener, { prefix: true });
        await store.put(`${prefix}dir/x`, buf('1'));
        await store.put(`${prefix}dir0`, buf('sibling, outside'));
        await store.put(`${prefix}dir`, buf('parent, outside'));
        await store.put(`${prefix}dir/y/z`, buf('2'));
        await store.delete(`${prefix}dir/x`);
        const events = await log.waitFor(3);
        expect(events.map(summary)).toEqual([
          `put ${prefix}dir/x=1`,
          `put ${prefix}dir/y/z=2`,
          `delete ${prefix}dir/x`,
        ]);
        expectIncreasing(events.map(versionOf));
      });

      test('nothing is missed: every one of 60 concurrent writes after watch() resolves arrives, in version order', async () => {
        const log = new EventLog();
        await store.watch(prefix, log.listener, { prefix: true });
        const stats = await Promise.all(
          Array.from({ length: 60 }, (_, i) => store.put(`${prefix}k${i % 7}`, buf(String(i)))),
        );
        const events = await log.waitFor(stats.length);
        const versions = events.map(versionOf);
        expectIncreasing(versions);
        expect(versions).toEqual(stats.map((s) => s.version).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      });

      test('a closed watch delivers nothing more', async () => {
        const key = `${prefix}a`;
        const closedLog = new EventLog();
        const openLog = new EventLog();
        const watch = await store.watch(key, closedLog.listener);
        await store.watch(key, openLog.listener);
        await store.put(key, buf('1'));
        await closedLog.waitFor(1);
        await watch.close();
        await watch.close();
        await store.put(key, buf('2'));
        await openLog.waitFor(2);
        expect(closedLog.events.map(summary)).toEqual([`put ${key}=1`]);
      });
    });

    describe('list', () => {
      const names = ['b', 'a', 'A', 'a/b', 'ab', 'é', 'z', '0', 'a b', 'zz'];

      async function seed(): Promise<void> {
        for (const name of names) await store.put(`${prefix}${name}`, buf(`v-${name}`));
        await store.put(prefix.slice(0, -1), buf('the prefix without its slash, outside'));
        await store.put(`${prefix.slice(0, -1)}0`, buf('next sibling, outside'));
      }

      const byteOrder = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      const keysOf = (rows: StoredValue[]): string[] => rows.map((row) => row.key.slice(prefix.length));

      test('returns the keys under the prefix in byte order, with values and stats', async () => {
        await seed();
        const rows = await store.list(prefix);
        expect(keysOf(rows)).toEqual(byteOrder);
        for (const row of rows) {
          expect(row.value.toString()).toBe(`v-${row.key.slice(prefix.length)}`);
          expect(row.stat).toEqual((await store.get(row.key))?.stat);
        }
      });

      test('start is inclusive and end exclusive', async () => {
        await seed();
        const rows = await store.list(prefix, { start: `${prefix}a`, end: `${prefix}b` });
        expect(keysOf(rows)).toEqual(byteOrder.filter((n) => n >= 'a' && n < 'b'));
        expect(keysOf(rows)).toEqual(['a', 'a b', 'a/b', 'ab']);
        expect(await store.list(prefix, { start: `${prefix}z`, end: `${prefix}a` })).toEqual([]);
      });

      test('bounds outside the prefix are clamped to it', async () => {
        await seed();
        const rows = await store.list(prefix, { start: '/', end: '/contract~' });
        expect(keysOf(rows)).toEqual(byteOrder);
      });

      test('limit stops after that many keys', async () => {
        await seed();
        expect(keysOf(await store.list(prefix, { limit: 4 }))).toEqual(byteOrder.slice(0, 4));
        expect(keysOf(await store.list(prefix, { start: `${prefix}b`, limit: 2 }))).toEqual(['b', 'z']);
        expect(await store.list(prefix, { limit: 100 })).toHaveLength(names.length);
      });

      test('keysOnly returns keys and stats with empty values', async () => {
        await seed();
        const rows = await store.list(prefix, { keysOnly: true });
        expect(keysOf(rows)).toEqual(byteOrder);
        for (const row of rows) {
          expect(row.value.length).toBe(0);
          expect(row.stat.modCount).toBe(1n);
        }
      });

      test('an empty prefix range lists nothing', async () => {
        expect(await store.list(`${prefix}nothing/`)).toEqual([]);
      });
    });

    describe('sessions', () => {
      test('an ephemeral key carries its session as owner and vanishes when the session closes', async () => {
        const session = await store.createSession(10);
        expect(session.ttlSeconds).toBe(10);
        const stat = await store.put(`${prefix}eph`, buf('e'), { session });
        expect(stat.ephemeralOwner).toBe(session.id);
        await store.put(`${prefix}persistent`, buf('p'));
        const log = new EventLog();
        await store.watch(prefix, log.listener, { prefix: true });
        await session.close();
        await session.close();
        expect(await store.get(`${prefix}eph`)).toBeUndefined();
        expect((await store.get(`${prefix}persistent`))?.value.toString()).toBe('p');
        expect((await log.waitFor(1)).map(summary)).toEqual([`delete ${prefix}eph`]);
      });

      test('a put without the session makes an ephemeral key persistent', async () => {
        const session = await store.createSession(10);
        await store.put(`${prefix}k`, buf('1'), { session });
        const stat = await store.put(`${prefix}k`, buf('2'));
        expect(stat.ephemeralOwner).toBeUndefined();
        await session.close();
        expect((await store.get(`${prefix}k`))?.value.toString()).toBe('2');
      });

      test('a closed session cannot own keys', async () => {
        const session = await store.createSession(10);
        await session.close();
        await expect(store.put(`${prefix}k`, buf('x'), { session })).rejects.toBeInstanceOf(SessionLostError);
        expect(await store.get(`${prefix}k`)).toBeUndefined();
      });

      test('closing the store ends its sessions and deletes their keys', async () => {
        // The embedded store allows one open client per directory: the test's store is the holder there.
        const holder = impl.name === 'etcd' ? await impl.open() : store;
        const session = await holder.createSession(30);
        await holder.put(`${prefix}eph`, buf('e'), { session });
        if (impl.name === 'etcd')
          expect((await store.get(`${prefix}eph`))?.stat.ephemeralOwner).toBe(session.id);
        await holder.close();
        const reader = impl.name === 'etcd' ? store : await impl.reopen();
        expect(await reader.get(`${prefix}eph`)).toBeUndefined();
      });
    });
  });

  describe('embedded', () => {
    const open = (dir: string): Promise<EmbeddedMetadataStore> =>
      EmbeddedMetadataStore.open({ dir, logger: silentLogger() });

    test('data survives close and reopen, and the revision keeps rising', async () => {
      const dir = tempDirs.make('ledgerline-embedded-');
      const first = await open(dir);
      await first.put('/k/a', buf('1'));
      const a2 = await first.put('/k/a', buf('2'));
      const b = await first.put('/k/b', buf('b'));
      await first.delete('/k/b');
      await first.close();
      const second = track(await open(dir));
      expect(await second.get('/k/a')).toEqual({ key: '/k/a', value: buf('2'), stat: a2 });
      expect(await second.get('/k/b')).toBeUndefined();
      const next = await second.put('/k/c', buf('c'));
      expect(next.version > b.version + 1n).toBe(true);
    });

    test('a second open of the same directory fails with MetadataUnavailableError', async () => {
      const dir = tempDirs.make('ledgerline-embedded-');
      track(await open(dir));
      const error = await open(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MetadataUnavailableError);
      expect((error as Error).message).toMatch(/in use/);
    });

    test('a closed store refuses operations with MetadataUnavailableError', async () => {
      const store = await open(tempDirs.make('ledgerline-embedded-'));
      await store.close();
      await expect(store.get('/k')).rejects.toBeInstanceOf(MetadataUnavailableError);
      await expect(store.put('/k', buf('x'))).rejects.toBeInstanceOf(MetadataUnavailableError);
    });

    test('after a SIGKILL, another process is locked out, and a reopen drops the dead process ephemeral keys', async () => {
      requireFreshDist();
      const dir = tempDirs.make('ledgerline-embedded-');
      const seed = await open(dir);
      await seed.put('/k/persistent', buf('p'));
      await seed.close();
      const holder = await startSessionHolder(`embedded:${dir}`, '/k/eph', 5);
      try {
        const locked = await open(dir).catch((e: unknown) => e);
        expect(locked).toBeInstanceOf(MetadataUnavailableError);
      } finally {
        await holder.kill();
      }
      const reopened = track(await open(dir));
      expect(await reopened.get('/k/eph')).toBeUndefined();
      expect((await reopened.get('/k/persistent'))?.value.toString()).toBe('p');
      expect(await reopened.list('/k/')).toHaveLength(1);
    });
  });

  describe('etcd', () => {
    test('a SIGKILLed session holder loses its ephemeral key within the TTL, and a watch sees the delete', async () => {
      requireFreshDist();
      const ttlSeconds = 2;
      const store = track(
        await EtcdMetadataStore.connect({ endpoints: [etcd.endpoint], logger: silentLogger() }),
      );
      const key = `${freshPrefix()}bookie`;
      const holder = await startSessionHolder(etcd.uri(), key, ttlSeconds);
      const read = await store.get(key);
      expect(read?.stat.ephemeralOwner).toBe(holder.sessionId);
      const log = new EventLog();
      await store.watch(key, log.listener);
      const killedAt = Date.now();
      await holder.kill();
      // etcd may round a TTL up to its minimum and checks expiry on its own tick: allow slack on top of the TTL.
      const [event] = await log.waitFor(1, ttlSeconds * 1000 + 4000);
      const elapsedMs = Date.now() - killedAt;
      expect(event).toMatchObject({ type: 'delete', key });
      expect(elapsedMs).toBeLessThan(ttlSeconds * 1000 + 4000);
      expect(await store.get(key)).toBeUndefined();
    });

    test('a session whose lease is revoked elsewhere reports onLost and can no longer own keys', async () => {
      const store = track(
        await EtcdMetadataStore.connect({ endpoints: [etcd.endpoint], logger: silentLogger() }),
      );
      // A short TTL: etcd reports the revoked lease on the next keepalive, which runs every TTL / 3.
      const session = await store.createSession(3);
      const key = `${freshPrefix()}eph`;
      await store.put(key, buf('e'), { session });
      const lost = new Promise<Error>((resolve) => session.onLost(resolve));
      const raw = new Etcd3({ hosts: [etcd.endpoint] });
      try {
        await raw.leaseClient.leaseRevoke({ ID: BigInt(`0x${session.id}`).toString() });
      } finally {
        raw.close();
      }
      let timer: NodeJS.Timeout | undefined;
      const cause = await Promise.race([
        lost,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('onLost not called within 15 s')), 15000);
        }),
      ]).finally(() => clearTimeout(timer));
      expect(cause).toBeInstanceOf(SessionLostError);
      expect(await store.get(key)).toBeUndefined();
      await expect(store.put(key, buf('x'), { session })).rejects.toBeInstanceOf(SessionLostError);
    });

    test('an unreachable endpoint fails with MetadataUnavailableError within a few seconds', async () => {
      const port = await freePort();
      const startedAt = Date.now();
      const error = await createMetadataStore(`etcd://127.0.0.1:${port}/ledgers`, {
        logger: silentLogger(),
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MetadataUnavailableError);
      expect((error as Error).message).toContain(`127.0.0.1:${port}`);
      expect(Date.now() - startedAt).toBeLessThan(5000);
    });

    test('a store whose etcd dies fails calls with MetadataUnavailableError within the request timeout', async () => {
      const doomed = await EtcdServer.start();
      const store = track(
        await EtcdMetadataStore.connect({
          endpoints: [doomed.endpoint],
          logger: silentLogger(),
          requestTimeoutMs: 2000,
        }),
      );
      await store.put('/k', buf('x'));
      await doomed.stop();
      const startedAt = Date.now();
      await expect(store.get('/k')).rejects.toBeInstanceOf(MetadataUnavailableError);
      await expect(store.put('/k', buf('y'), { expectedVersion: 1n })).rejects.toBeInstanceOf(
        MetadataUnavailableError,
      );
      await expect(store.watch('/k', () => undefined)).rejects.toBeInstanceOf(MetadataUnavailableError);
      expect(Date.now() - startedAt).toBeLessThan(3 * 2000 + 1000);
    });
  });
});

/** The child process runs our compiled code; refuse to test a missing or stale build. */
function requireFreshDist(): void {
  if (!existsSync(DIST_METADATA)) {
    throw new Error(`${DIST_METADATA} is missing: run \`npm run build\` (npm test does it in pretest)`);
  }
  const builtAt = statSync(DIST_METADATA).mtimeMs;
  const sourceDir = join(ROOT, 'metadata');
  const stale = readdirSync(sourceDir)
    .filter((name) => name.endsWith('.ts'))
    .filter((name) => {
      const built = join(ROOT, 'dist', 'metadata', name.replace(/\.ts$/, '.js'));
      return (
        !existsSync(built) ||
        statSync(join(sourceDir, name)).mtimeMs > Math.max(builtAt, statSync(built).mtimeMs)
      );
    });
  if (stale.length > 0) {
    throw new Error(`dist/ is older than metadata/${stale.join(', metadata/')}: run \`npm run build\``);
  }
}

interface SessionHolder {
  sessionId: string;
  /** SIGKILLs the child and waits for it to exit. */
  kill(): Promise<void>;
}

/** Starts test/fixtures/session-holder.js and waits until it holds an ephemeral key. */
async function startSessionHolder(uri: string, key: string, ttlSeconds: number): Promise<SessionHolder> {
  const child: ChildProcess = spawn(process.execPath, [SESSION_HOLDER, uri, key, String(ttlSeconds)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const line = await Promise.race([
      new Promise<string>((resolve) => {
        let stdout = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const newline = stdout.indexOf('\n');
          if (newline >= 0) resolve(stdout.slice(0, newline));
        });
      }),
      exited.then(() => {
        throw new Error(`session holder exited early: ${stderr}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`session holder not ready within 15 s: ${stderr}`)), 15000);
      }),
    ]);
    const ready = JSON.parse(line) as { sessionId: string };
    return { sessionId: ready.sessionId, kill };
  } catch (err) {
    await kill();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
