import type { MetadataStore } from '../metadata';
import { BadVersionError, NoSuchKeyError } from '../metadata';
import { ManagedLedgerError } from './errors';
import {
  decodeManagedCursorInfo,
  decodeManagedLedgerInfo,
  encodeManagedCursorInfo,
  encodeManagedLedgerInfo,
} from './ml-data-formats';
import type { ManagedCursorInfo, ManagedLedgerInfo } from './ml-data-formats';

/** A metadata value with the version its next compare-and-set must name. */
export interface Versioned<T> {
  value: T;
  version: bigint;
}

export const MANAGED_LEDGERS_ROOT = '/managed-ledgers';

/**
 * Where a managed ledger keeps its metadata, as Pulsar's MetaStoreImpl: ManagedLedgerInfo at
 * `/managed-ledgers/<name>`, each cursor's ManagedCursorInfo at `/managed-ledgers/<name>/<cursor>` (the cursor
 * name URI-encoded, so a `/` in it cannot make a deeper key). Every update is a compare-and-set: a version
 * mismatch becomes ManagedLedgerError('ManagedLedgerFenced') with the BadVersionError as cause — another owner
 * wrote the node — and any other store failure becomes 'MetaStoreException'.
 */
export class MetaStore {
  readonly store: MetadataStore;
  readonly root: string;

  constructor(store: MetadataStore, root = MANAGED_LEDGERS_ROOT) {
    this.store = store;
    this.root = root;
  }

  ledgerKey(name: string): string {
    return `${this.root}/${name}`;
  }

  cursorKey(name: string, cursor: string): string {
    return `${this.root}/${name}/${encodeURIComponent(cursor)}`;
  }

  /** The managed ledger's info, or undefined when it has none. */
  async getManagedLedgerInfo(name: string): Promise<Versioned<ManagedLedgerInfo> | undefined> {
    const found = await this.call(`read the metadata of managed ledger ${name}`, () =>
      this.store.get(this.ledgerKey(name)),
    );
    if (found === undefined) return undefined;
    return {
      value: decodeManagedLedgerInfo(found.value, `the metadata of managed ledger ${name}`),
      version: found.stat.version,
    };
  }

  /** Writes the info if the node is at `expected` (`'absent'` to create it); returns the new version. */
  async putManagedLedgerInfo(
    name: string,
    info: ManagedLedgerInfo,
    expected: bigint | 'absent',
  ): Promise<bigint> {
    const stat = await this.call(`write the metadata of managed ledger ${name}`, () =>
      this.store.put(this.ledgerKey(name), encodeManagedLedgerInfo(info), { expectedVersion: expected }),
    );
    return stat.version;
  }

  /** The names of the managed ledger's cursors, in key order. */
  async getCursors(name: string): Promise<string[]> {
    const prefix = `${this.ledgerKey(name)}/`;
    const found = await this.call(`list the cursors of managed ledger ${name}`, () =>
      this.store.list(prefix, { keysOnly: true }),
    );
    return found
      .map((v) => v.key.slice(prefix.length))
      .filter((rest) => rest !== '' && !rest.includes('/'))
      .map((rest) => decodeURIComponent(rest));
  }

  async getCursorInfo(name: string, cursor: string): Promise<Versioned<ManagedCursorInfo> | undefined> {
    const found = await this.call(`read cursor ${cursor} of managed ledger ${name}`, () =>
      this.store.get(this.cursorKey(name, cursor)),
    );
    if (found === undefined) return undefined;
    return {
      value: decodeManagedCursorInfo(found.value, `cursor ${cursor} of managed ledger ${name}`),
      version: found.stat.version,
    };
  }

  async putCursorInfo(
    name: string,
    cursor: string,
    info: ManagedCursorInfo,
    expected: bigint | 'absent',
  ): Promise<bigint> {
    const stat = await this.call(`write cursor ${cursor} of managed ledger ${name}`, () =>
      this.store.put(this.cursorKey(name, cursor), encodeManagedCursorInfo(info), {
        expectedVersion: expected,
      }),
    );
    return stat.version;
  }

  /** Removes the cursor's node; a node already gone is not an error. */
  async removeCursor(name: string, cursor: string): Promise<void> {
    await this.call(`remove cursor ${cursor} of managed ledger ${name}`, () =>
      this.store.delete(this.cursorKey(name, cursor)).catch((err: unknown) => {
        if (!(err instanceof NoSuchKeyError)) throw err;
      }),
    );
  }

  /** Removes the managed ledger's node, if it is still at `expected`. Its cursors must be removed first. */
  async removeManagedLedger(name: string, expected: bigint): Promise<void> {
    await this.call(`remove managed ledger ${name}`, () => this.store.delete(this.ledgerKey(name), expected));
  }

  /** Every managed ledger's name (nodes whose value parses as ManagedLedgerInfo are not checked here). */
  async listManagedLedgers(): Promise<string[]> {
    const prefix = `${this.root}/`;
    const found = await this.call('list managed ledgers', () => this.store.list(prefix, { keysOnly: true }));
    const keys = new Set(found.map((v) => v.key.slice(prefix.length)));
    // A cursor node is <ml>/<cursor>: drop keys whose parent is itself a listed key.
    return [...keys].filter((k) => {
      const slash = k.lastIndexOf('/');
      return slash < 0 || !keys.has(k.slice(0, slash));
    });
  }

  private async call<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof BadVersionError) {
        throw new ManagedLedgerError('ManagedLedgerFenced', `cannot ${what}: another owner changed it`, {
          cause: err,
        });
      }
      if (err instanceof ManagedLedgerError) throw err;
      throw new ManagedLedgerError('MetaStoreException', `cannot ${what}: ${(err as Error).message}`, {
        cause: err,
        retriable: true,
      });
    }
  }
}
