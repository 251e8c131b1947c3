/**
 * Goal: the managed ledger behaves as Pulsar's does, seen by its users: adds confirmed in order with many in
 * flight, rollover by entries, size and age, recovery on reopen (after a close and after the owner vanished),
 * a second owner fencing the first, terminate, delete, a read-only view of a ledger someone else writes, the
 * entry cache serving tailing readers, and clear errors for bad input. After each scenario the LedgerChaining
 * invariants (reliability.md) are checked against the ledger metadata in etcd.
 * Method: real `ledgerline bookie` processes (built dist/) on a real etcd (harness BookieCluster); each owner is a
 * ManagedLedgerFactory with its own BookKeeper client and metadata store, as two brokers would have.
 */
import { isManagedLedgerError, MetaStore, Position } from '../../managed-ledger';
import type { ManagedLedger, Position as PositionType } from '../../managed-ledger';
import { eventually } from '../harness';
import {
  checkLedgerChaining,
  ledgerGone,
  mlCluster,
  payload,
  payloads,
  readAll,
  uniqueName,
} from './managed-ledger-fixture';
import type { MlCluster } from './managed-ledger-fixture';

let env!: MlCluster;
mlCluster(2, (started) => (env = started));

/** Adds entries first..first+count-1 all at once; resolves with the positions in the order they were confirmed. */
async function addMany(ml: ManagedLedger, count: number, first = 0, size = 64): Promise<PositionType[]> {
  const confirmed: PositionType[] = [];
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      ml.addEntry(payload(first + i, size)).then((p) => {
        confirmed.push(p);
        return p;
      }),
    ),
  );
  return confirmed;
}

function expectIncreasing(positions: PositionType[]): void {
  for (let i = 1; i < positions.length; i++) expect(positions[i]!.isAfter(positions[i - 1]!)).toBe(true);
}

describe('managed-ledger > adds and reads', () => {
  it('confirms 300 adds in flight in order across rollovers, and reads them back exactly', async () => {
    const ml = await env.owner.factory.open(uniqueName('order'), { managedLedgerMaxEntriesPerLedger: 40 });
    const positions = await addMany(ml, 300);
    expect(positions).toHaveLength(300);
    expectIncreasing(positions);
    const ledgers = ml.getLedgersInfo();
    expect(ledgers.slice(0, -1).map((l) => l.entries)).toEqual(Array(7).fill(40));
    expect(ledgers.length).toBeGreaterThanOrEqual(8);
    expect(ml.getNumberOfEntries()).toBe(300);
    expect(ml.getLastConfirmedEntry().equals(positions[299]!)).toBe(true);
    expect(await readAll(ml)).toEqual(payloads(0, 300));
    await checkLedgerChaining(ml, env.owner.bk);
    await ml.close();
  });
});

describe('managed-ledger > rollover', () => {
  it('rolls by size: a ledger closes with the entry that takes it to managedLedgerMaxSizePerLedgerMbytes', async () => {
    const ml = await env.owner.factory.open(uniqueName('size'), { managedLedgerMaxSizePerLedgerMbytes: 1 });
    const positions = await addMany(ml, 25, 0, 100 * 1024);
    expectIncreasing(positions);
    const ledgers = ml.getLedgersInfo();
    // 11 entries of 100 KiB are the first to reach 1 MiB.
    expect(ledgers.map((l) => l.entries)).toEqual([11, 11, 3]);
    for (const closed of ledgers.slice(0, -1)) expect(closed.size).toBe(11 * 100 * 1024);
    expect(await readAll(ml)).toEqual(payloads(0, 25, 100 * 1024));
    await checkLedgerChaining(ml, env.owner.bk);
    await ml.close();
  });

  it('rolls a non-empty ledger at managedLedgerMaxLedgerRolloverTimeMinutes, and never an empty one', async () => {
    // 0.01 minutes = 600 ms (+0..5%).
    const ml = await env.owner.factory.open(uniqueName('time'), {
      managedLedgerMaxLedgerRolloverTimeMinutes: 0.01,
    });
    await addMany(ml, 3);
    await eventually(
      'the ledger to roll by age',
      () => (ml.getLedgersInfo().length === 2 ? true : undefined),
      5000,
    );
    const [first, current] = ml.getLedgersInfo();
    expect(first!.entries).toBe(3);
    expect(first!.timestamp).toBeGreaterThan(0);
    expect(current!.entries).toBe(0);
    // The new, empty ledger outlives the limit without rolling.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(ml.getLedgersInfo().map((l) => l.ledgerId)).toEqual([first!.ledgerId, current!.ledgerId]);
    await checkLedgerChaining(ml, env.owner.bk);
    await ml.close();
  });

  it('holds a full ledger open until managedLedgerMinLedgerRolloverTimeMinutes has passed', async () => {
    const ml = await env.owner.factory.open(uniqueName('min-time'), {
      managedLedgerMaxEntriesPerLedger: 5,
      managedLedgerMinLedgerRolloverTimeMinutes: 0.01,
    });
    await addMany(ml, 12);
    expect(ml.getLedgersInfo().map((l) => l.entries)).toEqual([12]);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await ml.addEntry(payload(12));
    await eventually('the full ledger to close', () => (ml.getLedgersInfo().length === 2 ? true : undefined));
    expect(ml.getLedgersInfo().map((l) => l.entries)).toEqual([13, 0]);
    await checkLedgerChaining(ml, env.owner.bk);
    await ml.close();
  });

  it('rolls an idle ledger after managedLedgerInactiveLedgerRolloverTimeSeconds', async () => {
    const ml = await env.owner.factory.open(uniqueName('inactive'), {
      managedLedgerInactiveLedgerRolloverTimeSeconds: 1,
    });
    await addMany(ml, 4);
    await eventually(
      'the idle ledger to roll',
      () => (ml.getLedgersInfo().length === 2 ? true : undefined),
      5000,
    );
    expect(ml.getLedgersInfo().map((l) => l.entries)).toEqual([4, 0]);
    await checkLedgerChaining(ml, env.owner.bk);
    await ml.close();
  });
});

describe('managed-ledger > reopen', () => {
  it('after a close: the same entries, every old ledger CLOSED, a new ledger for writes', async () => {
    const name = uniqueName('reopen');
    const ml = await env.owner.factory.open(name, { managedLedgerMaxEntriesPerLedger: 10 });
    await addMany(ml, 25);
    const before = ml.getLedgersInfo();
    await ml.close();
    expect(ml.getState()).toBe('Closed');
    const stored = await env.owner.factory.getManagedLedgerInfo(name);
    expect(stored!.ledgers.map((l) => l.entries)).toEqual([10, 10, 5]);
    for (const l of stored!.ledgers) expect(l.timestamp).toBeGreaterThan(0);

    const again = await env.owner.factory.open(name, { managedLedgerMaxEntriesPerLedger: 10 });
    expect(again).not.toBe(ml);
    const after = again.getLedgersInfo();
    expect(after.slice(0, 3).map((l) => l.ledgerId)).toEqual(before.slice(0, 3).map((l) => l.ledgerId));
    expect(after).toHaveLength(4);
    expect(after[3]!.ledgerId > before[2]!.ledgerId).toBe(true);
    expect(again.getNumberOfEntries()).toBe(25);
    const p = await again.addEntry(payload(25));
    expect(p.ledgerId).toBe(after[3]!.ledgerId);
    expect(await readAll(again)).toEqual(payloads(0, 26));
    await checkLedgerChaining(again, env.owner.bk);
    await again.close();
  });

  it('after the owner vanished: the last ledger is recovered and closed at its end, an empty one dropped and deleted', async () => {
    const name = uniqueName('vanished');
    const config = { managedLedgerMaxEntriesPerLedger: 10 };
    const a = await env.newOwner();
    const first = await a.factory.open(name, config);
    // The 20th entry fills the second ledger, which closes; a third is created and stays empty.
    await addMany(first, 20);
    await eventually('the third ledger', () => (first.getLedgersInfo().length === 3 ? true : undefined));
    const empty = first.getLedgersInfo()[2]!;
    await a.bk.close(); // the owner vanishes: nothing is closed
    expect((await env.owner.bk.getLedgerMetadata(empty.ledgerId)).state).toBe('OPEN');

    const b = await env.newOwner();
    const second = await b.factory.open(name, config);
    const afterA = second.getLedgersInfo();
    expect(afterA.map((l) => l.entries)).toEqual([10, 10, 0]);
    expect(afterA[2]!.ledgerId > empty.ledgerId).toBe(true);
    await eventually('the empty ledger to be deleted', async () =>
      (await ledgerGone(b.bk, empty.ledgerId)) ? true : undefined,
    );
    const acked = await addMany(second, 7, 20);
    const written = afterA[2]!.ledgerId;
    await b.bk.close();

    const c = await env.newOwner();
    const third = await c.factory.open(name, config);
    const afterB = third.getLedgersInfo();
    expect(afterB.map((l) => l.entries)).toEqual([10, 10, 7, 0]);
    expect(afterB[2]!.ledgerId).toBe(written);
    const recovered = await c.bk.getLedgerMetadata(written);
    expect(recovered.state).toBe('CLOSED');
    expect(recovered.lastEntryId).toBe(6n);
    expect(afterB[3]!.ledgerId > written).toBe(true);
    expect(third.getLastConfirmedEntry().equals(acked[6]!)).toBe(true);
    expect(await readAll(third)).toEqual(payloads(0, 27));
    await checkLedgerChaining(third, c.bk);
    await third.close();
  });
  it('an open while the instance closes gets a new instance once the close is done', async () => {
    const name = uniqueName('reopen-closing');
    const ml = await env.owner.factory.open(name);
    await addMany(ml, 3);
    const closing = ml.close();
    const again = await env.owner.factory.open(name);
    await closing;
    expect(again).not.toBe(ml);
    expect(again.getState()).toBe('LedgerOpened');
    expect(await readAll(again)).toEqual(payloads(0, 3));
    expect(await env.owner.factory.open(name)).toBe(again);
    await again.close();
  });

  it('never reuses a ledger id, even of an empty ledger it dropped (its bookies may still hold it fenced)', async () => {
    const name = uniqueName('ids');
    const ids: bigint[] = [];
    for (let round = 0; round < 3; round++) {
      // Each owner vanishes without an add: the next open recovers (fences) the empty ledger and drops it.
      const owner = await env.newOwner();
      const ml = await owner.factory.open(name);
      ids.push(ml.getLedgersInfo()[0]!.ledgerId);
      await owner.bk.close();
    }
    const ml = await env.owner.factory.open(name);
    ids.push(ml.getLedgersInfo()[0]!.ledgerId);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(ml.getLedgersInfo()).toHaveLength(1);
    await ml.addEntry(payload(0));
    expect(ml.getState()).toBe('LedgerOpened');
    await checkLedgerChaining(ml, env.owner.bk);
    await ml.close();
  });
});

describe('managed-ledger > owners', () => {
  it('a second owner fences the first: its next add fails ManagedLedgerFenced, nothing acknowledged is lost', async () => {
    const name = uniqueName('owners');
    const a = await env.newOwner();
    const b = await env.newOwner();
    const first = await a.factory.open(name);
    expect(await a.factory.open(name)).toBe(first);
    const acked = await addMany(first, 30);
    const inFlight = Array.from({ length: 20 }, (_, i) =>
      first.addEntry(payload(30 + i)).then(
        (position) => ({ position }),
        (error: unknown) => ({ error }),
      ),
    );
    const second = await b.factory.open(name);
    const outcomes = await Promise.all(inFlight);
    const late = await first.addEntry(payload(99)).catch((error: unknown) => error);
    expect(isManagedLedgerError(late, 'ManagedLedgerFenced')).toBe(true);
    expect((late as Error).message).toContain(name);
    expect(first.getState()).toBe('Fenced');
    await expect(first.openCursor('sub')).rejects.toMatchObject({ code: 'ManagedLedgerFenced' });

    // Acknowledged in-flight adds are a prefix of them, in order; the new owner has every acknowledged entry.
    const ackedInFlight = outcomes.findIndex((o) => !('position' in o));
    const ackedCount = 30 + (ackedInFlight < 0 ? 20 : ackedInFlight);
    for (const o of outcomes.slice(ackedCount - 30)) expect('error' in o).toBe(true);
    const stored = await readAll(second);
    expect(stored.length).toBeGreaterThanOrEqual(ackedCount);
    expect(stored).toEqual(payloads(0, stored.length));
    expect(
      acked[29]!.isBefore(second.getLastConfirmedEntry()) ||
        acked[29]!.equals(second.getLastConfirmedEntry()),
    ).toBe(true);
    await second.addEntry(payload(stored.length));
    await checkLedgerChaining(second, b.bk);
    await first.close();
    await second.close();
  });
});

describe('managed-ledger > terminate and delete', () => {
  it('terminate: no more writes, the end recorded, readers see it, and a reopen stays terminated', async () => {
    const name = uniqueName('terminate');
    const ml = await env.owner.factory.open(name, { managedLedgerMaxEntriesPerLedger: 10 });
    const reader = ml.newNonDurableCursor('earliest');
    const positions = await addMany(ml, 15);
    expect((await reader.readEntries(100)).map((e) => e.data.toString('latin1'))).toEqual(payloads(0, 15));
    const waiting = reader.readEntriesOrWait(10).then(
      (entries) => entries.length,
      (error: unknown) => (error as { code?: string }).code,
    );
    const end = await ml.terminate();
    expect(end.equals(positions[14]!)).toBe(true);
    expect(ml.isTerminated()).toBe(true);
    expect(ml.getState()).toBe('Terminated');
    expect(await ml.terminate()).toBe(end);
    expect([0, 'NoMoreEntriesToRead']).toContain(await waiting);
    expect(reader.hasMoreEntries()).toBe(false);
    await expect(ml.addEntry(payload(15))).rejects.toMatchObject({ code: 'ManagedLedgerTerminated' });
    const stored = await env.owner.factory.getManagedLedgerInfo(name);
    expect(stored!.terminatedPosition!.equals(end)).toBe(true);
    expect(stored!.ledgers.map((l) => l.entries)).toEqual([10, 5]);
    await checkLedgerChaining(ml, env.owner.bk);
    await ml.close();

    const again = await env.owner.factory.open(name);
    expect(again.getState()).toBe('Terminated');
    expect(again.getLedgersInfo().map((l) => l.entries)).toEqual([10, 5]);
    expect(again.getLastConfirmedEntry().equals(end)).toBe(true);
    expect(await readAll(again)).toEqual(payloads(0, 15));
    await expect(again.addEntry(payload(15))).rejects.toMatchObject({ code: 'ManagedLedgerTerminated' });
    await checkLedgerChaining(again, env.owner.bk);
    await again.close();
  });

  it('delete: cursors, every ledger and the metadata go; the name can be used again', async () => {
    const name = uniqueName('delete');
    const ml = await env.owner.factory.open(name, { managedLedgerMaxEntriesPerLedger: 5 });
    const cursor = await ml.openCursor('sub', { initialPosition: 'earliest' });
    await addMany(ml, 12);
    await cursor.markDelete((await cursor.readEntries(3))[2]!.position);
    const ids = ml.getLedgersInfo().map((l) => l.ledgerId);
    expect(ids.length).toBe(3);
    const metaStore = new MetaStore(env.owner.store);
    expect(await metaStore.getCursorInfo(name, 'sub')).toBeDefined();

    await ml.delete();
    expect(ml.getState()).toBe('Closed');
    expect(await env.owner.factory.getManagedLedgerInfo(name)).toBeUndefined();
    expect(await metaStore.getCursorInfo(name, 'sub')).toBeUndefined();
    for (const id of ids) expect(await ledgerGone(env.owner.bk, id)).toBe(true);
    await expect(ml.addEntry(payload(0))).rejects.toMatchObject({ code: 'ManagedLedgerAlreadyClosed' });

    const fresh = await env.owner.factory.open(name);
    expect(fresh.getNumberOfEntries()).toBe(0);
    expect(fresh.getCursors()).toEqual([]);
    await fresh.addEntry(payload(0));
    await fresh.close();
    // The factory deletes a managed ledger it has not open.
    await env.owner.factory.delete(name);
    expect(await env.owner.factory.getManagedLedgerInfo(name)).toBeUndefined();
  });
});

describe('managed-ledger > read-only', () => {
  it("reads another owner's managed ledger up to its LAC without fencing it or writing metadata", async () => {
    const name = uniqueName('read-only');
    const writer = await env.newOwner();
    const ml = await writer.factory.open(name, { managedLedgerMaxEntriesPerLedger: 10 });
    await addMany(ml, 15);
    // Entry 15 carries the LAC (entry 14) to the bookies; a reader sees up to the LAC, so not entry 15 itself.
    await ml.addEntry(payload(15));
    const metaStore = new MetaStore(env.owner.store);
    const versionBefore = (await metaStore.getManagedLedgerInfo(name))!.version;

    const view = await env.owner.factory.openReadOnly(name);
    expect(view.getNumberOfEntries()).toBe(15);
    expect(view.getLastConfirmedEntry().next().equals(ml.getLastConfirmedEntry())).toBe(true);
    expect(await readAll(view)).toEqual(payloads(0, 15));
    const cursor = view.newNonDurableCursor('earliest');
    expect((await cursor.readEntries(100)).map((e) => e.data.toString('latin1'))).toEqual(payloads(0, 15));
    expect(cursor.hasMoreEntries()).toBe(false);

    // The owner goes on writing: nothing was fenced, nothing written.
    await ml.addEntry(payload(16));
    expect(ml.getState()).toBe('LedgerOpened');
    expect((await metaStore.getManagedLedgerInfo(name))!.version).toBe(versionBefore);
    const current = ml.getLedgersInfo().at(-1)!;
    expect((await env.owner.bk.getLedgerMetadata(current.ledgerId)).state).toBe('OPEN');
    await view.close();
    await expect(view.readEntries(view.getFirstPosition(), 1)).rejects.toMatchObject({
      code: 'ManagedLedgerAlreadyClosed',
    });
    await expect(env.owner.factory.openReadOnly(uniqueName('missing'))).rejects.toMatchObject({
      code: 'ManagedLedgerNotFound',
    });
    await ml.close();
  });
});

describe('managed-ledger > entry cache', () => {
  it('serves a tailing cursor the entries just added without asking the bookies', async () => {
    const ml = await env.owner.factory.open(uniqueName('cache'));
    const tail = ml.newNonDurableCursor('latest');
    await addMany(ml, 5);
    await env.cluster.stop(0);
    await env.cluster.stop(1);
    try {
      const started = Date.now();
      const entries = await tail.readEntries(5);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(entries.map((e) => e.data.toString('latin1'))).toEqual(payloads(0, 5));
    } finally {
      await env.cluster.cont(0);
      await env.cluster.cont(1);
    }
    await ml.close();
  });
});

describe('managed-ledger > bad input', () => {
  it('refuses bad names, settings, entries and arguments with clear errors', async () => {
    const { factory } = env.owner;
    for (const bad of ['', '/a', 'a//b', 'a/', 'a/../b']) {
      await expect(factory.open(bad)).rejects.toMatchObject({ code: 'InvalidArgument' });
    }
    await expect(factory.open(uniqueName('bad'), { managedLedgerDefaultWriteQuorum: 3 })).rejects.toThrow(
      /managedLedgerDefaultEnsembleSize >= managedLedgerDefaultWriteQuorum/,
    );
    await expect(factory.open(uniqueName('bad'), { managedLedgerMaxEntriesPerLedger: -5 })).rejects.toThrow(
      /managedLedgerMaxEntriesPerLedger="-5"/,
    );
    await expect(factory.open(uniqueName('bad'), { managedLedgerDigestType: 'SHA' })).rejects.toMatchObject({
      code: 'InvalidArgument',
    });

    const name = uniqueName('args');
    const ml = await factory.open(name);
    await expect(ml.addEntry('text' as unknown as Buffer)).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(ml.addEntry(Buffer.alloc(6 * 1024 * 1024))).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    await expect(ml.readEntries(ml.getFirstPosition(), 0)).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(ml.deleteCursor('nope')).rejects.toMatchObject({ code: 'CursorNotFound' });
    await expect(ml.openCursor('')).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(() => ml.newNonDurableCursor('middle' as unknown as 'latest')).toThrow(
      /non-durable cursor starts at/,
    );
    // Still usable after all that.
    const p = await ml.addEntry(payload(0));
    expect(p.equals(new Position(ml.getLedgersInfo()[0]!.ledgerId, 0n))).toBe(true);
    await ml.close();
    const closed = await ml.addEntry(payload(1)).catch((error: unknown) => error);
    expect(isManagedLedgerError(closed, 'ManagedLedgerAlreadyClosed')).toBe(true);
    expect((closed as Error).message).toContain(name);

    const other = await env.newOwner();
    await other.factory.close();
    await expect(other.factory.open(uniqueName('late'))).rejects.toMatchObject({
      code: 'ManagedLedgerAlreadyClosed',
    });
  });
});
