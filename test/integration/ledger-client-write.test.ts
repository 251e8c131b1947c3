/**
 * Goal: the ledger client's write side does what BookKeeper's does, seen from the outside: appends striped over
 * the ensemble and confirmed in order, a ledger closed with the right end, an ensemble change when a bookie of
 * the ensemble dies, a clear error when there are too few bookies, caller-given entry ids, explicit LAC.
 * Method: real `ledgerline bookie` processes (built dist/) against a real etcd (harness BookieCluster), a
 * BookKeeper client over TCP; bookies are SIGKILLed for faults. What was stored is checked on the bookies
 * themselves with the harness's raw v3 BookieClient, and in the ledger metadata in etcd.
 */
import type { BookKeeper, WriteHandle } from '../../ledger-client';
import { DigestManager, DigestType, StatusCode } from '../../protocol';
import { BookieClient, eventually } from '../harness';
import type { BookieCluster } from '../harness';
import { clusterWithClient } from './ledger-client-write-fixture';

const PASSWORD = 'write-test';

function payload(i: number): Buffer {
  return Buffer.from(`entry ${i} `.padEnd(100, 'x'));
}

/** Appends `count` entries keeping `window` in flight; resolves with the ids in the order they were confirmed. */
function appendWindowed(
  handle: WriteHandle,
  count: number,
  window: number,
  onConfirmed: (confirmed: number) => void = () => {},
): Promise<bigint[]> {
  const confirmed: bigint[] = [];
  let next = 0;
  return new Promise((resolve, reject) => {
    const pump = (): void => {
      while (next < count && next - confirmed.length < window) {
        const i = next++;
        handle.append(payload(i)).then((entryId) => {
          confirmed.push(entryId);
          onConfirmed(confirmed.length);
          if (confirmed.length === count) resolve(confirmed);
          else pump();
        }, reject);
      }
    };
    pump();
  });
}

function range(count: number): bigint[] {
  return Array.from({ length: count }, (_, i) => BigInt(i));
}

describe('ledger-client > write (3 bookies)', () => {
  let cluster: BookieCluster;
  let bk: BookKeeper;
  const raw = new Map<string, BookieClient>();
  clusterWithClient(3, { explicitLacInterval: 100 }, (started) => ({ cluster, bk } = started));

  afterAll(async () => {
    for (const client of raw.values()) await client.close();
  });

  async function rawClient(bookieId: string): Promise<BookieClient> {
    let client = raw.get(bookieId);
    if (client === undefined) {
      client = await BookieClient.connect(Number(bookieId.split(':')[1]));
      raw.set(bookieId, client);
    }
    return client;
  }

  test('2000 appends with 500 in flight are confirmed in order, striped over the write sets, and close at their end', async () => {
    const handle = await bk.createLedger({
      ensembleSize: 3,
      writeQuorumSize: 2,
      ackQuorumSize: 2,
      password: PASSWORD,
      customMetadata: { application: 'write-test' },
    });
    const confirmed = await appendWindowed(handle, 2000, 500);
    expect(confirmed).toEqual(range(2000));
    expect(handle.getLastAddConfirmed()).toBe(1999n);
    expect(handle.getLastAddPushed()).toBe(1999n);
    await handle.close();
    await handle.close();

    const md = await bk.getLedgerMetadata(handle.ledgerId);
    expect(md).toMatchObject({ state: 'CLOSED', lastEntryId: 1999n, length: 200000n, ensembleSize: 3 });
    expect(md.writeQuorumSize).toBe(2);
    expect(md.ackQuorumSize).toBe(2);
    expect(md.customMetadata.get('application')).toEqual(Buffer.from('write-test'));
    expect(md.ensembles).toHaveLength(1);
    const ensemble = md.ensembles[0]!.ensemble;
    expect(new Set(ensemble)).toEqual(new Set(cluster.bookieIds));

    // Each entry is on exactly its write set, ensemble[(e + i) mod 3] for i < 2, with the ledger's digest.
    const digest = DigestManager.create(handle.ledgerId, Buffer.from(PASSWORD), DigestType.CRC32C);
    for (let e = 0; e < 2000; e += 7) {
      for (let index = 0; index < 3; index++) {
        const bookieId = ensemble[index]!;
        const response = await (await rawClient(bookieId)).readEntry(handle.ledgerId, BigInt(e));
        const inWriteSet = index === e % 3 || index === (e + 1) % 3;
        if (!inWriteSet) {
          expect(response.status).toBe(StatusCode.ENOENTRY);
          continue;
        }
        expect(response.status).toBe(StatusCode.EOK);
        const entry = digest.verifyEntry(BigInt(e), response.readResponse!.body!);
        expect(entry.payload).toEqual(payload(e));
        expect(entry.length).toBe(BigInt(100 * (e + 1)));
        expect(entry.lastAddConfirmed).toBeLessThan(BigInt(e));
      }
    }
    await expect(handle.append('late')).rejects.toMatchObject({ code: 'LedgerClosedException' });
  });

  test('the LAC of an idle writer reaches the bookies by WRITE_LAC (explicitLacInterval)', async () => {
    const handle = await bk.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 3 });
    for (let i = 0; i < 5; i++) await handle.append(payload(i));
    const digest = DigestManager.create(handle.ledgerId, Buffer.alloc(0), DigestType.CRC32C);
    const ensemble = handle.getLedgerMetadata().ensembles[0]!.ensemble;
    for (const bookieId of ensemble) {
      const client = await rawClient(bookieId);
      // The last entry carries LAC 3; only the explicit LAC says 4.
      const explicit = await eventually(`the explicit LAC on ${bookieId}`, async () => {
        const response = await client.readLac(handle.ledgerId);
        const body = response.readLacResponse?.lacBody;
        return body === undefined || body.length === 0 ? undefined : body;
      });
      expect(digest.verifyLac(explicit)).toBe(4n);
    }
    await handle.close();
  });

  test('an Adv ledger takes entry ids in any order, confirms them in order, and refuses duplicates', async () => {
    const ledgerId = 0x7e57_0001n;
    const handle = await bk.createLedgerAdv({
      ledgerId,
      ensembleSize: 3,
      writeQuorumSize: 2,
      ackQuorumSize: 2,
    });
    expect(handle.ledgerId).toBe(ledgerId);
    const order: bigint[] = [];
    const writes = [3n, 1n, 0n, 2n].map((id) =>
      handle.write(id, payload(Number(id))).then((e) => order.push(e)),
    );
    await expect(handle.write(1n, 'again')).rejects.toMatchObject({
      code: 'DuplicateEntryIdException',
      ledgerId,
      entryId: 1n,
    });
    await Promise.all(writes);
    expect(order).toEqual([0n, 1n, 2n, 3n]);
    await expect(handle.write(2n, 'again')).rejects.toMatchObject({ code: 'DuplicateEntryIdException' });
    await handle.close();
    expect(await bk.getLedgerMetadata(ledgerId)).toMatchObject({
      state: 'CLOSED',
      lastEntryId: 3n,
      length: 400n,
    });

    const error = await bk.createLedgerAdv({ ledgerId }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LedgerExistException', ledgerId });
  });

  test('DEFERRED_SYNC: appends are confirmed without advancing the LAC; force() makes them durable and advances it', async () => {
    const handle = await bk.createLedger({ writeFlags: ['DEFERRED_SYNC'] });
    expect(await handle.append('one')).toBe(0n);
    expect(await handle.append('two')).toBe(1n);
    expect(handle.getLastAddConfirmed()).toBe(-1n);
    expect(await handle.force()).toBe(1n);
    expect(handle.getLastAddConfirmed()).toBe(1n);
    await handle.append('three');
    await handle.close();
    expect(await bk.getLedgerMetadata(handle.ledgerId)).toMatchObject({ lastEntryId: 2n, length: 11n });
  });

  test('too few bookies for the ensemble is NotEnoughBookiesException naming the numbers', async () => {
    const error = await bk.createLedger({ ensembleSize: 4, writeQuorumSize: 2 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NotEnoughBookiesException' });
    expect((error as Error).message).toMatch(/4/);
  });
});

describe('ledger-client > write > a bookie of the ensemble dies', () => {
  let cluster: BookieCluster;
  let bk: BookKeeper;
  clusterWithClient(3, {}, (started) => ({ cluster, bk } = started));

  /** A spare bookie added, then a 3/2/2 ledger; `victim` is the cluster index of its ensemble's bookie `position`. */
  async function spareBookieAndLedger(position: number) {
    await cluster.addBookie();
    const options = { ensembleSize: 3, writeQuorumSize: 2, ackQuorumSize: 2, password: PASSWORD };
    const handle = await bk.createLedger(options);
    const ensemble = handle.getLedgerMetadata().ensembles[0]!.ensemble;
    return { handle, ensemble, victim: cluster.bookieIds.indexOf(ensemble[position]!) };
  }

  test('with no spare bookie, the appends waiting on it fail with NotEnoughBookiesException', async () => {
    const handle = await bk.createLedger({ ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 3 });
    await appendWindowed(handle, 50, 10);
    await cluster.kill(2);
    const results = await Promise.allSettled(range(5).map((i) => handle.append(payload(Number(i)))));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'NotEnoughBookiesException' });
    }
    expect((results[0] as PromiseRejectedResult).reason.message).toContain(cluster.bookieIds[2]);
    // The ledger is unusable for writes but closes at its last confirmed entry.
    await expect(handle.append('more')).rejects.toMatchObject({ code: 'NotEnoughBookiesException' });
    await handle.close();
    expect(await bk.getLedgerMetadata(handle.ledgerId)).toMatchObject({ state: 'CLOSED', lastEntryId: 49n });
    await cluster.restart(2);
  });

  test('SIGKILL mid-stream with a 4th bookie available: ensemble change, every append confirmed, two segments', async () => {
    const { handle, ensemble, victim } = await spareBookieAndLedger(1);
    let killed: Promise<void> | undefined;
    const confirmed = await appendWindowed(handle, 1500, 100, (n) => {
      if (n === 400) killed = cluster.kill(victim);
    });
    await killed;
    expect(confirmed).toEqual(range(1500));
    await handle.close();

    const md = await bk.getLedgerMetadata(handle.ledgerId);
    expect(md).toMatchObject({ state: 'CLOSED', lastEntryId: 1499n, length: 150000n });
    expect(md.ensembles).toHaveLength(2);
    const [first, second] = md.ensembles as [(typeof md.ensembles)[0], (typeof md.ensembles)[0]];
    expect(first.ensemble).toEqual(ensemble);
    expect(second.firstEntryId).toBeGreaterThanOrEqual(400n);
    // Four bookies, three in the ensemble: the fourth takes the dead one's place.
    const outside = cluster.bookieIds.filter((bookieId) => !ensemble.includes(bookieId));
    expect(outside).toHaveLength(1);
    expect(second.ensemble).toEqual([ensemble[0], outside[0], ensemble[2]]);

    // Every entry reads back with its payload through a reader that knows nothing of the writer.
    const reader = await bk.openLedger({ ledgerId: handle.ledgerId, password: PASSWORD });
    const entries = await reader.read(0n, 1499n);
    expect(entries.map((e) => e.entryId)).toEqual(range(1500));
    entries.forEach((entry, i) => expect(entry.data).toEqual(payload(i)));
    await reader.close();
  });

  test('large entries (sent from the caller buffer, not copied) survive an ensemble change and read back whole', async () => {
    const { handle } = await spareBookieAndLedger(2);
    // Sizes on both sides of the 64 KiB zero-copy threshold; each entry's bytes tell it apart.
    const big = (i: number): Buffer => Buffer.alloc(i % 3 === 0 ? 1000 : 64 * 1024 + i * 997, `big ${i}|`);
    const appends: Array<Promise<bigint>> = [];
    for (let i = 0; i < 21; i++) appends.push(handle.append(big(i)));
    await Promise.all(appends);
    // Every bookie of the current ensemble just acknowledged entries (a bookie the previous test killed may have
    // been placed first while its lease lasted, and replaced at once): kill one of them, with adds in flight.
    const before = handle.getLedgerMetadata().ensembles;
    const victim = cluster.bookieIds.indexOf(before[before.length - 1]!.ensemble[1]!);
    for (let i = 21; i < 60; i++) {
      appends.push(handle.append(big(i)));
      if (i === 30) await cluster.kill(victim);
    }
    expect(await Promise.all(appends)).toEqual(range(60));
    await handle.close();
    expect((await bk.getLedgerMetadata(handle.ledgerId)).ensembles.length).toBeGreaterThan(before.length);
    const reader = await bk.openLedger({ ledgerId: handle.ledgerId, password: PASSWORD });
    const entries = await reader.read(0n, 59n);
    entries.forEach((entry, i) => expect(entry.data.equals(big(i))).toBe(true));
    await reader.close();
  });
});

describe('ledger-client > write > DEFERRED_SYNC and a dying bookie', () => {
  let cluster: BookieCluster;
  let bk: BookKeeper;
  clusterWithClient(3, {}, (started) => ({ cluster, bk } = started));

  test('DEFERRED_SYNC: a lost bookie fails the writer (no ensemble change); it closes at the last forced entry', async () => {
    const handle = await bk.createLedger({
      ensembleSize: 3,
      writeQuorumSize: 2,
      ackQuorumSize: 2,
      password: PASSWORD,
      writeFlags: ['DEFERRED_SYNC'],
    });
    const ensemble = handle.getLedgerMetadata().ensembles[0]!.ensemble;
    for (let i = 0; i < 20; i++) await handle.append(payload(i));
    expect(await handle.force()).toBe(19n);
    // Confirmed but not forced: a new ensemble could never force these on the bookie that is about to die.
    for (let i = 20; i < 30; i++) await handle.append(payload(i));
    await cluster.kill(cluster.bookieIds.indexOf(ensemble[0]!));
    const results = await Promise.allSettled(range(10).map((i) => handle.append(payload(30 + Number(i)))));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'WriteException' });
    }
    expect((results[0] as PromiseRejectedResult).reason.message).toMatch(/DEFERRED_SYNC/);
    expect(handle.getLedgerMetadata().ensembles).toHaveLength(1);
    await handle.close();
    const md = await bk.getLedgerMetadata(handle.ledgerId);
    expect(md).toMatchObject({ state: 'CLOSED', lastEntryId: 19n });
    expect(md.ensembles).toHaveLength(1);
    const reader = await bk.openLedger({ ledgerId: handle.ledgerId, password: PASSWORD });
    const entries = await reader.read(0n, 19n);
    entries.forEach((entry, i) => expect(entry.data).toEqual(payload(i)));
    await reader.close();
  });
});
