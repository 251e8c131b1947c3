import fc from 'fast-check';
import {
  BadLedgerLayoutError,
  bucketKey,
  bucketOfLedgerId,
  ETCD_LEDGER_LAYOUT,
  ledgerIdFromKey,
  ledgerKey,
  ledgerUuid,
  parseLedgerLayout,
  serializeLedgerLayout,
} from '../../../metadata';

describe('metadata > bookkeeper keys', () => {
  describe('ledger keys', () => {
    it('are java.util.UUID(0, ledgerId) strings under <scope>/ledgers', () => {
      expect(ledgerUuid(0n)).toBe('00000000-0000-0000-0000-000000000000');
      expect(ledgerUuid(1n)).toBe('00000000-0000-0000-0000-000000000001');
      expect(ledgerUuid(1n << 40n)).toBe('00000000-0000-0000-0000-010000000000');
      expect(ledgerUuid(1n << 48n)).toBe('00000000-0000-0000-0001-000000000000');
      // A generated id from bucket 127: (127 << 56) | 5.
      expect(ledgerUuid((127n << 56n) | 5n)).toBe('00000000-0000-0000-7f00-000000000005');
      expect(ledgerUuid((1n << 63n) - 1n)).toBe('00000000-0000-0000-7fff-ffffffffffff');
      expect(ledgerKey('/ledgers', 255n)).toBe('/ledgers/ledgers/00000000-0000-0000-0000-0000000000ff');
    });

    it('reject ids outside [0, 2^63)', () => {
      expect(() => ledgerUuid(-1n)).toThrow(/outside/);
      expect(() => ledgerUuid(1n << 63n)).toThrow(/outside/);
    });

    it('map back to their ledger id, and sort like their ids', () => {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
          fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
          (a, b) => {
            expect(ledgerIdFromKey(ledgerKey('/s', a))).toBe(a);
            expect(ledgerKey('/s', a) < ledgerKey('/s', b)).toBe(a < b);
          },
        ),
      );
      expect(ledgerIdFromKey('/s/ledgers/not-a-uuid')).toBeUndefined();
      expect(ledgerIdFromKey('/s/ledgers/00000000-0000-0001-0000-000000000001')).toBeUndefined();
    });
  });

  describe('id buckets', () => {
    it('are <scope>/buckets/%03d and a bucket is the top byte of an id', () => {
      expect(bucketKey('/ledgers', 0)).toBe('/ledgers/buckets/000');
      expect(bucketKey('/ledgers', 7)).toBe('/ledgers/buckets/007');
      expect(bucketKey('/ledgers', 127)).toBe('/ledgers/buckets/127');
      expect(bucketOfLedgerId((42n << 56n) | 1n)).toBe(42);
    });
  });

  describe('layout', () => {
    it('is the etcd ledger manager factory in layout format 2', () => {
      expect(serializeLedgerLayout(ETCD_LEDGER_LAYOUT).toString()).toBe(
        '2\norg.apache.bookkeeper.metadata.etcd.EtcdLedgerManagerFactory:0',
      );
      expect(parseLedgerLayout(serializeLedgerLayout(ETCD_LEDGER_LAYOUT))).toEqual(ETCD_LEDGER_LAYOUT);
    });

    it('rejects unknown versions and malformed managers', () => {
      for (const text of ['', '3\nx:0', '2', '2\nnoversion', '2\na:b:0', 'x\na:0']) {
        expect(() => parseLedgerLayout(Buffer.from(text))).toThrow(BadLedgerLayoutError);
      }
    });
  });
});
