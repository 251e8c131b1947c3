/**
 * Goal: the bookie's admin HTTP API answers as BookKeeper's does (paths, methods, JSON shapes) and as an
 * operator would expect: PUT state/readonly really moves the bookie to the read-only bookies in etcd; wrong
 * methods, unknown paths, bad JSON, oversized bodies, malformed requests and failing handlers get clear
 * answers and never take the server down.
 *
 * Method: a real BookieHttpServer on a free loopback port, over real HTTP (fetch, and a raw TCP socket for
 * malformed requests). Its AdminTarget is backed by real parts where they exist: a BookieStateManager
 * registered in a real etcd (watched by a second client), a DiskMonitor reading statfs of a real temp dir, the
 * bookie's prom-client registry, and real journal/entry-log files in temp dirs. The garbage collector belongs to
 * ledger storage, so a small recorder stands in for it.
 */
import { mkdirSync, statfsSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../common';
import {
  EtcdMetadataStore,
  RegistrationClient,
  initNewCluster,
  type RegisteredBookies,
  type Watch,
} from '../../../metadata';
import {
  BookieMetrics,
  DiskMonitor,
  BookieHttpServer,
  listBookieDiskFiles,
  type AdminTarget,
  type GcRequest,
  type GcStatus,
  BookieStateManager,
  type BookieStateManagerOptions,
} from '../../../bookie';
import { EtcdServer, TempDirs, eventually } from '../../harness';

const logger = silentLogger();
const bookieId = '127.0.0.1:3181';
const tempDirs = new TempDirs();
let etcd: EtcdServer;
let bookieStore: EtcdMetadataStore;
let clientStore: EtcdMetadataStore;
let scopeCounter = 0;

/** Stands in for ledger storage's garbage collector: records what was asked. */
class GcRecorder {
  readonly triggered: GcRequest[] = [];
  running = false;
  trigger(request: GcRequest): void {
    this.triggered.push(request);
  }
  isInForceGc(): boolean {
    return this.running;
  }
  status(): GcStatus[] {
    return [
      {
        ledgerDir: '/data/ledgers',
        forceCompacting: this.running,
        majorCompacting: false,
        minorCompacting: false,
        lastMajorCompactionTime: 1767225600000,
        lastMinorCompactionTime: 0,
        majorCompactionCounter: 1,
        minorCompactionCounter: 0,
      },
    ];
  }
}

interface Bookie {
  state: BookieStateManager;
  metrics: BookieMetrics;
  gc: GcRecorder;
  target: AdminTarget;
  server: BookieHttpServer;
  base: string;
  ledgerDir: string;
  seen: RegisteredBookies[];
}

let bookie: Bookie;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  etcd = await EtcdServer.start();
  bookieStore = await EtcdMetadataStore.connect({ endpoints: [etcd.endpoint], logger });
  clientStore = await EtcdMetadataStore.connect({ endpoints: [etcd.endpoint], logger });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await bookieStore?.close();
  await clientStore?.close();
  await etcd?.stop();
  tempDirs.removeAll();
});

/** A bookie's admin parts in a cluster of its own, its HTTP server listening; started unless told not to. */
async function startBookie(
  options: Partial<BookieStateManagerOptions> & { start?: boolean; target?: Partial<AdminTarget> } = {},
): Promise<Bookie> {
  scopeCounter += 1;
  const scope = `/http-${scopeCounter}`;
  await initNewCluster(clientStore, scope);
  const seen: RegisteredBookies[] = [];
  const watch: Watch = await new RegistrationClient(clientStore, scope, logger).watchBookies((b) =>
    seen.push(b),
  );
  cleanups.push(() => watch.close());

  const metrics = new BookieMetrics(new Registry());
  const state = new BookieStateManager({ bookieId, store: bookieStore, scope, metrics, logger, ...options });
  cleanups.push(() => state.shutdown());
  if (options.start !== false) await state.start();

  const root = tempDirs.make('ledgerline-http-');
  const journalDir = join(root, 'journal');
  const ledgerDir = join(root, 'ledgers');
  mkdirSync(ledgerDir);
  const monitor = new DiskMonitor({
    ledgerDirs: [ledgerDir],
    diskCheckIntervalMs: 10000,
    diskUsageThreshold: 0.95,
    diskUsageWarnThreshold: 0.9,
    diskUsageLwmThreshold: 0.9,
    state,
    metrics,
    logger,
  });
  const gc = new GcRecorder();
  const target: AdminTarget = {
    bookieId,
    state,
    metricsRegistry: metrics.registry,
    diskSpace: () => monitor.diskSpace(),
    gc,
    listDiskFiles: () => listBookieDiskFiles({ journalDirs: [journalDir], ledgerDirs: [ledgerDir] }),
    lastLogMarks: async () => [
      { logFileId: 0x18f3a2b4c5dn, offset: 4096n },
      { logFileId: 255n, offset: 0n },
    ],
    ...options.target,
  };
  const server = new BookieHttpServer({ target, logger });
  await server.listen(0, '127.0.0.1');
  cleanups.push(() => server.close());
  return { state, metrics, gc, target, server, base: `http://127.0.0.1:${server.port}`, ledgerDir, seen };
}

async function request(
  path: string,
  init: { method?: string; body?: string } = {},
): Promise<{ status: number; text: string; contentType: string | null; allow: string | null }> {
  const response = await fetch(`${bookie.base}${path}`, init);
  return {
    status: response.status,
    text: await response.text(),
    contentType: response.headers.get('content-type'),
    allow: response.headers.get('allow'),
  };
}

async function getJson(path: string): Promise<unknown> {
  const response = await request(path);
  expect(response).toMatchObject({ status: 200, contentType: 'application/json' });
  return JSON.parse(response.text);
}

async function putJson(
  path: string,
  body: string,
): Promise<{ status: number; json?: unknown; text: string }> {
  const response = await request(path, { method: 'PUT', body });
  return {
    status: response.status,
    text: response.text,
    ...(response.contentType === 'application/json' ? { json: JSON.parse(response.text) } : {}),
  };
}

async function clientSees(expected: RegisteredBookies): Promise<void> {
  await eventually(`the client to see ${JSON.stringify(expected)}`, () =>
    JSON.stringify(bookie.seen.at(-1)) === JSON.stringify(expected) ? true : undefined,
  );
}

/** Sends raw bytes on a new connection; resolves with everything the server sent before closing. */
function rawExchange(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(bookie.server.port, '127.0.0.1', () => socket.write(bytes));
    let received = '';
    socket.on('data', (d) => (received += d.toString()));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

describe('bookie > http admin API', () => {
  describe('a running bookie', () => {
    beforeEach(async () => {
      bookie = await startBookie();
    });

    test('GET /heartbeat answers OK', async () => {
      expect(await request('/heartbeat')).toMatchObject({
        status: 200,
        text: 'OK\n',
        contentType: 'text/plain; charset=utf-8',
      });
    });

    test('GET /metrics serves the bookie registry in the Prometheus text format', async () => {
      const response = await request('/metrics');
      expect(response.status).toBe(200);
      expect(response.contentType).toBe(bookie.metrics.registry.contentType);
      expect(response.text).toContain('# TYPE bookkeeper_server_SERVER_STATUS gauge');
      expect(response.text).toContain('\nbookkeeper_server_SERVER_STATUS 1\n');
    });

    test('GET /api/v1/bookie/info reports the ledger disk free and total bytes', async () => {
      const fs = statfsSync(bookie.ledgerDir);
      const info = (await getJson('/api/v1/bookie/info')) as { freeSpace: number; totalSpace: number };
      expect(Object.keys(info).sort()).toEqual(['freeSpace', 'totalSpace']);
      expect(info.totalSpace).toBe(fs.blocks * fs.bsize);
      expect(info.freeSpace).toBeGreaterThan(0);
      expect(info.freeSpace).toBeLessThanOrEqual(info.totalSpace);
    });

    test('GET /api/v1/bookie/state and is_ready report a running writable bookie', async () => {
      expect(await getJson('/api/v1/bookie/state')).toEqual({
        running: true,
        readOnly: false,
        shuttingDown: false,
        availableForHighPriorityWrites: true,
      });
      expect(await request('/api/v1/bookie/is_ready')).toMatchObject({ status: 200, text: '' });
    });

    test('PUT state/readonly moves the bookie to the read-only bookies and back', async () => {
      await clientSees({ writable: [bookieId], readOnly: [] });
      expect(await getJson('/api/v1/bookie/state/readonly')).toEqual({ readOnly: false });
      expect(await putJson('/api/v1/bookie/state/readonly', '{"readOnly":true}')).toMatchObject({
        status: 200,
        json: { readOnly: true },
      });
      await clientSees({ writable: [], readOnly: [bookieId] });
      expect(await getJson('/api/v1/bookie/state')).toMatchObject({ readOnly: true });
      expect(await getJson('/api/v1/bookie/state/readonly')).toEqual({ readOnly: true });

      expect(await putJson('/api/v1/bookie/state/readonly', '{"readOnly":false}')).toMatchObject({
        status: 200,
        json: { readOnly: false },
      });
      await clientSees({ writable: [bookieId], readOnly: [] });
    });

    test('PUT state/readonly?force=true forces read-only: it can no longer be cleared', async () => {
      const forced = await putJson('/api/v1/bookie/state/readonly?force=true', '{"readOnly":true}');
      expect(forced).toMatchObject({ status: 200, json: { readOnly: true } });
      expect(bookie.state.isForcedReadOnly()).toBe(true);
      expect(await putJson('/api/v1/bookie/state/readonly', '{"readOnly":false}')).toEqual({
        status: 400,
        text: 'Bookie is in forceReadOnly mode, cannot transit to writable mode',
      });
      await clientSees({ writable: [], readOnly: [bookieId] });
    });

    test('PUT state/readonly false is refused while the disks keep the bookie read-only', async () => {
      await bookie.state.transitionToReadOnly('disks-full');
      expect(await putJson('/api/v1/bookie/state/readonly', '{"readOnly":false}')).toEqual({
        status: 400,
        text: 'Bookie is read-only because of disks-full, cannot transit to writable mode',
      });
      expect(bookie.state.isReadOnly()).toBe(true);
    });

    test('PUT state/readonly with bad input answers 400 saying what is expected', async () => {
      const cases: Array<[string, string]> = [
        ['{"readOnly":tru', 'request body is not valid JSON'],
        ['', 'request body is empty; expected JSON like {"readOnly":true}'],
        ['[true]', 'request body must be a JSON object like {"readOnly":true}'],
        ['{}', '"readOnly" is missing; expected JSON like {"readOnly":true}'],
        ['{"readOnly":"yes"}', '"readOnly" must be true or false, got "yes"'],
      ];
      for (const [body, message] of cases) {
        const response = await putJson('/api/v1/bookie/state/readonly', body);
        expect([body, response.status]).toEqual([body, 400]);
        expect(response.text).toContain(message);
      }
      expect(bookie.state.isReadOnly()).toBe(false);
    });

    test('GET and PUT /api/v1/bookie/gc trigger a forced GC and report it', async () => {
      expect(await getJson('/api/v1/bookie/gc')).toEqual({ is_in_force_gc: 'false' });
      expect(await putJson('/api/v1/bookie/gc', '')).toEqual({
        status: 200,
        json: `Triggered GC on BookieServer: ${bookieId}`,
        text: JSON.stringify(`Triggered GC on BookieServer: ${bookieId}`, null, 2),
      });
      expect(await putJson('/api/v1/bookie/gc', '{"forceMajor":true,"forceMinor":false}')).toMatchObject({
        status: 200,
      });
      expect(bookie.gc.triggered).toEqual([{}, { forceMajor: true, forceMinor: false }]);
      bookie.gc.running = true;
      expect(await getJson('/api/v1/bookie/gc')).toEqual({ is_in_force_gc: 'true' });
      expect(await getJson('/api/v1/bookie/gc_details')).toEqual(bookie.gc.status());

      const bad = await putJson('/api/v1/bookie/gc', '{"forceMajor":1}');
      expect(bad).toMatchObject({ status: 400 });
      expect(bad.text).toContain('"forceMajor" must be true or false, got 1');
      expect(await putJson('/api/v1/bookie/gc', 'forceMajor')).toMatchObject({ status: 400 });
      expect(bookie.gc.triggered).toHaveLength(2);
    });

    test('GET /api/v1/bookie/list_disk_file lists journal files and entry logs, oldest first, by type', async () => {
      const root = join(bookie.ledgerDir, '..');
      const journalCurrent = join(root, 'journal', 'current');
      const ledgerCurrent = join(bookie.ledgerDir, 'current');
      mkdirSync(journalCurrent, { recursive: true });
      mkdirSync(ledgerCurrent, { recursive: true });
      const files: Array<[string, string, number]> = [
        [journalCurrent, '19a.txn', 3000],
        [journalCurrent, '18f.txn', 1000],
        [journalCurrent, 'VERSION', 500],
        [ledgerCurrent, '0.log', 2000],
        [ledgerCurrent, 'lastMark', 2500],
      ];
      for (const [dir, name, mtimeSeconds] of files) {
        writeFileSync(join(dir, name), 'x');
        utimesSync(join(dir, name), mtimeSeconds, mtimeSeconds);
      }
      expect(await getJson('/api/v1/bookie/list_disk_file')).toEqual({
        'journal files': '18f.txn\t19a.txn\t',
        'entrylog files': '0.log\t',
        'index files': '',
      });
      expect(await getJson('/api/v1/bookie/list_disk_file?file_type=journal')).toEqual({
        'journal files': '18f.txn\t19a.txn\t',
      });
      expect(await getJson('/api/v1/bookie/list_disk_file?file_type=entrylog')).toEqual({
        'entrylog files': '0.log\t',
      });
    });

    test('GET /api/v1/bookie/last_log_mark reports each journal mark as BookKeeper prints it', async () => {
      expect(await getJson('/api/v1/bookie/last_log_mark')).toEqual({
        'LastLogMark: Journal Id - 1714667867229(18f3a2b4c5d.txn)': 'Pos - 4096',
        'LastLogMark: Journal Id - 255(ff.txn)': 'Pos - 0',
      });
    });

    test('a wrong method is 405 with Allow, an unknown path 404', async () => {
      expect(await request('/api/v1/bookie/state', { method: 'DELETE' })).toMatchObject({
        status: 405,
        allow: 'GET',
        text: 'DELETE is not allowed on /api/v1/bookie/state; use GET',
      });
      expect(await request('/api/v1/bookie/state/readonly', { method: 'POST', body: '{}' })).toMatchObject({
        status: 405,
        allow: 'GET, PUT',
      });
      expect(await request('/api/v1/bookie/nope')).toMatchObject({
        status: 404,
        text: 'no such endpoint: /api/v1/bookie/nope',
      });
      expect(await request('/')).toMatchObject({ status: 404 });
    });

    test('an oversized body is refused with 413 before it is buffered', async () => {
      const response = await request('/api/v1/bookie/gc', { method: 'PUT', body: 'x'.repeat(100 * 1024) });
      expect(response).toMatchObject({ status: 413 });
      expect(response.text).toContain('exceeds 65536');
      expect(bookie.gc.triggered).toEqual([]);
    });

    test('malformed HTTP gets 400 on its connection and the server keeps serving', async () => {
      expect(await rawExchange('THIS IS NOT HTTP\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request/);
      expect(await rawExchange('GET /heartbeat HTTP/1.1\r\nContent-Length: nope\r\n\r\n')).toMatch(
        /^HTTP\/1\.1 400 Bad Request/,
      );
      expect(await request('/heartbeat')).toMatchObject({ status: 200, text: 'OK\n' });
    });
  });

  test('a handler that fails answers 500 with the reason and the server keeps serving', async () => {
    bookie = await startBookie({
      target: {
        listDiskFiles: () => Promise.reject(new Error("EACCES: permission denied, scandir '/data/journal'")),
      },
    });
    expect(await request('/api/v1/bookie/list_disk_file')).toMatchObject({
      status: 500,
      text: "internal error: EACCES: permission denied, scandir '/data/journal'",
    });
    expect(await request('/heartbeat')).toMatchObject({ status: 200 });
  });

  test('is_ready is 503 until the bookie is started, and again once it shuts down', async () => {
    bookie = await startBookie({ start: false });
    expect(await request('/api/v1/bookie/is_ready')).toMatchObject({
      status: 503,
      text: 'Bookie is not fully started yet',
    });
    expect(await getJson('/api/v1/bookie/state')).toMatchObject({ running: false });
    await bookie.state.start();
    expect(await request('/api/v1/bookie/is_ready')).toMatchObject({ status: 200 });
    await bookie.state.shutdown();
    expect(await request('/api/v1/bookie/is_ready')).toMatchObject({ status: 503 });
    expect(await getJson('/api/v1/bookie/state')).toMatchObject({ running: false, shuttingDown: true });
  });

  test('with readOnlyModeEnabled=false, PUT readOnly true is refused', async () => {
    bookie = await startBookie({ readOnlyModeEnabled: false });
    expect(await putJson('/api/v1/bookie/state/readonly', '{"readOnly":true}')).toEqual({
      status: 400,
      text: 'Bookie is disabled ReadOnly mode, cannot transit to readOnly mode',
    });
    expect(bookie.state.isReadOnly()).toBe(false);
  });
});
