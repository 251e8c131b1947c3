/**
 * Goal: a durable cursor's persistence works against real bookies and a real etcd — what a cursor persisted comes
 * back after close or after a crash (and nothing older), throttling bounds the writes, the cursor ledger is
 * rolled and the old one deleted, and when its ledger cannot be written the position goes into the metadata node.
 *
 * Method: the managed ledger under the cursor is the in-memory FakeCursorHost (entries in memory), but the cursor
 * gets a real BookKeeper client and a real MetaStore on the harness's etcd, so its ledgers and ManagedCursorInfo
 * nodes are real. A "crash" is a cursor left unclosed and recovered from a second client and store, as another
 * process would. Observations go through the ledger client (entries, ledger metadata) and the metadata node.
 */
import { silentLogger } from '../../common';
import { BookKeeper } from '../../ledger-client';
import { ManagedCursor, MetaStore, Position, decodePositionInfo } from '../../managed-ledger';
import type { ManagedCursorInfo, ManagedLedgerConfig } from '../../managed-ledger';
import { createMetadataStore } from '../../metadata';
import type { MetadataStore } from '../../metadata';
import { BookieCluster, eventually, requireBuiltBookie } from '../harness';
import { FakeCursorHost } from '../unit/managed-ledger/cursor/fake-host';
import { ledgerGone } from './managed-ledger-fixture';

interface Client {
  bk: BookKeeper;
  store: MetadataStore;
  metaStore: MetaStore;
}

const CONFIG: Partial<ManagedLedgerConfig> = {
  managedLedgerDefaultEnsembleSize: 2,
  managedLedgerDefaultWriteQuorum: 2,
  managedLedgerDefaultAckQuorum: 2,
  managedLedgerPassword: 'cursor-test',
  managedLedgerDefaultMarkDeleteRateLimit: 0,
};

let cluster: BookieCluster;
const clients: Client[] = [];
let names = 0;

async function client(): Promise<Client> {
  const { store } = await createMetadataStore(cluster.metadataServiceUri, { logger: silentLogger() });
  const bk = await BookKeeper.create({
    metadataServiceUri: cluster.metadataServiceUri,
    store,
    addEntryTimeoutSec: 2,
    reconnectBackoffMaxMs: 500,
  });
  const made = { bk, store, metaStore: new MetaStore(store) };
  clients.push(made);
  return made;
}

/** A fake managed ledger named `name` whose cursors use the real client `c`; `entries` in one ledger. */
function hostOn(
  c: Client,
  name: string,
  entries: number,
  config: Partial<ManagedLedgerConfig> = {},
): FakeCursorHost {
  const host = new FakeCursorHost({
    name,
    config: { ...CONFIG, ...config },
    bookKeeper: c.bk,
    metaStore: c.metaStore,
  });
  host.fill(entries);
  return host;
}

async function nodeOf(host: FakeCursorHost, cursor: string): Promise<ManagedCursorInfo> {
  return (await host.metaStore.getCursorInfo(host.name, cursor))!.value;
}

/** The positions in the cursor ledger's PositionInfo entries, read with a plain (non-recovery) open. */
async function ledgerPositions(bk: BookKeeper, ledgerId: bigint): Promise<string[]> {
  const handle = await bk.openLedger({ ledgerId, password: CONFIG.managedLedgerPassword!, recovery: false });
  try {
    const lac = await handle.readLastAddConfirmed();
    if (lac < 0n) return [];
    const entries = await handle.read(0n, lac);
    return entries.map((e) => decodePositionInfo(e.data).position.toString());
  } finally {
    await handle.close();
  }
}

const newName = (): string => `tenant/ns/persistent/cursor-test-${++names}`;

beforeAll(async () => {
  requireBuiltBookie();
  cluster = await BookieCluster.start({ bookies: 3 });
});

afterAll(async () => {
  for (const c of clients) {
    await c.bk.close().catch(() => undefined);
    await c.store.close().catch(() => undefined);
  }
  await cluster?.close();
});

describe('managed-ledger > cursor > persistence on real bookies', () => {
  it('recovers mark-delete, individually deleted ranges and properties after close', async () => {
    const c = await client();
    const name = newName();
    const host = hostOn(c, name, 20);
    const p = (i: number) => Position.of(1, i);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    await cursor.markDelete(p(4), new Map([['seq', 99n]]));
    await cursor.delete([p(7), p(8), p(12), p(19)]);
    await cursor.putCursorProperty('owner', 'broker-1');
    await cursor.close();
    const info = await nodeOf(host, 'sub');
    expect(info.cursorsLedgerId).toBeGreaterThanOrEqual(0n);
    const metadata = await c.bk.getLedgerMetadata(info.cursorsLedgerId);
    expect(metadata.customMetadata.get('pulsar/cursor')?.toString()).toBe('sub');
    expect(metadata.customMetadata.get('pulsar/managed-ledger')?.toString()).toBe(name);
    expect(metadata.ensembleSize).toBe(2);

    const other = await client();
    const recovered = await ManagedCursor.recover(hostOn(other, name, 20), 'sub');
    expect(recovered.getMarkDeletedPosition()).toEqual(p(4));
    expect(recovered.getReadPosition()).toEqual(p(5));
    expect(recovered.getIndividuallyDeletedRanges()).toEqual([
      { lower: p(6), upper: p(8) },
      { lower: p(11), upper: p(12) },
      { lower: p(18), upper: p(19) },
    ]);
    expect(recovered.getProperties()).toEqual(new Map([['seq', 99n]]));
    expect(recovered.getCursorProperties()).toEqual(new Map([['owner', 'broker-1']]));
    expect(recovered.getNumberOfEntriesInBacklog(true)).toBe(11);
    const read = await recovered.readEntries(4);
    expect(read.map((e) => e.position.toString())).toEqual(['1:5', '1:6', '1:9', '1:10']);
    await recovered.close();
  });

  it('after a crash recovers what was persisted, never a position behind it', async () => {
    const c = await client();
    const name = newName();
    const host = hostOn(c, name, 40);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    // Unthrottled: each mark-delete resolves once persisted.
    for (let i = 0; i < 10; i++) await cursor.markDelete(Position.of(1, i));
    await cursor.delete(Position.of(1, 12));
    // No close. Another client recovers (fencing the cursor ledger), as a new owner would.
    const other = await client();
    const recovered = await ManagedCursor.recover(hostOn(other, name, 40), 'sub');
    expect(recovered.getMarkDeletedPosition()).toEqual(Position.of(1, 9));
    expect(recovered.isIndividuallyDeleted(Position.of(1, 12))).toBe(true);
    await recovered.close();

    // Throttled: only the first mark-delete of the burst is persisted before the crash.
    const name2 = newName();
    const throttled = hostOn(c, name2, 40, { managedLedgerDefaultMarkDeleteRateLimit: 1 });
    const cursor2 = await ManagedCursor.create(throttled, 'sub', throttled.getFirstPosition());
    for (let i = 0; i < 20; i++) await cursor2.markDelete(Position.of(1, i));
    expect(cursor2.getMarkDeletedPosition()).toEqual(Position.of(1, 19));
    const afterCrash = await ManagedCursor.recover(hostOn(other, name2, 40), 'sub');
    expect(afterCrash.getMarkDeletedPosition()).toEqual(Position.of(1, 0));
    await afterCrash.close();
  });

  it('throttles a burst of mark-deletes to the rate and flushes the last one on close', async () => {
    const c = await client();
    const host = hostOn(c, newName(), 300, { managedLedgerDefaultMarkDeleteRateLimit: 2 });
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    const started = Date.now();
    for (let i = 0; i < 300; i++) await cursor.markDelete(Position.of(1, i));
    const seconds = (Date.now() - started) / 1000;
    await cursor.close();
    const ledgerId = (await nodeOf(host, 'sub')).cursorsLedgerId;
    const persisted = await ledgerPositions(c.bk, ledgerId);
    // The first persist, at most rate × elapsed more, and the flush on close: far fewer than 300.
    expect(persisted.length).toBeGreaterThanOrEqual(2);
    expect(persisted.length).toBeLessThanOrEqual(Math.floor(2 * seconds) + 2);
    expect(persisted[0]).toBe('1:0');
    expect(persisted[persisted.length - 1]).toBe('1:299');
  });

  it('rolls the cursor ledger at managedLedgerCursorMaxEntriesPerLedger and deletes the old ones', async () => {
    const c = await client();
    const name = newName();
    const host = hostOn(c, name, 20, { managedLedgerCursorMaxEntriesPerLedger: 2 });
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    const ledgers: bigint[] = [];
    for (let i = 0; i < 7; i++) {
      await cursor.markDelete(Position.of(1, i));
      const id = (await nodeOf(host, 'sub')).cursorsLedgerId;
      if (!ledgers.includes(id)) ledgers.push(id);
    }
    await cursor.close();
    expect(ledgers).toHaveLength(4);
    const current = ledgers[ledgers.length - 1]!;
    for (const old of ledgers.slice(0, -1))
      await eventually(`ledger ${old} deleted`, () => ledgerGone(c.bk, old));
    expect(await ledgerPositions(c.bk, current)).toEqual(['1:6']);
    const recovered = await ManagedCursor.recover(hostOn(await client(), name, 20), 'sub');
    expect(recovered.getMarkDeletedPosition()).toEqual(Position.of(1, 6));
    await recovered.close();
  });

  it('writes the position into the node when the cursor ledger cannot be written, and recovers it', async () => {
    const c = await client();
    const name = newName();
    const config = {
      managedLedgerDefaultEnsembleSize: 3,
      managedLedgerDefaultWriteQuorum: 3,
      managedLedgerDefaultAckQuorum: 3,
      managedLedgerMaxUnackedRangesToPersistInMetadataStore: 1,
    };
    const host = hostOn(c, name, 20, config);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    await cursor.markDelete(Position.of(1, 1));
    const firstLedger = (await nodeOf(host, 'sub')).cursorsLedgerId;
    expect(firstLedger).toBeGreaterThanOrEqual(0n);
    // With E=3 on three bookies, a dead bookie leaves no replacement: the append fails.
    await cluster.kill(2);
    try {
      await cursor.delete([Position.of(1, 3), Position.of(1, 5)]);
      await cursor.markDelete(Position.of(1, 2)); // moves over 3 too
      const info = await nodeOf(host, 'sub');
      expect(info.cursorsLedgerId).toBe(-1n);
      expect(info.markDelete).toEqual(Position.of(1, 3));
      expect(info.individualDeletedMessages).toEqual([
        { lower: Position.of(1, 4), upper: Position.of(1, 5) },
      ]);
      await cursor.close();
    } finally {
      await cluster.restart(2);
    }
    // Another owner recovers the position from the node, then persists to a new ledger (the bookie is back).
    const other = hostOn(await client(), name, 20, config);
    const recovered = await ManagedCursor.recover(other, 'sub');
    expect(recovered.getMarkDeletedPosition()).toEqual(Position.of(1, 3));
    expect(recovered.isIndividuallyDeleted(Position.of(1, 5))).toBe(true);
    await eventually('a new cursor ledger', async () => {
      await recovered.markDelete(Position.of(1, 6));
      return (await nodeOf(other, 'sub')).cursorsLedgerId >= 0n || undefined;
    });
    const newLedger = (await nodeOf(other, 'sub')).cursorsLedgerId;
    expect(newLedger).not.toBe(firstLedger);
    await recovered.close();
    expect(await ledgerGone(c.bk, firstLedger)).toBe(true);
    expect((await ledgerPositions(c.bk, newLedger)).pop()).toBe('1:6');
  });
});
