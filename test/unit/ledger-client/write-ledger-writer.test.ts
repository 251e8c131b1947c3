import type { BKError } from '../../../ledger-client/errors';
import { LedgerWriter } from '../../../ledger-client/write/ledger-writer';
import type { LedgerMetadata, MetadataStore, VersionedLedgerMetadata } from '../../../metadata';
import { DigestManager, DigestType, masterKey, StatusCode } from '../../../protocol';
import { eventually, openLedgerMetadata, TempDirs } from '../../harness';
import { fakeContext, openStore } from './write-fakes';
import type { FakeContext } from './write-fakes';

const PASSWORD = Buffer.from('secret');
const LEDGER_ID = 7n;
const [B1, B2, B3, B4, B5] = ['b1:3181', 'b2:3181', 'b3:3181', 'b4:3181', 'b5:3181'] as const;

interface Completion {
  entryId: bigint;
  error: BKError | undefined;
}

describe('ledger-client > write > LedgerWriter', () => {
  const dirs = new TempDirs();
  let store: MetadataStore;
  let ctx: FakeContext;
  let completions: Completion[];

  beforeEach(async () => {
    store = await openStore(dirs.make('ledgerline-writer-'));
    completions = [];
  });

  afterEach(async () => {
    await store.close();
    dirs.removeAll();
  });

  async function createWriter(
    options: {
      quorums?: [number, number];
      spares?: string[];
      delayEnsembleChange?: boolean;
      deferredSync?: boolean;
      recovery?: boolean;
    } = {},
  ): Promise<LedgerWriter> {
    ctx = fakeContext(store, options.spares ?? [B1, B2, B3, B4, B5], {
      delayEnsembleChange: options.delayEnsembleChange ?? false,
    });
    const [writeQuorumSize, ackQuorumSize] = options.quorums ?? [2, 2];
    const md: LedgerMetadata = { ...openLedgerMetadata([B1, B2, B3]), writeQuorumSize, ackQuorumSize };
    const created = await ctx.ledgerManager.createLedgerMetadata(LEDGER_ID, md);
    return new LedgerWriter(ctx, {
      ledgerId: LEDGER_ID,
      metadata: created,
      digest: DigestManager.create(LEDGER_ID, PASSWORD, DigestType.CRC32C),
      masterKey: masterKey(PASSWORD),
      lastAddConfirmed: -1n,
      length: 0n,
      recovery: options.recovery ?? false,
      deferredSync: options.deferredSync ?? false,
    });
  }

  function add(writer: LedgerWriter, entryId: bigint, payload = `entry ${entryId}`): void {
    writer.addEntry(entryId, Buffer.from(payload), (error, id) => completions.push({ entryId: id, error }));
  }

  function released(): bigint[] {
    return completions.filter((c) => c.error === undefined).map((c) => c.entryId);
  }

  function stored(): Promise<VersionedLedgerMetadata> {
    return ctx.ledgerManager.readLedgerMetadata(LEDGER_ID);
  }

  /** Resolves once the writer's ensemble change has been written and applied. */
  function changed(writer: LedgerWriter, segments: number, ensemble: string[]): Promise<true> {
    return eventually(`an ensemble change to ${ensemble.join(',')}`, () => {
      const md = writer.metadata().metadata;
      const last = writer.currentEnsemble();
      return md.ensembles.length === segments && last.join() === ensemble.join() ? true : undefined;
    });
  }

  test('stripes entries over the write sets (e + i) mod E and packs the current LAC into each', async () => {
    const writer = await createWriter();
    for (let e = 0n; e < 3n; e++) add(writer, e);
    expect(ctx.bookieClient.sent).toEqual([`${B1}/0`, `${B2}/0`, `${B2}/1`, `${B3}/1`, `${B3}/2`, `${B1}/2`]);
    ctx.bookieClient.ackAll(0n);
    add(writer, 3n);
    const digest = DigestManager.create(LEDGER_ID, PASSWORD, DigestType.CRC32C);
    const sent = ctx.bookieClient.inFlight.find((a) => a.request.entryId === 3n)!;
    const entry = digest.verifyEntry(3n, sent.request.body);
    expect(entry).toMatchObject({ lastAddConfirmed: 0n, length: 28n, payload: Buffer.from('entry 3') });
    expect(sent.request.masterKey).toEqual(masterKey(PASSWORD));
  });

  test('releases completions strictly in entryId order when acknowledgements arrive out of order', async () => {
    const writer = await createWriter();
    for (let e = 0n; e < 4n; e++) add(writer, e);
    ctx.bookieClient.ackAll(2n);
    ctx.bookieClient.ackAll(3n);
    ctx.bookieClient.answer(B2, 1n);
    ctx.bookieClient.answer(B3, 1n);
    expect(completions).toEqual([]);
    expect(writer.lastAddConfirmed()).toBe(-1n);
    ctx.bookieClient.answer(B1, 0n);
    expect(completions).toEqual([]);
    ctx.bookieClient.answer(B2, 0n);
    expect(released()).toEqual([0n, 1n, 2n, 3n]);
    expect(writer.lastAddConfirmed()).toBe(3n);
    expect(writer.length()).toBe(28n);
    expect(writer.pendingCount()).toBe(0);
  });

  test('an entry completes at Qa distinct acknowledgements; a repeated one from the same bookie counts once', async () => {
    const writer = await createWriter({ quorums: [3, 2] });
    add(writer, 0n);
    ctx.bookieClient.answer(B1, 0n);
    // The same bookie answering again (the fake lets a test send a second OK for one request).
    ctx.bookieClient.addEntry(
      B1,
      ctx.bookieClient.inFlight[0]!.request,
      ctx.bookieClient.inFlight[0]!.callback,
    );
    ctx.bookieClient.answer(B1, 0n);
    expect(completions).toEqual([]);
    ctx.bookieClient.answer(B3, 0n);
    expect(released()).toEqual([0n]);
    // The third copy arriving later changes nothing.
    ctx.bookieClient.answer(B2, 0n);
    expect(completions).toHaveLength(1);
  });

  test('a failure before anything was confirmed replaces the first segment and resends to the new bookie', async () => {
    const writer = await createWriter();
    add(writer, 0n);
    add(writer, 1n);
    ctx.bookieClient.answer(B1, 0n);
    ctx.bookieClient.failAdd(B2, 0n, 'timeout');
    await changed(writer, 1, [B1, B4, B3]);
    const md = (await stored()).metadata;
    expect(md.ensembles).toEqual([{ firstEntryId: 0n, ensemble: [B1, B4, B3] }]);
    // Entry 0 (index 1 in its write set) and entry 1 (index 1 first) go to the replacement.
    expect(ctx.bookieClient.has(B4, 0n)).toBe(true);
    expect(ctx.bookieClient.has(B4, 1n)).toBe(true);
    expect(completions).toEqual([]);
    ctx.bookieClient.answer(B4, 0n);
    expect(released()).toEqual([0n]);
    expect(ctx.placement.failures).toEqual([B2]);
  });

  test('a failure after confirmed entries appends a segment from LAC + 1', async () => {
    const writer = await createWriter();
    add(writer, 0n);
    add(writer, 1n);
    ctx.bookieClient.ackAll(0n);
    ctx.bookieClient.ackAll(1n);
    add(writer, 2n);
    add(writer, 3n);
    ctx.bookieClient.answer(B1, 2n, StatusCode.EIO);
    await changed(writer, 2, [B4, B2, B3]);
    expect((await stored()).metadata.ensembles).toEqual([
      { firstEntryId: 0n, ensemble: [B1, B2, B3] },
      { firstEntryId: 2n, ensemble: [B4, B2, B3] },
    ]);
    // Entry 2's write set is indexes 2, 0; entry 3's is 0, 1: both held B1.
    ctx.bookieClient.answer(B3, 2n);
    ctx.bookieClient.answer(B4, 2n);
    ctx.bookieClient.answer(B4, 3n);
    ctx.bookieClient.answer(B2, 3n);
    expect(released()).toEqual([0n, 1n, 2n, 3n]);
  });

  test('no add completes while an ensemble change is in progress', async () => {
    const writer = await createWriter();
    add(writer, 0n);
    add(writer, 1n);
    let letGo!: () => void;
    ctx.ledgerManager.hold = new Promise((resolve) => (letGo = resolve));
    ctx.bookieClient.failAdd(B3, 1n, 'connection-lost');
    await eventually('the metadata write to start', () => (ctx.ledgerManager.writes > 0 ? true : undefined));
    ctx.bookieClient.ackAll(0n);
    add(writer, 2n);
    // Entry 0 has its quorum and is at the head, but the change is not done: nothing is released, and the new
    // add waits unsent.
    expect(completions).toEqual([]);
    expect(ctx.bookieClient.sent.filter((s) => s.endsWith('/2'))).toEqual([]);
    letGo();
    await changed(writer, 1, [B1, B2, B4]);
    await eventually('entry 0 to be released', () => (completions.length === 1 ? true : undefined));
    expect(released()).toEqual([0n]);
    // Entry 2 goes to its write set on the new ensemble: indexes 2, 0.
    expect(ctx.bookieClient.has(B4, 2n)).toBe(true);
    expect(ctx.bookieClient.has(B1, 2n)).toBe(true);
  });

  test('an acknowledgement from a replaced bookie that arrives after the change does not count', async () => {
    const writer = await createWriter();
    add(writer, 0n);
    add(writer, 1n);
    ctx.bookieClient.failAdd(B2, 0n, 'timeout');
    await changed(writer, 1, [B1, B4, B3]);
    // B2 still had entry 1 in flight; its late OK must not help entry 1 to its quorum.
    ctx.bookieClient.answer(B2, 1n);
    ctx.bookieClient.answer(B3, 1n);
    ctx.bookieClient.answer(B1, 0n);
    expect(completions).toEqual([]);
    ctx.bookieClient.answer(B4, 0n);
    expect(released()).toEqual([0n]);
    ctx.bookieClient.answer(B4, 1n);
    expect(released()).toEqual([0n, 1n]);
  });

  test('an acknowledgement already counted from the replaced bookie is forgotten', async () => {
    const writer = await createWriter();
    add(writer, 0n);
    add(writer, 1n);
    // Entry 1 reaches its quorum on B2 and B3 but cannot be released before entry 0.
    ctx.bookieClient.ackAll(1n);
    ctx.bookieClient.failAdd(B2, 0n, 'timeout');
    await changed(writer, 1, [B1, B4, B3]);
    ctx.bookieClient.answer(B1, 0n);
    ctx.bookieClient.answer(B4, 0n);
    // Entry 1 is now on B4 and B3 by the metadata: it waits for B4.
    expect(released()).toEqual([0n]);
    ctx.bookieClient.answer(B4, 1n);
    expect(released()).toEqual([0n, 1n]);
  });

  test('EFENCED fails every pending add in order, and every later add, with LedgerFencedException', async () => {
    const writer = await createWriter();
    for (let e = 0n; e < 3n; e++) add(writer, e);
    ctx.bookieClient.ackAll(0n);
    ctx.bookieClient.ackAll(2n);
    ctx.bookieClient.answer(B2, 1n, StatusCode.EFENCED);
    expect(completions.map((c) => [c.entryId, c.error?.code])).toEqual([
      [0n, undefined],
      [1n, 'LedgerFencedException'],
      [2n, 'LedgerFencedException'],
    ]);
    expect(completions[1]!.error!.message).toContain(`ledger ${LEDGER_ID}`);
    expect(completions[1]!.error!.bookieId).toBe(B2);
    expect(writer.lastAddConfirmed()).toBe(0n);
    add(writer, 3n);
    await eventually('the refused add', () => (completions.length === 4 ? true : undefined));
    expect(completions[3]!.error!.code).toBe('LedgerFencedException');
    expect(ctx.bookieClient.listenerCount()).toBe(0);
    await writer.drain();
  });

  test('EUA fails the ledger with UnauthorizedAccessException; a closed client with ClientClosedException', async () => {
    const writer = await createWriter();
    add(writer, 0n);
    ctx.bookieClient.answer(B1, 0n, StatusCode.EUA);
    expect(completions[0]!.error!.code).toBe('UnauthorizedAccessException');

    completions = [];
    await ctx.ledgerManager.removeLedgerMetadata(LEDGER_ID, 'any');
    const other = await createWriter();
    add(other, 0n);
    ctx.bookieClient.failAdd(B2, 0n, 'client-closed');
    expect(completions[0]!.error!.code).toBe('ClientClosedException');
  });

  test('a transport that fails synchronously still calls back after addEntry returned', async () => {
    const writer = await createWriter();
    add(writer, 0n);
    ctx.bookieClient.syncFailure = 'client-closed';
    add(writer, 1n);
    expect(completions).toEqual([]);
    await writer.drain();
    await new Promise((resolve) => process.nextTick(resolve));
    expect(completions.map((c) => [c.entryId, c.error?.code])).toEqual([
      [0n, 'ClientClosedException'],
      [1n, 'ClientClosedException'],
    ]);
  });

  test('a lost compare-and-set is re-read and retried, keeping the other change', async () => {
    const writer = await createWriter();
    add(writer, 0n);
    // Another client changes the metadata first, so the writer's version is stale.
    const current = await stored();
    const custom = new Map(current.metadata.customMetadata).set('owner', Buffer.from('someone'));
    await ctx.ledgerManager.writeLedgerMetadata(
      LEDGER_ID,
      { ...current.metadata, customMetadata: custom },
      current.version,
    );
    ctx.bookieClient.failAdd(B1, 0n);
    await changed(writer, 1, [B4, B2, B3]);
    const md = (await stored()).metadata;
    expect(md.ensembles).toEqual([{ firstEntryId: 0n, ensemble: [B4, B2, B3] }]);
    expect(md.customMetadata.get('owner')).toEqual(Buffer.from('someone'));
    expect(ctx.ledgerManager.writes).toBe(3);
  });

  test('metadata found CLOSED fails every add with LedgerClosedException; IN_RECOVERY with LedgerFencedException', async () => {
    for (const [state, code] of [
      ['CLOSED', 'LedgerClosedException'],
      ['IN_RECOVERY', 'LedgerFencedException'],
    ] as const) {
      completions = [];
      if (state === 'IN_RECOVERY') await ctx.ledgerManager.removeLedgerMetadata(LEDGER_ID, 'any');
      const writer = await createWriter();
      add(writer, 0n);
      add(writer, 1n);
      const current = await stored();
      await ctx.ledgerManager.writeLedgerMetadata(LEDGER_ID, { ...current.metadata, state }, current.version);
      ctx.bookieClient.failAdd(B2, 0n);
      await eventually('the adds to fail', () => (completions.length === 2 ? true : undefined));
      expect(completions.map((c) => c.error?.code)).toEqual([code, code]);
      expect((await stored()).metadata.ensembles[0]!.ensemble).toEqual([B1, B2, B3]);
    }
  });

  test('a recovery writer expects IN_RECOVERY metadata and sends RECOVERY_ADD', async () => {
    const writer = await createWriter({ recovery: true });
    const current = await stored();
    await ctx.ledgerManager.writeLedgerMetadata(
      LEDGER_ID,
      { ...current.metadata, state: 'IN_RECOVERY' },
      current.version,
    );
    add(writer, 0n);
    expect(ctx.bookieClient.inFlight[0]!.request.recoveryAdd).toBe(true);
    ctx.bookieClient.failAdd(B1, 0n);
    await changed(writer, 1, [B4, B2, B3]);
    expect((await stored()).metadata.state).toBe('IN_RECOVERY');
    ctx.bookieClient.ackAll(0n);
    expect(released()).toEqual([0n]);
  });

  test('too few bookies for a replacement fails every add with NotEnoughBookiesException after retrying', async () => {
    const writer = await createWriter({ spares: [B1, B2, B3] });
    add(writer, 0n);
    add(writer, 1n);
    ctx.bookieClient.failAdd(B1, 0n);
    await eventually('the adds to fail', () => (completions.length === 2 ? true : undefined), 10000);
    expect(completions.map((c) => c.error?.code)).toEqual([
      'NotEnoughBookiesException',
      'NotEnoughBookiesException',
    ]);
    expect(completions[0]!.error!.message).toContain(B1);
    expect((await stored()).metadata.ensembles[0]!.ensemble).toEqual([B1, B2, B3]);
  });

  test('a bookie that registers while the change retries becomes the replacement', async () => {
    const writer = await createWriter({ spares: [B1, B2, B3] });
    add(writer, 0n);
    ctx.bookieClient.failAdd(B1, 0n);
    ctx.placement.spares.push(B5);
    await changed(writer, 1, [B5, B2, B3]);
    ctx.bookieClient.ackAll(0n);
    expect(released()).toEqual([0n]);
  });

  test('failures during a change are handled by a second change after it', async () => {
    const writer = await createWriter();
    add(writer, 0n);
    add(writer, 1n);
    let letGo!: () => void;
    ctx.ledgerManager.hold = new Promise((resolve) => (letGo = resolve));
    ctx.bookieClient.failAdd(B1, 0n);
    await eventually('the metadata write to start', () => (ctx.ledgerManager.writes > 0 ? true : undefined));
    ctx.bookieClient.failAdd(B3, 1n);
    letGo();
    await changed(writer, 1, [B4, B2, B5]);
    expect((await stored()).metadata.ensembles).toEqual([{ firstEntryId: 0n, ensemble: [B4, B2, B5] }]);
    ctx.bookieClient.ackAll(0n);
    ctx.bookieClient.ackAll(1n);
    expect(released()).toEqual([0n, 1n]);
  });

  test('a connection failure reported by the pool starts the change for the adds waiting on that bookie', async () => {
    const writer = await createWriter();
    add(writer, 0n);
    ctx.bookieClient.answer(B1, 0n);
    ctx.bookieClient.connectionFailed(B2);
    await changed(writer, 1, [B1, B4, B3]);
    ctx.bookieClient.answer(B4, 0n);
    expect(released()).toEqual([0n]);
    // A bookie outside the ensemble, or no adds waiting on it, changes nothing.
    ctx.bookieClient.connectionFailed(B5);
    ctx.bookieClient.connectionFailed(B3);
    expect(writer.metadata().metadata.ensembles[0]!.ensemble).toEqual([B1, B4, B3]);
  });

  test('delayEnsembleChange keeps a failed bookie while Qa is met, and replaces it once it is not', async () => {
    const writer = await createWriter({ quorums: [3, 2], delayEnsembleChange: true });
    add(writer, 0n);
    ctx.bookieClient.failAdd(B3, 0n);
    ctx.bookieClient.answer(B1, 0n);
    ctx.bookieClient.answer(B2, 0n);
    expect(released()).toEqual([0n]);
    add(writer, 1n);
    ctx.bookieClient.failAdd(B2, 1n);
    ctx.bookieClient.answer(B1, 1n);
    expect(ctx.bookieClient.has(B3, 1n)).toBe(true);
    expect(ctx.ledgerManager.writes).toBe(0);
    ctx.bookieClient.failAdd(B3, 1n);
    // Entry 1 cannot reach Qa=2 any more: both failed bookies (B3 from entry 0 too) are replaced at once.
    await changed(writer, 2, [B1, B4, B5]);
    expect(writer.metadata().metadata.ensembles[1]!.firstEntryId).toBe(1n);
    ctx.bookieClient.answer(B4, 1n);
    expect(released()).toEqual([0n, 1n]);
  });

  test('delayEnsembleChange still changes at once for a read-only bookie', async () => {
    const writer = await createWriter({ quorums: [3, 2], delayEnsembleChange: true });
    add(writer, 0n);
    ctx.bookieClient.answer(B3, 0n, StatusCode.EREADONLY);
    await changed(writer, 1, [B1, B2, B4]);
  });

  test('caller-given ids: out of order, released in order; a confirmed or pending id is a duplicate', async () => {
    const writer = await createWriter();
    add(writer, 2n);
    add(writer, 0n);
    add(writer, 1n);
    add(writer, 1n);
    await eventually('the duplicate to fail', () => (completions.length === 1 ? true : undefined));
    expect(completions[0]).toMatchObject({ entryId: 1n, error: { code: 'DuplicateEntryIdException' } });
    expect(writer.lastAddPushed()).toBe(2n);
    ctx.bookieClient.ackAll(2n);
    ctx.bookieClient.ackAll(1n);
    ctx.bookieClient.ackAll(0n);
    expect(released()).toEqual([0n, 1n, 2n]);
    add(writer, 0n);
    add(writer, -1n);
    await eventually('both to fail', () => (completions.length === 6 ? true : undefined));
    expect(completions.slice(4).map((c) => c.error?.code)).toEqual([
      'DuplicateEntryIdException',
      'IncorrectParameterException',
    ]);
  });

  test('DEFERRED_SYNC: adds are released without advancing the LAC; force() advances it', async () => {
    const writer = await createWriter({ deferredSync: true });
    add(writer, 0n);
    add(writer, 1n);
    expect(ctx.bookieClient.inFlight[0]!.request.deferredSync).toBe(true);
    ctx.bookieClient.ackAll(0n);
    ctx.bookieClient.ackAll(1n);
    expect(released()).toEqual([0n, 1n]);
    expect(writer.lastAddConfirmed()).toBe(-1n);
    expect(await writer.force()).toBe(1n);
    expect(ctx.bookieClient.forced.sort()).toEqual([B1, B2, B3]);
    expect(writer.lastAddConfirmed()).toBe(1n);
    expect(writer.length()).toBe(14n);
    ctx.bookieClient.forceStatus = StatusCode.EIO;
    await expect(writer.force()).rejects.toMatchObject({ code: 'WriteException', ledgerId: LEDGER_ID });
  });

  test('drain resolves once every pending add is released or failed; a too large entry is refused', async () => {
    const writer = await createWriter();
    add(writer, 0n);
    let drained = false;
    void writer.drain().then(() => (drained = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false);
    ctx.bookieClient.ackAll(0n);
    await writer.drain();
    expect(drained).toBe(true);
    await expect(
      writer.addEntryAsync(1n, Buffer.alloc(ctx.config.nettyMaxFrameSizeBytes)),
    ).rejects.toMatchObject({
      code: 'IncorrectParameterException',
    });
  });
});
