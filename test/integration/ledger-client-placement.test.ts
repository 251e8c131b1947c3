/**
 * Goal: the client's placement options do what BookKeeper's do, seen in the ledger metadata of real ledgers:
 * the rack-aware policy puts each write quorum on two racks, at creation and when a dead bookie is replaced;
 * `delayEnsembleChange` keeps the ensemble while the ack quorum can still be met, where the default replaces
 * the dead bookie at once. Every confirmed entry reads back either way.
 * Method: four real `ledgerline bookie` processes (built dist/) on a real etcd (harness BookieCluster), BookKeeper
 * clients over TCP with the options under test; a bookie of the ensemble is SIGKILLed while appending, and
 * started again afterwards.
 */
import { BookKeeper } from '../../ledger-client';
import type { ClientConfig, WriteHandle } from '../../ledger-client';
import { BookieCluster, requireBuiltBookie } from '../harness';

const PASSWORD = 'placement-test';

describe('ledger-client > placement and delayed ensemble change (4 bookies)', () => {
  let cluster: BookieCluster;
  const clients: BookKeeper[] = [];

  beforeAll(async () => {
    requireBuiltBookie();
    cluster = await BookieCluster.start({ bookies: 4 });
  });

  afterAll(async () => {
    for (const bk of clients.splice(0)) await bk.close();
    await cluster?.close();
  });

  async function client(config: Partial<ClientConfig>): Promise<BookKeeper> {
    const bk = await BookKeeper.create({ ...config, metadataServiceUri: cluster.metadataServiceUri });
    clients.push(bk);
    return bk;
  }

  async function appendAll(handle: WriteHandle, from: number, count: number): Promise<void> {
    const ids = await Promise.all(
      Array.from({ length: count }, (_, i) => handle.append(Buffer.from(`entry ${from + i}`))),
    );
    expect(ids).toEqual(Array.from({ length: count }, (_, i) => BigInt(from + i)));
  }

  async function expectReadBack(bk: BookKeeper, ledgerId: bigint, count: number): Promise<void> {
    const reader = await bk.openLedger({ ledgerId, password: PASSWORD, recovery: false });
    try {
      const entries = await reader.read(0n, BigInt(count - 1));
      expect(entries.map((e) => e.data.toString())).toEqual(
        Array.from({ length: count }, (_, i) => `entry ${i}`),
      );
    } finally {
      await reader.close();
    }
  }

  /** Kills the ensemble's bookie `bookieId`, runs `body`, and starts it again. */
  async function whileDead(bookieId: string, body: () => Promise<void>): Promise<void> {
    const index = cluster.bookieIds.indexOf(bookieId);
    await cluster.kill(index);
    try {
      await body();
    } finally {
      await cluster.restart(index);
    }
  }

  test('rack-aware: every ensemble spans both racks, and a dead bookie is replaced from its own rack', async () => {
    const ids = cluster.bookieIds;
    const rackOf = new Map(ids.map((id, i) => [id, i < 2 ? '/r1' : '/r2']));
    const bk = await client({
      ensemblePlacementPolicy: 'rackaware',
      bookieRacks: ids.map((id) => `${id}=${rackOf.get(id)!}`).join(','),
      minNumRacksPerWriteQuorum: 2,
      enforceMinNumRacksPerWriteQuorum: true,
    });
    const params = { ensembleSize: 2, writeQuorumSize: 2, ackQuorumSize: 2, password: PASSWORD };
    for (let i = 0; i < 10; i++) {
      const handle = await bk.createLedger(params);
      const [segment] = (await bk.getLedgerMetadata(handle.ledgerId)).ensembles;
      expect(new Set(segment!.ensemble.map((id) => rackOf.get(id)))).toEqual(new Set(['/r1', '/r2']));
      await handle.close();
    }

    const handle = await bk.createLedger(params);
    await appendAll(handle, 0, 20);
    const first = (await bk.getLedgerMetadata(handle.ledgerId)).ensembles[0]!.ensemble;
    const victim = first.find((id) => rackOf.get(id) === '/r1')!;
    const sameRack = ids.find((id) => rackOf.get(id) === '/r1' && id !== victim)!;
    await whileDead(victim, () => appendAll(handle, 20, 20));
    const segments = (await bk.getLedgerMetadata(handle.ledgerId)).ensembles;
    expect(segments.length).toBe(2);
    expect(segments[1]!.ensemble).toEqual(first.map((id) => (id === victim ? sameRack : id)));
    await handle.close();
    await expectReadBack(bk, handle.ledgerId, 40);
  });

  test('delayEnsembleChange keeps the ensemble while Qa is met; the default replaces the dead bookie', async () => {
    const params = { ensembleSize: 3, writeQuorumSize: 3, ackQuorumSize: 2, password: PASSWORD };
    for (const delayEnsembleChange of [true, false]) {
      const bk = await client({ delayEnsembleChange, addEntryTimeoutSec: 2 });
      const handle = await bk.createLedger(params);
      await appendAll(handle, 0, 20);
      const [first] = (await bk.getLedgerMetadata(handle.ledgerId)).ensembles;
      await whileDead(first!.ensemble[1]!, () => appendAll(handle, 20, 20));
      const segments = (await bk.getLedgerMetadata(handle.ledgerId)).ensembles;
      expect({ delayEnsembleChange, segments: segments.length }).toEqual({
        delayEnsembleChange,
        segments: delayEnsembleChange ? 1 : 2,
      });
      await handle.close();
      await expectReadBack(bk, handle.ledgerId, 40);
    }
  });
});
