/**
 * Goal: the BookKeeper client's API behaves as an application expects: bad parameters and settings are refused
 * with IncorrectParameterException, ledgers are listed, described and deleted, closing a handle or the client
 * has BookKeeper's outcomes, and a writer whose ledger another client recovered can add nothing more.
 * Method: real `ledgerline bookie` processes (built dist/) on a real etcd (harness BookieCluster), BookKeeper
 * clients over TCP; the metadata is read back from etcd through a second client and the harness's store.
 */
import { BookKeeper, isBKError } from '../../ledger-client';
import type { BookKeeperOptions, CreateLedgerOptions } from '../../ledger-client';
import { LedgerManager } from '../../metadata';
import type { BookieCluster } from '../harness';
import { clusterWithClient } from './ledger-client-write-fixture';
import { silentLogger } from '../../common';

describe('ledger-client > api', () => {
  let cluster: BookieCluster;
  let bk: BookKeeper;
  clusterWithClient(3, {}, (started) => ({ cluster, bk } = started));

  test('wrong ledger parameters are IncorrectParameterException naming the problem', async () => {
    const cases: Array<[CreateLedgerOptions, RegExp]> = [
      [{ ensembleSize: 2, writeQuorumSize: 3, ackQuorumSize: 2 }, /ensembleSize >= writeQuorumSize/],
      [{ ensembleSize: 3, writeQuorumSize: 2, ackQuorumSize: 3 }, /writeQuorumSize >= ackQuorumSize/],
      [{ ensembleSize: 3, writeQuorumSize: 2, ackQuorumSize: 0 }, /ackQuorumSize/],
      [{ ensembleSize: 1.5 }, /ensembleSize/],
      [{ digestType: 'MD5' as never }, /digestType must be one of CRC32, CRC32C, HMAC, DUMMY/],
      [{ password: 42 as never }, /password must be a Buffer or a string/],
      [{ writeFlags: ['FAST' as never] }, /writeFlags/],
      [{ customMetadata: { key: 7 as never } }, /customMetadata "key"/],
    ];
    for (const [options, message] of cases) {
      const error = await bk.createLedger(options).catch((e: unknown) => e);
      expect(isBKError(error, 'IncorrectParameterException')).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
    await expect(bk.createLedgerAdv({ ledgerId: -1n })).rejects.toMatchObject({
      code: 'IncorrectParameterException',
    });
    await expect(
      bk.openLedger({ ledgerId: 1n, password: 'x', digestType: 'SHA' as never }),
    ).rejects.toMatchObject({
      code: 'IncorrectParameterException',
    });
    await expect(bk.getLedgerMetadata('12' as never)).rejects.toMatchObject({
      code: 'IncorrectParameterException',
    });
  });

  test('bad client settings and an unknown placement policy are refused at create', async () => {
    const uri = cluster.metadataServiceUri;
    await expect(BookKeeper.create({ metadataServiceUri: uri, addEntryTimeoutSec: 0 })).rejects.toMatchObject(
      {
        code: 'IncorrectParameterException',
        message: expect.stringContaining('addEntryTimeoutSec="0"'),
      },
    );
    await expect(
      BookKeeper.create({ metadataServiceUri: uri, ensemblePlacementPolicy: 'nearest' }),
    ).rejects.toMatchObject({
      code: 'IncorrectParameterException',
      message: expect.stringContaining('nearest'),
    });
    await expect(BookKeeper.create({ metadataServiceUri: 'zk://nowhere' })).rejects.toMatchObject({
      code: 'IncorrectParameterException',
    });
    // A misspelled key is refused, naming it, rather than silently dropped.
    const misspelled = { metadataServiceUri: uri, addEntryTimeoutSecs: 60 } as unknown as BookKeeperOptions;
    await expect(BookKeeper.create(misspelled)).rejects.toMatchObject({
      code: 'IncorrectParameterException',
      message: expect.stringContaining('unknown client setting addEntryTimeoutSecs'),
    });
  });

  test('getLedgerMetadata, listLedgers and deleteLedger', async () => {
    const handles = await Promise.all(
      [1, 2, 3].map((n) =>
        bk.createLedger({
          ensembleSize: 3,
          writeQuorumSize: 3,
          ackQuorumSize: 2,
          customMetadata: { n: `${n}` },
        }),
      ),
    );
    const ids = handles.map((h) => h.ledgerId);
    const md = await bk.getLedgerMetadata(ids[1]!);
    expect(md).toMatchObject({
      state: 'OPEN',
      ensembleSize: 3,
      writeQuorumSize: 3,
      ackQuorumSize: 2,
      digestType: 'CRC32C',
      lastEntryId: -1n,
    });
    expect(md.customMetadata.get('n')).toEqual(Buffer.from('2'));
    expect(md.ensembles).toEqual([{ firstEntryId: 0n, ensemble: expect.any(Array) }]);
    expect(md.ctime).toBeGreaterThan(0n);

    const listed: bigint[] = [];
    for await (const ledgerId of bk.listLedgers()) listed.push(ledgerId);
    expect(listed).toEqual(expect.arrayContaining(ids));
    expect([...listed].sort((a, b) => (a < b ? -1 : 1))).toEqual(listed);

    await handles[1]!.append('before delete');
    await bk.deleteLedger(ids[1]!);
    const after: bigint[] = [];
    for await (const ledgerId of bk.listLedgers()) after.push(ledgerId);
    expect(after).not.toContain(ids[1]);
    expect(after).toEqual(expect.arrayContaining([ids[0], ids[2]]));
    await expect(bk.getLedgerMetadata(ids[1]!)).rejects.toMatchObject({
      code: 'NoSuchLedgerExistsOnMetadataServerException',
      ledgerId: ids[1],
    });
    await expect(bk.deleteLedger(ids[1]!)).rejects.toMatchObject({
      code: 'NoSuchLedgerExistsOnMetadataServerException',
    });
    // Closing the deleted ledger's handle finds no metadata.
    await expect(handles[1]!.close()).rejects.toMatchObject({
      code: 'NoSuchLedgerExistsOnMetadataServerException',
    });
    await handles[0]!.close();
    await handles[2]!.close();
  });

  test('close writes CLOSED once; a second close is harmless; an end written by someone else is MetadataVersionException', async () => {
    const handle = await bk.createLedger({ password: 'pw' });
    for (let i = 0; i < 10; i++) await handle.append(`entry ${i}`);
    await Promise.all([handle.close(), handle.close()]);
    expect(handle.isClosed()).toBe(true);
    expect(handle.getLedgerMetadata()).toMatchObject({ state: 'CLOSED', lastEntryId: 9n, length: 70n });
    await expect(handle.append('after close')).rejects.toMatchObject({ code: 'LedgerClosedException' });

    // Someone closes the next ledger at another end behind the writer's back.
    const other = await bk.createLedger({ password: 'pw' });
    await other.append('only entry');
    const manager = new LedgerManager(cluster.metadata.store, '/ledgers', silentLogger());
    const current = await manager.readLedgerMetadata(other.ledgerId);
    await manager.writeLedgerMetadata(
      other.ledgerId,
      { ...current.metadata, state: 'CLOSED', lastEntryId: -1n, length: 0n },
      current.version,
    );
    await expect(other.close()).rejects.toMatchObject({
      code: 'MetadataVersionException',
      ledgerId: other.ledgerId,
    });
  });

  test('a writer whose ledger another client recovered gets LedgerFencedException, and its close agrees', async () => {
    const handle = await bk.createLedger({ password: 'pw' });
    for (let i = 0; i < 5; i++) await handle.append(`entry ${i}`);
    const second = await BookKeeper.create({ metadataServiceUri: cluster.metadataServiceUri });
    try {
      const reader = await second.openLedger({ ledgerId: handle.ledgerId, password: 'pw' });
      expect(reader.isClosed()).toBe(true);
      expect(reader.getLastAddConfirmed()).toBe(4n);
      await reader.close();
    } finally {
      await second.close();
    }
    await expect(handle.append('after recovery')).rejects.toMatchObject({ code: 'LedgerFencedException' });
    await expect(handle.append('and again')).rejects.toMatchObject({ code: 'LedgerFencedException' });
    // The recovered end is the writer's LAC: its close finds the same end and succeeds.
    await handle.close();
    expect(await bk.getLedgerMetadata(handle.ledgerId)).toMatchObject({
      state: 'CLOSED',
      lastEntryId: 4n,
      length: 35n,
    });
  });

  test('closing the client fails pending appends with ClientClosedException and refuses new work', async () => {
    const client = await BookKeeper.create({ metadataServiceUri: cluster.metadataServiceUri });
    const handle = await client.createLedger();
    await handle.append('first');
    const pending = Array.from({ length: 50 }, (_, i) => handle.append(`pending ${i}`));
    const closing = client.close();
    const results = await Promise.allSettled(pending);
    await closing;
    await client.close();
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) expect(failure.reason).toMatchObject({ code: 'ClientClosedException' });
    // Whatever was confirmed before the close came first, in order.
    const confirmed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(confirmed).toEqual(confirmed.map((_, i) => BigInt(i + 1)));
    await expect(handle.append('after')).rejects.toMatchObject({ code: 'ClientClosedException' });
    await expect(client.createLedger()).rejects.toMatchObject({ code: 'ClientClosedException' });
    await expect(client.getLedgerMetadata(handle.ledgerId)).rejects.toMatchObject({
      code: 'ClientClosedException',
    });
    // The ledger stays OPEN for a recovery to close, as with BookKeeper.
    expect(await bk.getLedgerMetadata(handle.ledgerId)).toMatchObject({ state: 'OPEN' });
  });

  test('a client on a shared store leaves the store open when it closes', async () => {
    const client = await BookKeeper.create({
      metadataServiceUri: cluster.metadataServiceUri,
      store: cluster.metadata.store,
    });
    const handle = await client.createLedger();
    await handle.append('x');
    await handle.close();
    await client.close();
    const manager = new LedgerManager(cluster.metadata.store, '/ledgers', silentLogger());
    expect((await manager.readLedgerMetadata(handle.ledgerId)).metadata.state).toBe('CLOSED');
  });
});
