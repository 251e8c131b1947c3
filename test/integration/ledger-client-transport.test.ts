/**
 * Goal: the ledger client's transport (BookieClientPool) does what the ledger logic above it relies on, against
 * a real bookie: pipelined adds and reads, fencing, the LAC operations, long polls, and a bookie that dies with
 * requests in flight and comes back.
 * Method: real `ledgerline bookie` processes (built dist/, real journal and storage, registered in a real etcd
 * started by the harness) driven over TCP by the pool; entries packed and verified with the protocol's
 * DigestManager. A bookie is frozen with SIGSTOP before requests are sent and then SIGKILLed, so that exactly
 * those requests are in flight when its connection dies.
 */
import { readFileSync } from 'node:fs';
import { silentLogger } from '../../common';
import { BookieClientPool } from '../../ledger-client';
import type { AddEntryRequest, BookieClientPoolOptions, TransportError } from '../../ledger-client';
import { StatusCode, masterKey } from '../../protocol';
import {
  EntryPacker,
  MetadataCluster,
  TempDirs,
  eventually,
  requireBuiltBookie,
  startLedgerlineBookie,
} from '../harness';
import type { BookieConfFile, BookieProcess } from '../harness';

const PASSWORD = Buffer.from('transport-test');
const MASTER_KEY = masterKey(PASSWORD);
const CONFIG: BookieClientPoolOptions['config'] = {
  addEntryTimeoutSec: 10,
  readEntryTimeoutSec: 10,
  maxPendingRequestsPerBookie: 100_000,
  reconnectBackoffMs: 100,
  reconnectBackoffMaxMs: 1000,
  nettyMaxFrameSizeBytes: 5_242_880,
};

interface AddOutcome {
  status: StatusCode | undefined;
  error: TransportError | undefined;
}

function payload(ledgerId: bigint, entryId: bigint): Buffer {
  return Buffer.from(`ledger ${ledgerId} entry ${entryId} `.repeat(20));
}

describe('ledger-client > transport > against a real bookie', () => {
  const dirs = new TempDirs();
  const packer = new EntryPacker(PASSWORD);
  const running: BookieProcess[] = [];
  let cluster: MetadataCluster;
  let conf: BookieConfFile;
  let pool: BookieClientPool;

  beforeAll(async () => {
    requireBuiltBookie();
    cluster = await MetadataCluster.start();
    conf = await cluster.writeBookieConf(dirs.make('transport-'));
    running.push(await startLedgerlineBookie(conf.path, conf.port));
  });

  beforeEach(() => {
    pool = new BookieClientPool({ config: CONFIG, logger: silentLogger() });
  });

  afterEach(async () => {
    await pool.close();
  });

  afterAll(async () => {
    for (const bookie of running.splice(0)) await bookie.stop('SIGKILL');
    await cluster?.close();
    dirs.removeAll();
  });

  function add(bookieId: string, ledgerId: bigint, entryId: bigint, extra: Partial<AddEntryRequest> = {}) {
    return new Promise<AddOutcome>((resolve) => {
      pool.addEntry(
        bookieId,
        {
          ledgerId,
          entryId,
          masterKey: MASTER_KEY,
          body: packer.pack(ledgerId, entryId, payload(ledgerId, entryId)),
          ...extra,
        },
        (status, error) => resolve({ status, error }),
      );
    });
  }

  async function addAll(bookieId: string, ledgerId: bigint, count: number): Promise<void> {
    const outcomes = await Promise.all(
      Array.from({ length: count }, (_, i) => add(bookieId, ledgerId, BigInt(i))),
    );
    expect(outcomes.filter((o) => o.status !== StatusCode.EOK)).toEqual([]);
  }

  /** Reads entry `entryId` and returns its verified payload. */
  async function readPayload(bookieId: string, ledgerId: bigint, entryId: bigint): Promise<Buffer> {
    const outcome = await pool.readEntry(bookieId, { ledgerId, entryId });
    if (!outcome.ok) throw outcome.error;
    expect(outcome.value.status).toBe(StatusCode.EOK);
    return packer.digest(ledgerId).verifyEntry(entryId, outcome.value.body!).payload;
  }

  test('1000 adds pipelined at once are all acknowledged, and read back verified', async () => {
    const bookieId = conf.bookieId;
    await addAll(bookieId, 1n, 1000);
    const reads = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => readPayload(bookieId, 1n, BigInt(i))),
    );
    const differing = reads.flatMap((read, i) => (read.equals(payload(1n, BigInt(i))) ? [] : [i]));
    expect(differing).toEqual([]);
  });

  test('a fencing read fences the ledger: a plain add then gets EFENCED, a recovery add EOK', async () => {
    const bookieId = conf.bookieId;
    await addAll(bookieId, 2n, 5);
    const fence = await pool.readEntry(bookieId, {
      ledgerId: 2n,
      entryId: -1n,
      fence: true,
      masterKey: MASTER_KEY,
      highPriority: true,
    });
    expect(fence).toMatchObject({ ok: true, value: { status: StatusCode.EOK } });
    expect((await add(bookieId, 2n, 5n)).status).toBe(StatusCode.EFENCED);
    expect((await add(bookieId, 2n, 5n, { recoveryAdd: true })).status).toBe(StatusCode.EOK);
    expect(await readPayload(bookieId, 2n, 5n)).toEqual(payload(2n, 5n));
  });

  test('writeLac, readLac, forceLedger after deferred-sync adds, and getBookieInfo', async () => {
    const bookieId = conf.bookieId;
    const outcomes = await Promise.all(
      [0n, 1n, 2n].map((entryId) => add(bookieId, 3n, entryId, { deferredSync: true })),
    );
    expect(outcomes.map((o) => o.status)).toEqual([StatusCode.EOK, StatusCode.EOK, StatusCode.EOK]);
    expect(await pool.forceLedger(bookieId, 3n)).toEqual({ ok: true, value: StatusCode.EOK });

    const digest = packer.digest(3n);
    const written = await pool.writeLac(bookieId, {
      ledgerId: 3n,
      lac: 2n,
      masterKey: MASTER_KEY,
      body: digest.packLac(2n),
    });
    expect(written).toEqual({ ok: true, value: StatusCode.EOK });
    const lac = await pool.readLac(bookieId, 3n);
    if (!lac.ok) throw lac.error;
    expect(lac.value.status).toBe(StatusCode.EOK);
    expect(digest.verifyLac(lac.value.lacBody!)).toBe(2n);
    expect(digest.verifyEntry(2n, lac.value.lastEntryBody!).payload).toEqual(payload(3n, 2n));

    const info = await pool.getBookieInfo(bookieId);
    if (!info.ok) throw info.error;
    expect(info.value.status).toBe(StatusCode.EOK);
    expect(info.value.totalDiskCapacity!).toBeGreaterThan(0n);
    expect(info.value.freeDiskSpace!).toBeGreaterThan(0n);
    expect(info.value.freeDiskSpace!).toBeLessThanOrEqual(info.value.totalDiskCapacity!);
  });

  test('a long poll waits, and wakes with the entry when the LAC advances', async () => {
    const bookieId = conf.bookieId;
    await addAll(bookieId, 4n, 2); // entry 1 carries LAC 0
    let answered = false;
    const poll = pool
      .readEntry(bookieId, {
        ledgerId: 4n,
        entryId: -1n,
        previousLAC: 0n,
        longPollTimeoutMs: 20_000,
        piggyback: true,
      })
      .finally(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answered).toBe(false);

    const started = Date.now();
    expect((await add(bookieId, 4n, 2n)).status).toBe(StatusCode.EOK); // carries LAC 1
    const outcome = await poll;
    expect(Date.now() - started).toBeLessThan(5000);
    if (!outcome.ok) throw outcome.error;
    expect(outcome.value).toMatchObject({ status: StatusCode.EOK, ledgerId: 4n, entryId: 1n, maxLAC: 1n });
    expect(packer.digest(4n).verifyEntry(1n, outcome.value.body!).payload).toEqual(payload(4n, 1n));
  });

  test('a bookie SIGKILLed with requests in flight: they fail with connection-lost, listeners hear it; after a restart requests succeed', async () => {
    const ownConf = await cluster.writeBookieConf(dirs.make('transport-kill-'));
    const bookieId = ownConf.bookieId;
    const bookie = await startLedgerlineBookie(ownConf.path, ownConf.port);
    running.push(bookie);
    const heard: Array<[string, TransportError]> = [];
    pool.onBookieFailure((id, error) => heard.push([id, error]));
    await addAll(bookieId, 5n, 20);

    process.kill(bookie.pid, 'SIGSTOP');
    await eventually('the bookie to be stopped', () => (processState(bookie.pid) === 'T' ? true : undefined));
    const adds = Array.from({ length: 100 }, (_, i) => add(bookieId, 5n, BigInt(20 + i)));
    const poll = pool.readEntry(bookieId, {
      ledgerId: 5n,
      entryId: -1n,
      previousLAC: 100n,
      longPollTimeoutMs: 20_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await bookie.stop('SIGKILL');

    const outcomes = await Promise.all(adds);
    expect(outcomes.map((o) => o.error?.failure)).toEqual(Array(100).fill('connection-lost'));
    expect(outcomes[0]!.error!.message).toContain(
      `add of entry 20 of ledger 5 to bookie ${bookieId}: connection lost`,
    );
    expect(await poll).toMatchObject({ ok: false, error: { failure: 'connection-lost', bookieId } });
    expect(heard.map(([id, error]) => [id, error.failure])).toEqual([[bookieId, 'connection-lost']]);

    running.push(await startLedgerlineBookie(ownConf.path, ownConf.port));
    for (let entryId = 0n; entryId < 20n; entryId++) {
      expect(await readPayload(bookieId, 5n, entryId)).toEqual(payload(5n, entryId));
    }
    await addAll(bookieId, 6n, 50);
    expect(heard).toHaveLength(1);
  });
});

/** The state letter of /proc/<pid>/stat ('T' when stopped); undefined once the process is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2);
  } catch {
    return undefined;
  }
}
