/**
 * Goal: cursors through the ManagedLedger, on real bookies and etcd — a tailing cursor reads every entry in order
 * across many rollovers while a producer appends, acknowledges out of order and ends with no backlog; cursor
 * state (mark-delete, ranges, reset) survives a close and a takeover by another owner without going back behind
 * what was persisted; non-durable cursors never hold data back and move off trimmed ledgers; deleting a cursor
 * removes its ledger and node.
 *
 * Method: owners are ManagedLedgerFactory instances on their own clients and stores (mlCluster fixture). A
 * takeover is a second owner opening the same managed ledger without the first closing (the first is fenced).
 */
import { Position, decodeManagedCursorInfo } from '../../managed-ledger';
import type { Entry } from '../../managed-ledger';
import { eventually } from '../harness';
import { ledgerGone, mlCluster, payload } from './managed-ledger-fixture';
import type { MlCluster } from './managed-ledger-fixture';

let env: MlCluster;
mlCluster(3, (started) => {
  env = started;
});

let names = 0;
const newName = (): string => `tenant/ns/persistent/cursor-ml-${++names}`;

describe('managed-ledger > cursor > through the managed ledger', () => {
  it('tails every entry in order across rollovers while a producer appends, acks out of order, no backlog left', async () => {
    const ml = await env.owner.factory.open(newName(), { managedLedgerMaxEntriesPerLedger: 7 });
    const cursor = await ml.openCursor('sub', { initialPosition: 'earliest' });
    const total = 120;
    const producing = (async () => {
      const adds: Array<Promise<Position>> = [];
      for (let i = 0; i < total; i++) {
        adds.push(ml.addEntry(payload(i)));
        if (i % 10 === 9) await Promise.all(adds.splice(0));
      }
      await Promise.all(adds);
    })();
    const received: Entry[] = [];
    while (received.length < total) received.push(...(await cursor.readEntriesOrWait(25)));
    await producing;
    expect(received.map((e) => e.data.toString())).toEqual(
      Array.from({ length: total }, (_, i) => payload(i).toString()),
    );
    expect(new Set(received.map((e) => e.position.ledgerId)).size).toBeGreaterThanOrEqual(total / 7);
    // Acknowledge in reverse, in batches: the mark-delete only moves once the first gap fills.
    const positions = received.map((e) => e.position);
    for (let i = total; i > 0; i -= 30) {
      await cursor.delete(positions.slice(Math.max(0, i - 30), i));
      if (i > 30) expect(cursor.getMarkDeletedPosition().compareTo(positions[0]!)).toBeLessThan(0);
    }
    expect(cursor.getMarkDeletedPosition()).toEqual(positions[total - 1]);
    expect(cursor.getNumberOfEntriesInBacklog(true)).toBe(0);
    expect(cursor.getIndividuallyDeletedRanges()).toEqual([]);
    await ml.close();
  });

  it('searches, skips and waits across ledger boundaries; a terminate ends a waiting read', async () => {
    const ml = await env.owner.factory.open(newName(), { managedLedgerMaxEntriesPerLedger: 4 });
    const positions: Position[] = [];
    for (let i = 0; i < 30; i++) positions.push(await ml.addEntry(payload(i)));
    const cursor = await ml.openCursor('sub', { initialPosition: 'earliest' });
    const index = (e: Entry): number => Number(/^entry-(\d+)-/.exec(e.data.toString())![1]);
    for (const n of [1, 4, 5, 17, 30]) {
      expect(await cursor.findNewestMatching((e) => index(e) < n)).toEqual(positions[n - 1]);
    }
    await cursor.delete([positions[2]!, positions[3]!, positions[4]!]);
    await cursor.skipEntries(4); // 0, 1, 5, 6 (2-4 were acknowledged already)
    expect(cursor.getMarkDeletedPosition()).toEqual(positions[6]);
    expect(cursor.getNumberOfEntriesInBacklog(true)).toBe(23);
    const read = await cursor.readEntries(30);
    expect(read.map(index)).toEqual(Array.from({ length: 23 }, (_, i) => i + 7));
    const waiting = cursor.readEntriesOrWait(5);
    await ml.terminate();
    await expect(waiting).rejects.toMatchObject({ code: 'NoMoreEntriesToRead' });
    await ml.close();
  });

  it('keeps cursor state across close and reopen, and across a takeover by another owner', async () => {
    const name = newName();
    const ml = await env.owner.factory.open(name, { managedLedgerMaxEntriesPerLedger: 5 });
    const positions: Position[] = [];
    for (let i = 0; i < 20; i++) positions.push(await ml.addEntry(payload(i)));
    const cursor = await ml.openCursor('sub', { initialPosition: 'earliest' });
    await cursor.markDelete(positions[5]!, new Map([['seq', 5n]]));
    await cursor.delete([positions[8]!, positions[9]!, positions[15]!]);
    await ml.close();

    const second = await env.newOwner();
    const reopened = await second.factory.open(name, { managedLedgerMaxEntriesPerLedger: 5 });
    const [again] = reopened.getCursors();
    expect(again!.name).toBe('sub');
    expect(again!.getMarkDeletedPosition()).toEqual(positions[5]);
    expect(again!.getProperties()).toEqual(new Map([['seq', 5n]]));
    expect(again!.getIndividuallyDeletedRanges()).toEqual([
      { lower: positions[7], upper: positions[9] },
      { lower: positions[14], upper: positions[15] },
    ]);
    const read = await again!.readEntries(4);
    expect(read.map((e) => e.data.toString())).toEqual([6, 7, 10, 11].map((i) => payload(i).toString()));
    // Unthrottled acks resolve once persisted; then a third owner takes over without a close.
    await again!.markDelete(positions[12]!);
    await again!.resetCursor(positions[3]!);
    const third = await env.newOwner();
    const takenOver = await third.factory.open(name, { managedLedgerMaxEntriesPerLedger: 5 });
    const [recovered] = takenOver.getCursors();
    expect(recovered!.getMarkDeletedPosition()).toEqual(positions[2]);
    expect(recovered!.getReadPosition()).toEqual(positions[3]);
    expect(recovered!.getIndividuallyDeletedRanges()).toEqual([]);
    expect(recovered!.getNumberOfEntriesInBacklog()).toBe(17);
    await takenOver.close();
  });

  it('deleting a cursor removes its ledger and node; non-durable cursors hold nothing back', async () => {
    const name = newName();
    const ml = await env.owner.factory.open(name, {
      managedLedgerMaxEntriesPerLedger: 3,
      defaultRetentionTimeInMinutes: 0,
      defaultRetentionSizeInMB: 0,
    });
    // The durable cursor comes first: without one, consumed ledgers would go as soon as they are closed.
    const reader = ml.newNonDurableCursor('earliest');
    const durable = await ml.openCursor('sub', { initialPosition: 'earliest' });
    const positions: Position[] = [];
    for (let i = 0; i < 12; i++) positions.push(await ml.addEntry(payload(i)));
    await durable.markDelete(positions[7]!);
    const store = env.owner.store;
    const info = await env.owner.factory.getManagedLedgerInfo(name);
    expect(info).toBeDefined();
    const cursorNode = `/managed-ledgers/${name}/sub`;
    const cursorLedger = decodeManagedCursorInfo((await store.get(cursorNode))!.value).cursorsLedgerId;
    expect(cursorLedger).toBeGreaterThanOrEqual(0n);
    await ml.trimConsumedLedgers();
    // The ledgers wholly below the durable mark-delete went; the non-durable reader moved past them.
    await eventually(
      'ledgers trimmed',
      () => ml.getLedgersInfo()[0]!.ledgerId === positions[6]!.ledgerId || undefined,
    );
    expect(
      reader.getReadPosition().compareTo(new Position(positions[6]!.ledgerId, 0n)),
    ).toBeGreaterThanOrEqual(0);
    const read = await reader.readEntries(100);
    expect(read.map((e) => e.data.toString())).toEqual(
      [6, 7, 8, 9, 10, 11].map((i) => payload(i).toString()),
    );
    await ml.deleteCursor('sub');
    expect(await store.get(cursorNode)).toBeUndefined();
    expect(await ledgerGone(env.owner.bk, cursorLedger)).toBe(true);
    await ml.close();
  });
});
