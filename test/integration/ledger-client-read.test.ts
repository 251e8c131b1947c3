/**
 * Goal: what a reader of the ledger API sees, against real bookies: a closed ledger read back exactly, an open
 * ledger read up to the LAC its bookies report, long polls and a tailing iterator that follows a live writer and
 * ends when the ledger is closed, the errors for a wrong password or a missing ledger, and a damaged replica
 * that is skipped (or, when every replica is damaged, reported, never returned).
 * Method: three real `ledgerline bookie` processes (built dist/) on a real etcd (BookieCluster); ledgers written
 * with one BookKeeper client and read with another. Damaged replicas are written straight to a bookie with the
 * raw v3 test client, packed with the ledger's digest and then altered.
 */
import { BookKeeper, isBKError } from '../../ledger-client';
import type { ReadHandle, WriteHandle } from '../../ledger-client';
import { DigestManager, DigestType, StatusCode, masterKey } from '../../protocol';
import { BookieClient, eventually } from '../harness';
import { clusterWithClients, lengthUpTo, payload, rejection } from './ledger-client-read-fixtures';

const PASSWORD = 'read-test';

async function appendAll(writer: WriteHandle, first: number, count: number): Promise<void> {
  const appended = await Promise.all(
    Array.from({ length: count }, (_, i) => writer.append(payload(writer.ledgerId, BigInt(first + i)))),
  );
  expect(appended).toEqual(Array.from({ length: count }, (_, i) => BigInt(first + i)));
}

describe('ledger-client > read > against real bookies', () => {
  const setup = clusterWithClients({ bookies: 3 });

  /** Opens the ledger in the reader's client without recovery: as a tailing reader does. */
  function openForReading(ledgerId: bigint): Promise<ReadHandle> {
    return setup.reader.openLedger({ ledgerId, password: PASSWORD, recovery: false });
  }

  /** A ledger on all three bookies, with Qw copies of each entry and Qa acknowledgements. */
  function createLedger(writeQuorumSize: number, ackQuorumSize: number): Promise<WriteHandle> {
    return setup.writer.createLedger({ ensembleSize: 3, writeQuorumSize, ackQuorumSize, password: PASSWORD });
  }

  test('a closed ledger reads back entry for entry, and nothing past its end', async () => {
    const handle = await createLedger(2, 2);
    await appendAll(handle, 0, 200);
    await handle.close();

    const read = await openForReading(handle.ledgerId);
    expect(read.isClosed()).toBe(true);
    expect(read.getLastAddConfirmed()).toBe(199n);
    expect(read.getLength()).toBe(lengthUpTo(handle.ledgerId, 199n));
    const entries = await read.read(0n, 199n);
    expect(entries.map((e) => e.entryId)).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(i)));
    for (const entry of entries) {
      expect(entry.data).toEqual(payload(handle.ledgerId, entry.entryId));
      expect(entry.length).toBe(entry.data.length);
    }
    expect(isBKError(await rejection(read.read(150n, 200n)), 'ReadException')).toBe(true);
    expect(isBKError(await rejection(read.readUnconfirmed(199n, 200n)), 'ReadException')).toBe(true);
    expect(isBKError(await rejection(read.read(5n, 4n)), 'IncorrectParameterException')).toBe(true);
    expect(isBKError(await rejection(read.read(-1n, 4n)), 'IncorrectParameterException')).toBe(true);
    await read.close();
  });

  test('an open ledger is read up to the LAC its bookies report, and the LAC follows the writer', async () => {
    const handle = await createLedger(2, 2);
    for (let i = 0; i < 10; i++) await appendAll(handle, i, 1);
    const read = await openForReading(handle.ledgerId);
    // Entry 9 carries LAC 8: that is as far as the bookies can tell a reader without an explicit LAC.
    expect(read.isClosed()).toBe(false);
    expect(read.getLastAddConfirmed()).toBe(8n);
    expect((await read.read(0n, 8n)).map((e) => e.data)).toEqual(
      Array.from({ length: 9 }, (_, i) => payload(handle.ledgerId, BigInt(i))),
    );
    expect(isBKError(await rejection(read.read(0n, 9n)), 'ReadException')).toBe(true);
    expect((await read.readUnconfirmed(9n, 9n))[0]!.data).toEqual(payload(handle.ledgerId, 9n));

    for (let i = 10; i < 15; i++) await appendAll(handle, i, 1);
    expect(await read.readLastAddConfirmed()).toBe(13n);
    expect(await read.tryReadLastAddConfirmed()).toBe(13n);

    // Long poll: entry 14 is confirmed only once entry 15 (carrying LAC 14) reaches the bookies.
    const waiting = read.readLastAddConfirmedAndEntry(14n, 10000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await appendAll(handle, 15, 1);
    const polled = await waiting;
    expect(polled.lastAddConfirmed).toBeGreaterThanOrEqual(14n);
    expect(polled.entry?.entryId).toBe(14n);
    expect(polled.entry?.data).toEqual(payload(handle.ledgerId, 14n));

    // Nothing arrives for entry 100 within the timeout: the answer says so, without an entry.
    const started = Date.now();
    const idle = await read.readLastAddConfirmedAndEntry(100n, 300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(idle).toEqual({ lastAddConfirmed: 14n });

    await handle.close();
    await eventually('the reader to see the close', () => (read.isClosed() ? true : undefined));
    expect(read.getLastAddConfirmed()).toBe(15n);
    expect(read.getLength()).toBe(lengthUpTo(handle.ledgerId, 15n));
    expect(await read.readLastAddConfirmedAndEntry(16n, 10000)).toEqual({ lastAddConfirmed: 15n });
    await read.close();
    expect(isBKError(await rejection(read.read(0n, 0n)), 'IllegalOpException')).toBe(true);
  });

  test('a tailing reader receives entries appended after it started and ends when the ledger closes', async () => {
    const handle = await createLedger(3, 2);
    await appendAll(handle, 0, 5);
    const read = await openForReading(handle.ledgerId);
    const received: bigint[] = [];
    const tailing = (async (): Promise<void> => {
      for await (const entry of read) {
        expect(entry.data).toEqual(payload(handle.ledgerId, entry.entryId));
        received.push(entry.entryId);
      }
    })();
    for (let batch = 0; batch < 9; batch++) {
      await appendAll(handle, 5 + batch * 5, 5);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    // Entries arrive while the writer is still writing, not only at the close.
    await eventually('the tail to pass entry 40', () => (received.length > 40 ? true : undefined));
    await handle.close();
    await tailing;
    expect(received).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i)));
    await read.close();
  });

  test('a tail can start at any entry, and stops when its handle is closed', async () => {
    const handle = await setup.writer.createLedger({ password: PASSWORD });
    // Sent together, entries 0..19 all carry LAC -1; entry 20, sent after, carries 19.
    await appendAll(handle, 0, 20);
    await appendAll(handle, 20, 1);
    const read = await openForReading(handle.ledgerId);
    const received: bigint[] = [];
    const tailing = (async (): Promise<void> => {
      for await (const entry of read.tail({ startEntryId: 15n })) received.push(entry.entryId);
    })();
    await eventually('the tail to reach the LAC', () => (received.length === 5 ? true : undefined));
    // The tail now waits in a long poll for entry 20; closing the handle ends it.
    await read.close();
    await tailing;
    expect(received).toEqual([15n, 16n, 17n, 18n, 19n]);
    await handle.close();
  });

  test('a wrong password is refused, and a missing ledger named', async () => {
    const handle = await setup.writer.createLedger({ password: PASSWORD });
    await appendAll(handle, 0, 3);
    for (const recovery of [false, true]) {
      const wrong = await rejection(
        setup.reader.openLedger({ ledgerId: handle.ledgerId, password: 'not-it', recovery }),
      );
      expect(isBKError(wrong, 'UnauthorizedAccessException')).toBe(true);
      expect(wrong.message).toContain(`ledger ${handle.ledgerId}`);
    }
    // The refused recovery fenced nothing: the writer goes on.
    await appendAll(handle, 3, 1);
    const missing = await rejection(
      setup.reader.openLedger({ ledgerId: 987654321n, password: PASSWORD, recovery: false }),
    );
    expect(isBKError(missing, 'NoSuchLedgerExistsOnMetadataServerException')).toBe(true);
    expect(missing.message).toContain('987654321');
    await handle.close();
  });

  test('a corrupt replica is skipped; an entry corrupt on every replica is a DigestMatchException', async () => {
    // The ledger's metadata from the client; its entries written to each bookie directly, two of them damaged.
    const handle = await createLedger(3, 2);
    const ledgerId = handle.ledgerId;
    const ensemble = handle.getLedgerMetadata().ensembles[0]!.ensemble;
    const digest = DigestManager.create(ledgerId, Buffer.from(PASSWORD), DigestType.CRC32C);
    const key = masterKey(Buffer.from(PASSWORD));
    const damaged = (body: Buffer): Buffer => {
      const copy = Buffer.from(body);
      copy[copy.length - 1] = copy[copy.length - 1]! ^ 0x5a;
      return copy;
    };
    let length = 0n;
    const bodies = Array.from({ length: 10 }, (_, i) => {
      const entryId = BigInt(i);
      length += BigInt(payload(ledgerId, entryId).length);
      return digest.packEntry(entryId, entryId - 1n, length, payload(ledgerId, entryId));
    });
    for (const [index, bookieId] of ensemble.entries()) {
      const client = await BookieClient.connect(
        setup.cluster.bookie(setup.cluster.bookieIds.indexOf(bookieId)).port,
      );
      for (const [i, body] of bodies.entries()) {
        // Entry 4 is read from ensemble index 1 first (its write set is 1, 2, 0): damage it there. Entry 7: everywhere.
        const bad = (i === 4 && index === 1) || i === 7;
        const response = await client.addEntry({
          ledgerId,
          entryId: BigInt(i),
          masterKey: key,
          body: bad ? damaged(body) : body,
        });
        expect(response.status).toBe(StatusCode.EOK);
      }
      await client.close();
    }

    const fresh = await BookKeeper.create({ metadataServiceUri: setup.cluster.metadataServiceUri });
    try {
      const read: ReadHandle = await fresh.openLedger({ ledgerId, password: PASSWORD, recovery: false });
      expect(read.getLastAddConfirmed()).toBe(8n);
      expect((await read.read(4n, 4n))[0]!.data).toEqual(payload(ledgerId, 4n));
      const corrupt = await rejection(read.read(7n, 7n));
      expect(isBKError(corrupt, 'DigestMatchException')).toBe(true);
      expect(corrupt.message).toContain(`ledger ${ledgerId} entry 7`);
      expect(isBKError(await rejection(read.read(0n, 8n)), 'DigestMatchException')).toBe(true);
      expect((await read.read(8n, 8n))[0]!.data).toEqual(payload(ledgerId, 8n));
    } finally {
      await fresh.close();
    }
  });

  test('a hung bookie (SIGSTOP) is read around by speculative reads, long before the read timeout', async () => {
    const handle = await createLedger(3, 2);
    await appendAll(handle, 0, 30);
    await handle.close();
    const hung = handle.getLedgerMetadata().ensembles[0]!.ensemble[0]!;
    const index = setup.cluster.bookieIds.indexOf(hung);
    // A reader that would wait 30 s for the hung bookie's timeout, but asks the next replica after 100 ms.
    const reader = await BookKeeper.create({
      metadataServiceUri: setup.cluster.metadataServiceUri,
      speculativeReadTimeout: 100,
      readEntryTimeoutSec: 30,
    });
    await setup.cluster.stop(index);
    try {
      const read = await reader.openLedger({
        ledgerId: handle.ledgerId,
        password: PASSWORD,
        recovery: false,
      });
      const started = Date.now();
      const entries = await read.read(0n, 29n);
      const elapsed = Date.now() - started;
      expect(entries.map((e) => e.data)).toEqual(
        Array.from({ length: 30 }, (_, i) => payload(handle.ledgerId, BigInt(i))),
      );
      // One speculative wait, not one per entry: the hung bookie is asked last once it has been slow.
      expect(elapsed).toBeLessThan(3000);
      await read.close();
    } finally {
      await setup.cluster.cont(index);
      await reader.close();
    }
  });
});
