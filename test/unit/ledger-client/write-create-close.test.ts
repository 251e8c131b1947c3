import { createLedgerMetadata, ledgerParams } from '../../../ledger-client/write/create-ledger';
import { closeLedgerMetadata } from '../../../ledger-client/write/metadata-updates';
import type { LedgerIdGenerator, MetadataStore } from '../../../metadata';
import { captureError, openLedgerMetadata, TempDirs } from '../../harness';
import { fakeContext, openStore } from './write-fakes';
import type { FakeContext } from './write-fakes';

const BOOKIES = ['b1:3181', 'b2:3181', 'b3:3181'];

/** An id generator that hands out `ids` in turn. */
function idsInTurn(ids: bigint[]): LedgerIdGenerator {
  return { generateLedgerId: () => Promise.resolve(ids.shift()!) } as unknown as LedgerIdGenerator;
}

describe('ledger-client > write > create and close', () => {
  const dirs = new TempDirs();
  let store: MetadataStore;
  let ctx: FakeContext;

  beforeEach(async () => {
    store = await openStore(dirs.make('ledgerline-create-'));
    ctx = fakeContext(store, BOOKIES);
  });

  afterEach(async () => {
    await store.close();
    dirs.removeAll();
  });

  test('ledger parameters: BookKeeper defaults, and IncorrectParameterException for each bad one', () => {
    expect(ledgerParams({})).toMatchObject({
      ensembleSize: 3,
      writeQuorumSize: 2,
      ackQuorumSize: 2,
      digestType: 'CRC32C',
      password: Buffer.alloc(0),
      deferredSync: false,
    });
    expect(ledgerParams({ ensembleSize: 1 })).toMatchObject({ writeQuorumSize: 1, ackQuorumSize: 1 });
    // A writer keeps a bit per write-set member in a number: write quorums up to 53.
    expect(ledgerParams({ ensembleSize: 60, writeQuorumSize: 53, ackQuorumSize: 2 })).toMatchObject({
      writeQuorumSize: 53,
    });
    expect(ledgerParams({ password: 'pw', writeFlags: ['DEFERRED_SYNC'] })).toMatchObject({
      password: Buffer.from('pw'),
      deferredSync: true,
    });
    const bad: unknown[] = [
      { ensembleSize: 0 },
      { ensembleSize: 2, writeQuorumSize: 3 },
      { writeQuorumSize: 2, ackQuorumSize: 3 },
      { ensembleSize: 2000 },
      { ensembleSize: 60, writeQuorumSize: 54, ackQuorumSize: 2 },
      { ackQuorumSize: Number.NaN },
      { digestType: 'crc32' },
      { password: 5 },
      { password: null },
      { customMetadata: 'x' },
      { customMetadata: new Map([['k', 5]]) },
      { writeFlags: 'DEFERRED_SYNC' },
      { ledgerId: 5 },
      { ledgerId: 1n << 63n },
      null,
    ];
    for (const options of bad) {
      const error = captureError(() => ledgerParams(options as never));
      expect(error).toMatchObject({ code: 'IncorrectParameterException' });
    }
  });

  test('creates OPEN metadata with one segment from entry 0 on the placed ensemble', async () => {
    const before = BigInt(Date.now());
    const params = ledgerParams({ password: 'pw', digestType: 'HMAC', customMetadata: { app: 'x' } });
    const created = await createLedgerMetadata(ctx, params);
    const { metadata } = await ctx.ledgerManager.readLedgerMetadata(created.ledgerId);
    expect(metadata).toMatchObject({
      state: 'OPEN',
      ensembleSize: 3,
      writeQuorumSize: 2,
      ackQuorumSize: 2,
      lastEntryId: -1n,
      length: 0n,
      digestType: 'HMAC',
      password: Buffer.from('pw'),
      ensembles: [{ firstEntryId: 0n, ensemble: BOOKIES }],
    });
    expect(metadata.customMetadata.get('app')).toEqual(Buffer.from('x'));
    expect(metadata.ctime).toBeGreaterThanOrEqual(before);
  });

  test('a generated id that exists is replaced by a new one; an explicit one is LedgerExistException', async () => {
    await ctx.ledgerManager.createLedgerMetadata(11n, openLedgerMetadata(BOOKIES));
    const generated = { ...ctx, ledgerIdGenerator: idsInTurn([11n, 12n]) };
    expect((await createLedgerMetadata(generated, ledgerParams({}))).ledgerId).toBe(12n);
    const explicit = await createLedgerMetadata(ctx, ledgerParams({ ledgerId: 11n })).catch(
      (e: unknown) => e,
    );
    expect(explicit).toMatchObject({ code: 'LedgerExistException', ledgerId: 11n });
  });

  test('too few bookies is the placement policy NotEnoughBookiesException, and no metadata is written', async () => {
    const error = await createLedgerMetadata(ctx, ledgerParams({ ensembleSize: 4 })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NotEnoughBookiesException' });
    const ledgers: bigint[] = [];
    for await (const ledgerId of ctx.ledgerManager.listLedgers()) ledgers.push(ledgerId);
    expect(ledgers).toEqual([]);
  });

  test('close: CLOSED with the end; the same end already there is success, another is MetadataVersionException', async () => {
    const created = await ctx.ledgerManager.createLedgerMetadata(1n, openLedgerMetadata(BOOKIES));
    const closed = await closeLedgerMetadata(ctx, 1n, created, { lastEntryId: 9n, length: 90n });
    expect(closed.metadata).toMatchObject({ state: 'CLOSED', lastEntryId: 9n, length: 90n });
    // A stale version: the re-read finds the ledger closed at the same end.
    expect(await closeLedgerMetadata(ctx, 1n, created, { lastEntryId: 9n, length: 90n })).toEqual(closed);
    const conflict = await closeLedgerMetadata(ctx, 1n, created, { lastEntryId: 8n, length: 80n }).catch(
      (e: unknown) => e,
    );
    expect(conflict).toMatchObject({ code: 'MetadataVersionException', ledgerId: 1n });
    expect((conflict as Error).message).toContain('already closed at entry 9');
  });

  test('close over IN_RECOVERY metadata and over a concurrent change keeps the other change', async () => {
    const created = await ctx.ledgerManager.createLedgerMetadata(2n, openLedgerMetadata(BOOKIES));
    const recovering = await ctx.ledgerManager.writeLedgerMetadata(
      2n,
      { ...created.metadata, state: 'IN_RECOVERY', customMetadata: new Map([['by', Buffer.from('r')]]) },
      created.version,
    );
    expect(recovering.version).not.toBe(created.version);
    const closed = await closeLedgerMetadata(ctx, 2n, created, { lastEntryId: 4n, length: 40n });
    expect(closed.metadata).toMatchObject({ state: 'CLOSED', lastEntryId: 4n });
    expect(closed.metadata.customMetadata.get('by')).toEqual(Buffer.from('r'));
  });

  test('close of a deleted ledger is NoSuchLedgerExistsOnMetadataServerException', async () => {
    const created = await ctx.ledgerManager.createLedgerMetadata(3n, openLedgerMetadata(BOOKIES));
    await ctx.ledgerManager.removeLedgerMetadata(3n, 'any');
    await expect(
      closeLedgerMetadata(ctx, 3n, created, { lastEntryId: -1n, length: 0n }),
    ).rejects.toMatchObject({
      code: 'NoSuchLedgerExistsOnMetadataServerException',
      ledgerId: 3n,
    });
  });
});
