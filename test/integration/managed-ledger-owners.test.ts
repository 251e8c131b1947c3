/**
 * Goal: when a second process opens a managed ledger that another process owns, the first owner is fenced: it
 * never gets another add acknowledged, every add it had acknowledged is still there for the new owner, and its
 * failed attempts leave the new owner's managed ledger working (issue 5 "Two owners").
 * Method: three real bookies on a real etcd (BookieCluster), E=Qw=Qa=2. Owner A is a child process
 * (test/fixtures/managed-ledger-process.js, our compiled code from dist/) that prints a JSON line per
 * acknowledged or failed add; owner B is this test process, with its own BookKeeper client and metadata store
 * connection. B's open recovers (fences) A's current ledger, so B's view of A's entries is fixed once its open
 * completes: every add A ever had acknowledged must be in it, which also means none was acknowledged after.
 * Three moments: A appending continuously with 16 adds in flight when B opens; A frozen (SIGSTOP) with adds in
 * flight while B opens, then resumed; and A idle when B opens and only then trying to add. Afterwards B still appends, and a third open sees A's acknowledged entries followed by B's.
 */
import type { ManagedLedger, ManagedLedgerConfig } from '../../managed-ledger';
import {
  ManagedLedgerChild,
  managedLedgerCluster,
  payload,
  readToEnd,
} from '../fixtures/managed-ledger-child';
import type { ChildLine, ManagedLedgerCluster } from '../fixtures/managed-ledger-child';

/**
 * Ledgers roll every 100 entries, so idle A's chain has two ledgers when B takes over. A streaming (or frozen
 * mid-stream, when its last metadata write may still be on its way to etcd) rolls only every 5,000 entries: a
 * new owner's open fails (ManagedLedgerFenced, as Pulsar's initialize) when the old owner rolls over between the
 * new owner's metadata read and its compare-and-set, and an owner rolling every 100 entries at ~1,000 adds/s
 * can win that race open after open.
 */
const CONFIG: Partial<ManagedLedgerConfig> = {
  managedLedgerDefaultEnsembleSize: 2,
  managedLedgerDefaultWriteQuorum: 2,
  managedLedgerDefaultAckQuorum: 2,
  managedLedgerMaxEntriesPerLedger: 100,
  managedLedgerMinLedgerRolloverTimeMinutes: 0,
  defaultRetentionTimeInMinutes: -1,
  defaultRetentionSizeInMB: -1,
};
const STREAMING_CONFIG: Partial<ManagedLedgerConfig> = { ...CONFIG, managedLedgerMaxEntriesPerLedger: 5000 };
/** What a fenced owner's add may fail with: the managed ledger's fence, or BookKeeper's under it. */
const FENCED_CODES = ['ManagedLedgerFenced', 'LedgerFencedException'];

/** Every entry of `ml`, as "position payload" lines. */
function readAll(ml: ManagedLedger): Promise<string[]> {
  return readToEnd(ml.newNonDurableCursor('earliest'), (e) => `${e.position} ${e.data.toString()}`);
}

/** A's adds, as the lines it printed: acknowledged ones in order, failed ones with their codes. */
function outcomes(lines: ChildLine[]) {
  const acked = lines
    .filter((l) => l.a !== undefined)
    .map((l) => ({ i: l.a!, line: `${l.p} ${payload('A', l.a!)}` }));
  const failed = lines.filter((l) => l.f !== undefined);
  return { acked, failed };
}

describe('managed-ledger > two owners across processes', () => {
  let started: ManagedLedgerCluster;
  const children: ManagedLedgerChild[] = [];
  managedLedgerCluster(
    3,
    () => children,
    (s) => (started = s),
  );
  const factory = (config = CONFIG) => started.factory(config);

  /**
   * Starts owner A (a child process) on managed ledger `name`, lets `beforeB` drive it, then opens the managed
   * ledger here as owner B and hands `afterB` B's instance and every entry B found; B is closed after.
   */
  async function twoOwners(
    name: string,
    config: Partial<ManagedLedgerConfig>,
    beforeB: (a: ManagedLedgerChild) => Promise<void>,
    afterB: (a: ManagedLedgerChild, ml: ManagedLedger, seenByB: string[]) => Promise<void>,
  ): Promise<void> {
    const a = ManagedLedgerChild.spawn({
      mode: 'owner',
      metadataServiceUri: started.cluster.metadataServiceUri,
      name,
      tag: 'A',
      config,
    });
    children.push(a);
    await a.waitFor('A to be ready', (l) => l.ready === true);
    await beforeB(a);
    const b = factory(config);
    try {
      const ml = await b.open(name);
      await afterB(a, ml, await readAll(ml));
    } finally {
      await b.close();
    }
  }

  /**
   * The checks common to every moment, once A has stopped: A's acknowledged adds are 0..n-1 in order, each where
   * B found it; what B found of A's is A's adds 0..m-1 (m >= n: some unacknowledged adds may have made it);
   * every add after the first failure failed too, with a fencing code; A ends Fenced; B still appends, and a
   * third owner reads A's entries then B's.
   */
  async function checkAfterFence(name: string, a: ManagedLedgerChild, ml: ManagedLedger, seenByB: string[]) {
    const { acked, failed } = outcomes(a.lines);
    expect(acked.map((x) => x.i)).toEqual(acked.map((_, i) => i));
    expect(seenByB.slice(0, acked.length)).toEqual(acked.map((x) => x.line));
    expect(seenByB.map((line) => line.slice(line.indexOf(' ') + 1))).toEqual(
      seenByB.map((_, i) => payload('A', i)),
    );
    expect(failed.length).toBeGreaterThan(0);
    expect(Math.min(...failed.map((l) => l.f!))).toBeGreaterThanOrEqual(acked.length);
    for (const f of failed) {
      // The add's own code, or the code of an error it wraps, says fenced.
      expect({
        add: f.f,
        codes: [f.code, ...(f.causes ?? [])].filter((c) => FENCED_CODES.includes(c!)).length > 0,
      }).toEqual({ add: f.f, codes: true });
    }
    expect(a.lines.filter((l) => l.done === true).pop()?.state).toBe('Fenced');

    // A's attempts did not disturb B: B's view is unchanged and B still appends.
    expect(await readAll(ml)).toEqual(seenByB);
    const bPositions: string[] = [];
    for (let i = 0; i < 10; i++)
      bPositions.push(`${await ml.addEntry(Buffer.from(payload('B', i)))} ${payload('B', i)}`);
    expect(ml.getState()).toBe('LedgerOpened');
    await ml.close();

    a.send({ exit: true });
    await a.whenEnded();
    expect(a.exitCode).toBe(0);

    const third = factory();
    try {
      const reopened = await third.open(name);
      expect(await readAll(reopened)).toEqual([...seenByB, ...bPositions]);
    } finally {
      await third.close();
    }
  }

  test.each([
    { moment: 'A appending with 16 adds in flight when B opens', frozen: false },
    { moment: 'A frozen mid-stream while B opens, then resumed,', frozen: true },
  ])('$moment gets no add acknowledged that B does not have', async ({ frozen }) => {
    const name = `public/default/persistent/owners-${frozen ? 'frozen' : 'streaming'}`;
    await twoOwners(
      name,
      STREAMING_CONFIG,
      async (a) => {
        a.send({ stream: true });
        await a.waitFor('A to have 300 adds acknowledged', (l) => l.a === 299);
        // Frozen with adds in flight: their answers wait in A's sockets while B recovers A's ledger.
        if (frozen) await a.freeze();
      },
      async (a, ml, seenByB) => {
        const ackedWhenBOpened = outcomes(a.lines).acked.length;
        if (frozen) a.resume();
        await a.waitFor('A to stop after its adds failed', (l) => l.done === true);
        expect(seenByB.length).toBeGreaterThanOrEqual(ackedWhenBOpened);
        await checkAfterFence(name, a, ml, seenByB);
      },
    );
  });

  test('A idle when B opens fails every later add', async () => {
    const name = 'public/default/persistent/owners-idle';
    await twoOwners(
      name,
      CONFIG,
      async (a) => {
        a.send({ append: 150, inFlight: 8 });
        await a.waitFor('A to have appended 150 entries', (l) => l.done === true);
        expect(outcomes(a.lines).failed).toEqual([]);
      },
      async (a, ml, seenByB) => {
        expect(seenByB.length).toBe(150);
        const before = a.lines.length;
        a.send({ append: 20, inFlight: 4 });
        await a.waitFor('A to try 20 more adds', (l) => l.done === true && a.lines.indexOf(l) >= before);
        const after = outcomes(a.lines.slice(before));
        expect(after.acked).toEqual([]);
        expect(after.failed.map((l) => l.f)).toEqual(Array.from({ length: 20 }, (_, i) => 150 + i));
        await checkAfterFence(name, a, ml, seenByB);
      },
    );
  });
});
