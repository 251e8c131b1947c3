import type { MetadataStore } from '../metadata';
import { ManagedLedgerError } from './errors';

/** Where the managed ledgers' id counter lives (outside /managed-ledgers/, which lists managed ledgers). */
export const LEDGER_ID_KEY = '/managed-ledger-ids';

/**
 * Ids of managed ledgers' data ledgers: `bucket 127, upper half | store revision`. Positions order by ledger
 * id, so a managed ledger's ledgers must get increasing ids; BookKeeper's etcd generator does not give that (its
 * ids come from 128 rotating buckets). And an id must never be used twice: a deleted ledger's id may still be
 * fenced on its bookies (a new ledger with it would fail its first add with EFENCED) or hold old entries.
 *
 * Each id takes a write to one key; the write's revision (`Stat.version`: store-wide, strictly increasing, never
 * reused even if the key is deleted) is unique and larger than any earlier one. It sits in the low 55 bits under
 * 127 << 56 | 1 << 55, a range BookKeeper's generator would reach only after 2^55 ids from its last bucket.
 */
export class LedgerIds {
  static readonly BASE = (127n << 56n) | (1n << 55n);

  constructor(private readonly store: MetadataStore) {}

  async next(): Promise<bigint> {
    let revision: bigint;
    try {
      revision = (await this.store.put(LEDGER_ID_KEY, Buffer.alloc(0), { expectedVersion: 'any' })).version;
    } catch (error) {
      throw new ManagedLedgerError(
        'MetaStoreException',
        `cannot take a ledger id from ${LEDGER_ID_KEY}: ${(error as Error).message}`,
        { cause: error, retriable: true },
      );
    }
    if (revision <= 0n || revision >= 1n << 55n) {
      throw new ManagedLedgerError(
        'MetaStoreException',
        `store revision ${revision} does not fit a ledger id`,
      );
    }
    return LedgerIds.BASE | revision;
  }
}
