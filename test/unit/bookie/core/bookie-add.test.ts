/**
 * The bookie core's add path and fencing, over in-memory fakes of the journal and storage: what a client is
 * told (status) and when (only after the journal record is durable), in which order.
 */
import { DigestManager, DigestType, StatusCode, masterKey } from '../../../../protocol';
import type { AddEntryRequest, Bookie } from '../../../../bookie';
import { eventually } from '../../../harness';
import { FakeJournal, FakeStorage, startBookie } from './fakes';

const KEY = masterKey(Buffer.from('secret'));
const OTHER_KEY = masterKey(Buffer.from('other'));

function pack(ledgerId: bigint, entryId: bigint, lac = entryId - 1n, payload = `entry ${entryId}`): Buffer {
  return DigestManager.create(ledgerId, Buffer.alloc(0), DigestType.CRC32C).packEntry(
    entryId,
    lac,
    0n,
    Buffer.from(payload),
  );
}

function addRequest(
  ledgerId: bigint,
  entryId: bigint,
  overrides: Partial<AddEntryRequest> = {},
): AddEntryRequest {
  return {
    ledgerId,
    entryId,
    masterKey: KEY,
    body: pack(ledgerId, entryId),
    recoveryAdd: false,
    ackBeforeSync: false,
    highPriority: false,
    ...overrides,
  };
}

function add(bookie: Bookie, request: AddEntryRequest): Promise<StatusCode> {
  return new Promise((resolve) => bookie.addEntry(request, resolve));
}

/** Records each add's status as it arrives, to check when and in which order acks come. */
function addRecorded(bookie: Bookie, request: AddEntryRequest, log: string[]): Promise<StatusCode> {
  return new Promise((resolve) =>
    bookie.addEntry(request, (status) => {
      log.push(`add ${request.entryId} ${StatusCode[status]}`);
      resolve(status);
    }),
  );
}

const flushMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('bookie > core > add', () => {
  it('acknowledges an add only once its journal record is durable, then reads it back byte-identical', async () => {
    const journal = new FakeJournal({ autoSync: false });
    const { bookie } = await startBookie({ journal });
    const log: string[] = [];
    const request = addRequest(1n, 0n);
    const acked = addRecorded(bookie, request, log);
    await flushMicrotasks();
    expect(log).toEqual([]);
    expect(journal.records.map((r) => r.kind)).toEqual(['ledgerKey', 'entry']);
    journal.sync();
    expect(await acked).toBe(StatusCode.EOK);
    const read = await bookie.readEntry(1n, 0n);
    expect(read.status).toBe(StatusCode.EOK);
    expect(read.body).toEqual(request.body);
    await bookie.close();
  });

  it('journals the master key once on first contact, even for concurrent first adds', async () => {
    const { bookie, journal, storage } = await startBookie();
    const statuses = await Promise.all([0n, 1n, 2n].map((entryId) => add(bookie, addRequest(5n, entryId))));
    expect(statuses).toEqual([StatusCode.EOK, StatusCode.EOK, StatusCode.EOK]);
    expect(journal.records.filter((r) => r.kind === 'ledgerKey')).toHaveLength(1);
    expect(storage.infos.get(5n)?.masterKey).toEqual(KEY);
    await bookie.close();
  });

  it('answers EUA to a wrong master key, on the hot path and on first lookup after restart', async () => {
    const { bookie, storage } = await startBookie();
    expect(await add(bookie, addRequest(1n, 0n))).toBe(StatusCode.EOK);
    expect(await add(bookie, addRequest(1n, 1n, { masterKey: OTHER_KEY }))).toBe(StatusCode.EUA);
    storage.hot.clear(); // the ledger info is no longer cached: the lookup goes through getLedgerInfo
    expect(await add(bookie, addRequest(1n, 1n, { masterKey: OTHER_KEY }))).toBe(StatusCode.EUA);
    expect(await add(bookie, addRequest(1n, 1n))).toBe(StatusCode.EOK);
    await bookie.close();
  });

  it('refuses malformed adds with EBADREQ: short body, ids differing from the body, negative ids, bad key', async () => {
    const { bookie, journal } = await startBookie();
    const bad: AddEntryRequest[] = [
      addRequest(1n, 0n, { body: Buffer.alloc(31) }),
      addRequest(1n, 0n, { body: pack(2n, 0n) }),
      addRequest(1n, 0n, { body: pack(1n, 1n) }),
      addRequest(1n, -0x1000n, { body: pack(1n, -0x1000n) }), // would replay as a LEDGER_KEY record
      addRequest(-1n, 0n, { body: pack(-1n, 0n) }),
      addRequest(1n, 0n, { masterKey: Buffer.alloc(3) }),
    ];
    for (const request of bad) expect(await add(bookie, request)).toBe(StatusCode.EBADREQ);
    expect(journal.records).toEqual([]);
    await bookie.close();
  });

  it('acknowledges a DEFERRED_SYNC add before the sync', async () => {
    const journal = new FakeJournal({ autoSync: false });
    const { bookie } = await startBookie({ journal });
    expect(await add(bookie, addRequest(1n, 0n, { ackBeforeSync: true }))).toBe(StatusCode.EOK);
    expect(journal.durableCount).toBe(0);
    const forced = bookie.forceLedger(1n);
    journal.sync();
    expect(await forced).toBe(StatusCode.EOK);
    expect(journal.durableCount).toBe(2);
    await bookie.close();
  });

  it('answers ETOOMANYREQUESTS beyond maxPendingAddRequestsPerThread, and takes adds again once they drain', async () => {
    const journal = new FakeJournal({ autoSync: false });
    const { bookie, metrics } = await startBookie({
      journal,
      config: { maxPendingAddRequestsPerThread: '3' },
    });
    expect(await add(bookie, addRequest(1n, 0n, { ackBeforeSync: true }))).toBe(StatusCode.EOK); // creates the ledger
    const pending = [1n, 2n, 3n].map((entryId) => add(bookie, addRequest(1n, entryId)));
    expect(await add(bookie, addRequest(1n, 4n))).toBe(StatusCode.ETOOMANYREQUESTS);
    expect((await metrics.addRejected.get()).values[0]?.value).toBe(1);
    journal.sync();
    expect(await Promise.all(pending)).toEqual([StatusCode.EOK, StatusCode.EOK, StatusCode.EOK]);
    journal.autoSync = true;
    expect(await add(bookie, addRequest(1n, 4n))).toBe(StatusCode.EOK);
    await bookie.close();
  });

  it('turns a full write cache into ETOOMANYREQUESTS and asks for a checkpoint, which drains it', async () => {
    const storage = new FakeStorage();
    const { bookie } = await startBookie({ storage });
    storage.writeCacheEntriesMax = 2;
    const flushesBefore = storage.flushes;
    expect(await add(bookie, addRequest(1n, 0n))).toBe(StatusCode.EOK);
    expect(await add(bookie, addRequest(1n, 1n))).toBe(StatusCode.EOK);
    expect(await add(bookie, addRequest(1n, 2n))).toBe(StatusCode.ETOOMANYREQUESTS);
    await eventually(
      'the checkpoint asked for',
      () => (storage.flushes > flushesBefore ? true : undefined),
      2000,
    );
    expect(await add(bookie, addRequest(1n, 2n))).toBe(StatusCode.EOK);
    await bookie.close();
  });
});

describe('bookie > core > read-only and journal failure', () => {
  it('refuses adds and WRITE_LAC with EREADONLY when read-only, except allowed high-priority adds', async () => {
    const { bookie } = await startBookie();
    expect(await add(bookie, addRequest(1n, 0n))).toBe(StatusCode.EOK);
    const changes: boolean[] = [];
    bookie.onReadOnlyChange((readOnly) => changes.push(readOnly));
    bookie.setReadOnly(true);
    expect(await add(bookie, addRequest(1n, 1n))).toBe(StatusCode.EREADONLY);
    expect(await add(bookie, addRequest(1n, 1n, { highPriority: true }))).toBe(StatusCode.EREADONLY);
    const blob = DigestManager.create(1n, Buffer.alloc(0), DigestType.CRC32C).packLac(0n);
    expect(await bookie.writeLac(1n, KEY, blob)).toBe(StatusCode.EREADONLY);
    bookie.setReadOnly(true, { highPriorityWritesAllowed: true });
    expect(await add(bookie, addRequest(1n, 1n, { highPriority: true }))).toBe(StatusCode.EOK);
    expect((await bookie.readEntry(1n, 0n)).status).toBe(StatusCode.EOK);
    bookie.setReadOnly(false);
    expect(await add(bookie, addRequest(1n, 2n))).toBe(StatusCode.EOK);
    expect(changes).toEqual([true, false]);
    await bookie.close();
  });

  it('fails the records of a failed sync with EIO, never acknowledges them, and stays read-only', async () => {
    const journal = new FakeJournal({ autoSync: false });
    const { bookie } = await startBookie({ journal });
    const first = add(bookie, addRequest(1n, 0n));
    await flushMicrotasks();
    journal.failNextSync(new Error('EIO: fdatasync'));
    journal.sync();
    expect(await first).toBe(StatusCode.EIO);
    expect(bookie.isReadOnly).toBe(true);
    bookie.setReadOnly(false);
    expect(bookie.isReadOnly).toBe(true);
    expect(await add(bookie, addRequest(1n, 1n))).toBe(StatusCode.EREADONLY);
    expect((await bookie.fenceAndRead(1n, -1n, KEY)).status).toBe(StatusCode.EIO);
    await bookie.close();
  });
});

describe('bookie > core > fencing', () => {
  it('refuses plain adds from the moment a fence starts, answers the fence once it is durable, accepts recovery adds', async () => {
    const journal = new FakeJournal({ autoSync: false });
    const { bookie } = await startBookie({ journal });
    const log: string[] = [];
    const before = addRecorded(bookie, addRequest(1n, 0n), log);
    await flushMicrotasks();
    const fence = bookie.fenceAndRead(1n, -1n, KEY).then((result) => {
      log.push(`fence ${StatusCode[result.status]}`);
      return result;
    });
    await flushMicrotasks();
    // The FENCE record is written but not yet durable: the fence is not answered, and a plain add is refused.
    expect(await addRecorded(bookie, addRequest(1n, 1n), log)).toBe(StatusCode.EFENCED);
    expect(log).toEqual(['add 1 EFENCED']);
    journal.sync();
    await before;
    const fenced = await fence;
    // The add accepted before the fence was acknowledged before the fence answer.
    expect(log).toEqual(['add 1 EFENCED', 'add 0 EOK', 'fence EOK']);
    expect(fenced.body).toEqual(pack(1n, 0n));
    expect(journal.records.map((r) => r.kind)).toEqual(['ledgerKey', 'entry', 'fence']);
    journal.autoSync = true;
    expect(await add(bookie, addRequest(1n, 1n, { recoveryAdd: true }))).toBe(StatusCode.EOK);
    expect(await add(bookie, addRequest(1n, 2n))).toBe(StatusCode.EFENCED);
    await bookie.close();
  });

  it('fences a ledger it has never seen (creating it), answering ENOENTRY, so the old writer is refused here too', async () => {
    const { bookie, journal } = await startBookie();
    const fenced = await bookie.fenceAndRead(9n, -1n, KEY);
    expect(fenced.status).toBe(StatusCode.ENOENTRY);
    expect(journal.records.map((r) => r.kind)).toEqual(['ledgerKey', 'fence']);
    expect(await add(bookie, addRequest(9n, 0n))).toBe(StatusCode.EFENCED);
    expect(await add(bookie, addRequest(9n, 0n, { recoveryAdd: true }))).toBe(StatusCode.EOK);
    await bookie.close();
  });

  it('refuses a fence with the wrong master key (EUA) and leaves the ledger writable', async () => {
    const { bookie } = await startBookie();
    expect(await add(bookie, addRequest(1n, 0n))).toBe(StatusCode.EOK);
    expect((await bookie.fenceAndRead(1n, -1n, OTHER_KEY)).status).toBe(StatusCode.EUA);
    expect((await bookie.fenceAndRead(1n, -1n, Buffer.alloc(0))).status).toBe(StatusCode.EBADREQ);
    expect(await add(bookie, addRequest(1n, 1n))).toBe(StatusCode.EOK);
    await bookie.close();
  });

  it('journals one FENCE for concurrent fences, and none for a ledger already fenced', async () => {
    const { bookie, journal } = await startBookie();
    expect(await add(bookie, addRequest(1n, 0n))).toBe(StatusCode.EOK);
    const results = await Promise.all([1, 2, 3].map(() => bookie.fenceAndRead(1n, 0n, KEY)));
    expect(results.map((r) => r.status)).toEqual([StatusCode.EOK, StatusCode.EOK, StatusCode.EOK]);
    expect((await bookie.fenceAndRead(1n, 0n, KEY)).status).toBe(StatusCode.EOK);
    expect(journal.records.filter((r) => r.kind === 'fence')).toHaveLength(1);
    await bookie.close();
  });
});
