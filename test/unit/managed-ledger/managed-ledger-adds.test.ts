/**
 * The add pipeline of ManagedLedger against a scripted BookKeeper, so that the orders of events real bookies
 * make rare happen on purpose: a failure in the middle of a batch, a close that fails and a recovery that finds
 * entries whose add had failed, a re-sent add that had filled the old ledger, a fenced ledger. The metadata store
 * is the real embedded one (RocksDB in a temp dir); the fake client holds ledgers in memory and lets the test
 * confirm or fail each add.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../common';
import { BKError } from '../../../ledger-client';
import type { BookKeeper } from '../../../ledger-client';
import { ManagedLedger } from '../../../managed-ledger/managed-ledger';
import { managedLedgerConfig } from '../../../managed-ledger/managed-ledger-config';
import type { ManagedLedgerConfig } from '../../../managed-ledger/managed-ledger-config';
import { MetaStore } from '../../../managed-ledger/meta-store';
import type { Position } from '../../../managed-ledger/position';
import { EmbeddedMetadataStore } from '../../../metadata';

interface PendingWrite {
  entryId: bigint;
  data: Buffer;
  resolve: (id: bigint) => void;
  reject: (e: unknown) => void;
}

/** A ledger of the fake client: entries confirmed so far, adds waiting for the test. */
class FakeLedger {
  readonly entries: Buffer[] = [];
  pending: PendingWrite[] = [];
  closed = false;
  /** What close() does: succeed, or fail (the managed ledger then recovers the ledger). */
  closeFails = false;
  /** Entries a recovery finds beyond the confirmed ones (adds that failed here but reached the bookies). */
  extraOnRecovery = 0;

  constructor(readonly ledgerId: bigint) {}

  /** Confirms the next `n` pending adds in order. */
  confirm(n = this.pending.length): void {
    for (const w of this.pending.splice(0, n)) {
      this.entries.push(w.data);
      w.resolve(w.entryId);
    }
  }

  /** Fails every pending add, as the client does after an ensemble change it cannot make. */
  failAll(error: unknown): void {
    const failed = this.pending.splice(0);
    this.failedData.push(...failed.map((w) => w.data));
    for (const w of failed) w.reject(error);
  }

  readonly failedData: Buffer[] = [];
}

class FakeBookKeeper {
  readonly config = { nettyMaxFrameSizeBytes: 5 * 1024 * 1024 };
  readonly ledgers = new Map<bigint, FakeLedger>();
  autoConfirm = true;

  async createLedgerAdv(options: { ledgerId: bigint }): Promise<unknown> {
    const ledger = new FakeLedger(options.ledgerId);
    this.ledgers.set(options.ledgerId, ledger);
    const autoConfirm = (): boolean => this.autoConfirm;
    return {
      ledgerId: options.ledgerId,
      write(entryId: bigint, data: Buffer): Promise<bigint> {
        return new Promise((resolve, reject) => {
          if (ledger.closed) {
            reject(new BKError('LedgerClosedException', 'closed'));
            return;
          }
          const write = { entryId, data, resolve, reject };
          ledger.pending.push(write);
          // Confirmed a turn later (as a bookie's answer would be), with every add before it.
          if (autoConfirm()) {
            setImmediate(() => {
              const i = ledger.pending.indexOf(write);
              if (i >= 0) ledger.confirm(i + 1);
            });
          }
        });
      },
      async close(): Promise<void> {
        if (ledger.closeFails) throw new BKError('MetaStoreException', 'metadata store unreachable');
        ledger.failAll(new BKError('LedgerClosedException', 'closed'));
        ledger.closed = true;
      },
      abort(error: BKError): void {
        ledger.failAll(error);
      },
      getLastAddConfirmed: () => BigInt(ledger.entries.length - 1),
      getLength: () => BigInt(ledger.entries.reduce((n, e) => n + e.length, 0)),
    };
  }

  /** Runs once, at the next recovery open (what another owner does meanwhile). */
  beforeRecovery: (() => Promise<void>) | undefined;

  async openLedger(options: { ledgerId: bigint; recovery: boolean }): Promise<unknown> {
    const hook = options.recovery ? this.beforeRecovery : undefined;
    this.beforeRecovery = undefined;
    await hook?.();
    const ledger = this.ledgers.get(options.ledgerId);
    if (ledger === undefined) throw new BKError('NoSuchLedgerExistsOnMetadataServerException', 'gone');
    if (options.recovery && !ledger.closed) {
      // The recovery finds the extra entries on the bookies and closes the ledger with them.
      ledger.entries.push(...ledger.failedData.splice(0, ledger.extraOnRecovery));
      ledger.closed = true;
    }
    return {
      getLastAddConfirmed: () => BigInt(ledger.entries.length - 1),
      getLength: () => BigInt(ledger.entries.reduce((n, e) => n + e.length, 0)),
      close: async () => undefined,
      readUnconfirmed: async (first: bigint, last: bigint) =>
        ledger.entries.slice(Number(first), Number(last) + 1).map((data, i) => ({
          ledgerId: ledger.ledgerId,
          entryId: first + BigInt(i),
          length: data.length,
          data,
        })),
    };
  }

  async deleteLedger(ledgerId: bigint): Promise<void> {
    this.ledgers.delete(ledgerId);
  }

  ledger(ledgerId: bigint): FakeLedger {
    return this.ledgers.get(ledgerId)!;
  }
}

let dir: string;
let store: EmbeddedMetadataStore;
let seq = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ml-adds-'));
  store = await EmbeddedMetadataStore.open({ dir, logger: silentLogger() });
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(
  bk: FakeBookKeeper,
  config: Partial<ManagedLedgerConfig> = {},
  name = `t/ns/persistent/adds-${++seq}`,
): Promise<ManagedLedger> {
  return ManagedLedger.open({
    name,
    // Retention -1: without cursors everything counts as consumed, and the test looks at the closed ledgers.
    config: managedLedgerConfig({
      managedLedgerMinLedgerRolloverTimeMinutes: 0,
      defaultRetentionTimeInMinutes: -1,
      defaultRetentionSizeInMB: -1,
      ...config,
    }),
    metaStore: new MetaStore(store),
    bookKeeper: bk as unknown as BookKeeper,
    logger: silentLogger(),
  });
}

const data = (i: number): Buffer => Buffer.from(`e${i}`);
const text = (entries: Buffer[]): string[] => entries.map((b) => b.toString());
const range = (from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `e${from + i}`);

/** Adds `count` entries from `first`; each outcome is recorded in completion order. */
function addAll(ml: ManagedLedger, first: number, count: number) {
  const done: number[] = [];
  const promises = Array.from({ length: count }, (_, i) =>
    ml.addEntry(data(first + i)).then((p: Position) => {
      done.push(first + i);
      return p;
    }),
  );
  return { done, all: Promise.all(promises) };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('managed-ledger > adds (scripted client)', () => {
  it('a failure in the middle of a batch: the confirmed prefix stays, the rest goes in order to a new ledger', async () => {
    const bk = new FakeBookKeeper();
    const ml = await open(bk);
    const first = ml.getLedgersInfo()[0]!.ledgerId;
    bk.autoConfirm = false;
    const adds = addAll(ml, 0, 10);
    await settle();
    bk.ledger(first).confirm(4);
    bk.autoConfirm = true;
    bk.ledger(first).failAll(new BKError('NotEnoughBookiesException', 'no bookie to replace one'));
    const positions = await adds.all;
    expect(adds.done).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(positions.slice(0, 4).every((p) => p.ledgerId === first)).toBe(true);
    const second = positions[4]!.ledgerId;
    expect(second > first).toBe(true);
    expect(positions.slice(4).map((p) => Number(p.entryId))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(text(bk.ledger(first).entries)).toEqual(range(0, 4));
    expect(text(bk.ledger(second).entries)).toEqual(range(4, 10));
    expect(ml.getLedgersInfo().map((l) => [l.ledgerId, l.entries])).toEqual([
      [first, 4],
      [second, 6],
    ]);
    await ml.close();
  });

  it('a close that fails is replaced by a recovery; adds it finds in the ledger count as confirmed there', async () => {
    const bk = new FakeBookKeeper();
    const ml = await open(bk);
    const first = ml.getLedgersInfo()[0]!.ledgerId;
    bk.autoConfirm = false;
    const adds = addAll(ml, 0, 8);
    await settle();
    const ledger = bk.ledger(first);
    ledger.confirm(3);
    ledger.closeFails = true;
    ledger.extraOnRecovery = 2; // e3 and e4 reached the bookies although their adds failed here
    bk.autoConfirm = true;
    ledger.failAll(new BKError('NotEnoughBookiesException', 'no bookie to replace one'));
    const positions = await adds.all;
    expect(adds.done).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(positions.slice(0, 5).map((p) => [p.ledgerId, Number(p.entryId)])).toEqual(
      [0, 1, 2, 3, 4].map((e) => [first, e]),
    );
    const second = positions[5]!.ledgerId;
    expect(text(bk.ledger(second).entries)).toEqual(range(5, 8));
    expect(ml.getLedgersInfo().map((l) => l.entries)).toEqual([5, 3]);
    // Nothing twice, nothing missing, in order.
    expect([...text(ledger.entries), ...text(bk.ledger(second).entries)]).toEqual(range(0, 8));
    await ml.close();
  });

  it('an add that filled the failed ledger does not close the new one when it is sent again', async () => {
    const bk = new FakeBookKeeper();
    const ml = await open(bk, { managedLedgerMaxEntriesPerLedger: 3 });
    const first = ml.getLedgersInfo()[0]!.ledgerId;
    bk.autoConfirm = false;
    const adds = addAll(ml, 0, 4);
    await settle();
    // e2 filled the ledger (e3 waits for the next one); e2 fails.
    expect(bk.ledger(first).pending).toHaveLength(3);
    bk.ledger(first).confirm(2);
    bk.autoConfirm = true;
    bk.ledger(first).failAll(new BKError('WriteException', 'bookie error'));
    const positions = await adds.all;
    for (let i = 0; i < 20; i++) await settle();
    // e2 and e3 are the new ledger's first two entries, and it stays open for a third.
    const ledgers = ml.getLedgersInfo();
    expect(ledgers.map((l) => [l.entries, l.timestamp === 0])).toEqual([
      [2, false],
      [2, true],
    ]);
    expect(positions[3]!.ledgerId).toBe(ledgers[1]!.ledgerId);
    expect(text(bk.ledger(ledgers[1]!.ledgerId).entries)).toEqual(range(2, 4));
    expect(ml.getState()).toBe('LedgerOpened');
    await ml.close();
  });

  it('a fenced ledger fences the managed ledger: pending and later adds fail with ManagedLedgerFenced', async () => {
    const bk = new FakeBookKeeper();
    const ml = await open(bk);
    const first = ml.getLedgersInfo()[0]!.ledgerId;
    await addAll(ml, 0, 2).all;
    bk.autoConfirm = false;
    const pending = Array.from({ length: 3 }, (_, i) => ml.addEntry(data(2 + i)).catch((e: unknown) => e));
    await settle();
    bk.ledger(first).failAll(new BKError('LedgerFencedException', 'fenced'));
    for (const outcome of await Promise.all(pending))
      expect(outcome).toMatchObject({ code: 'ManagedLedgerFenced' });
    expect(ml.getState()).toBe('Fenced');
    await expect(ml.addEntry(data(9))).rejects.toMatchObject({ code: 'ManagedLedgerFenced' });
    expect(bk.ledgers.size).toBe(1);
    await ml.close();
  });

  it('an open that loses its compare-and-set to the previous owner starts again from what that owner wrote', async () => {
    const bk = new FakeBookKeeper();
    const name = `t/ns/persistent/adds-${++seq}`;
    const previous = await open(bk, {}, name);
    await addAll(previous, 0, 3).all;
    const metaStore = new MetaStore(store);
    let interfered = 0;
    // While the new owner recovers the last ledger, the previous one writes the metadata (as a rollover would).
    bk.beforeRecovery = async () => {
      interfered++;
      const current = (await metaStore.getManagedLedgerInfo(name))!;
      await metaStore.putManagedLedgerInfo(name, current.value, current.version);
    };
    const next = await open(bk, {}, name);
    expect(interfered).toBe(1);
    expect(next.getState()).toBe('LedgerOpened');
    expect(next.getLedgersInfo().map((l) => l.entries)).toEqual([3, 0]);
    const stored = (await metaStore.getManagedLedgerInfo(name))!.value;
    expect(stored.ledgers.map((l) => l.ledgerId)).toEqual(next.getLedgersInfo().map((l) => l.ledgerId));
    // The ledger the lost attempt created is gone.
    expect([...bk.ledgers.keys()]).toEqual(stored.ledgers.map((l) => l.ledgerId));
    await next.close();
  });
});
