/**
 * Goal: `ledgerline bookie --conf <file>` behaves as an operator expects from a BookKeeper bookie.
 * Method: run the real built command (`node bin/ledgerline.js bookie`) as a child process against a real etcd,
 * drive it over TCP with the v3 test client, watch its registration through the metadata module, and stop it
 * with SIGTERM or SIGKILL. Assertions are on what an operator or client sees: exit codes, stderr, the
 * registration keys, entries read back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../../common';
import { createMetadataStore, initNewCluster, RegistrationClient } from '../../../metadata';
import type { MetadataStore } from '../../../metadata';
import { DigestManager, DigestType, masterKey, StatusCode } from '../../../protocol';
import { BookieClient, EtcdServer, TempDirs, eventually, freePorts } from '../../harness';

const ROOT = join(__dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'ledgerline.js');
const PASSWORD = Buffer.from('bookie-command-test');
const MASTER_KEY = masterKey(PASSWORD);

interface RunningBookie {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

function startBookie(confPath: string, env: Record<string, string> = {}): RunningBookie {
  const child = spawn('node', [BIN, 'bookie', '--conf', confPath], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout, stderr, exited };
}

async function waitReady(bookie: RunningBookie): Promise<string> {
  return eventually(
    'the bookie to print its ready line',
    () => {
      if (bookie.child.exitCode !== null) {
        throw new Error(`bookie exited with ${bookie.child.exitCode}: ${bookie.stderr.join('')}`);
      }
      return bookie.stdout.join('').includes(' ready: ') ? bookie.stdout.join('') : undefined;
    },
    20000,
  );
}

async function stopWith(bookie: RunningBookie, signal: NodeJS.Signals): Promise<number | null> {
  if (bookie.child.exitCode !== null) return bookie.child.exitCode;
  bookie.child.kill(signal);
  return bookie.exited;
}

function entry(ledgerId: bigint, entryId: bigint): Buffer {
  const payload = Buffer.from(`ledger ${ledgerId} entry ${entryId} `.repeat(8));
  return DigestManager.create(ledgerId, PASSWORD, DigestType.CRC32C).packEntry(
    entryId,
    entryId - 1n,
    BigInt(payload.length) * (entryId + 1n),
    payload,
  );
}

async function runCommand(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn('node', [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stderr };
}

describe('ledgerline bookie', () => {
  const dirs = new TempDirs();
  const running: RunningBookie[] = [];
  let etcd: EtcdServer;
  let store: MetadataStore;
  let registrations: RegistrationClient;
  let scope: string;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
      throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
    }
    etcd = await EtcdServer.start();
    ({ store, scope } = await createMetadataStore(etcd.uri('/ledgers'), { logger: silentLogger() }));
    await initNewCluster(store, scope);
    registrations = new RegistrationClient(store, scope, silentLogger());
  });

  afterEach(async () => {
    for (const bookie of running.splice(0)) await stopWith(bookie, 'SIGKILL');
  });

  afterAll(async () => {
    await store?.close();
    await etcd?.stop();
    dirs.removeAll();
  });

  async function writeConf(extra: Record<string, string | number> = {}): Promise<{
    path: string;
    port: number;
    httpPort: number;
    ledgerDir: string;
  }> {
    const base = dirs.make('bookie-command-');
    const [port, httpPort] = await freePorts(2);
    const ledgerDir = join(base, 'ledgers');
    const conf: Record<string, string | number> = {
      bookiePort: port!,
      httpServerPort: httpPort!,
      listeningInterface: '127.0.0.1',
      journalDirectories: join(base, 'journal'),
      ledgerDirectories: ledgerDir,
      metadataServiceUri: etcd.uri('/ledgers'),
      zkTimeout: 4000,
      ...extra,
    };
    const path = join(base, 'bookie.conf');
    writeFileSync(
      path,
      Object.entries(conf)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
    return { path, port: port!, httpPort: httpPort!, ledgerDir };
  }

  test('starts, registers as writable, serves adds and reads, and a SIGTERM unregisters it and exits 0', async () => {
    const conf = await writeConf();
    const bookieId = `127.0.0.1:${conf.port}`;
    const bookie = startBookie(conf.path);
    running.push(bookie);
    const ready = await waitReady(bookie);
    expect(ready).toContain(`bookie ${bookieId} ready`);
    expect(await registrations.getWritableBookies()).toContain(bookieId);
    const heartbeat = await fetch(`http://127.0.0.1:${conf.httpPort}/heartbeat`);
    expect(heartbeat.status).toBe(200);

    const client = await BookieClient.connect(conf.port);
    const adds: Array<Promise<unknown>> = [];
    for (let ledgerId = 1n; ledgerId <= 3n; ledgerId++) {
      for (let entryId = 0n; entryId < 100n; entryId++) {
        adds.push(
          client.addEntry({ ledgerId, entryId, masterKey: MASTER_KEY, body: entry(ledgerId, entryId) }),
        );
      }
    }
    const responses = (await Promise.all(adds)) as Array<{ status: StatusCode }>;
    expect(responses.every((r) => r.status === StatusCode.EOK)).toBe(true);
    const read = await client.readEntry(2n, 57n);
    expect(read.status).toBe(StatusCode.EOK);
    expect(read.readResponse?.body).toEqual(entry(2n, 57n));
    await client.close();

    expect(await stopWith(bookie, 'SIGTERM')).toBe(0);
    expect(await registrations.getWritableBookies()).not.toContain(bookieId);
    expect(await registrations.getReadOnlyBookies()).not.toContain(bookieId);
  });

  test('after a SIGKILL, a restart on the same dirs serves every acknowledged entry and keeps fences', async () => {
    const conf = await writeConf();
    let bookie = startBookie(conf.path);
    running.push(bookie);
    await waitReady(bookie);
    let client = await BookieClient.connect(conf.port);
    for (let entryId = 0n; entryId < 50n; entryId++) {
      const response = await client.addEntry({
        ledgerId: 7n,
        entryId,
        masterKey: MASTER_KEY,
        body: entry(7n, entryId),
      });
      expect(response.status).toBe(StatusCode.EOK);
    }
    expect((await client.fence(7n, -1n, MASTER_KEY)).status).toBe(StatusCode.EOK);
    await stopWith(bookie, 'SIGKILL');

    // The registration lease of the killed process still holds the key; the new process waits it out.
    bookie = startBookie(conf.path);
    running.push(bookie);
    await waitReady(bookie);
    client = await BookieClient.connect(conf.port);
    for (let entryId = 0n; entryId < 50n; entryId++) {
      const read = await client.readEntry(7n, entryId);
      expect(read.readResponse?.body).toEqual(entry(7n, entryId));
    }
    const add = await client.addEntry({
      ledgerId: 7n,
      entryId: 50n,
      masterKey: MASTER_KEY,
      body: entry(7n, 50n),
    });
    expect(add.status).toBe(StatusCode.EFENCED);
    await client.close();
  });

  test('refuses to start on a wiped ledger dir, naming the failed check', async () => {
    const conf = await writeConf();
    const first = startBookie(conf.path);
    running.push(first);
    await waitReady(first);
    expect(await stopWith(first, 'SIGTERM')).toBe(0);

    rmSync(conf.ledgerDir, { recursive: true, force: true });
    const second = startBookie(conf.path);
    running.push(second);
    expect(await second.exited).toBe(1);
    expect(second.stderr.join('')).toContain("cookie check 'missing-local-cookie' failed");
  });

  test('refuses to start on an uninitialized cluster, and on a bad value, with one line and exit code 1', async () => {
    const conf = await writeConf({ metadataServiceUri: etcd.uri('/not-initialized') });
    const uninitialized = await runCommand(['bookie', '--conf', conf.path]);
    expect(uninitialized.code).toBe(1);
    expect(uninitialized.stderr).toContain('is not initialized: run `ledgerline shell initnewcluster` first');

    const badValue = await writeConf({ bookiePort: 'three' });
    const bad = await runCommand(['bookie', '--conf', badValue.path]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('bookiePort="three"');
  });
});
