import fc from 'fast-check';
import { WriteCacheFullError } from '../../../../bookie/storage';
import type { DbLedgerStorage } from '../../../../bookie/storage';
import { TempDirs } from '../../../harness';
import { openStorage, packedEntry } from './storage-fixtures';

/*
 * Property: any sequence of adds, re-adds, flushes, reads, deletes, reopens and forced compactions leaves
 * DbLedgerStorage answering exactly as a plain in-memory map of (ledgerId, entryId) -> bytes. Small entry logs
 * make rotation and compaction happen within short sequences.
 */

type Command =
  | { kind: 'add'; ledgerId: bigint; entryId: number; size: number; fill: number }
  | { kind: 'flush' }
  | { kind: 'get'; ledgerId: bigint; entryId: number }
  | { kind: 'last'; ledgerId: bigint }
  | { kind: 'ids'; ledgerId: bigint }
  | { kind: 'delete'; ledgerId: bigint }
  | { kind: 'reopen' }
  | { kind: 'compact' };

const ledgerId = fc.constantFrom(1n, 2n, 3n);
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      ledgerId,
      entryId: fc.integer({ min: 0, max: 40 }),
      size: fc.integer({ min: 0, max: 3000 }),
      fill: fc.integer({ min: 0, max: 255 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('get' as const),
      ledgerId,
      entryId: fc.integer({ min: 0, max: 41 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('last' as const), ledgerId }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ids' as const), ledgerId }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), ledgerId }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'compact' as const }) },
);

describe('bookie > storage > DbLedgerStorage (property)', () => {
  const temp = new TempDirs();
  afterAll(() => temp.removeAll());

  test('behaves like an in-memory map of entries under any sequence of operations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 60 }), async (commands) => {
        const dir = temp.make('storage-property-');
        const open = async (): Promise<DbLedgerStorage> =>
          (
            await openStorage([dir], {
              config: { entryLogSizeLimit: 16 * 1024, dbStorage_writeCacheMaxSizeMb: 1 },
            })
          ).storage;
        let storage = await open();
        const model = new Map<bigint, Map<number, Buffer>>();
        const entriesOf = (id: bigint): Map<number, Buffer> => model.get(id) ?? new Map();
        try {
          for (const step of commands) {
            switch (step.kind) {
              case 'add': {
                const entry = packedEntry(
                  step.ledgerId,
                  BigInt(step.entryId),
                  Buffer.alloc(step.size, step.fill),
                );
                try {
                  storage.addEntry(entry);
                } catch (err) {
                  // Refused for back-pressure: the add did not happen.
                  expect(err).toBeInstanceOf(WriteCacheFullError);
                  break;
                }
                model.set(step.ledgerId, entriesOf(step.ledgerId).set(step.entryId, entry));
                break;
              }
              case 'flush':
                await storage.flush();
                expect(storage.writeCacheBytes).toBe(0);
                break;
              case 'get': {
                const stored = await storage.getEntry(step.ledgerId, BigInt(step.entryId));
                expect(stored).toEqual(entriesOf(step.ledgerId).get(step.entryId));
                break;
              }
              case 'last': {
                const ids = [...entriesOf(step.ledgerId).keys()];
                const expected = ids.length === 0 ? undefined : BigInt(Math.max(...ids));
                expect(await storage.getLastEntryId(step.ledgerId)).toBe(expected);
                const last = await storage.getEntry(step.ledgerId, -1n);
                expect(last).toEqual(
                  expected === undefined ? undefined : entriesOf(step.ledgerId).get(Number(expected)),
                );
                break;
              }
              case 'ids':
                expect(await storage.getEntryIds(step.ledgerId)).toEqual(
                  [...entriesOf(step.ledgerId).keys()].sort((a, b) => a - b).map(BigInt),
                );
                break;
              case 'delete':
                await storage.deleteLedger(step.ledgerId);
                model.delete(step.ledgerId);
                break;
              case 'reopen':
                await storage.close();
                storage = await open();
                break;
              case 'compact':
                await storage.runGc({
                  ledgerExistsInMetadata: async (id) => model.has(id),
                  forceMajor: true,
                });
                break;
            }
          }
          expect(await storage.listLedgers()).toEqual([...model.keys()].sort((a, b) => (a < b ? -1 : 1)));
          await storage.close();
          storage = await open();
          for (const [id, entries] of model) {
            for (const [entryId, entry] of entries)
              expect(await storage.getEntry(id, BigInt(entryId))).toEqual(entry);
          }
        } finally {
          await storage.close();
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
