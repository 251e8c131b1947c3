/**
 * Goal: when the journal's fdatasync fails with EIO, a whole bookie (`ledgerline bookie`) acknowledges nothing
 * from the failed sync on, and then either turns read-only — registered under bookies/readonly, the admin API
 * says so, entries acknowledged before are still served — or, with readOnlyModeEnabled=false, exits. Either
 * way a restart on the same directories serves every acknowledged entry.
 *
 * Method: the real command against a real etcd, run under strace, which fails fdatasync on the journal file
 * only (`-P <file>`) from one thread's FAILING_SYNC-th call on (strace counts per thread). The journal syncs a
 * group on libuv's thread pool, which the traced bookie gets with one thread (UV_THREADPOOL_SIZE=1), so every
 * fdatasync of the file — the zero-fill's when it is created, then one per group — is counted on that thread. The file's name is known in advance because a header-only
 * journal file with a future id is placed in the directory first (the next id is that + 1); the directory was
 * initialized (cookies) by a first, clean run, whose entries are the "before" data. Adds are sent one at a
 * time, so each is a group of its own and exactly the FAILING_SYNC-th one meets the failure.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeJournalHeader, journalFileName } from '../../../bookie';
import { DigestManager, DigestType, StatusCode, masterKey } from '../../../protocol';
import {
  BookieClient,
  MetadataCluster,
  TempDirs,
  adminSaysReadOnly,
  registeredAs,
  requireBuiltBookie,
  startLedgerlineBookie,
} from '../../harness';
import type { BookieProcess } from '../../harness';

const PASSWORD = Buffer.from('journal-eio');
const KEY = masterKey(PASSWORD);
const FAILING_SYNC = 6;
const BEFORE_LEDGER = 1n;
const FAULT_LEDGER = 2n;
const BURST_LEDGER = 3n;

function body(ledgerId: bigint, entryId: bigint): Buffer {
  const payload = Buffer.from(`ledger ${ledgerId} entry ${entryId} `.repeat(10));
  return DigestManager.create(ledgerId, PASSWORD, DigestType.CRC32C).packEntry(
    entryId,
    entryId - 1n,
    0n,
    payload,
  );
}

describe('bookie > faults > journal fdatasync EIO (whole bookie, strace)', () => {
  const dirs = new TempDirs();
  const running: BookieProcess[] = [];
  let cluster: MetadataCluster | undefined;

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

  async function start(confPath: string, port: number, wrapper?: string[]): Promise<BookieProcess> {
    const bookie = await startLedgerlineBookie(
      confPath,
      port,
      wrapper === undefined ? {} : { wrapper, env: { UV_THREADPOOL_SIZE: '1' } },
    );
    running.push(bookie);
    return bookie;
  }

  /**
   * A bookie dir initialized by a clean run that acknowledged BEFORE_LEDGER entries 0..9, then a restart under
   * strace with the journal file's FAILING_SYNC-th fdatasync (on the one pool thread) failing; returns the traced bookie.
   */
  async function bookieWithFailingJournal(extra: Record<string, string | number | boolean>) {
    const base = dirs.make('bookie-eio-');
    const { path: confPath, port, httpPort, bookieId } = await cluster!.writeBookieConf(base, extra);
    const journalDir = join(base, 'journal');
    const first = await start(confPath, port);
    const client = await BookieClient.connect(port);
    for (let entryId = 0n; entryId < 10n; entryId++) {
      const add = await client.addEntry({
        ledgerId: BEFORE_LEDGER,
        entryId,
        masterKey: KEY,
        body: body(BEFORE_LEDGER, entryId),
      });
      expect(add.status).toBe(StatusCode.EOK);
    }
    await client.close();
    expect(await first.stop('SIGTERM')).toBe(0);

    const future = BigInt(Date.now()) + 3_600_000n;
    writeFileSync(join(journalDir, 'current', journalFileName(future)), encodeJournalHeader());
    const journalFile = join(journalDir, 'current', journalFileName(future + 1n));
    const straceLog = join(base, 'strace.log');
    const bookie = await start(confPath, port, [
      'strace',
      '-f',
      '-qq',
      '-o',
      straceLog,
      '-P',
      journalFile,
      '-e',
      'trace=fdatasync',
      '-e',
      `inject=fdatasync:error=EIO:when=${FAILING_SYNC}+`,
    ]);
    return { bookie, port, httpPort, confPath, straceLog, bookieId };
  }

  /** Adds FAULT_LEDGER entries one at a time until one is refused; returns the acknowledged ids and that status. */
  async function addUntilRefused(
    client: BookieClient,
  ): Promise<{ acked: bigint[]; refusedWith: StatusCode }> {
    const acked: bigint[] = [];
    for (let entryId = 0n; entryId < 100n; entryId++) {
      const add = await client.addEntry({
        ledgerId: FAULT_LEDGER,
        entryId,
        masterKey: KEY,
        body: body(FAULT_LEDGER, entryId),
      });
      if (add.status !== StatusCode.EOK) return { acked, refusedWith: add.status };
      acked.push(entryId);
    }
    throw new Error('100 adds acknowledged: the injected EIO never came');
  }

  async function expectServed(client: BookieClient, ledgerId: bigint, entryIds: bigint[]): Promise<void> {
    for (const entryId of entryIds) {
      const read = await client.readEntry(ledgerId, entryId);
      expect({ ledgerId, entryId, status: StatusCode[read.status] }).toEqual({
        ledgerId,
        entryId,
        status: 'EOK',
      });
      expect(read.readResponse?.body).toEqual(body(ledgerId, entryId));
    }
  }

  const beforeIds = Array.from({ length: 10 }, (_, i) => BigInt(i));

  test('no add is acknowledged after the failed sync; the bookie turns read-only and keeps serving reads', async () => {
    const { bookie, port, httpPort, confPath, straceLog, bookieId } = await bookieWithFailingJournal({});
    const client = await BookieClient.connect(port);
    const { acked, refusedWith } = await addUntilRefused(client);
    // One group per add: the adds before the failing sync were acknowledged, the one in it was not.
    expect(acked.length).toBeGreaterThanOrEqual(1);
    expect(acked.length).toBeLessThan(FAILING_SYNC);
    expect(StatusCode[refusedWith]).toBe('EIO');
    expect(readFileSync(straceLog, 'utf8')).toMatch(/fdatasync\(\d+\)\s+= -1 EIO .*\(INJECTED\)/);

    // Nothing is acknowledged any more, however many adds come at once.
    const burst = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client.addEntry({
          ledgerId: BURST_LEDGER,
          entryId: BigInt(i),
          masterKey: KEY,
          body: body(BURST_LEDGER, BigInt(i)),
        }),
      ),
    );
    expect(burst.filter((r) => r.status === StatusCode.EOK)).toEqual([]);

    await registeredAs(cluster!.registrations, bookieId, 'readOnly');
    expect(await adminSaysReadOnly(httpPort)).toBe(true);
    const later = await client.addEntry({
      ledgerId: BURST_LEDGER,
      entryId: 100n,
      masterKey: KEY,
      body: body(BURST_LEDGER, 100n),
    });
    expect(StatusCode[later.status]).toBe('EREADONLY');

    await expectServed(client, BEFORE_LEDGER, beforeIds);
    await expectServed(client, FAULT_LEDGER, acked);
    expect(bookie.running()).toBe(true);
    await client.close();

    // A restart on the same dirs (no fault any more) serves them all and is writable again.
    await bookie.stop('SIGKILL');
    await start(confPath, port);
    const after = await BookieClient.connect(port);
    await expectServed(after, BEFORE_LEDGER, beforeIds);
    await expectServed(after, FAULT_LEDGER, acked);
    await after.close();
  });

  test('with readOnlyModeEnabled=false the bookie exits instead, and a restart serves every acknowledged entry', async () => {
    const { bookie, port, confPath } = await bookieWithFailingJournal({ readOnlyModeEnabled: false });
    const client = await BookieClient.connect(port);
    const { acked, refusedWith } = await addUntilRefused(client).catch((error: Error) => {
      throw new Error(`${error.message}\n${bookie.stderr()}`);
    });
    expect(acked.length).toBeGreaterThanOrEqual(1);
    expect(StatusCode[refusedWith]).toBe('EIO');
    expect(await bookie.exited).toBe(1);
    await client.closed;

    await start(confPath, port);
    const after = await BookieClient.connect(port);
    await expectServed(after, BEFORE_LEDGER, beforeIds);
    await expectServed(after, FAULT_LEDGER, acked);
    await after.close();
  });
});
