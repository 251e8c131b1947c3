/**
 * Goal: trimming deletes exactly the ledgers Pulsar would: closed ledgers every durable cursor has consumed (all
 * but the current one without a durable cursor), as far as retention by time and size allows, never one a
 * durable cursor still needs, never because of a non-durable cursor; the ledgers leave the metadata first and
 * BookKeeper after.
 * Method: real bookies and etcd (harness BookieCluster); small ledgers (managedLedgerMaxEntriesPerLedger) so a few
 * dozen entries make several; what is left is read from the managed ledger, its stored metadata and the ledger
 * metadata in etcd.
 */
import type { ManagedCursor, ManagedLedger, ManagedLedgerConfig } from '../../managed-ledger';
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

/**
 * A managed ledger with `count` entries of `size` bytes in ledgers of `perLedger` (then an open, empty one), and
 * a durable cursor at the start when `cursor` is given.
 */
async function filled(
  config: Partial<ManagedLedgerConfig>,
  count: number,
  perLedger: number,
  options: { size?: number; cursor?: string } = {},
): Promise<{ ml: ManagedLedger; cursor: ManagedCursor | undefined }> {
  const ml = await env.owner.factory.open(uniqueName('trim'), {
    managedLedgerMaxEntriesPerLedger: perLedger,
    ...config,
  });
  const cursor =
    options.cursor === undefined
      ? undefined
      : await ml.openCursor(options.cursor, { initialPosition: 'earliest' });
  for (let i = 0; i < count; i++) await ml.addEntry(payload(i, options.size));
  await eventually('the rollover after the last full ledger', () =>
    ml.getLedgersInfo().at(-1)!.entries === 0 && ml.getState() === 'LedgerOpened' ? true : undefined,
  );
  return { ml, cursor };
}

async function expectDeleted(ids: bigint[]): Promise<void> {
  for (const id of ids) {
    await eventually(`ledger ${id} to be deleted`, async () =>
      (await ledgerGone(env.owner.bk, id)) ? true : undefined,
    );
  }
}

describe('managed-ledger > trimming', () => {
  it('keeps everything with retention -1/-1, even with nothing holding it', async () => {
    const { ml } = await filled({ defaultRetentionTimeInMinutes: -1, defaultRetentionSizeInMB: -1 }, 20, 5);
    const before = ml.getLedgersInfo();
    expect(before).toHaveLength(5);
    await ml.trimConsumedLedgers();
    expect(ml.getLedgersInfo()).toEqual(before);
    expect(await readAll(ml)).toEqual(payloads(0, 20));
    await ml.close();
  });

  it('with retention 0 and no durable cursor deletes every closed ledger, metadata first, BookKeeper after', async () => {
    const ml = await env.owner.factory.open(uniqueName('trim'), {
      managedLedgerMaxEntriesPerLedger: 5,
      defaultRetentionTimeInMinutes: 0,
      defaultRetentionSizeInMB: 0,
    });
    // A non-durable reader at the start holds nothing back.
    const reader = ml.newNonDurableCursor('earliest');
    const seen = new Set<bigint>();
    for (let i = 0; i < 20; i++) seen.add((await ml.addEntry(payload(i))).ledgerId);
    expect(seen.size).toBe(4);
    // Trimming runs on its own after each rollover; an explicit call finds nothing more.
    await eventually('every closed ledger to be trimmed', () =>
      ml.getLedgersInfo().length === 1 && ml.getLedgersInfo()[0]!.entries === 0 ? true : undefined,
    );
    await ml.trimConsumedLedgers();
    const current = ml.getLedgersInfo()[0]!;
    expect(seen.has(current.ledgerId)).toBe(false);
    expect(ml.getNumberOfEntries()).toBe(0);
    const stored = await env.owner.factory.getManagedLedgerInfo(ml.name);
    expect(stored!.ledgers.map((l) => l.ledgerId)).toEqual([current.ledgerId]);
    await expectDeleted([...seen]);
    // The reader moved on to what is still there; new entries reach it.
    expect(await reader.readEntries(10)).toEqual([]);
    await ml.addEntry(payload(20));
    expect((await reader.readEntries(10)).map((e) => e.data.toString('latin1'))).toEqual(payloads(20, 1));
    await checkLedgerChaining(ml, env.owner.bk);
    await ml.close();
  });

  it('never deletes a ledger a durable cursor still needs; trims behind its mark-delete as it moves', async () => {
    const { ml, cursor } = await filled(
      { defaultRetentionTimeInMinutes: 0, defaultRetentionSizeInMB: 0 },
      20,
      5,
      {
        cursor: 'sub',
      },
    );
    const ledgers = ml.getLedgersInfo();
    expect(ledgers).toHaveLength(5);
    await ml.trimConsumedLedgers();
    expect(ml.getLedgersInfo()).toEqual(ledgers);

    // Consume up to the middle of the third ledger: the first two go (on their own, after the mark-delete).
    const entries = await cursor!.readEntries(12);
    await cursor!.markDelete(entries[11]!.position);
    expect(entries[11]!.position.ledgerId).toBe(ledgers[2]!.ledgerId);
    await eventually('the first two ledgers to be trimmed', () =>
      ml.getLedgersInfo()[0]!.ledgerId === ledgers[2]!.ledgerId ? true : undefined,
    );
    await expectDeleted([ledgers[0]!.ledgerId, ledgers[1]!.ledgerId]);
    expect(await readAll(ml)).toEqual(payloads(10, 10));

    // The last entry of a ledger consumed: that ledger goes too.
    const rest = await cursor!.readEntries(3);
    await cursor!.markDelete(rest[2]!.position);
    await eventually('the third ledger to be trimmed', () =>
      ml.getLedgersInfo()[0]!.ledgerId === ledgers[3]!.ledgerId ? true : undefined,
    );
    expect((await cursor!.readEntries(100)).map((e) => e.data.toString('latin1'))).toEqual(payloads(15, 5));
    await checkLedgerChaining(ml, env.owner.bk);
    await ml.close();
  });

  it('keeps consumed ledgers younger than defaultRetentionTimeInMinutes, then deletes them', async () => {
    // 0.02 minutes = 1.2 s.
    const { ml } = await filled({ defaultRetentionTimeInMinutes: 0.02, defaultRetentionSizeInMB: -1 }, 10, 5);
    const closed = ml.getLedgersInfo().slice(0, -1);
    await ml.trimConsumedLedgers();
    expect(ml.getLedgersInfo()).toHaveLength(3);
    await eventually(
      'retention to expire',
      () => (ml.getLedgersInfo().length === 1 ? true : undefined),
      5000,
    );
    await expectDeleted(closed.map((l) => l.ledgerId));
    await ml.close();
  });

  it('with a size limit deletes the oldest consumed ledgers while what remains stays at or above it', async () => {
    // Ten ledgers of 3 x 100 KiB; the limit 1 MiB keeps the newest ones that reach it.
    const { ml } = await filled({ defaultRetentionTimeInMinutes: -1, defaultRetentionSizeInMB: 1 }, 30, 3, {
      size: 100 * 1024,
    });
    await ml.trimConsumedLedgers();
    const left = ml.getLedgersInfo();
    const size = ml.getTotalSize();
    expect(size).toBeGreaterThanOrEqual(1024 * 1024);
    // One ledger fewer would fall below the limit.
    expect(size - left[0]!.size).toBeLessThan(1024 * 1024);
    expect(left.map((l) => l.entries)).toEqual([3, 3, 3, 3, 0]);
    expect(await readAll(ml)).toEqual(payloads(18, 12, 100 * 1024));
    await checkLedgerChaining(ml, env.owner.bk);
    await ml.close();
  });
});
