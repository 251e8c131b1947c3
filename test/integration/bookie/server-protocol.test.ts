/**
 * Goal: a BookKeeper v3 client sees a bookie behave as BookKeeper's does, operation by operation.
 * Method: a real BookieServer over TCP on loopback, backed by the real Journal (files, fdatasync) and
 * DbLedgerStorage (entry logs, RocksDB) in a temp dir, driven by the test client (test/harness/bookie-client.ts);
 * assertions are on the responses a client receives.
 */
import {
  DigestManager,
  DigestType,
  HIGH_PRIORITY,
  OperationType,
  ProtocolVersion,
  StatusCode,
  decodeEntriesAvailability,
  masterKey,
} from '../../../protocol';
import { BookieClient, TempDirs, eventually } from '../../harness';
import { startBookieServer } from './server-fixture';
import type { RunningBookie } from './server-fixture';

const PASSWORD = Buffer.from('password');
const KEY = masterKey(PASSWORD);
const WRONG_KEY = masterKey(Buffer.from('wrong'));

/** Packs entries of one ledger as a writer does: CRC32C digest, piggybacked LAC, cumulative length. */
class LedgerWriter {
  readonly digest: DigestManager;
  private length = 0n;

  constructor(readonly ledgerId: bigint) {
    this.digest = DigestManager.create(ledgerId, PASSWORD, DigestType.CRC32C);
  }

  entry(
    entryId: bigint,
    lac = entryId - 1n,
    payload = Buffer.from(`ledger ${this.ledgerId} entry ${entryId}`),
  ): Buffer {
    this.length += BigInt(payload.length);
    return this.digest.packEntry(entryId, lac, this.length, payload);
  }
}

describe('bookie > server > protocol', () => {
  const dirs = new TempDirs();
  let running: RunningBookie;
  let client: BookieClient;

  beforeAll(async () => {
    running = await startBookieServer(dirs.make('bookie-server-'));
    client = await BookieClient.connect(running.port);
  });

  afterAll(async () => {
    await client.close();
    await running.stop();
    dirs.removeAll();
  });

  it('adds an entry and reads it back byte-identical, with the header echoed', async () => {
    const writer = new LedgerWriter(1n);
    const body = writer.entry(0n, -1n, Buffer.from('hello bookie'));
    const added = await client.addEntry({ ledgerId: 1n, entryId: 0n, masterKey: KEY, body });
    expect(added.status).toBe(StatusCode.EOK);
    expect(added.addResponse).toEqual({ status: StatusCode.EOK, ledgerId: 1n, entryId: 0n });
    expect(added.header.operation).toBe(OperationType.ADD_ENTRY);
    const read = await client.readEntry(1n, 0n);
    expect(read.status).toBe(StatusCode.EOK);
    expect(read.readResponse?.body).toEqual(body);
    expect(writer.digest.verifyEntry(0n, read.readResponse!.body!).payload.toString()).toBe('hello bookie');
  });

  it('acknowledges thousands of pipelined adds over many ledgers, matching each response to its request', async () => {
    const ledgers = Array.from({ length: 20 }, (_, i) => new LedgerWriter(1000n + BigInt(i)));
    const perLedger = 250;
    const adds: Promise<{ status: StatusCode; ledgerId: bigint; entryId: bigint }>[] = [];
    const bodies = new Map<string, Buffer>();
    for (let e = 0; e < perLedger; e++) {
      for (const writer of ledgers) {
        const entryId = BigInt(e);
        const body = writer.entry(entryId);
        bodies.set(`${writer.ledgerId}/${entryId}`, body);
        adds.push(
          client.addEntry({ ledgerId: writer.ledgerId, entryId, masterKey: KEY, body }).then((r) => ({
            status: r.status,
            ledgerId: r.addResponse!.ledgerId,
            entryId: r.addResponse!.entryId,
          })),
        );
      }
    }
    expect(client.inFlight).toBeGreaterThan(1000);
    const results = await Promise.all(adds);
    expect(results.filter((r) => r.status !== StatusCode.EOK)).toEqual([]);
    expect(results).toHaveLength(ledgers.length * perLedger);
    // Each response belongs to its own request (matched by txnId, whatever the order they came back in).
    for (const [i, result] of results.entries()) {
      const writer = ledgers[i % ledgers.length]!;
      expect(result.ledgerId).toBe(writer.ledgerId);
      expect(result.entryId).toBe(BigInt(Math.floor(i / ledgers.length)));
    }
    const reads = await Promise.all(
      [...bodies.keys()]
        .filter((_, i) => i % 97 === 0)
        .map(async (key) => {
          const [ledgerId, entryId] = key.split('/').map(BigInt) as [bigint, bigint];
          return { key, response: await client.readEntry(ledgerId, entryId) };
        }),
    );
    for (const { key, response } of reads) expect(response.readResponse?.body).toEqual(bodies.get(key));
  });

  it('reads entry -1 as the last entry, and tells ENOLEDGER from ENOENTRY', async () => {
    const writer = new LedgerWriter(2n);
    for (const entryId of [0n, 1n, 2n]) {
      await client.addEntry({ ledgerId: 2n, entryId, masterKey: KEY, body: writer.entry(entryId) });
    }
    const last = await client.readEntry(2n, -1n);
    expect(last.status).toBe(StatusCode.EOK);
    expect(writer.digest.verifyEntryAnyId(last.readResponse!.body!).entryId).toBe(2n);
    expect(last.readResponse?.maxLAC).toBe(1n);
    expect((await client.readEntry(2n, 9n)).status).toBe(StatusCode.ENOENTRY);
    expect((await client.readEntry(2_000_000n, 0n)).status).toBe(StatusCode.ENOLEDGER);
  });

  it('answers EUA to adds and fences with the wrong master key', async () => {
    const writer = new LedgerWriter(3n);
    expect(
      (await client.addEntry({ ledgerId: 3n, entryId: 0n, masterKey: KEY, body: writer.entry(0n) })).status,
    ).toBe(StatusCode.EOK);
    const wrongAdd = await client.addEntry({
      ledgerId: 3n,
      entryId: 1n,
      masterKey: WRONG_KEY,
      body: writer.entry(1n),
    });
    expect(wrongAdd.status).toBe(StatusCode.EUA);
    expect((await client.fence(3n, -1n, WRONG_KEY)).status).toBe(StatusCode.EUA);
    expect(
      (await client.addEntry({ ledgerId: 3n, entryId: 1n, masterKey: KEY, body: writer.entry(1n) })).status,
    ).toBe(StatusCode.EOK);
  });

  it('fences: after a fence read plain adds get EFENCED, recovery adds are accepted', async () => {
    const writer = new LedgerWriter(4n);
    await client.addEntry({ ledgerId: 4n, entryId: 0n, masterKey: KEY, body: writer.entry(0n) });
    const fenced = await client.fence(4n, -1n, KEY);
    expect(fenced.status).toBe(StatusCode.EOK);
    expect(writer.digest.verifyEntryAnyId(fenced.readResponse!.body!).entryId).toBe(0n);
    const body = writer.entry(1n);
    expect((await client.addEntry({ ledgerId: 4n, entryId: 1n, masterKey: KEY, body })).status).toBe(
      StatusCode.EFENCED,
    );
    const recovery = await client.addEntry({
      ledgerId: 4n,
      entryId: 1n,
      masterKey: KEY,
      body,
      recoveryAdd: true,
      priority: HIGH_PRIORITY,
    });
    expect(recovery.status).toBe(StatusCode.EOK);
    expect((await client.readEntry(4n, 1n)).readResponse?.body).toEqual(body);
    // A fence of a ledger this bookie never saw: ENOENTRY, and the old writer is refused here from now on.
    expect((await client.fence(5n, -1n, KEY)).status).toBe(StatusCode.ENOENTRY);
    const late = new LedgerWriter(5n);
    expect(
      (await client.addEntry({ ledgerId: 5n, entryId: 0n, masterKey: KEY, body: late.entry(0n) })).status,
    ).toBe(StatusCode.EFENCED);
  });

  it('long poll: wakes when the LAC advances, with the piggybacked entry', async () => {
    const writer = new LedgerWriter(6n);
    for (const entryId of [0n, 1n]) {
      await client.addEntry({ ledgerId: 6n, entryId, masterKey: KEY, body: writer.entry(entryId) });
    }
    const started = Date.now();
    const poll = client.longPoll({ ledgerId: 6n, previousLAC: 0n, timeOutMs: 30_000, piggyback: true });
    await eventually('the poll waiting at the bookie', () =>
      running.bookie.longPollWaiters === 1 ? true : undefined,
    );
    const next = writer.entry(2n);
    await client.addEntry({ ledgerId: 6n, entryId: 2n, masterKey: KEY, body: next });
    const woken = await poll;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(woken.status).toBe(StatusCode.EOK);
    expect(woken.readResponse?.maxLAC).toBe(1n);
    expect(woken.readResponse?.entryId).toBe(1n);
    expect(writer.digest.verifyEntry(1n, woken.readResponse!.body!).entryId).toBe(1n);
    // Already past previousLAC: answered at once.
    const immediate = await client.longPoll({
      ledgerId: 6n,
      previousLAC: -1n,
      timeOutMs: 30_000,
      piggyback: true,
    });
    expect(immediate.readResponse?.entryId).toBe(0n);
  });

  it('long poll: times out with the unchanged LAC; piggyback needs entryId -1', async () => {
    const writer = new LedgerWriter(7n);
    await client.addEntry({ ledgerId: 7n, entryId: 0n, masterKey: KEY, body: writer.entry(0n) });
    await client.addEntry({ ledgerId: 7n, entryId: 1n, masterKey: KEY, body: writer.entry(1n) });
    const started = Date.now();
    const timedOut = await client.longPoll({
      ledgerId: 7n,
      previousLAC: 0n,
      timeOutMs: 100,
      piggyback: true,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(timedOut.status).toBe(StatusCode.EOK);
    expect(timedOut.readResponse?.maxLAC).toBe(0n);
    expect(timedOut.readResponse?.body).toBeUndefined();
    const bad = await client.longPoll({
      ledgerId: 7n,
      previousLAC: 0n,
      timeOutMs: 100,
      piggyback: true,
      entryId: 1n,
    });
    expect(bad.status).toBe(StatusCode.EBADREQ);
  });

  it('WRITE_LAC / READ_LAC: the explicit LAC blob and the last entry, and the LAC seen by readers', async () => {
    const writer = new LedgerWriter(8n);
    for (const entryId of [0n, 1n, 2n]) {
      await client.addEntry({ ledgerId: 8n, entryId, masterKey: KEY, body: writer.entry(entryId) });
    }
    const blob = writer.digest.packLac(2n);
    const written = await client.writeLac(8n, 2n, KEY, blob);
    expect(written.status).toBe(StatusCode.EOK);
    expect(written.writeLacResponse).toEqual({ status: StatusCode.EOK, ledgerId: 8n });
    const lac = await client.readLac(8n);
    expect(lac.status).toBe(StatusCode.EOK);
    expect(writer.digest.verifyLac(lac.readLacResponse!.lacBody!)).toBe(2n);
    expect(writer.digest.verifyEntryAnyId(lac.readLacResponse!.lastEntryBody!).entryId).toBe(2n);
    expect((await client.readEntry(8n, 0n)).readResponse?.maxLAC).toBe(2n);
    expect((await client.writeLac(8n, 2n, WRONG_KEY, blob)).status).toBe(StatusCode.EUA);
    expect((await client.readLac(9_999n)).status).toBe(StatusCode.ENOLEDGER);
  });

  it('FORCE_LEDGER is the barrier for DEFERRED_SYNC adds', async () => {
    const writer = new LedgerWriter(9n);
    const bodies = [0n, 1n, 2n].map((entryId) => writer.entry(entryId));
    const adds = await Promise.all(
      bodies.map((body, i) =>
        client.addEntry({ ledgerId: 9n, entryId: BigInt(i), masterKey: KEY, body, deferredSync: true }),
      ),
    );
    expect(adds.map((a) => a.status)).toEqual([StatusCode.EOK, StatusCode.EOK, StatusCode.EOK]);
    const forced = await client.forceLedger(9n);
    expect(forced.status).toBe(StatusCode.EOK);
    expect(forced.forceLedgerResponse).toEqual({ status: StatusCode.EOK, ledgerId: 9n });
    expect((await client.readEntry(9n, 2n)).readResponse?.body).toEqual(bodies[2]);
  });

  it('GET_LIST_OF_ENTRIES_OF_LEDGER describes the stored entry ids', async () => {
    const writer = new LedgerWriter(10n);
    const ids = [0n, 1n, 3n, 4n, 6n, 7n, 20n];
    for (const entryId of ids) {
      await client.addEntry({ ledgerId: 10n, entryId, masterKey: KEY, body: writer.entry(entryId) });
    }
    const listed = await client.getListOfEntriesOfLedger(10n);
    expect(listed.status).toBe(StatusCode.EOK);
    const availability = decodeEntriesAvailability(
      listed.getListOfEntriesOfLedgerResponse!.availabilityOfEntriesOfLedger!,
    );
    expect([...availability.entryIds()]).toEqual(ids);
    expect((await client.getListOfEntriesOfLedger(123_456n)).status).toBe(StatusCode.ENOLEDGER);
  });

  it('GET_BOOKIE_INFO reports the disk capacity and free space asked for', async () => {
    const info = await client.getBookieInfo();
    expect(info.status).toBe(StatusCode.EOK);
    const { totalDiskCapacity, freeDiskSpace } = info.getBookieInfoResponse!;
    expect(totalDiskCapacity).toBeGreaterThan(0n);
    expect(freeDiskSpace).toBeGreaterThan(0n);
    expect(freeDiskSpace!).toBeLessThanOrEqual(totalDiskCapacity!);
    const onlyFree = await client.getBookieInfo(2n);
    expect(onlyFree.getBookieInfoResponse?.totalDiskCapacity).toBeUndefined();
    expect(onlyFree.getBookieInfoResponse?.freeDiskSpace).toBeGreaterThan(0n);
  });

  it('AUTH with AuthDisabledPlugin is echoed; START_TLS, unknown operations and bad versions are refused', async () => {
    const auth = await client.auth('AuthDisabledPlugin', Buffer.from('hi'));
    expect(auth.status).toBe(StatusCode.EOK);
    expect(auth.authResponse).toEqual({ authPluginName: 'AuthDisabledPlugin', payload: Buffer.from('hi') });
    expect((await client.auth('SASL')).status).toBe(StatusCode.EUA);
    expect((await client.request(OperationType.START_TLS, { startTLSRequest: {} })).status).toBe(
      StatusCode.EBADREQ,
    );
    expect((await client.request(77 as OperationType, {})).status).toBe(StatusCode.EBADREQ);
    expect((await client.request(OperationType.ADD_ENTRY, {})).status).toBe(StatusCode.EBADREQ);
    const badVersion = await client.request(
      OperationType.READ_ENTRY,
      { readRequest: { ledgerId: 1n, entryId: 0n } },
      { version: ProtocolVersion.VERSION_TWO },
    );
    expect(badVersion.status).toBe(StatusCode.EBADVERSION);
    expect(badVersion.header.version).toBe(ProtocolVersion.VERSION_TWO);
    expect(client.open).toBe(true);
  });

  it('counts requests by operation and status in the bookie metrics', async () => {
    const text = await running.metrics.registry.metrics();
    expect(text).toMatch(/bookkeeper_server_requests_total\{operation="ADD_ENTRY",status="EOK"\} \d+/);
    expect(text).toMatch(/bookkeeper_server_requests_total\{operation="READ_ENTRY",status="ENOLEDGER"\} \d+/);
    expect(text).toMatch(/bookkeeper_server_connections 1/);
  });
});
