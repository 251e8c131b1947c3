/**
 * Goal: opening a ledger with recovery gives it the end BookKeeper's protocol defines, against real bookies:
 * an entry a crashed writer left on some bookies is kept and re-replicated when it may have been acknowledged
 * (too few bookies can lack it to reach Qw − Qa + 1 "no such entry"), excluded when Qw − Qa + 1 bookies lack it;
 * the old writer can never again have an add acknowledged; concurrent recoverers agree; an empty ledger closes
 * empty; too few bookies fail the recovery, which a later one completes.
 * Method: three real `ledgerline bookie` processes (built dist/) on a real etcd (BookieCluster). A "crashed"
 * writer is a BookKeeper client that wrote entries 0..n and then stopped, plus entry n+1 written by the raw v3
 * test client to some of the bookies (packed with LAC n and the running length, as the writer would have). The
 * bookies' contents are checked with the raw client too. Tests that kill bookies restart them before they end;
 * one adds a fourth bookie, as the spare the recovery's re-adds move to while a bookie is down.
 */
import { BookKeeper, isBKError } from '../../ledger-client';
import type { WriteHandle } from '../../ledger-client';
import { DigestManager, DigestType, StatusCode, masterKey } from '../../protocol';
import { BookieClient } from '../harness';
import { clusterWithClients, lengthUpTo, payload, rejection } from './ledger-client-read-fixtures';

const PASSWORD = 'recovery-test';
const KEY = masterKey(Buffer.from(PASSWORD));

describe('ledger-client > recovery > against real bookies', () => {
  const setup = clusterWithClients({ bookies: 3 });

  /** A ledger on all three bookies (E=3, Qw=3, Qa=2 unless given) with entries 0..lastEntryId acknowledged. */
  async function writtenLedger(lastEntryId: number, ackQuorumSize = 2): Promise<WriteHandle> {
    const handle = await setup.writer.createLedger({
      ensembleSize: 3,
      writeQuorumSize: 3,
      ackQuorumSize,
      password: PASSWORD,
    });
    const ids = await Promise.all(
      Array.from({ length: lastEntryId + 1 }, (_, i) => handle.append(payload(handle.ledgerId, BigInt(i)))),
    );
    expect(ids[ids.length - 1]).toBe(BigInt(lastEntryId));
    return handle;
  }

  /** The raw client of the bookie with this id. */
  function rawClient(bookieId: string): Promise<BookieClient> {
    return BookieClient.connect(setup.cluster.bookie(setup.cluster.bookieIds.indexOf(bookieId)).port);
  }

  /** What the crashed writer's last add left: entry `entryId` on `bookieIds` only, carrying LAC entryId − 1 unless given. */
  async function writeTo(
    bookieIds: string[],
    handle: WriteHandle,
    entryId: bigint,
    lastAddConfirmed = entryId - 1n,
  ): Promise<void> {
    const ledgerId = handle.ledgerId;
    const digest = DigestManager.create(ledgerId, Buffer.from(PASSWORD), DigestType.CRC32C);
    const body = digest.packEntry(
      entryId,
      lastAddConfirmed,
      lengthUpTo(ledgerId, entryId),
      payload(ledgerId, entryId),
    );
    for (const bookieId of bookieIds) {
      const client = await rawClient(bookieId);
      try {
        expect((await client.addEntry({ ledgerId, entryId, masterKey: KEY, body })).status).toBe(
          StatusCode.EOK,
        );
      } finally {
        await client.close();
      }
    }
  }

  async function statusOn(bookieId: string, ledgerId: bigint, entryId: bigint): Promise<StatusCode> {
    const client = await rawClient(bookieId);
    try {
      return (await client.readEntry(ledgerId, entryId)).status;
    } finally {
      await client.close();
    }
  }

  test('an entry that reached Qa bookies before the writer crashed is kept, re-replicated, and the ledger closed after it', async () => {
    const handle = await writtenLedger(99);
    const ledgerId = handle.ledgerId;
    const ensemble = handle.getLedgerMetadata().ensembles[0]!.ensemble;
    // On two bookies, entry 100 may have been acknowledged: only one bookie can say it lacks it, never the
    // Qw − Qa + 1 = 2 that would make it absent, so recovery must find it.
    await writeTo([ensemble[0]!, ensemble[2]!], handle, 100n);
    expect(await statusOn(ensemble[1]!, ledgerId, 100n)).toBe(StatusCode.ENOENTRY);

    const read = await setup.reader.openLedger({ ledgerId, password: PASSWORD, recovery: true });
    expect(read.isClosed()).toBe(true);
    expect(read.getLastAddConfirmed()).toBe(100n);
    expect(read.getLength()).toBe(lengthUpTo(ledgerId, 100n));
    const metadata = await setup.reader.getLedgerMetadata(ledgerId);
    expect([metadata.state, metadata.lastEntryId, metadata.length]).toEqual([
      'CLOSED',
      100n,
      lengthUpTo(ledgerId, 100n),
    ]);
    const entries = await read.read(0n, 100n);
    expect(entries.map((e) => e.data)).toEqual(
      Array.from({ length: 101 }, (_, i) => payload(ledgerId, BigInt(i))),
    );
    // Re-added with RECOVERY_ADD to its whole write set: the third bookie has it now.
    for (const bookieId of ensemble) expect(await statusOn(bookieId, ledgerId, 100n)).toBe(StatusCode.EOK);

    // The old writer is fenced: its next add is refused, and the recovered end does not move.
    const late = await rejection(handle.append('after recovery'));
    expect(isBKError(late, 'LedgerFencedException')).toBe(true);
    for (const bookieId of ensemble) {
      const client = await rawClient(bookieId);
      const digest = DigestManager.create(ledgerId, Buffer.from(PASSWORD), DigestType.CRC32C);
      const body = digest.packEntry(101n, 100n, lengthUpTo(ledgerId, 100n) + 4n, Buffer.from('late'));
      expect((await client.addEntry({ ledgerId, entryId: 101n, masterKey: KEY, body })).status).toBe(
        StatusCode.EFENCED,
      );
      await client.close();
    }
    const after = await setup.reader.getLedgerMetadata(ledgerId);
    expect([after.lastEntryId, after.length]).toEqual([100n, lengthUpTo(ledgerId, 100n)]);
    // Opening it again changes nothing.
    const again = await setup.reader.openLedger({ ledgerId, password: PASSWORD, recovery: true });
    expect(again.getLastAddConfirmed()).toBe(100n);
  });

  test('a ledger whose writer never wrote recovers empty', async () => {
    const handle = await setup.writer.createLedger({ password: PASSWORD });
    const read = await setup.reader.openLedger({
      ledgerId: handle.ledgerId,
      password: PASSWORD,
      recovery: true,
    });
    expect([read.isClosed(), read.getLastAddConfirmed(), read.getLength()]).toEqual([true, -1n, 0n]);
    expect(isBKError(await rejection(handle.append('too late')), 'LedgerFencedException')).toBe(true);
  });

  test('with Qa = 1 an entry on a single bookie may have been acknowledged: it is kept and re-replicated', async () => {
    const handle = await writtenLedger(9, 1);
    const ledgerId = handle.ledgerId;
    const ensemble = handle.getLedgerMetadata().ensembles[0]!.ensemble;
    await writeTo([ensemble[1]!], handle, 10n);
    const read = await setup.reader.openLedger({ ledgerId, password: PASSWORD, recovery: true });
    expect([read.getLastAddConfirmed(), read.getLength()]).toEqual([10n, lengthUpTo(ledgerId, 10n)]);
    expect((await read.read(10n, 10n))[0]!.data).toEqual(payload(ledgerId, 10n));
    for (const bookieId of ensemble) expect(await statusOn(bookieId, ledgerId, 10n)).toBe(StatusCode.EOK);
  });

  test('concurrent recoverers agree on one end', async () => {
    const handle = await writtenLedger(49);
    const ledgerId = handle.ledgerId;
    const ensemble = handle.getLedgerMetadata().ensembles[0]!.ensemble;
    // Entry 50 on one bookie of Qa = 2 was never acknowledged: a recoverer may keep it or leave it out, as the
    // answers come, but all of them must end up with the same end.
    await writeTo([ensemble[2]!], handle, 50n);
    const others = await Promise.all(
      [0, 1].map(() => BookKeeper.create({ metadataServiceUri: setup.cluster.metadataServiceUri })),
    );
    try {
      const handles = await Promise.all(
        [setup.reader, ...others].map((client) =>
          client.openLedger({ ledgerId, password: PASSWORD, recovery: true }),
        ),
      );
      const metadata = await setup.reader.getLedgerMetadata(ledgerId);
      expect(metadata.state).toBe('CLOSED');
      expect([49n, 50n]).toContain(metadata.lastEntryId);
      expect(metadata.length).toBe(lengthUpTo(ledgerId, metadata.lastEntryId));
      for (const read of handles) {
        expect([read.getLastAddConfirmed(), read.getLength()]).toEqual([
          metadata.lastEntryId,
          metadata.length,
        ]);
      }
      const last = await handles[1]!.read(metadata.lastEntryId, metadata.lastEntryId);
      expect(last[0]!.data).toEqual(payload(ledgerId, metadata.lastEntryId));
    } finally {
      await Promise.all(others.map((client) => client.close()));
    }
  });

  test('batched recovery reads stop at the first absent entry; an entry after the gap is not part of the ledger', async () => {
    const handle = await writtenLedger(29);
    const ledgerId = handle.ledgerId;
    const ensemble = handle.getLedgerMetadata().ensembles[0]!.ensemble;
    // Sent together with LAC 29: 30 and 31 reached two bookies, 32 none, 33 two again (never acknowledged to the
    // writer's caller: adds complete in order).
    for (const entryId of [30n, 31n, 33n]) await writeTo([ensemble[0]!, ensemble[1]!], handle, entryId, 29n);
    const batched = await BookKeeper.create({
      metadataServiceUri: setup.cluster.metadataServiceUri,
      recoveryReadBatchSize: 4,
    });
    try {
      const read = await batched.openLedger({ ledgerId, password: PASSWORD, recovery: true });
      expect([read.getLastAddConfirmed(), read.getLength()]).toEqual([31n, lengthUpTo(ledgerId, 31n)]);
      expect((await read.read(28n, 31n)).map((e) => e.data)).toEqual(
        [28n, 29n, 30n, 31n].map((entryId) => payload(ledgerId, entryId)),
      );
      expect(isBKError(await rejection(read.readUnconfirmed(33n, 33n)), 'ReadException')).toBe(true);
    } finally {
      await batched.close();
    }
  });

  test('an entry on one bookie that is down counts as absent once Qw − Qa + 1 bookies lack it', async () => {
    const handle = await writtenLedger(19);
    const ledgerId = handle.ledgerId;
    const ensemble = handle.getLedgerMetadata().ensembles[0]!.ensemble;
    const holder = setup.cluster.bookieIds.indexOf(ensemble[1]!);
    await writeTo([ensemble[1]!], handle, 20n);
    // Recovery re-adds entries after the LAC to their write sets; a spare bookie takes the dead one's place.
    await setup.cluster.addBookie();
    await setup.cluster.kill(holder);
    try {
      const read = await setup.reader.openLedger({ ledgerId, password: PASSWORD, recovery: true });
      // Entry 20 was never acknowledged (one copy of Qa=2): the ledger ends at 19.
      expect([read.getLastAddConfirmed(), read.getLength()]).toEqual([19n, lengthUpTo(ledgerId, 19n)]);
      expect((await read.read(19n, 19n))[0]!.data).toEqual(payload(ledgerId, 19n));
      // Entry 19 carries at most LAC 18, so it was re-added, and the dead bookie replaced for it.
      const segments = read.getLedgerMetadata().ensembles;
      expect(segments[segments.length - 1]!.ensemble).not.toContain(ensemble[1]);
    } finally {
      await setup.cluster.restart(holder);
    }
    // The bookie is back with its copy of entry 20, which stays outside the closed ledger.
    expect(await statusOn(ensemble[1]!, ledgerId, 20n)).toBe(StatusCode.EOK);
    const reopened = await setup.reader.openLedger({ ledgerId, password: PASSWORD, recovery: false });
    expect(reopened.getLastAddConfirmed()).toBe(19n);
    expect(isBKError(await rejection(reopened.readUnconfirmed(20n, 20n)), 'ReadException')).toBe(true);
  });

  test('too few bookies to fence: recovery fails and leaves the ledger IN_RECOVERY; a later recovery closes it', async () => {
    const handle = await writtenLedger(9);
    const ledgerId = handle.ledgerId;
    const ensemble = handle.getLedgerMetadata().ensembles[0]!.ensemble;
    const down = [ensemble[1]!, ensemble[2]!].map((bookieId) => setup.cluster.bookieIds.indexOf(bookieId));
    for (const index of down) await setup.cluster.kill(index);
    try {
      const error = await rejection(
        setup.reader.openLedger({ ledgerId, password: PASSWORD, recovery: true }),
      );
      expect(isBKError(error, 'LedgerRecoveryException')).toBe(true);
      expect(error.message).toContain(`ledger ${ledgerId}`);
      expect((await setup.reader.getLedgerMetadata(ledgerId)).state).toBe('IN_RECOVERY');
    } finally {
      for (const index of down) await setup.cluster.restart(index);
    }
    const later = await BookKeeper.create({ metadataServiceUri: setup.cluster.metadataServiceUri });
    try {
      const read = await later.openLedger({ ledgerId, password: PASSWORD, recovery: true });
      expect([read.getLastAddConfirmed(), read.getLength()]).toEqual([9n, lengthUpTo(ledgerId, 9n)]);
    } finally {
      await later.close();
    }
  });
});
