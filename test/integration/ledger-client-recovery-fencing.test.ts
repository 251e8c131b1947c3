/**
 * Goal: the data-loss defect the TLA+ model found in BookKeeper 4.13 (#2614, reliability.md §2 scenario S1)
 * cannot happen here: a fencing read that is lost on its way to one bookie must not let the old writer get an
 * entry acknowledged that the recovered ledger leaves out. Recovery reads carry the fence flag, so the bookie
 * the fencing read missed is fenced by the recovery read before the writer's delayed add reaches it.
 * Method: three real bookies behind FaultProxies (BookieCluster, proxied), E=Qw=3, Qa=2. The writer's entry 0
 * reaches b2 only: the add to b1 is dropped and the add to b3 held. The recoverer's fencing read to b3 is
 * dropped and its recovery read's answer from b2 held, so b1 and b3 decide: entry 0 is absent (Qw − Qa + 1 = 2
 * "no such entry"), the ledger closes empty. Then the writer's held add is delivered to b3.
 */
import { BookKeeper, isBKError } from '../../ledger-client';
import { OperationType, ReadRequestFlag, StatusCode } from '../../protocol';
import { BookieCluster, eventually, requireBuiltBookie } from '../harness';

const PASSWORD = 'fencing-test';

describe('ledger-client > recovery > a lost fencing read (S1)', () => {
  let cluster: BookieCluster;

  beforeAll(async () => {
    requireBuiltBookie();
    cluster = await BookieCluster.start({ bookies: 3, proxied: true });
  });

  afterAll(async () => {
    await cluster?.close();
  });

  test('the writer’s delayed add is refused by the bookie the recovery read fenced; the ledger stays empty', async () => {
    // Long add timeouts: the writer must not give up on b1 and change the ensemble during the test.
    const writer = await BookKeeper.create({
      metadataServiceUri: cluster.metadataServiceUri,
      addEntryTimeoutSec: 60,
    });
    const recoverer = await BookKeeper.create({ metadataServiceUri: cluster.metadataServiceUri });
    try {
      const handle = await writer.createLedger({
        ensembleSize: 3,
        writeQuorumSize: 3,
        ackQuorumSize: 2,
        password: PASSWORD,
      });
      const ledgerId = handle.ledgerId;
      const [b1, b2, b3] = handle
        .getLedgerMetadata()
        .ensembles[0]!.ensemble.map((bookieId) => cluster.proxy(cluster.bookieIds.indexOf(bookieId)));
      // Only the writer adds: the recoverer finds nothing to re-add.
      const plainAdd = { direction: 'request', operation: OperationType.ADD_ENTRY, ledgerId } as const;
      b1!.rule(plainAdd, 'drop');
      b3!.rule(plainAdd, 'hold');
      b3!.rule(
        {
          direction: 'request',
          operation: OperationType.READ_ENTRY,
          ledgerId,
          entryId: -1n,
          flag: ReadRequestFlag.FENCE_LEDGER,
        },
        'drop',
      );
      b2!.rule({ direction: 'response', operation: OperationType.READ_ENTRY, ledgerId, entryId: 0n }, 'hold');

      let acknowledged = false;
      const append = handle.append('entry 0 of the old writer').then(
        () => (acknowledged = true),
        (error: unknown) => error,
      );
      // (Held messages are logged once released; the dropped add to b1 and b2's answer show the add went out.)
      await eventually('entry 0 to reach b2 and be dropped on its way to b1', () =>
        b2!.seen({ ...plainAdd, direction: 'response', status: StatusCode.EOK }).length === 1 &&
        b1!.seen({ ...plainAdd, fate: 'dropped' }).length === 1
          ? true
          : undefined,
      );

      const read = await recoverer.openLedger({ ledgerId, password: PASSWORD, recovery: true });
      expect([read.getLastAddConfirmed(), read.getLength()]).toEqual([-1n, 0n]);
      // The fencing read never reached b3; the recovery read of entry 0 did, with the fence flag.
      expect(
        b3!.seen({
          direction: 'request',
          operation: OperationType.READ_ENTRY,
          entryId: -1n,
          fate: 'dropped',
        }),
      ).toHaveLength(1);
      expect(
        b3!.seen({
          direction: 'request',
          operation: OperationType.READ_ENTRY,
          entryId: 0n,
          flag: ReadRequestFlag.FENCE_LEDGER,
          fate: 'passed',
        }),
      ).toHaveLength(1);

      // Now the old writer's add arrives at b3: fenced, so entry 0 never reaches its ack quorum.
      b3!.clearRules();
      expect(b3!.release({ direction: 'request', operation: OperationType.ADD_ENTRY })).toBe(1);
      const outcome = await append;
      expect(acknowledged).toBe(false);
      expect(isBKError(outcome, 'LedgerFencedException')).toBe(true);
      expect(b3!.seen({ ...plainAdd, direction: 'response', status: StatusCode.EFENCED })).toHaveLength(1);
      const metadata = await recoverer.getLedgerMetadata(ledgerId);
      expect([metadata.state, metadata.lastEntryId, metadata.length]).toEqual(['CLOSED', -1n, 0n]);
      b2!.clearRules();
      b2!.release();
    } finally {
      await recoverer.close();
      await writer.close();
    }
  });
});
