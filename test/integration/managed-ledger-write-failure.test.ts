/**
 * Goal: a write failure moves the managed ledger to a new ledger without losing or reordering anything: adds that
 * were pending when the ledger failed are sent again, in order, on the next ledger, and confirmed once bookies
 * are there to take them; the failed ledger is closed at its last confirmed entry.
 * Method: two real bookies and E=Qw=Qa=2, so when one is stopped (SIGSTOP) the client's ensemble change finds no
 * replacement and fails the ledger's pending adds; a third bookie is started once the managed ledger has given
 * up on that ledger. Adds have a 1 s
 * timeout in the client so the failure comes quickly. A second test gives the client a long add timeout and the
 * managed ledger a short one (managedLedgerAddEntryTimeoutSeconds): the managed ledger gives up on the stopped
 * bookie's ledger first. The LedgerChaining invariants are checked at the end of each.
 */
import type { Position } from '../../managed-ledger';
import { BookieCluster, eventually, requireBuiltBookie } from '../harness';
import { checkLedgerChaining, payload, payloads, readAll, startOwner } from './managed-ledger-fixture';
import type { Owner } from './managed-ledger-fixture';

let cluster: BookieCluster | undefined;
let owner: Owner | undefined;

beforeAll(async () => {
  requireBuiltBookie();
  cluster = await BookieCluster.start({ bookies: 2 });
  owner = await startOwner(cluster, {}, { addEntryTimeoutSec: 1 });
});

afterAll(async () => {
  await owner?.close();
  await cluster?.close();
});

describe('managed-ledger > write failure', () => {
  it('re-sends the pending adds in order on a new ledger once bookies can take them', async () => {
    const ml = await owner!.factory.open('tenant/ns/persistent/write-failure');
    const acked = [];
    for (let i = 0; i < 20; i++) acked.push(await ml.addEntry(payload(i)));
    const failing = acked[0]!.ledgerId;

    await cluster!.stop(1);
    let positions: Position[];
    const order: number[] = [];
    try {
      const pending = Array.from({ length: 20 }, (_, i) =>
        ml.addEntry(payload(20 + i)).then((position) => {
          order.push(i);
          return position;
        }),
      );
      // Let the ensemble change fail and the managed ledger give up on the ledger (it is then creating the next
      // one, retrying while there are too few bookies); only then give it a bookie. A fixed wait raced with the
      // add timeout on a loaded machine: the bookie came before the failure and the ensemble changed instead.
      await eventually(
        'the managed ledger to leave the failed ledger',
        () => (ml.getState() === 'CreatingLedger' ? true : undefined),
        20_000,
      );
      await cluster!.addBookie();
      positions = await Promise.all(pending);
    } finally {
      await cluster!.cont(1);
    }

    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (let i = 1; i < positions.length; i++) expect(positions[i]!.isAfter(positions[i - 1]!)).toBe(true);
    expect(positions[0]!.ledgerId > failing).toBe(true);
    const ledgers = ml.getLedgersInfo();
    expect(ledgers[0]).toMatchObject({ ledgerId: failing, entries: 20 });
    expect(ml.getNumberOfEntries()).toBe(40);
    expect(await readAll(ml)).toEqual(payloads(0, 40));
    await checkLedgerChaining(ml, owner!.bk);

    await ml.addEntry(payload(40));
    await ml.close();
  }, 90_000);

  it('an add outstanding past managedLedgerAddEntryTimeoutSeconds moves the adds to a new ledger', async () => {
    // The client would wait 10 s for the stopped bookie; the managed ledger gives up after 1 s. Three bookies, so
    // that a new ledger can do without the stopped one.
    while (cluster!.size < 3) await cluster!.addBookie();
    const patient = await startOwner(
      cluster!,
      { managedLedgerAddEntryTimeoutSeconds: 1 },
      { addEntryTimeoutSec: 10 },
    );
    try {
      const ml = await patient.factory.open('tenant/ns/persistent/add-timeout');
      for (let i = 0; i < 5; i++) await ml.addEntry(payload(i));
      const stuck = ml.getLedgersInfo().at(-1)!.ledgerId;
      const [ensemble] = (await patient.bk.getLedgerMetadata(stuck)).ensembles;
      const victim = cluster!.bookieIds.indexOf(ensemble!.ensemble[0]!);
      await cluster!.stop(victim);
      try {
        const started = Date.now();
        const positions = await Promise.all(Array.from({ length: 5 }, (_, i) => ml.addEntry(payload(5 + i))));
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(positions[0]!.ledgerId > stuck).toBe(true);
        for (let i = 1; i < positions.length; i++)
          expect(positions[i]!.isAfter(positions[i - 1]!)).toBe(true);
      } finally {
        await cluster!.cont(victim);
      }
      expect(ml.getLedgersInfo()[0]).toMatchObject({ ledgerId: stuck, entries: 5 });
      expect(await readAll(ml)).toEqual(payloads(0, 10));
      await checkLedgerChaining(ml, patient.bk);
      await ml.close();
    } finally {
      await patient.close();
    }
  }, 60_000);
});
