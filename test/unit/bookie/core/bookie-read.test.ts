/**
 * The bookie core's reads, LAC, long polls, WRITE_LAC/READ_LAC, entry lists, checkpoints and replay on start,
 * over in-memory fakes of the journal and storage.
 */
import {
  DigestManager,
  DigestType,
  StatusCode,
  decodeEntriesAvailability,
  masterKey,
} from '../../../../protocol';
import type { AddEntryRequest, Bookie, LongPollRequest, ReadEntryResult } from '../../../../bookie';
import { FakeJournal, FakeJournalFiles, FakeStorage, startBookie } from './fakes';
import { eventually } from '../../../harness';

const KEY = masterKey(Buffer.from('secret'));
const digest = (ledgerId: bigint): DigestManager =>
  DigestManager.create(ledgerId, Buffer.alloc(0), DigestType.CRC32C);

function pack(ledgerId: bigint, entryId: bigint, lac = entryId - 1n): Buffer {
  return digest(ledgerId).packEntry(entryId, lac, 0n, Buffer.from(`ledger ${ledgerId} entry ${entryId}`));
}

function add(
  bookie: Bookie,
  ledgerId: bigint,
  entryId: bigint,
  lac = entryId - 1n,
  extra: Partial<AddEntryRequest> = {},
): Promise<StatusCode> {
  const request: AddEntryRequest = {
    ledgerId,
    entryId,
    masterKey: KEY,
    body: pack(ledgerId, entryId, lac),
    recoveryAdd: false,
    ackBeforeSync: false,
    highPriority: false,
    ...extra,
  };
  return new Promise((resolve) => bookie.addEntry(request, resolve));
}

/** A long poll on ledger 1 for the last entry, piggybacked, unless `options` say otherwise. */
function longPoll(
  bookie: Bookie,
  previousLAC: bigint,
  timeOutMs: number,
  options: Partial<LongPollRequest> = {},
): Promise<ReadEntryResult> {
  return bookie.readLongPoll({
    ledgerId: 1n,
    entryId: -1n,
    previousLAC,
    timeOutMs,
    piggyback: true,
    ...options,
  });
}

async function addAll(bookie: Bookie, ledgerId: bigint, entryIds: bigint[]): Promise<void> {
  for (const entryId of entryIds) expect(await add(bookie, ledgerId, entryId)).toBe(StatusCode.EOK);
}

describe('bookie > core > read', () => {
  it('reads entries, -1 as the last one, and tells ENOLEDGER from ENOENTRY', async () => {
    const { bookie } = await startBookie();
    await addAll(bookie, 3n, [0n, 1n, 2n]);
    const last = await bookie.readEntry(3n, -1n);
    expect(last.status).toBe(StatusCode.EOK);
    expect(last.body).toEqual(pack(3n, 2n));
    expect(last.maxLAC).toBe(1n);
    expect((await bookie.readEntry(3n, 7n)).status).toBe(StatusCode.ENOENTRY);
    expect((await bookie.readEntry(3n, -5n)).status).toBe(StatusCode.ENOENTRY);
    expect((await bookie.readEntry(4n, 0n)).status).toBe(StatusCode.ENOLEDGER);
    expect((await bookie.readEntry(4n, -1n)).status).toBe(StatusCode.ENOLEDGER);
    await bookie.close();
  });

  it('answers ETOOMANYREQUESTS beyond maxPendingReadRequestsPerThread', async () => {
    const { bookie } = await startBookie({ config: { maxPendingReadRequestsPerThread: '2' } });
    await addAll(bookie, 1n, [0n]);
    const reads = [bookie.readEntry(1n, 0n), bookie.readEntry(1n, 0n), bookie.readEntry(1n, 0n)];
    expect((await Promise.all(reads)).map((r) => r.status)).toEqual([
      StatusCode.EOK,
      StatusCode.EOK,
      StatusCode.ETOOMANYREQUESTS,
    ]);
    expect((await bookie.readEntry(1n, 0n)).status).toBe(StatusCode.EOK);
    await bookie.close();
  });
});

describe('bookie > core > LAC', () => {
  it('is the highest piggybacked LAC of acknowledged adds and never goes back', async () => {
    const { bookie } = await startBookie();
    await add(bookie, 1n, 0n, -1n);
    await add(bookie, 1n, 5n, 4n);
    await add(bookie, 1n, 3n, 2n); // a late add with a lower piggybacked LAC
    expect((await bookie.readEntry(1n, 0n)).maxLAC).toBe(4n);
    await bookie.close();
  });

  it('is loaded on a miss from the last stored entry and the explicit LAC', async () => {
    const storage = new FakeStorage();
    storage.infos.set(1n, {
      ledgerId: 1n,
      masterKey: KEY,
      fenced: false,
      explicitLac: digest(1n).packLac(9n),
    });
    storage.addEntry(pack(1n, 4n, 3n));
    storage.infos.set(2n, { ledgerId: 2n, masterKey: KEY, fenced: false, explicitLac: undefined });
    storage.addEntry(pack(2n, 4n, 3n));
    const { bookie } = await startBookie({ storage });
    expect((await bookie.readEntry(1n, 4n)).maxLAC).toBe(9n);
    expect((await bookie.readEntry(2n, 4n)).maxLAC).toBe(3n);
    await bookie.close();
  });

  it('WRITE_LAC keeps the blob, advances the LAC once journaled, and READ_LAC returns the blob and the last entry', async () => {
    const { bookie, journal } = await startBookie();
    await addAll(bookie, 1n, [0n, 1n]);
    const blob = digest(1n).packLac(1n);
    expect(await bookie.writeLac(1n, KEY, blob)).toBe(StatusCode.EOK);
    expect(journal.records.at(-1)?.kind).toBe('explicitLac');
    expect((await bookie.readEntry(1n, 0n)).maxLAC).toBe(1n);
    const lac = await bookie.readLac(1n);
    expect(lac.status).toBe(StatusCode.EOK);
    expect(lac.lacBody).toEqual(blob);
    expect(lac.lastEntryBody).toEqual(pack(1n, 1n));
    expect(digest(1n).verifyLac(lac.lacBody!)).toBe(1n);
    expect(await bookie.writeLac(1n, masterKey(Buffer.from('x')), blob)).toBe(StatusCode.EUA);
    expect(await bookie.writeLac(1n, KEY, digest(2n).packLac(1n))).toBe(StatusCode.EBADREQ);
    expect(await bookie.writeLac(1n, KEY, Buffer.alloc(8))).toBe(StatusCode.EBADREQ);
    expect((await bookie.readLac(77n)).status).toBe(StatusCode.ENOLEDGER);
    await bookie.close();
  });
});

describe('bookie > core > long poll', () => {
  it('answers at once when the LAC is already past previousLAC, with the next entry when piggybacked', async () => {
    const { bookie } = await startBookie();
    await addAll(bookie, 1n, [0n, 1n, 2n]);
    const result = await longPoll(bookie, 0n, 10_000);
    expect(result).toMatchObject({ status: StatusCode.EOK, maxLAC: 1n, entryId: 1n, body: pack(1n, 1n) });
    expect(result.lacUpdateTimestamp).toBeGreaterThan(0n);
    await bookie.close();
  });

  it('waits for the LAC to advance, then wakes with the new LAC and entry', async () => {
    const { bookie } = await startBookie();
    await addAll(bookie, 1n, [0n, 1n]);
    const poll = longPoll(bookie, 0n, 60_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(bookie.longPollWaiters).toBe(1);
    await add(bookie, 1n, 2n, 1n);
    expect(await poll).toMatchObject({ status: StatusCode.EOK, maxLAC: 1n, entryId: 1n, body: pack(1n, 1n) });
    expect(bookie.longPollWaiters).toBe(0);
    await bookie.close();
  });

  it('times out with the unchanged LAC and no entry', async () => {
    const { bookie } = await startBookie();
    await addAll(bookie, 1n, [0n, 1n]);
    const started = Date.now();
    const result = await longPoll(bookie, 0n, 50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(result.status).toBe(StatusCode.EOK);
    expect(result.maxLAC).toBe(0n);
    expect(result.body).toBeUndefined();
    expect(bookie.longPollWaiters).toBe(0);
    await bookie.close();
  });

  it('without piggyback answers like a read of the requested entry plus the LAC', async () => {
    const { bookie } = await startBookie();
    await addAll(bookie, 1n, [0n, 1n, 2n]);
    const result = await longPoll(bookie, 0n, 1000, { piggyback: false });
    expect(result).toMatchObject({ status: StatusCode.EOK, maxLAC: 1n, body: pack(1n, 2n) });
    await bookie.close();
  });

  it('refuses piggyback with an entryId other than -1, unknown ledgers, and waiters beyond the bound', async () => {
    const { bookie } = await startBookie({ config: { maxPendingReadRequestsPerThread: '2' } });
    await addAll(bookie, 1n, [0n, 1n]);
    expect((await longPoll(bookie, 0n, 1, { entryId: 3n })).status).toBe(StatusCode.EBADREQ);
    expect((await longPoll(bookie, 0n, 1, { ledgerId: 8n })).status).toBe(StatusCode.ENOLEDGER);
    const waiting = [longPoll(bookie, 0n, 60_000), longPoll(bookie, 0n, 60_000)];
    expect((await longPoll(bookie, 0n, 60_000)).status).toBe(StatusCode.ETOOMANYREQUESTS);
    await add(bookie, 1n, 2n, 1n);
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual([StatusCode.EOK, StatusCode.EOK]);
    await bookie.close();
  });

  it('ends a wait when its connection goes away (abort) and on close, leaving no timers', async () => {
    const { bookie } = await startBookie();
    await addAll(bookie, 1n, [0n, 1n]);
    const abort = new AbortController();
    const aborted = longPoll(bookie, 5n, 60_000, { signal: abort.signal });
    const closing = longPoll(bookie, 5n, 60_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(bookie.longPollWaiters).toBe(2);
    abort.abort();
    expect((await aborted).status).toBe(StatusCode.EIO);
    expect(bookie.longPollWaiters).toBe(1);
    await bookie.close();
    expect((await closing).status).toBe(StatusCode.EIO);
    expect(bookie.longPollWaiters).toBe(0);
  });
});

describe('bookie > core > entry lists, force, info', () => {
  it('lists the stored entry ids as AvailabilityOfEntriesOfLedger bytes', async () => {
    const { bookie } = await startBookie();
    await addAll(bookie, 1n, [0n, 1n, 3n, 4n, 6n, 7n, 10n]);
    const result = await bookie.getListOfEntriesOfLedger(1n);
    expect(result.status).toBe(StatusCode.EOK);
    const availability = decodeEntriesAvailability(result.availability!);
    expect([...availability.entryIds()]).toEqual([0n, 1n, 3n, 4n, 6n, 7n, 10n]);
    expect((await bookie.getListOfEntriesOfLedger(2n)).status).toBe(StatusCode.ENOLEDGER);
    await bookie.close();
  });

  it('reports the total and free bytes of the ledger directories', async () => {
    const { bookie } = await startBookie({ config: { ledgerDirectories: '/tmp,/tmp' } });
    const info = await bookie.getBookieInfo();
    expect(info.status).toBe(StatusCode.EOK);
    expect(info.totalDiskCapacity).toBeGreaterThan(0n);
    expect(info.freeDiskSpace).toBeGreaterThan(0n);
    expect(info.freeDiskSpace!).toBeLessThanOrEqual(info.totalDiskCapacity!);
    await bookie.close();
  });
});

describe('bookie > core > checkpoint and replay', () => {
  it('the periodic checkpoint (flushInterval) asks the storage for a background flush, which it may pace', async () => {
    const { bookie, storage, files } = await startBookie({ config: { flushInterval: '100' } });
    const before = storage.flushes;
    await addAll(bookie, 1n, [0n, 1n]);
    await eventually('a periodic checkpoint', () => (files.lastMark.offset === 3n ? true : undefined), 2000);
    expect(storage.flushBackground.slice(before)).toContain(true);
    expect(storage.flushBackground.slice(before)).not.toContain(false);
    await bookie.close();
  });

  it('checkpoints in order: synced mark, flush, lastMark, then checkpointComplete', async () => {
    const { bookie, journal, storage, files } = await startBookie();
    await addAll(bookie, 1n, [0n, 1n]);
    const flushes = storage.flushes;
    await bookie.checkpoint();
    expect(storage.flushes).toBe(flushes + 1);
    // Someone waits for this one: the storage must not pace it.
    expect(storage.flushBackground.at(-1)).toBe(false);
    expect(files.lastMark).toEqual({ logFileId: 1n, offset: 3n });
    expect(journal.checkpoints.at(-1)).toEqual({ logFileId: 1n, offset: 3n });
    await bookie.close();
  });

  it('replays keys, entries, fences and explicit LACs after the last mark into fresh storage on start', async () => {
    const journal = new FakeJournal();
    const files = new FakeJournalFiles(journal);
    const first = await startBookie({ journal, files });
    await addAll(first.bookie, 1n, [0n, 1n]);
    await first.bookie.checkpoint(); // the mark now covers ledger 1's first two entries
    await addAll(first.bookie, 1n, [2n]);
    await addAll(first.bookie, 2n, [0n]);
    expect((await first.bookie.fenceAndRead(2n, -1n, KEY)).status).toBe(StatusCode.EOK);
    expect(await first.bookie.writeLac(1n, KEY, digest(1n).packLac(2n))).toBe(StatusCode.EOK);
    // A crash: storage keeps only what the checkpoint flushed (here: nothing of interest, it starts empty), the
    // journal keeps its durable records, and replay starts from the recorded mark.
    const restartedJournal = new FakeJournal({ records: journal.records.slice(0, journal.durableCount) });
    const restartedFiles = new FakeJournalFiles(restartedJournal);
    restartedFiles.lastMark = files.lastMark;
    const storage = new FakeStorage();
    const second = await startBookie({ journal: restartedJournal, storage, files: restartedFiles });
    expect([...storage.entries.keys()].sort()).toEqual(['1:2', '2:0']);
    expect(storage.infos.get(2n)?.fenced).toBe(true);
    expect(storage.infos.get(2n)?.masterKey).toEqual(KEY);
    expect(storage.infos.get(1n)?.explicitLac).toEqual(digest(1n).packLac(2n));
    expect(await add(second.bookie, 2n, 1n)).toBe(StatusCode.EFENCED);
    await second.bookie.close();
  });
});
