/**
 * Goal: `ledgerline bookie --conf <file>` behaves as an operator expects from a BookKeeper bookie.
 * Method: run the real built command (`node bin/ledgerline.js bookie`) as a child process against a real etcd,
 * drive it over TCP with the v3 test client, watch its registration through the metadata module, and stop it
 * with SIGTERM or SIGKILL. Assertions are on what an operator or client sees: exit codes, stderr, the
 * registration keys, entries read back.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../../common';
import { BookKeeper } from '../../../ledger-client';
import { DigestManager, DigestType, masterKey, StatusCode } from '../../../protocol';
import {
  BookieClient,
  eventually,
  MetadataCluster,
  TempDirs,
  requireBuiltBookie,
  startLedgerlineBookie,
} from '../../harness';
import type { BookieConfFile, BookieProcess } from '../../harness';

const ROOT = join(__dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'ledgerline.js');
const PASSWORD = Buffer.from('bookie-command-test');
const MASTER_KEY = masterKey(PASSWORD);

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
  const running: BookieProcess[] = [];
  let cluster: MetadataCluster;

  beforeAll(async () => {
    requireBuiltBookie();
    cluster = await MetadataCluster.start();
  });

  afterEach(async () => {
    for (const bookie of running.splice(0)) await bookie.stop('SIGKILL');
  });

  afterAll(async () => {
    await cluster?.close();
    dirs.removeAll();
  });

  function writeConf(extra: Record<string, string | number> = {}): Promise<BookieConfFile> {
    return cluster.writeBookieConf(dirs.make('bookie-command-'), extra);
  }

  async function start(conf: BookieConfFile): Promise<BookieProcess> {
    const bookie = await startLedgerlineBookie(conf.path, conf.port);
    running.push(bookie);
    return bookie;
  }

  test('starts, registers as writable, serves adds and reads, and a SIGTERM unregisters it and exits 0', async () => {
    const conf = await writeConf();
    const bookieId = `127.0.0.1:${conf.port}`;
    const bookie = await start(conf);
    expect(bookie.stdout()).toContain(`bookie ${bookieId} ready`);
    expect(await cluster.registrations.getWritableBookies()).toContain(bookieId);
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

    expect(await bookie.stop('SIGTERM')).toBe(0);
    expect(await cluster.registrations.getWritableBookies()).not.toContain(bookieId);
    expect(await cluster.registrations.getReadOnlyBookies()).not.toContain(bookieId);
  });

  test('a SIGTERM with adds in flight answers every add it read (all EOK), exits 0, and a restart serves them', async () => {
    const conf = await writeConf();
    const bookie = await start(conf);
    let client = await BookieClient.connect(conf.port);
    const adds: Array<Promise<{ status: StatusCode } | Error>> = [];
    const sent: Array<[bigint, bigint]> = [];
    let firstAnswer!: () => void;
    const answered = new Promise<void>((resolve) => (firstAnswer = resolve));
    for (let entryId = 0n; entryId < 1000n; entryId++) {
      for (let ledgerId = 11n; ledgerId <= 14n; ledgerId++) {
        sent.push([ledgerId, entryId]);
        adds.push(
          client.addEntry({ ledgerId, entryId, masterKey: MASTER_KEY, body: entry(ledgerId, entryId) }).then(
            (response) => {
              firstAnswer();
              return response as { status: StatusCode };
            },
            (error: Error) => error,
          ),
        );
      }
    }
    // The bookie is working through the 4,000 pipelined adds when the SIGTERM lands.
    await answered;
    expect(await bookie.stop('SIGTERM')).toBe(0);
    const outcomes = await Promise.all(adds);
    const acknowledged = sent.filter((_, i) => !(outcomes[i] instanceof Error));
    // Every add the bookie answered succeeded (none failed for the shutdown); the rest were never read.
    expect(
      outcomes
        .filter((o) => !(o instanceof Error))
        .every((o) => (o as { status: StatusCode }).status === StatusCode.EOK),
    ).toBe(true);
    expect(acknowledged.length).toBeGreaterThan(0);
    await client.close();

    await start(conf);
    client = await BookieClient.connect(conf.port);
    for (const [ledgerId, entryId] of acknowledged) {
      const read = await client.readEntry(ledgerId, entryId);
      expect({ ledgerId, entryId, same: read.readResponse?.body?.equals(entry(ledgerId, entryId)) }).toEqual({
        ledgerId,
        entryId,
        same: true,
      });
    }
    await client.close();
  });

  test('a forced major compaction asked for while a GC pass runs is not folded into it: it runs next', async () => {
    const conf = await writeConf({ flushInterval: 100, entryLogSizeLimit: 1048576 });
    await start(conf);
    const http = `http://127.0.0.1:${conf.httpPort}/api/v1/bookie`;
    // Ledger A lives in the metadata; ledger 77 (raw adds, no metadata) is garbage. The flush writes A's entries,
    // then 77's, so the first entry log is mostly 77: after GC its usage is far below the 0.8 major threshold.
    const bk = await BookKeeper.create({
      metadataServiceUri: cluster.etcd.uri('/ledgers'),
      logger: silentLogger(),
    });
    const ledger = await bk.createLedger({
      ensembleSize: 1,
      writeQuorumSize: 1,
      ackQuorumSize: 1,
      password: 'gc',
    });
    const live = Array.from({ length: 200 }, (_, i) => Buffer.alloc(1000, `live ${i}|`));
    await Promise.all(live.map((data) => ledger.append(data)));
    const client = await BookieClient.connect(conf.port);
    const garbage: Array<Promise<unknown>> = [];
    for (let entryId = 0n; entryId < 2000n; entryId++) {
      const body = DigestManager.create(77n, PASSWORD, DigestType.CRC32C).packEntry(
        entryId,
        entryId - 1n,
        1000n * (entryId + 1n),
        Buffer.alloc(1000, `garbage ${entryId}|`),
      );
      garbage.push(client.addEntry({ ledgerId: 77n, entryId, masterKey: MASTER_KEY, body }));
    }
    await Promise.all(garbage);
    const poll = () =>
      client.longPoll({ ledgerId: 77n, previousLAC: 0n, timeOutMs: 100, entryId: -1n, piggyback: true });
    expect((await poll()).status).toBe(StatusCode.EOK);
    // Wait for a checkpoint to put everything in sealed entry logs (flushInterval 100 ms).
    const logs = async (): Promise<string[]> => {
      const listed = (await (await fetch(`${http}/list_disk_file?file_type=entrylog`)).json()) as Record<
        string,
        string
      >;
      return (listed['entrylog files'] ?? '').split('\t').filter((name) => name !== '');
    };
    await eventually('three entry logs', async () => ((await logs()).length >= 3 ? true : undefined));
    const before = await logs();

    // A plain pass, then at once a forced major compaction: the second must not just share the first.
    const plain = await fetch(`${http}/gc`, { method: 'PUT', body: '' });
    const forced = await fetch(`${http}/gc`, { method: 'PUT', body: '{"forceMajor":true}' });
    expect([plain.status, forced.status]).toEqual([200, 200]);
    const details = async (): Promise<Array<{ majorCompactionCounter: number }>> =>
      (await (await fetch(`${http}/gc_details`)).json()) as Array<{ majorCompactionCounter: number }>;
    await eventually('a major compaction', async () =>
      (await details()).some((d) => d.majorCompactionCounter > 0) ? true : undefined,
    );
    const inForceGc = async (): Promise<string> =>
      ((await (await fetch(`${http}/gc`)).json()) as { is_in_force_gc: string }).is_in_force_gc;
    await eventually('the forced pass to end', async () =>
      (await inForceGc()) === 'false' ? true : undefined,
    );
    // The deleted ledger is gone for readers too: no LAC is served for it from memory.
    expect((await poll()).status).toBe(StatusCode.ENOLEDGER);
    await client.close();
    // The mostly-dead first log was rewritten away; every live entry still reads back.
    expect(await logs()).not.toContain(before[0]);
    const reader = await bk.openLedger({ ledgerId: ledger.ledgerId, password: 'gc' });
    const entries = await reader.read(0n, 199n);
    entries.forEach((e, i) => expect(e.data.equals(live[i]!)).toBe(true));
    await reader.close();
    await ledger.close();
    await bk.close();
  });

  test('after a SIGKILL, a restart on the same dirs serves every acknowledged entry and keeps fences', async () => {
    const conf = await writeConf();
    const bookie = await start(conf);
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
    await bookie.stop('SIGKILL');

    // The registration lease of the killed process still holds the key; the new process waits it out.
    await start(conf);
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
    const first = await start(conf);
    expect(await first.stop('SIGTERM')).toBe(0);

    rmSync(join(conf.path, '..', 'ledgers'), { recursive: true, force: true });
    const second = await runCommand(['bookie', '--conf', conf.path]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("cookie check 'missing-local-cookie' failed");
  });

  test('refuses to start on an uninitialized cluster, and on a bad value, with one line and exit code 1', async () => {
    const conf = await writeConf({ metadataServiceUri: cluster.etcd.uri('/not-initialized') });
    const uninitialized = await runCommand(['bookie', '--conf', conf.path]);
    expect(uninitialized.code).toBe(1);
    expect(uninitialized.stderr).toContain('is not initialized: run `ledgerline shell initnewcluster` first');

    const badValue = await writeConf({ bookiePort: 'three' });
    const bad = await runCommand(['bookie', '--conf', badValue.path]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('bookiePort="three"');

    // Disk thresholds: 1 is no fraction; a low-water mark above the threshold is refused before registering.
    const full = await runCommand(['bookie', '--conf', (await writeConf({ diskUsageThreshold: 1 })).path]);
    expect(full.code).toBe(1);
    expect(full.stderr).toContain('diskUsageThreshold="1": expected a fraction strictly between 0 and 1');
    const inverted = await writeConf({ diskUsageLwmThreshold: 0.97 });
    const lwm = await runCommand(['bookie', '--conf', inverted.path]);
    expect(lwm.code).toBe(1);
    expect(lwm.stderr).toContain('diskUsageLwmThreshold');
    expect(await cluster.registrations.getWritableBookies()).not.toContain(inverted.bookieId);
  });
});
