import { ManagedCursor } from '../../../../managed-ledger/cursor/managed-cursor';
import { Position, decodePositionInfo } from '../../../../managed-ledger';
import type { ManagedCursorInfo, ManagedLedgerConfig } from '../../../../managed-ledger';
import { expectCode } from './expect-code';
import { FakeCursorHost } from './fake-host';

/**
 * How a durable cursor persists and recovers, over in-memory fakes of the metadata store and BookKeeper (the
 * same flows against real bookies and etcd are in test/integration/managed-ledger-cursor.test.ts): the node and
 * the cursor ledger, throttling and flushing, serialised persists, ledger rollover, the metadata fallback, and
 * recovery from the ledger or the node.
 */

function hostWith(config: Partial<ManagedLedgerConfig> = {}, from?: FakeCursorHost): FakeCursorHost {
  return new FakeCursorHost({ config, store: from?.store, bk: from?.bk });
}

async function node(host: FakeCursorHost, cursor = 'sub'): Promise<ManagedCursorInfo> {
  return (await host.metaStore.getCursorInfo(host.name, cursor))!.value;
}

/** The PositionInfo entries of a fake ledger, decoded. */
function positions(host: FakeCursorHost, ledgerId: bigint): string[] {
  return host.bk.ledgers.get(ledgerId)!.entries.map((e) => decodePositionInfo(e).position.toString());
}

/** Reopens the cursor on a host sharing the store and ledgers, with the same entries. */
function reopened(host: FakeCursorHost, config: Partial<ManagedLedgerConfig> = {}): FakeCursorHost {
  const again = hostWith(config, host);
  again.ledgers.splice(0, again.ledgers.length, ...host.ledgers);
  return again;
}

describe('managed-ledger > cursor > persistence', () => {
  it('creates the node without a ledger, then appends one PositionInfo per persist', async () => {
    const host = hostWith();
    const p = host.fill(5);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition(), new Map([['a', 1n]]));
    expect(await node(host)).toMatchObject({ cursorsLedgerId: -1n, markDelete: Position.of(1, -1) });
    expect(host.bk.creates).toBe(0);
    await cursor.markDelete(p[0]!);
    const ledgerId = (await node(host)).cursorsLedgerId;
    expect(ledgerId).toBeGreaterThan(0n);
    await cursor.markDelete(p[1]!, new Map([['seq', 7n]]));
    await cursor.delete(p[3]!);
    expect(positions(host, ledgerId)).toEqual(['1:0', '1:1', '1:1']);
    const last = decodePositionInfo(host.bk.ledgers.get(ledgerId)!.entries[2]!);
    expect(last.individualDeletedMessages).toEqual([{ lower: p[2], upper: p[3] }]);
    expect(last.properties).toEqual(new Map([['seq', 7n]]));
    expect(host.bk.ledgers.get(ledgerId)!.options.customMetadata).toMatchObject({
      'pulsar/managed-ledger': host.name,
      'pulsar/cursor': 'sub',
    });
    await expectCode(ManagedCursor.create(host, 'sub', host.getFirstPosition()), 'ManagedLedgerFenced');
  });

  it('writes at most managedLedgerMaxUnackedRangesToPersist ranges into a PositionInfo (the first ones)', async () => {
    const host = hostWith({ managedLedgerMaxUnackedRangesToPersist: 2 });
    const p = host.fill(10);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    await cursor.delete([p[2]!, p[4]!, p[6]!, p[8]!]);
    await cursor.close();
    const ledgerId = (await node(host)).cursorsLedgerId;
    const last = decodePositionInfo(host.bk.ledgers.get(ledgerId)!.entries.at(-1)!);
    expect(last.individualDeletedMessages).toEqual([
      { lower: p[1], upper: p[2] },
      { lower: p[3], upper: p[4] },
    ]);
    // Acks beyond the cap come back unacknowledged (redelivered), never the other way round.
    const recovered = await ManagedCursor.recover(reopened(host), 'sub');
    expect(recovered.getNumberOfEntriesInBacklog(true)).toBe(8);
  });

  it('recovers the last persisted state from the cursor ledger, and switches to a new ledger', async () => {
    const host = hostWith();
    const p = host.fill(8, 3);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    await cursor.markDelete(p[2]!, new Map([['x', 3n]]));
    await cursor.delete([p[4]!, p[6]!]);
    await cursor.putCursorProperty('owner', 'me');
    const oldLedger = (await node(host)).cursorsLedgerId;
    // No close: what was persisted is all there is.
    const again = reopened(host);
    const recovered = await ManagedCursor.recover(again, 'sub');
    expect(recovered.getMarkDeletedPosition()).toEqual(p[2]);
    expect(recovered.getReadPosition()).toEqual(p[3]);
    expect(recovered.getIndividuallyDeletedRanges()).toEqual([
      { lower: p[3], upper: p[4] },
      { lower: p[5], upper: p[6] },
    ]);
    expect(recovered.getProperties()).toEqual(new Map([['x', 3n]]));
    expect(recovered.getCursorProperties()).toEqual(new Map([['owner', 'me']]));
    expect(recovered.getNumberOfEntriesInBacklog()).toBe(3);
    // The old ledger was fenced by the recovery; the next persist goes to a new one and the old one goes.
    await recovered.delete(p[3]!);
    const newLedger = (await node(again)).cursorsLedgerId;
    expect(newLedger).not.toBe(oldLedger);
    await recovered.close();
    expect(host.bk.ledgers.has(oldLedger)).toBe(false);
    expect(positions(host, newLedger)).toEqual(['2:1']);
    await expectCode(ManagedCursor.recover(again, 'nobody'), 'CursorNotFound');
  });

  it('throttles persists to the rate limit, flushes on close, and never recovers behind a persisted position', async () => {
    const host = hostWith({ managedLedgerDefaultMarkDeleteRateLimit: 1 });
    const p = host.fill(50);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    for (let i = 0; i < 30; i++) await cursor.markDelete(p[i]!);
    expect(cursor.getMarkDeletedPosition()).toEqual(p[29]);
    const ledgerId = (await node(host)).cursorsLedgerId;
    expect(positions(host, ledgerId)).toEqual(['1:0']);
    // Without a flush a crash brings back the last persisted position (never an older one).
    const crashed = await ManagedCursor.recover(reopened(host), 'sub');
    expect(crashed.getMarkDeletedPosition()).toEqual(p[0]);
    await crashed.close();
    // The crashed instance's recovery fenced the first ledger; a fresh host shows close() flushing.
    const host2 = hostWith({ managedLedgerDefaultMarkDeleteRateLimit: 1 });
    const q = host2.fill(10);
    const cursor2 = await ManagedCursor.create(host2, 'sub', host2.getFirstPosition());
    for (let i = 0; i < 10; i++) await cursor2.delete(q[9 - i]!);
    await cursor2.close();
    const id2 = (await node(host2)).cursorsLedgerId;
    expect(positions(host2, id2)).toEqual(['1:-1', '1:9']);
  });

  it('persists a reset at once, whatever the rate limit', async () => {
    const host = hostWith({ managedLedgerDefaultMarkDeleteRateLimit: 1 });
    const p = host.fill(10);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    await cursor.markDelete(p[8]!);
    await cursor.resetCursor(p[3]!);
    await cursor.skipEntries(1); // throttled: memory only until flushed
    const recovered = await ManagedCursor.recover(reopened(host), 'sub');
    expect(recovered.getMarkDeletedPosition()).toEqual(p[2]);
    expect(recovered.getReadPosition()).toEqual(p[3]);
  });

  it('flushes a throttled position after managedLedgerCursorPositionFlushSeconds', async () => {
    const host = hostWith({
      managedLedgerDefaultMarkDeleteRateLimit: 1,
      managedLedgerCursorPositionFlushSeconds: 1,
    });
    const p = host.fill(5);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    await cursor.markDelete(p[0]!);
    await cursor.markDelete(p[3]!);
    const ledgerId = (await node(host)).cursorsLedgerId;
    expect(positions(host, ledgerId)).toEqual(['1:0']);
    await new Promise((r) => setTimeout(r, 1300));
    expect(positions(host, ledgerId)).toEqual(['1:0', '1:3']);
    await cursor.close();
    expect(positions(host, ledgerId)).toEqual(['1:0', '1:3']);
  });

  it('runs one write at a time; requests made meanwhile coalesce and positions only go forward', async () => {
    const host = hostWith();
    const p = host.fill(200);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    await Promise.all(p.map((position) => cursor.markDelete(position)));
    const written = positions(host, (await node(host)).cursorsLedgerId).map((s) => Position.parse(s));
    expect(written.length).toBeLessThan(10);
    expect(written[written.length - 1]).toEqual(p[199]);
    for (let i = 1; i < written.length; i++)
      expect(written[i]!.compareTo(written[i - 1]!)).toBeGreaterThanOrEqual(0);
  });

  it('rolls the cursor ledger at managedLedgerCursorMaxEntriesPerLedger and deletes the old one', async () => {
    const host = hostWith({ managedLedgerCursorMaxEntriesPerLedger: 3 });
    const p = host.fill(10);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    const seen = new Set<bigint>();
    for (let i = 0; i < 8; i++) {
      await cursor.markDelete(p[i]!);
      seen.add((await node(host)).cursorsLedgerId);
    }
    await cursor.close();
    const current = (await node(host)).cursorsLedgerId;
    expect(seen.size).toBe(3);
    expect([...host.bk.ledgers.keys()]).toEqual([current]);
    expect(positions(host, current)).toEqual(['1:6', '1:7']);
    expect((await ManagedCursor.recover(reopened(host), 'sub')).getMarkDeletedPosition()).toEqual(p[7]);
  });

  it('rolls the cursor ledger once it is managedLedgerCursorRolloverTimeInSeconds old', async () => {
    const host = hostWith({ managedLedgerCursorRolloverTimeInSeconds: 1 });
    const p = host.fill(4);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    await cursor.markDelete(p[0]!);
    await cursor.markDelete(p[1]!);
    const first = (await node(host)).cursorsLedgerId;
    await new Promise((r) => setTimeout(r, 1100));
    await cursor.markDelete(p[2]!);
    const second = (await node(host)).cursorsLedgerId;
    expect(second).not.toBe(first);
    await cursor.close();
    expect(host.bk.ledgers.has(first)).toBe(false);
    expect(positions(host, second)).toEqual(['1:2']);
  });

  it('falls back to the node when the ledger append fails, capping ranges, and recovers from it', async () => {
    const host = hostWith({ managedLedgerMaxUnackedRangesToPersistInMetadataStore: 2 });
    const p = host.fill(12);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    await cursor.markDelete(p[0]!);
    const firstLedger = (await node(host)).cursorsLedgerId;
    host.bk.failAppends = true;
    host.bk.failCreates = true;
    await cursor.delete([p[2]!, p[4]!, p[6]!, p[8]!]);
    const info = await node(host);
    expect(info.cursorsLedgerId).toBe(-1n);
    expect(info.markDelete).toEqual(p[0]);
    expect(info.individualDeletedMessages).toEqual([
      { lower: p[1], upper: p[2] },
      { lower: p[3], upper: p[4] },
    ]);
    // Up to 5, and 6 was acknowledged already: the mark-delete moves to 6.
    await cursor.markDelete(p[5]!);
    expect((await node(host)).markDelete).toEqual(p[6]);
    await cursor.close();
    expect(host.bk.ledgers.has(firstLedger)).toBe(false);
    const again = reopened(host);
    const recovered = await ManagedCursor.recover(again, 'sub');
    expect(recovered.getMarkDeletedPosition()).toEqual(p[6]);
    expect(recovered.getIndividuallyDeletedRanges()).toEqual([{ lower: p[7], upper: p[8] }]);
    // Bookies back: the next persist goes to a new ledger.
    host.bk.failAppends = false;
    host.bk.failCreates = false;
    await recovered.markDelete(p[7]!);
    const after = await node(again);
    expect(after.cursorsLedgerId).toBeGreaterThan(firstLedger);
    expect(positions(host, after.cursorsLedgerId)).toEqual(['1:8']);
  });

  it('recovers from the node when the cursor ledger is empty or gone', async () => {
    const host = hostWith();
    host.fill(4);
    const cursor = await ManagedCursor.create(host, 'sub', Position.of(1, 1));
    await cursor.markDelete(Position.of(1, 2));
    const ledgerId = (await node(host)).cursorsLedgerId;
    host.bk.ledgers.get(ledgerId)!.entries.length = 0;
    // The node's snapshot is the one written when the ledger was switched to.
    expect((await ManagedCursor.recover(reopened(host), 'sub')).getMarkDeletedPosition()).toEqual(
      Position.of(1, 2),
    );
    const recoveredAt = async () =>
      (await ManagedCursor.recover(reopened(host), 'sub')).getMarkDeletedPosition();
    host.bk.ledgers.get(ledgerId)!.entries.push(Buffer.from([0xff, 0xff])); // not a PositionInfo
    expect(await recoveredAt()).toEqual(Position.of(1, 2));
    host.bk.ledgers.delete(ledgerId);
    expect(await recoveredAt()).toEqual(Position.of(1, 2));
  });

  it('fails recovery with a retriable BookKeeperException while the cursor ledger cannot be reached', async () => {
    const host = hostWith();
    const p = host.fill(4);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    await cursor.markDelete(p[0]!);
    await cursor.markDelete(p[2]!); // in the ledger only; the node's snapshot says 1:0
    host.bk.failOpens = true;
    const err = await expectCode(ManagedCursor.recover(reopened(host), 'sub'), 'BookKeeperException');
    expect(err.message).toContain('cursor sub of managed ledger');
    host.bk.failOpens = false;
    expect((await ManagedCursor.recover(reopened(host), 'sub')).getMarkDeletedPosition()).toEqual(p[2]);
  });

  it('clamps a recovered position to the managed ledger (trimmed ledgers, entries gone)', async () => {
    const host = hostWith();
    const p = host.fill(9, 3);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    await cursor.markDelete(p[1]!);
    await cursor.delete(p[3]!);
    await cursor.close();
    const trimmed = reopened(host);
    trimmed.trim(2);
    const recovered = await ManagedCursor.recover(trimmed, 'sub');
    expect(recovered.getMarkDeletedPosition()).toEqual(Position.of(3, -1));
    expect(recovered.getReadPosition()).toEqual(p[6]);
    expect(recovered.getIndividuallyDeletedRanges()).toEqual([]);
  });

  it('removes its ledger and node', async () => {
    const host = hostWith();
    const p = host.fill(3);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    await cursor.markDelete(p[1]!);
    await cursor.remove();
    expect(await host.metaStore.getCursorInfo(host.name, 'sub')).toBeUndefined();
    expect(host.bk.ledgers.size).toBe(0);
    await expectCode(cursor.markDelete(p[2]!), 'CursorAlreadyClosed');
  });

  it("leaves a previous owner's cursor unable to persist once another owner recovered it", async () => {
    const host = hostWith();
    const p = host.fill(6);
    const old = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    await old.markDelete(p[1]!);
    const recovered = await ManagedCursor.recover(reopened(host), 'sub');
    // The old cursor's append hits the fenced ledger, and its fallback to the node loses the CAS.
    await expectCode(old.markDelete(p[4]!), 'ManagedLedgerFenced');
    await recovered.markDelete(p[2]!);
    expect((await ManagedCursor.recover(reopened(host), 'sub')).getMarkDeletedPosition()).toEqual(p[2]);
  });

  it('fails a persist with ManagedLedgerFenced when another owner wrote the node', async () => {
    const host = hostWith({ managedLedgerCursorMaxEntriesPerLedger: 1 });
    const p = host.fill(3);
    const cursor = await ManagedCursor.create(host, 'sub', host.getFirstPosition());
    await cursor.markDelete(p[0]!);
    const info = (await host.metaStore.getCursorInfo(host.name, 'sub'))!;
    await host.metaStore.putCursorInfo(host.name, 'sub', info.value, info.version);
    await expectCode(cursor.markDelete(p[1]!), 'ManagedLedgerFenced');
  });
});
