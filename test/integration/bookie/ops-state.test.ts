/**
 * Goal: the bookie's registration, as a ledger client watching etcd sees it, follows the bookie's state: it
 * moves between `bookies/writable` and `bookies/readonly` without ever vanishing, vanishes on shutdown, and
 * comes back by itself when the bookie's session is lost — its lease revoked, or expired while etcd was
 * unreachable.
 *
 * Method: a real etcd (harness, free loopback ports). The bookie's BookieStateManager uses one etcd client; a
 * second client watches with RegistrationClient, as a ledger client would. The lease is revoked with a raw etcd3
 * client; "etcd unreachable" is the etcd process stopped with SIGSTOP for longer than the lease TTL, then
 * continued with SIGCONT. Waits are bounded polls of the watched registrations.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../common';
import {
  EtcdMetadataStore,
  RegistrationClient,
  initNewCluster,
  readonlyBookieKey,
  writableBookieKey,
  type RegisteredBookies,
  type Watch,
} from '../../../metadata';
import { BookieMetrics, BookieStateManager, type Registration } from '../../../bookie';
import { EtcdServer, eventually } from '../../harness';

const logger = silentLogger();
const bookieId = '127.0.0.1:3181';
let etcd: EtcdServer;
let bookieStore: EtcdMetadataStore;
let clientStore: EtcdMetadataStore;
let scopeCounter = 0;
let scope: string;
let manager: BookieStateManager;
let metrics: BookieMetrics;
let watch: Watch;
let seen: RegisteredBookies[];

beforeAll(async () => {
  etcd = await EtcdServer.start();
  // A short request timeout: while etcd is stopped, calls give up (and are retried) quickly.
  bookieStore = await EtcdMetadataStore.connect({
    endpoints: [etcd.endpoint],
    logger,
    requestTimeoutMs: 1500,
  });
  clientStore = await EtcdMetadataStore.connect({ endpoints: [etcd.endpoint], logger });
});

beforeEach(async () => {
  scopeCounter += 1;
  scope = `/state-${scopeCounter}`;
  await initNewCluster(clientStore, scope);
  seen = [];
  watch = await new RegistrationClient(clientStore, scope, logger).watchBookies((b) => seen.push(b));
  metrics = new BookieMetrics(new Registry());
  manager = new BookieStateManager({ bookieId, store: bookieStore, scope, metrics, logger, ttlSeconds: 2 });
});

afterEach(async () => {
  await manager.shutdown();
  await watch.close();
});

afterAll(async () => {
  await bookieStore?.close();
  await clientStore?.close();
  await etcd?.stop();
});

/** Waits until the watching client's latest view is `expected`. */
async function clientSees(expected: RegisteredBookies, timeoutMs = 10000): Promise<void> {
  await eventually(
    `the client to see ${JSON.stringify(expected)} (last: ${JSON.stringify(seen.at(-1))})`,
    () => (JSON.stringify(seen.at(-1)) === JSON.stringify(expected) ? true : undefined),
    timeoutMs,
  );
}

const asWritable: RegisteredBookies = { writable: [bookieId], readOnly: [] };
const asReadOnly: RegisteredBookies = { writable: [], readOnly: [bookieId] };
const unregistered: RegisteredBookies = { writable: [], readOnly: [] };

async function sessionOf(registration: Registration): Promise<string> {
  const key =
    registration === 'writable' ? writableBookieKey(scope, bookieId) : readonlyBookieKey(scope, bookieId);
  const stored = await clientStore.get(key);
  expect(stored?.stat.ephemeralOwner).toBeDefined();
  return stored!.stat.ephemeralOwner!;
}

async function serverStatus(): Promise<number | undefined> {
  return (await metrics.serverStatus.get()).values[0]?.value;
}

/** The pid of the harness's etcd: the process listening for clients on its port. */
function etcdPid(server: EtcdServer): number {
  const needle = `--listen-client-urls\0http://127.0.0.1:${server.clientPort}\0`;
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) return Number(entry);
    } catch {
      // The process exited while we listed.
    }
  }
  throw new Error(`no etcd process for port ${server.clientPort}`);
}

describe('bookie > state > registration seen by a client (etcd)', () => {
  test('writable, read-only and back: the bookie moves between the lists and never vanishes', async () => {
    await clientSees(unregistered);
    await manager.start();
    await clientSees(asWritable);
    await manager.transitionToReadOnly('disks-full');
    await clientSees(asReadOnly);
    await manager.transitionToReadOnly('admin');
    await manager.transitionToWritable('disks-full');
    await manager.transitionToWritable('admin');
    await clientSees(asWritable);
    // Every view since the first registration holds the bookie (both lists at once, briefly, is allowed).
    const sinceRegistered = seen.slice(seen.findIndex((b) => b.writable.length > 0));
    for (const view of sinceRegistered) expect([...view.writable, ...view.readOnly]).toContain(bookieId);
    expect(sinceRegistered.map((v) => v.readOnly.length > 0 && v.writable.length === 0)).toContain(true);
  });

  test('shutdown removes the registration at once (the session is closed, not left to expire)', async () => {
    await manager.start();
    await clientSees(asWritable);
    await manager.shutdown();
    await clientSees(unregistered, 1500); // under the 2 s lease TTL
    expect(await serverStatus()).toBe(-1);
  });

  test('a lease revoked elsewhere: the bookie registers again, on a new session, in its current state', async () => {
    await manager.start();
    await manager.transitionToReadOnly('admin');
    await clientSees(asReadOnly);
    const lostSession = await sessionOf('readonly');
    const raw = new Etcd3({ hosts: [etcd.endpoint] });
    try {
      await raw.leaseClient.leaseRevoke({ ID: BigInt(`0x${lostSession}`).toString() });
    } finally {
      raw.close();
    }
    await clientSees(unregistered);
    await clientSees(asReadOnly);
    expect(await sessionOf('readonly')).not.toBe(lostSession);
    await eventually('registered state', () =>
      manager.state.registeredAs === 'readonly' ? true : undefined,
    );
    expect(await serverStatus()).toBe(0);
  });

  test('etcd unreachable past the lease TTL: the session is lost, and the bookie registers again once etcd is back', async () => {
    await manager.start();
    await clientSees(asWritable);
    const lostSession = await sessionOf('writable');
    const pid = etcdPid(etcd);
    process.kill(pid, 'SIGSTOP');
    try {
      // The bookie stops trusting a session one TTL (2 s) after its last acknowledged keepalive.
      await eventually('the bookie to notice its session is lost', () =>
        manager.state.registeredAs === undefined ? true : undefined,
      );
      expect(await serverStatus()).toBe(-1);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await eventually(
      'the bookie to register again',
      () => (manager.state.registeredAs === 'writable' ? true : undefined),
      20000,
    );
    await clientSees(asWritable);
    expect(await sessionOf('writable')).not.toBe(lostSession);
    expect(await serverStatus()).toBe(1);
  });
});
