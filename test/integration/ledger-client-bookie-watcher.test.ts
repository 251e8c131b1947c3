/**
 * Goal: the ledger client's view of the bookies (BookieWatcher) follows the registrations as a client would
 * observe them — bookies there at start, a bookie joining, going read-only and back, leaving when its session
 * closes or its process dies — and a placement policy on that view places only on writable bookies.
 *
 * Method: one `describe.each` runs every case against a real etcd (started by the harness on free loopback ports)
 * and against the embedded RocksDB store in a temporary directory. Bookies are registered with metadata's
 * RegistrationManager, as a bookie registers itself (no bookie processes are needed for the view); on etcd each
 * registering "bookie" has its own client connection and session, the embedded store admits one client, so
 * there they share it. A bookie process dying is a child node process holding a 1 s lease, SIGKILLed (etcd only:
 * the embedded store lives in one process). Waits are bounded polls; no sleep decides an outcome.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../common';
import { BookieWatcher, createPlacementPolicy } from '../../ledger-client';
import {
  EmbeddedMetadataStore,
  EtcdMetadataStore,
  RegistrationManager,
  initNewCluster,
  readonlyBookieKey,
  writableBookieKey,
} from '../../metadata';
import type { MetadataStore } from '../../metadata';
import { EtcdServer, TempDirs, captureError, eventually } from '../harness';

const logger = silentLogger();
/** The client's placement settings at their defaults (BookKeeper.create passes its whole config). */
const placementSettings = {
  ensemblePlacementPolicy: 'random',
  reorderReadSequenceEnabled: true,
  bookieRacks: '',
  minNumRacksPerWriteQuorum: 2,
  enforceMinNumRacksPerWriteQuorum: false,
};
const ROOT = join(__dirname, '..', '..');

/**
 * A metadata store to run against: `connect` gives the watcher its client and each registering bookie its own
 * (a new etcd connection; the embedded store admits one client per directory, so there it is the same one).
 */
interface Backend {
  name: 'etcd' | 'embedded';
  start(): Promise<RunningBackend>;
}

interface RunningBackend {
  connect(): Promise<MetadataStore>;
  stop(): Promise<void>;
  /** etcd's client URL, for processes of their own. */
  endpoint?: string;
}

const backends: Backend[] = [
  {
    name: 'etcd',
    start: async () => {
      const server = await EtcdServer.start();
      const clients: MetadataStore[] = [];
      return {
        endpoint: server.endpoint,
        connect: async () => {
          clients.push(await EtcdMetadataStore.connect({ endpoints: [server.endpoint], logger }));
          return clients[clients.length - 1]!;
        },
        stop: async () => {
          await Promise.all(clients.map((client) => client.close()));
          await server.stop();
        },
      };
    },
  },
  {
    name: 'embedded',
    start: async () => {
      const dirs = new TempDirs();
      const store = await EmbeddedMetadataStore.open({ dir: dirs.make('ledgerline-watcher-'), logger });
      return {
        connect: async () => store,
        stop: async () => {
          await store.close();
          dirs.removeAll();
        },
      };
    },
  },
];

/** What a test opened (watchers, registrations, sessions, processes), undone after it, newest first. */
const undo: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of undo.splice(0).reverse()) await step();
});
function closeLater<T extends { close(): Promise<void> }>(closeable: T): T {
  undo.push(() => closeable.close());
  return closeable;
}

/** What the watcher shows, sorted, for comparisons. */
function seen(watcher: BookieWatcher): { writable: string[]; readOnly: string[] } {
  return { writable: [...watcher.writable()].sort(), readOnly: [...watcher.readOnly()].sort() };
}

async function until(
  watcher: BookieWatcher,
  expected: { writable: string[]; readOnly: string[] },
  timeoutMs?: number,
): Promise<void> {
  await eventually(
    `the watcher to show ${JSON.stringify(expected)}`,
    () => (JSON.stringify(seen(watcher)) === JSON.stringify(expected) ? true : undefined),
    timeoutMs,
  );
}

describe('ledger-client > placement > bookie watcher', () => {
  describe.each(backends)('$name', (backend) => {
    let running: RunningBackend;
    let store: MetadataStore;
    let scope: string;
    let scopes = 0;

    beforeAll(async () => {
      running = await backend.start();
      store = await running.connect();
    });

    afterAll(async () => {
      await running?.stop();
    });

    beforeEach(async () => {
      scopes += 1;
      scope = `/watcher-${scopes}`;
      await initNewCluster(store, scope);
    });

    /** A bookie's registration: its own session (on etcd its own connection too). */
    async function bookie(bookieId: string, readOnly = false): Promise<RegistrationManager> {
      const manager = closeLater(new RegistrationManager(await running.connect(), scope, logger));
      await manager.registerBookie(bookieId, readOnly);
      return manager;
    }

    test('start resolves with the bookies already registered, writable and read-only', async () => {
      await bookie('127.0.0.1:3181');
      await bookie('127.0.0.1:3182');
      await bookie('127.0.0.1:3183', true);
      const watcher = closeLater(await BookieWatcher.start(store, scope, logger));
      expect(seen(watcher)).toEqual({
        writable: ['127.0.0.1:3181', '127.0.0.1:3182'],
        readOnly: ['127.0.0.1:3183'],
      });
    });

    test('a bookie joins, goes read-only, comes back, and vanishes when its session closes', async () => {
      await bookie('127.0.0.1:3181');
      const watcher = closeLater(await BookieWatcher.start(store, scope, logger));
      expect(seen(watcher)).toEqual({ writable: ['127.0.0.1:3181'], readOnly: [] });

      const joiner = await bookie('127.0.0.1:3182');
      await until(watcher, { writable: ['127.0.0.1:3181', '127.0.0.1:3182'], readOnly: [] });
      await joiner.registerBookie('127.0.0.1:3182', true);
      await until(watcher, { writable: ['127.0.0.1:3181'], readOnly: ['127.0.0.1:3182'] });
      await joiner.registerBookie('127.0.0.1:3182', false);
      await until(watcher, { writable: ['127.0.0.1:3181', '127.0.0.1:3182'], readOnly: [] });
      await joiner.close();
      await until(watcher, { writable: ['127.0.0.1:3181'], readOnly: [] });
    });

    test('a bookie registered in both states at once (mid-transition) counts as read-only only', async () => {
      const watcher = closeLater(await BookieWatcher.start(store, scope, logger));
      expect(seen(watcher)).toEqual({ writable: [], readOnly: [] });
      // The keys a RegistrationManager would write, put by hand so that both exist for as long as the test likes.
      const registrar = await running.connect();
      const session = closeLater(await registrar.createSession(10));
      const writableKey = writableBookieKey(scope, '127.0.0.1:3181');
      const readonlyKey = readonlyBookieKey(scope, '127.0.0.1:3181');
      await registrar.put(writableKey, Buffer.alloc(0), { session });
      await until(watcher, { writable: ['127.0.0.1:3181'], readOnly: [] });
      await registrar.put(readonlyKey, Buffer.alloc(0), { session });
      await until(watcher, { writable: [], readOnly: ['127.0.0.1:3181'] });
      await registrar.delete(writableKey);
      await registrar.delete(readonlyKey);
      await until(watcher, { writable: [], readOnly: [] });
    });

    test('a placement policy on the watcher places only on the writable bookies it shows', async () => {
      const first = await bookie('127.0.0.1:3181');
      await bookie('127.0.0.1:3182');
      await bookie('127.0.0.1:3183');
      const watcher = closeLater(await BookieWatcher.start(store, scope, logger));
      const policy = createPlacementPolicy(placementSettings, watcher, logger);
      const request = { ensembleSize: 3, writeQuorumSize: 2, ackQuorumSize: 2 };
      expect(policy.newEnsemble(request).sort()).toEqual([
        '127.0.0.1:3181',
        '127.0.0.1:3182',
        '127.0.0.1:3183',
      ]);

      await first.registerBookie('127.0.0.1:3181', true);
      await until(watcher, { writable: ['127.0.0.1:3182', '127.0.0.1:3183'], readOnly: ['127.0.0.1:3181'] });
      expect(captureError(() => policy.newEnsemble(request))).toMatchObject({
        code: 'NotEnoughBookiesException',
        message: 'not enough bookies for an ensemble of 3: needed 3, have 2 writable and 1 read-only',
      });
      const ensemble = ['127.0.0.1:3181', '127.0.0.1:3182', '127.0.0.1:3183'];
      // A read-only bookie still serves reads: it keeps its place in the read order; a gone one goes last.
      expect(policy.readOrder(ensemble)).toEqual([0, 1, 2]);
      expect(
        policy.replaceBookie({
          ...request,
          ensembleSize: 2,
          writeQuorumSize: 2,
          ensemble: ensemble.slice(0, 2),
          index: 0,
        }),
      ).toBe('127.0.0.1:3183');
      await first.close();
      await until(watcher, { writable: ['127.0.0.1:3182', '127.0.0.1:3183'], readOnly: [] });
      expect(policy.readOrder(ensemble)).toEqual([1, 2, 0]);
    });

    test('after close the watcher shows no more changes', async () => {
      await bookie('127.0.0.1:3181');
      const watcher = await BookieWatcher.start(store, scope, logger);
      await watcher.close();
      await watcher.close();
      const other = closeLater(await BookieWatcher.start(store, scope, logger));
      await bookie('127.0.0.1:3182');
      await until(other, { writable: ['127.0.0.1:3181', '127.0.0.1:3182'], readOnly: [] });
      expect(seen(watcher)).toEqual({ writable: ['127.0.0.1:3181'], readOnly: [] });
    });

    if (backend.name === 'etcd') {
      test('a bookie whose process dies vanishes once its lease expires', async () => {
        const metadataIndex = join(ROOT, 'dist', 'metadata', 'index.js');
        if (!existsSync(metadataIndex))
          throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
        const watcher = closeLater(await BookieWatcher.start(store, scope, logger));
        // The child registers 127.0.0.1:3190 on a 1 s lease and keeps it alive until it is killed.
        const script = `
          const { EtcdMetadataStore, RegistrationManager } = require(${JSON.stringify(metadataIndex)});
          const pino = require('pino');
          (async () => {
            const logger = pino({ level: 'silent' });
            const store = await EtcdMetadataStore.connect({ endpoints: [${JSON.stringify(running.endpoint)}], logger });
            await new RegistrationManager(store, ${JSON.stringify(scope)}, logger, { ttlSeconds: 1 })
              .registerBookie('127.0.0.1:3190', false);
            process.stdout.write('registered\\n');
            setInterval(() => {}, 1000);
          })().catch((e) => { console.error(e); process.exit(1); });`;
        const child = spawn(process.execPath, ['-e', script], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const exited = new Promise((resolve) => child.once('exit', resolve));
        undo.push(async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (d: Buffer) => d.toString().includes('registered') && resolve());
          child.once('exit', (code) =>
            reject(new Error(`registering process exited with ${code}: ${stderr}`)),
          );
        });
        await until(watcher, { writable: ['127.0.0.1:3190'], readOnly: [] });

        child.kill('SIGKILL');
        await exited;
        const killedAt = Date.now();
        await until(watcher, { writable: [], readOnly: [] }, 10000);
        // The lease outlives the process by its 1 s TTL, no more than etcd's expiry check adds.
        expect(Date.now() - killedAt).toBeLessThan(5000);
      });
    }
  });
});
