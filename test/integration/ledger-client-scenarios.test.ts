/**
 * Goal: the fault scenarios S2–S5 of reliability.md §2 (the defects the TLA+ model found in BookKeeper, and the
 * races it checks) end as the protocol says, as a user of the ledger client sees them: the recovered ledger
 * keeps every entry that may have been acknowledged, recovery finishes without the bookies the scenario takes
 * away, recoverers agree, and the old writer never gets another acknowledgement. Also: a recovery-open with a
 * wrong password fences nothing; a writer whose ledger was deleted fails clearly once it touches the metadata.
 * Method: five real bookies behind FaultProxies (BookieCluster, proxied) on one etcd. The proxies drop, hold or
 * delay exact messages (an add of one entry to one bookie, one bookie's answers), bookies are made read-only
 * to force ensemble changes at a chosen entry, and one is wiped. Each test uses its own clients: the writer
 * with long add timeouts, so that only the faults the test injects change its ensemble. The wipe test is last:
 * its bookie never comes back.
 */
import { BookKeeper, isBKError } from '../../ledger-client';
import type { BookKeeperOptions, WriteHandle } from '../../ledger-client';
import { AddRequestFlag, OperationType, StatusCode } from '../../protocol';
import type { MessageFilter, ProxiedMessage } from '../harness';
import { BookieCluster, eventually, requireBuiltBookie } from '../harness';
import type { FaultProxy } from '../harness';
import { lengthUpTo, payload, rejection } from './ledger-client-read-fixtures';

const PASSWORD = 'scenario-test';

describe('ledger-client > fault scenarios S2–S5 behind fault proxies', () => {
  let cluster: BookieCluster;
  const clients: BookKeeper[] = [];
  const readOnly = new Set<number>();

  beforeAll(async () => {
    requireBuiltBookie();
    cluster = await BookieCluster.start({ bookies: 5, proxied: true });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    for (let i = 0; i < cluster.size; i++) {
      if (cluster.bookie(i).state !== 'running') continue;
      cluster.proxy(i).clearRules();
      cluster.proxy(i).release();
    }
    for (const index of readOnly) await cluster.setReadOnly(index, false);
    readOnly.clear();
  });

  afterAll(async () => {
    await cluster?.close();
  });

  async function client(options: Partial<BookKeeperOptions> = {}): Promise<BookKeeper> {
    const bk = await BookKeeper.create({ metadataServiceUri: cluster.metadataServiceUri, ...options });
    clients.push(bk);
    return bk;
  }

  function indexOf(bookieId: string): number {
    return cluster.bookieIds.indexOf(bookieId);
  }

  function proxyOf(bookieId: string): FaultProxy {
    return cluster.proxy(indexOf(bookieId));
  }

  async function makeReadOnly(bookieId: string): Promise<void> {
    readOnly.add(indexOf(bookieId));
    await cluster.setReadOnly(indexOf(bookieId), true);
  }

  /** Appends entries first..last (payload()) and expects each to be confirmed with its id. */
  async function appendRange(handle: WriteHandle, first: number, last: number): Promise<void> {
    const ids = await Promise.all(
      Array.from({ length: last - first + 1 }, (_, i) =>
        handle.append(payload(handle.ledgerId, BigInt(first + i))),
      ),
    );
    expect(ids).toEqual(Array.from({ length: last - first + 1 }, (_, i) => BigInt(first + i)));
  }

  /** The outcome of an append that is expected to fail later: its error, or 'acknowledged'. */
  function pending(append: Promise<bigint>): Promise<unknown> {
    return append.then(
      () => 'acknowledged',
      (error: unknown) => error,
    );
  }

  async function expectEntries(bk: BookKeeper, ledgerId: bigint, lastEntryId: bigint): Promise<void> {
    const read = await bk.openLedger({ ledgerId, password: PASSWORD, recovery: false });
    const entries = await read.read(0n, lastEntryId);
    expect(entries.map((e) => e.data)).toEqual(
      Array.from({ length: Number(lastEntryId) + 1 }, (_, i) => payload(ledgerId, BigInt(i))),
    );
  }

  const addOf = (ledgerId: bigint, entryId?: bigint) =>
    ({ direction: 'request', operation: OperationType.ADD_ENTRY, ledgerId, entryId }) as const;

  interface WrittenLedger {
    writer: BookKeeper;
    handle: WriteHandle;
    ledgerId: bigint;
    /** The first segment's bookie ids. */
    ensemble: string[];
  }

  /**
   * A writer (add timeouts of 60 s: only injected faults change its ensemble) with a ledger of ensemble size
   * = write quorum = `size` (ack quorum `ackQuorumSize`), entries 0..lastEntryId confirmed.
   */
  async function writtenLedger(lastEntryId: number, size = 3, ackQuorumSize = 2): Promise<WrittenLedger> {
    const writer = await client({ addEntryTimeoutSec: 60 });
    const handle = await writer.createLedger({
      ensembleSize: size,
      writeQuorumSize: size,
      ackQuorumSize,
      password: PASSWORD,
    });
    await appendRange(handle, 0, lastEntryId);
    return {
      writer,
      handle,
      ledgerId: handle.ledgerId,
      ensemble: handle.getLedgerMetadata().ensembles[0]!.ensemble,
    };
  }

  /**
   * Appends entryId, which the rules already set keep from all but `holder`; resolves once `holder` stored it,
   * to the append's outcome (wrapped: an async function's promise would wait for it).
   */
  async function appendStoredOnlyOn(
    handle: WriteHandle,
    entryId: bigint,
    holder: FaultProxy,
  ): Promise<{ outcome: Promise<unknown> }> {
    const outcome = pending(handle.append(payload(handle.ledgerId, entryId)));
    const stored = {
      ...addOf(handle.ledgerId, entryId),
      direction: 'response',
      status: StatusCode.EOK,
    } as const;
    await eventually(`entry ${entryId} to be stored on ${holder.address}`, () =>
      holder.seen(stored).length === 1 ? true : undefined,
    );
    return { outcome };
  }

  /**
   * Appends entry 10 with `held` adds held at the second and third bookies of `ensemble`, and their answers to
   * reads of entry 10 a second late; resolves once the first bookie stored it.
   */
  async function entry10OnFirstOnly(handle: WriteHandle, ensemble: string[], held: MessageFilter) {
    const [a, b, c] = ensemble.map(proxyOf) as [FaultProxy, FaultProxy, FaultProxy];
    const readOf10 = { direction: 'response', operation: OperationType.READ_ENTRY, entryId: 10n } as const;
    for (const p of [b, c]) {
      p.rule(held, 'hold');
      p.rule({ ...readOf10, ledgerId: handle.ledgerId }, { delayMs: 1000 });
    }
    return { a, b, c, entry10: (await appendStoredOnlyOn(handle, 10n, a)).outcome };
  }

  /** The writer's own (not recovery) add of entryId. */
  const writerAdd =
    (ledgerId: bigint, entryId: bigint) =>
    (m: ProxiedMessage): boolean =>
      m.direction === 'request' &&
      m.operation === OperationType.ADD_ENTRY &&
      m.ledgerId === ledgerId &&
      m.entryId === entryId &&
      m.flag !== AddRequestFlag.RECOVERY_ADD;

  test('S2: the last segment’s bookies never saw an entry (LAC −1): recovery reads only that segment and closes at its first entry − 1', async () => {
    const { handle, ledgerId, ensemble } = await writtenLedger(4, 2, 2);
    const [a, b] = ensemble as [string, string];

    // Segment 2 from entry 5: a turns read-only, its EREADONLY answer replaces it.
    await makeReadOnly(a);
    await appendRange(handle, 5, 9);
    const twoSegments = handle.getLedgerMetadata().ensembles;
    expect(twoSegments.map((s) => s.firstEntryId)).toEqual([0n, 5n]);
    const x = twoSegments[1]!.ensemble[0]!;
    expect([x === a, twoSegments[1]!.ensemble[1]]).toEqual([false, b]);

    // Segment 3 from entry 10 on the last two writable bookies, which never receive entry 10 (held).
    const rest = cluster.bookieIds.filter((id) => ![a, b, x].includes(id));
    expect(rest).toHaveLength(2);
    for (const id of rest) proxyOf(id).rule(addOf(ledgerId), 'hold');
    await makeReadOnly(x);
    await makeReadOnly(b);
    const entry10 = pending(handle.append(payload(ledgerId, 10n)));
    await eventually('entry 10 to be resent to the third segment and held there', () =>
      rest.every((id) => proxyOf(id).held.length === 1) ? true : undefined,
    );
    const beforeRecovery = handle.getLedgerMetadata().ensembles;
    expect(beforeRecovery.map((s) => s.firstEntryId)).toEqual([0n, 5n, 10n]);
    expect([...beforeRecovery[2]!.ensemble].sort()).toEqual([...rest].sort());

    const recoverer = await client();
    const read = await recoverer.openLedger({ ledgerId, password: PASSWORD, recovery: true });
    expect([read.getLastAddConfirmed(), read.getLength()]).toEqual([9n, lengthUpTo(ledgerId, 9n)]);
    const metadata = await recoverer.getLedgerMetadata(ledgerId);
    expect([metadata.state, metadata.lastEntryId]).toEqual(['CLOSED', 9n]);
    // The older segments are untouched: recovery neither re-read nor replaced them.
    expect(metadata.ensembles).toEqual(beforeRecovery);
    // Recovery fenced and read the third segment only: of the older segments it read just entry 9 (for the
    // ledger's length), unfenced; it neither re-read them from 0 nor changed them.
    for (const id of [a, b, x]) {
      const reads = proxyOf(id)
        .seen({ direction: 'request', ledgerId })
        .filter((m) => m.operation !== OperationType.ADD_ENTRY);
      expect(
        reads.every(
          (m) => m.operation === OperationType.READ_ENTRY && m.entryId === 9n && m.flag === undefined,
        ),
      ).toBe(true);
    }
    await expectEntries(recoverer, ledgerId, 9n);

    // The held entry 10 reaches the fenced bookies: refused, never acknowledged.
    for (const id of rest) expect(proxyOf(id).release()).toBe(1);
    const outcome = await entry10;
    expect(isBKError(outcome, 'LedgerFencedException')).toBe(true);
    expect((await recoverer.getLedgerMetadata(ledgerId)).lastEntryId).toBe(9n);
  });

  test('S4: a bookie that never answers during recovery: Qw − Qa + 1 "no such entry" from the others decide, without waiting for its timeout', async () => {
    const { writer, handle, ledgerId, ensemble } = await writtenLedger(4);
    const [a, b, c] = ensemble.map(proxyOf) as [FaultProxy, FaultProxy, FaultProxy];
    // Entry 5 reaches c only: never acknowledged. Then the writer's process is gone.
    a.rule(addOf(ledgerId, 5n), 'drop');
    b.rule(addOf(ledgerId, 5n), 'drop');
    const entry5 = (await appendStoredOnlyOn(handle, 5n, c)).outcome;
    await writer.close();
    expect(isBKError(await entry5, 'ClientClosedException')).toBe(true);

    // c hangs: it gets every request and its answers are held.
    c.rule({ direction: 'response' }, 'hold');
    const recoverer = await client({ readEntryTimeoutSec: 30, addEntryTimeoutSec: 30 });
    const started = performance.now();
    const read = await recoverer.openLedger({ ledgerId, password: PASSWORD, recovery: true });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect([read.getLastAddConfirmed(), read.getLength()]).toEqual([4n, lengthUpTo(ledgerId, 4n)]);
    // c was asked and does answer, but its answer is held: recovery decided without it. The answer may reach
    // the proxy after recovery is done (c's bookie is as slow as the machine), so wait for it rather than race.
    await eventually(
      "c's answer to a recovery read, held by its proxy",
      () =>
        c.held.some((m) => m.operation === OperationType.READ_ENTRY && m.ledgerId === ledgerId) || undefined,
    );
    const metadata = await recoverer.getLedgerMetadata(ledgerId);
    expect([metadata.state, metadata.lastEntryId]).toEqual(['CLOSED', 4n]);

    // c's late answers (it has entry 5) change nothing.
    c.clearRules();
    c.release();
    await expectEntries(recoverer, ledgerId, 4n);
    const after = await recoverer.getLedgerMetadata(ledgerId);
    expect([after.lastEntryId, after.length, after.ensembles]).toEqual([
      4n,
      metadata.length,
      metadata.ensembles,
    ]);
  });

  test('S5: two recoverers race while the writer is live: one end, both see it, the writer is at or below it and fenced', async () => {
    const { handle, ledgerId, ensemble } = await writtenLedger(9);
    // Entry 10 is on a; the writer's adds of it to b and c are held (in flight). b's and c's "no such entry"
    // for 10 come late, so a's copy decides: entry 10 may have been acknowledged as far as recovery can tell.
    const { b, c, entry10 } = await entry10OnFirstOnly(handle, ensemble, writerAdd(ledgerId, 10n));

    const [r1, r2] = [await client(), await client()];
    const [h1, h2] = await Promise.all([
      r1.openLedger({ ledgerId, password: PASSWORD, recovery: true }),
      r2.openLedger({ ledgerId, password: PASSWORD, recovery: true }),
    ]);
    expect([h1.isClosed(), h2.isClosed()]).toEqual([true, true]);
    expect([h1.getLastAddConfirmed(), h2.getLastAddConfirmed()]).toEqual([10n, 10n]);
    expect(h1.getLength()).toBe(h2.getLength());
    const metadata = await r1.getLedgerMetadata(ledgerId);
    expect([metadata.state, metadata.lastEntryId, metadata.length]).toEqual([
      'CLOSED',
      10n,
      lengthUpTo(ledgerId, 10n),
    ]);
    expect(handle.getLastAddConfirmed()).toBeLessThanOrEqual(10n);

    // The writer's held adds reach fenced bookies: entry 10 is never acknowledged to it, nor anything after.
    b.clearRules();
    c.clearRules();
    expect(b.release() + c.release()).toBe(2);
    expect(isBKError(await entry10, 'LedgerFencedException')).toBe(true);
    expect(handle.getLastAddConfirmed()).toBe(9n);
    expect(isBKError(await rejection(handle.append('after the race')), 'LedgerFencedException')).toBe(true);
    await expectEntries(r2, ledgerId, 10n);
    expect((await r2.getLedgerMetadata(ledgerId)).lastEntryId).toBe(10n);
  });

  test('S5, late loser: a recoverer whose re-add needs an ensemble change after the other recoverer closed adopts that close', async () => {
    const { handle, ledgerId, ensemble } = await writtenLedger(9);
    // Entry 10 is on a only; b and c hold every add of it (the writer's and the recoverers' re-adds), and
    // their "no such entry" answers come late, so both recoverers find entry 10 on a and must re-add it.
    const { b, c, entry10 } = await entry10OnFirstOnly(handle, ensemble, addOf(ledgerId, 10n));

    // The slow recoverer's re-add waits 4 s on b and c; the fast one gives up on them after 1 s, moves entry 10
    // to the spare bookies and closes. Then the slow one's ensemble change finds the ledger CLOSED.
    const slow = await client({ addEntryTimeoutSec: 4 });
    const fast = await client({ addEntryTimeoutSec: 1 });
    const slowOpen = slow.openLedger({ ledgerId, password: PASSWORD, recovery: true });
    await eventually('the slow recoverer’s re-add of entry 10 to be held at b', () =>
      b.held.some((m) => m.flag === AddRequestFlag.RECOVERY_ADD) ? true : undefined,
    );
    const fastHandle = await fast.openLedger({ ledgerId, password: PASSWORD, recovery: true });
    expect(fastHandle.getLastAddConfirmed()).toBe(10n);
    const closed = await fast.getLedgerMetadata(ledgerId);
    expect([closed.state, closed.lastEntryId, closed.length]).toEqual([
      'CLOSED',
      10n,
      lengthUpTo(ledgerId, 10n),
    ]);

    const slowHandle = await slowOpen;
    expect([slowHandle.isClosed(), slowHandle.getLastAddConfirmed(), slowHandle.getLength()]).toEqual([
      true,
      10n,
      lengthUpTo(ledgerId, 10n),
    ]);
    const after = await slow.getLedgerMetadata(ledgerId);
    expect([after.lastEntryId, after.length, after.ensembles]).toEqual([
      10n,
      closed.length,
      closed.ensembles,
    ]);
    for (const p of [b, c]) {
      p.clearRules();
      p.release();
    }
    expect(isBKError(await entry10, 'LedgerFencedException')).toBe(true);
    await expectEntries(slow, ledgerId, 10n);
  });

  test('a recovery-open with a wrong password is refused and fences nothing: the writer goes on', async () => {
    const writer = await client();
    const handle = await writer.createLedger({
      ensembleSize: 3,
      writeQuorumSize: 3,
      ackQuorumSize: 2,
      password: PASSWORD,
    });
    await appendRange(handle, 0, 2);
    const intruder = await client();
    const refused = await rejection(
      intruder.openLedger({ ledgerId: handle.ledgerId, password: 'not the password', recovery: true }),
    );
    expect(isBKError(refused, 'UnauthorizedAccessException')).toBe(true);
    expect(refused.message).toContain(String(handle.ledgerId));
    expect((await intruder.getLedgerMetadata(handle.ledgerId)).state).toBe('OPEN');
    for (const id of handle.getLedgerMetadata().ensembles[0]!.ensemble) {
      expect(proxyOf(id).seen({ operation: OperationType.READ_ENTRY, ledgerId: handle.ledgerId })).toEqual(
        [],
      );
    }
    await appendRange(handle, 3, 5);
    await handle.close();
    expect((await intruder.getLedgerMetadata(handle.ledgerId)).lastEntryId).toBe(5n);
  });

  test('a deleted ledger: the writer’s next ensemble change and its close fail with NoSuchLedgerExistsOnMetadataServerException naming it', async () => {
    const { handle, ledgerId, ensemble } = await writtenLedger(2);
    await (await client()).deleteLedger(ledgerId);
    // A bookie turning read-only makes the next append change the ensemble, which finds no metadata.
    await makeReadOnly(ensemble[0]!);
    const append = await rejection(handle.append(payload(ledgerId, 3n)));
    expect(isBKError(append, 'NoSuchLedgerExistsOnMetadataServerException')).toBe(true);
    expect(append.message).toContain(String(ledgerId));
    const close = await rejection(handle.close());
    expect(isBKError(close, 'NoSuchLedgerExistsOnMetadataServerException')).toBe(true);
    expect(close.message).toContain(String(ledgerId));
  });

  test('S3: a wiped bookie is refused when it restarts (cookie); recovery without it keeps an acknowledged entry only one other bookie has', async () => {
    const { writer, handle, ledgerId, ensemble } = await writtenLedger(8);
    const [w, x, y] = ensemble as [string, string, string];
    // Entry 9 is acknowledged by w and x; y never gets it. Then the writer's process is gone.
    proxyOf(y).rule(addOf(ledgerId, 9n), 'drop');
    expect(await handle.append(payload(ledgerId, 9n))).toBe(9n);
    const stored9 = { ...addOf(ledgerId, 9n), direction: 'response', status: StatusCode.EOK } as const;
    expect([proxyOf(w).seen(stored9).length, proxyOf(x).seen(stored9).length]).toEqual([1, 1]);
    expect(proxyOf(y).seen({ ...addOf(ledgerId, 9n), fate: 'dropped' })).toHaveLength(1);
    await writer.close();
    proxyOf(y).clearRules();

    // w loses its disks. Were it to rejoin empty, w and y would be Qw − Qa + 1 = 2 "no such entry" for the
    // acknowledged entry 9 and recovery would cut it off. The cookie in etcd keeps it out.
    await cluster.wipe(indexOf(w));
    await expect(cluster.restart(indexOf(w))).rejects.toThrow(/cookie/i);
    expect(cluster.bookie(indexOf(w)).state).toBe('dead');

    const recoverer = await client();
    const read = await recoverer.openLedger({ ledgerId, password: PASSWORD, recovery: true });
    expect([read.getLastAddConfirmed(), read.getLength()]).toEqual([9n, lengthUpTo(ledgerId, 9n)]);
    const metadata = await recoverer.getLedgerMetadata(ledgerId);
    expect([metadata.state, metadata.lastEntryId]).toEqual(['CLOSED', 9n]);
    await expectEntries(recoverer, ledgerId, 9n);
  });
});
