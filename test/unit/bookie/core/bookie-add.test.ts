/**
 * The bookie core's add path and fencing, over in-memory fakes of the journal and storage: what a client is
 * told (status) and when (only after the journal record is durable), in which order.
 */
import { DigestManager, DigestType, StatusCode, masterKey } from '../../../../protocol';
import type { AddEntryRequest, Bookie, BookieMetrics } from '../../../../bookie';
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

  it('refuses malformed adds with EBADREQ: short body, ids differing from the body, negative or too large ids, bad key', async () => {
    const { bookie, journal } = await startBookie();
    const bad: AddEntryRequest[] = [
      addRequest(1n, 0n, { body: Buffer.alloc(31) }),
      addRequest(1n, 0n, { body: pack(2n, 0n) }),
      addRequest(1n, 0n, { body: pack(1n, 1n) }),
      addRequest(1n, -0x1000n, { body: pack(1n, -0x1000n) }), // would replay as a LEDGER_KEY record
      addRequest(-1n, 0n, { body: pack(-1n, 0n) }),
      addRequest(1n, 2n ** 53n, { body: pack(1n, 2n ** 53n) }), // past what the storage can keep
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
});

/** A flush held until `release()`: the slow flush that leaves both write caches full. */
function holdFlushes(storage: FakeStorage): () => void {
  let release!: () => void;
  storage.flushGate = new Promise<void>((resolve) => (release = resolve));
  return () => {
    storage.flushGate = undefined;
    release();
  };
}

async function metric(metrics: BookieMetrics, name: string): Promise<number> {
  const found = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (found?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

/** How many throttled adds ended stored (success true) or refused (false), from the latency histogram. */
async function throttledEnded(metrics: BookieMetrics, success: boolean): Promise<number> {
  const { values } = await metrics.throttledWriteLatency.get();
  return (
    values.find(
      (v) =>
        v.metricName === 'bookie_dbstorage_throttled_write_seconds_count' &&
        v.labels.success === String(success),
    )?.value ?? 0
  );
}

/**
 * A started bookie whose ledger 1 has entry 0 flushed and entry 1 in a write cache that holds one entry, with
 * flushes held until `release()`: the next add finds the caches full.
 */
async function withFullWriteCache(config: Record<string, string> = {}) {
  const storage = new FakeStorage();
  const fixture = await startBookie({ storage, config });
  expect(await add(fixture.bookie, addRequest(1n, 0n))).toBe(StatusCode.EOK);
  await storage.flush();
  storage.writeCacheEntriesMax = 1;
  const release = holdFlushes(storage);
  expect(await add(fixture.bookie, addRequest(1n, 1n))).toBe(StatusCode.EOK);
  return { ...fixture, release };
}

const entriesJournaled = (journal: FakeJournal): string[] =>
  journal.records.flatMap((r) => (r.kind === 'entry' ? [`${r.ledgerId}/${r.entryId}`] : []));

describe('bookie > core > write throttle (write caches full)', () => {
  it('holds adds that find the write caches full until a flush frees them, then stores, journals and acknowledges them in arrival order', async () => {
    const storage = new FakeStorage();
    const { bookie, journal, metrics } = await startBookie({ storage });
    expect(await add(bookie, addRequest(1n, 0n))).toBe(StatusCode.EOK); // creates ledger 1
    expect(await add(bookie, addRequest(2n, 0n))).toBe(StatusCode.EOK); // and ledger 2
    await storage.flush();
    storage.writeCacheEntriesMax = 2;
    const release = holdFlushes(storage);
    const log: string[] = [];
    const first = [
      addRecorded(bookie, addRequest(1n, 1n), log),
      addRecorded(bookie, addRequest(1n, 2n), log),
    ];
    // The cache holds two: these wait, and so does every add after them, even one that would fit later.
    const waiting = [
      addRecorded(bookie, addRequest(1n, 3n), log),
      addRecorded(bookie, addRequest(2n, 1n), log),
      addRecorded(bookie, addRequest(1n, 4n), log),
      addRecorded(bookie, addRequest(2n, 2n), log),
    ];
    expect(await Promise.all(first)).toEqual([StatusCode.EOK, StatusCode.EOK]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(bookie.throttledAdds).toBe(4);
    expect(bookie.pendingAdds).toBe(4);
    expect(log).toEqual(['add 1 EOK', 'add 2 EOK']);
    expect(entriesJournaled(journal)).toEqual(['1/0', '2/0', '1/1', '1/2']);
    expect(await storage.getEntry(1n, 3n)).toBeUndefined();
    expect(await metric(metrics, 'bookie_dbstorage_throttled_write_requests_waiting')).toBe(4);

    // The flush (the checkpoint the first refusal asked for) ends: two fit, the next two wait for the next one.
    release();
    expect(await Promise.all(waiting)).toEqual([
      StatusCode.EOK,
      StatusCode.EOK,
      StatusCode.EOK,
      StatusCode.EOK,
    ]);
    expect(log).toEqual(['add 1 EOK', 'add 2 EOK', 'add 3 EOK', 'add 1 EOK', 'add 4 EOK', 'add 2 EOK']);
    expect(entriesJournaled(journal)).toEqual(['1/0', '2/0', '1/1', '1/2', '1/3', '2/1', '1/4', '2/2']);
    for (const [ledgerId, entryId] of [
      [1n, 3n],
      [2n, 1n],
      [1n, 4n],
      [2n, 2n],
    ] as const) {
      expect((await bookie.readEntry(ledgerId, entryId)).body).toEqual(pack(ledgerId, entryId));
    }
    expect(bookie.throttledAdds).toBe(0);
    expect(await metric(metrics, 'bookie_dbstorage_throttled_write_requests')).toBe(4);
    expect(await metric(metrics, 'bookie_dbstorage_rejected_write_requests')).toBe(0);
    expect(await throttledEnded(metrics, true)).toBe(4);
    await bookie.close();
  });

  it("never lets a later add overtake a waiting one, even one that would fit: a ledger's entries are stored and journaled in order", async () => {
    const storage = new FakeStorage();
    const { bookie, journal } = await startBookie({ storage });
    expect(await add(bookie, addRequest(1n, 0n))).toBe(StatusCode.EOK);
    await storage.flush();
    const small = pack(1n, 1n).length;
    storage.writeCacheBytesMax = 4 * small;
    const release = holdFlushes(storage);
    expect(await add(bookie, addRequest(1n, 1n))).toBe(StatusCode.EOK);
    expect(await add(bookie, addRequest(1n, 2n))).toBe(StatusCode.EOK);
    // Entry 3 is too large for the room left; entry 4 is small enough, and must still wait behind it.
    const large = addRequest(1n, 3n, { body: pack(1n, 3n, 2n, 'x'.repeat(2 * small)) });
    const log: string[] = [];
    const waiting = [addRecorded(bookie, large, log), addRecorded(bookie, addRequest(1n, 4n), log)];
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(bookie.throttledAdds).toBe(2);
    expect(entriesJournaled(journal)).toEqual(['1/0', '1/1', '1/2']);
    expect(await storage.getEntry(1n, 4n)).toBeUndefined();
    release();
    expect(await Promise.all(waiting)).toEqual([StatusCode.EOK, StatusCode.EOK]);
    expect(log).toEqual(['add 3 EOK', 'add 4 EOK']);
    expect(entriesJournaled(journal)).toEqual(['1/0', '1/1', '1/2', '1/3', '1/4']);
    await bookie.close();
  });

  it('answers ETOOMANYREQUESTS once dbStorage_maxThrottleTimeMs has passed, having stored and journaled nothing of those adds', async () => {
    const { bookie, journal, storage, metrics, release } = await withFullWriteCache({
      dbStorage_maxThrottleTimeMs: '40',
    });
    const started = performance.now();
    const refused = await Promise.all([2n, 3n, 4n].map((entryId) => add(bookie, addRequest(1n, entryId))));
    expect(refused).toEqual([
      StatusCode.ETOOMANYREQUESTS,
      StatusCode.ETOOMANYREQUESTS,
      StatusCode.ETOOMANYREQUESTS,
    ]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(39);
    expect(entriesJournaled(journal)).toEqual(['1/0', '1/1']);
    expect(await storage.getEntry(1n, 2n)).toBeUndefined();
    expect(bookie.pendingAdds).toBe(0);
    expect(await metric(metrics, 'bookie_dbstorage_throttled_write_requests')).toBe(3);
    expect(await metric(metrics, 'bookie_dbstorage_rejected_write_requests')).toBe(3);
    expect(await throttledEnded(metrics, false)).toBe(3);
    // Once the flush ends the writer goes on (its client would have retried or changed ensemble).
    release();
    await eventually('the flush to end', () => (bookie.throttledAdds === 0 ? true : undefined), 2000);
    expect(await add(bookie, addRequest(1n, 2n))).toBe(StatusCode.EOK);
    await bookie.close();
  });

  it('refuses at once with dbStorage_maxThrottleTimeMs=0, and asks for a checkpoint, which drains the cache', async () => {
    const storage = new FakeStorage();
    const { bookie, metrics } = await startBookie({ storage, config: { dbStorage_maxThrottleTimeMs: '0' } });
    storage.writeCacheEntriesMax = 2;
    const flushesBefore = storage.flushes;
    expect(await add(bookie, addRequest(1n, 0n))).toBe(StatusCode.EOK);
    expect(await add(bookie, addRequest(1n, 1n))).toBe(StatusCode.EOK);
    expect(await add(bookie, addRequest(1n, 2n))).toBe(StatusCode.ETOOMANYREQUESTS);
    expect(await metric(metrics, 'bookie_dbstorage_rejected_write_requests')).toBe(1);
    await eventually(
      'the checkpoint asked for',
      () => (storage.flushes > flushesBefore ? true : undefined),
      2000,
    );
    // The cache is full: that flush must not pace itself.
    expect(storage.flushBackground.slice(flushesBefore)).not.toContain(true);
    expect(await add(bookie, addRequest(1n, 2n))).toBe(StatusCode.EOK);
    await bookie.close();
  });

  it('refuses a waiting add with EFENCED when its ledger was fenced meanwhile: nothing is journaled after the FENCE', async () => {
    const { bookie, journal, storage, release } = await withFullWriteCache();
    const plain = add(bookie, addRequest(1n, 2n));
    const recovery = add(bookie, addRequest(1n, 3n, { recoveryAdd: true }));
    await flushMicrotasks();
    expect(bookie.throttledAdds).toBe(2);
    const fence = await bookie.fenceAndRead(1n, -1n, KEY);
    expect(fence.status).toBe(StatusCode.EOK);
    expect(fence.body).toEqual(pack(1n, 1n));
    release();
    expect(await plain).toBe(StatusCode.EFENCED);
    expect(await recovery).toBe(StatusCode.EOK);
    const kinds = journal.records.map((r) => (r.kind === 'entry' ? `entry ${r.entryId}` : r.kind));
    expect(kinds).toEqual(['ledgerKey', 'entry 0', 'entry 1', 'fence', 'entry 3']);
    expect(await storage.getEntry(1n, 2n)).toBeUndefined();
    await bookie.close();
  });

  it('answers EIO to adds still waiting when the bookie closes after its drain time', async () => {
    const { bookie, journal, release } = await withFullWriteCache();
    const waiting = add(bookie, addRequest(1n, 2n));
    const closing = bookie.close(30);
    expect(await waiting).toBe(StatusCode.EIO);
    expect(entriesJournaled(journal)).toEqual(['1/0', '1/1']);
    release(); // the final checkpoint's flush
    await closing;
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

describe('bookie > core > close after a journal failure', () => {
  it('stops the periodic checkpoints: none runs after close, and no last one is written', async () => {
    const journal = new FakeJournal({ autoSync: false });
    const { bookie, storage } = await startBookie({ journal, config: { flushInterval: '100' } });
    const first = add(bookie, addRequest(1n, 0n));
    await flushMicrotasks();
    journal.failNextSync(new Error('EIO: fdatasync'));
    journal.sync();
    expect(await first).toBe(StatusCode.EIO);
    await bookie.close();
    const flushes = storage.flushes;
    const marks = journal.checkpoints.length;
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect([storage.flushes, journal.checkpoints.length]).toEqual([flushes, marks]);
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
