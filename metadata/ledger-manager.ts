import type { Logger } from '../common';
import { BadLedgerMetadataError, LedgerExistsError, NoSuchLedgerError } from './bookkeeper-errors';
import { checkScope, END_SEP, ledgerIdFromKey, ledgerKey, ledgersPath } from './bookkeeper-keys';
import { BadVersionError, NoSuchKeyError } from './errors';
import type { LedgerMetadata } from './ledger-metadata';
import { parseLedgerMetadata, serializeLedgerMetadata } from './ledger-metadata-format';
import type { MetadataStore, Watch } from './metadata-store';

/** Ledger metadata with the store version a compare-and-set on it must name. */
export interface VersionedLedgerMetadata {
  metadata: LedgerMetadata;
  version: bigint;
}

export type LedgerMetadataEvent =
  | { type: 'changed'; ledgerId: bigint; metadata: LedgerMetadata; version: bigint }
  | { type: 'deleted'; ledgerId: bigint }
  /** The new value cannot be parsed; the ledger keeps whatever a reader last saw. */
  | { type: 'unreadable'; ledgerId: bigint; error: BadLedgerMetadataError };

export interface ListLedgersOptions {
  /** Keys fetched per store request (default 1000), so a large listing never loads at once. */
  pageSize?: number;
}

/**
 * BookKeeper's LedgerManager on the etcd driver's layout (meta/LedgerManager.java, etcd/EtcdLedgerManager.java):
 * one key per ledger, `<scope>/ledgers/<uuid(0, ledgerId)>`, holding format-v3 metadata; the version is the
 * key's store version (etcd modRevision) and every update is a compare-and-set on it.
 */
export class LedgerManager {
  private readonly logger: Logger;

  constructor(
    private readonly store: MetadataStore,
    private readonly scope: string,
    logger: Logger,
  ) {
    checkScope(scope);
    this.logger = logger.child({ component: 'ledger-manager' });
  }

  /** Creates the ledger's metadata if the ledger does not exist; throws `LedgerExistsError` if it does. */
  async createLedgerMetadata(ledgerId: bigint, metadata: LedgerMetadata): Promise<VersionedLedgerMetadata> {
    const key = ledgerKey(this.scope, ledgerId);
    const value = serializeLedgerMetadata(metadata);
    try {
      const stat = await this.store.put(key, value, { expectedVersion: 'absent' });
      this.logger.debug(
        { ledgerId: ledgerId.toString(), version: stat.version.toString() },
        'created ledger',
      );
      return { metadata, version: stat.version };
    } catch (error) {
      if (error instanceof BadVersionError) throw new LedgerExistsError(ledgerId);
      throw error;
    }
  }

  /** The ledger's metadata and version; `NoSuchLedgerError` if it does not exist. */
  async readLedgerMetadata(ledgerId: bigint): Promise<VersionedLedgerMetadata> {
    const stored = await this.store.get(ledgerKey(this.scope, ledgerId));
    if (stored === undefined) throw new NoSuchLedgerError(ledgerId);
    return { metadata: parseLedgerMetadata(stored.value), version: stored.stat.version };
  }

  /**
   * Replaces the metadata if its version is still `expectedVersion`. Throws `BadVersionError` when another
   * writer got there first (re-read, re-apply the change, retry), `NoSuchLedgerError` when it is gone.
   */
  async writeLedgerMetadata(
    ledgerId: bigint,
    metadata: LedgerMetadata,
    expectedVersion: bigint,
  ): Promise<VersionedLedgerMetadata> {
    const key = ledgerKey(this.scope, ledgerId);
    const value = serializeLedgerMetadata(metadata);
    try {
      const stat = await this.store.put(key, value, { expectedVersion });
      return { metadata, version: stat.version };
    } catch (error) {
      if (error instanceof NoSuchKeyError) throw new NoSuchLedgerError(ledgerId);
      throw error;
    }
  }

  /** Deletes the metadata if its version matches (or unconditionally with `'any'`). */
  async removeLedgerMetadata(ledgerId: bigint, expectedVersion: bigint | 'any'): Promise<void> {
    try {
      await this.store.delete(ledgerKey(this.scope, ledgerId), expectedVersion);
      this.logger.debug({ ledgerId: ledgerId.toString() }, 'removed ledger');
    } catch (error) {
      if (error instanceof NoSuchKeyError) throw new NoSuchLedgerError(ledgerId);
      throw error;
    }
  }

  /**
   * Every ledger id, ascending, read page by page over the range [`<scope>/ledgers/`, `<scope>/ledgers0`).
   * Ledgers created or deleted while iterating may or may not be seen.
   */
  async *listLedgers(options: ListLedgersOptions = {}): AsyncGenerator<bigint> {
    const pageSize = options.pageSize ?? 1000;
    const prefix = `${ledgersPath(this.scope)}/`;
    const end = `${ledgersPath(this.scope)}${END_SEP}`;
    let start = prefix;
    for (;;) {
      const page = await this.store.list(prefix, { start, end, limit: pageSize, keysOnly: true });
      for (const { key } of page) {
        const ledgerId = ledgerIdFromKey(key);
        if (ledgerId === undefined) this.logger.warn({ key }, 'skipping a key that names no ledger');
        else yield ledgerId;
      }
      const last = page[page.length - 1];
      if (page.length < pageSize || last === undefined) return;
      // The smallest key after `last`.
      start = `${last.key}\u0000`;
    }
  }

  /** Whether the ledger's metadata exists. */
  async ledgerExists(ledgerId: bigint): Promise<boolean> {
    return (await this.store.get(ledgerKey(this.scope, ledgerId))) !== undefined;
  }

  /**
   * Delivers every later change of the ledger's metadata, and its deletion, in store order. Resolves once the
   * watch is established; close the returned watch to stop.
   */
  async watchLedger(ledgerId: bigint, listener: (event: LedgerMetadataEvent) => void): Promise<Watch> {
    return this.store.watch(ledgerKey(this.scope, ledgerId), (event) => {
      if (event.type === 'delete') {
        listener({ type: 'deleted', ledgerId });
        return;
      }
      let metadata: LedgerMetadata;
      try {
        metadata = parseLedgerMetadata(event.value);
      } catch (error) {
        const bad =
          error instanceof BadLedgerMetadataError ? error : new BadLedgerMetadataError(String(error));
        this.logger.warn(
          { ledgerId: ledgerId.toString(), err: bad },
          'watched ledger metadata is unreadable',
        );
        listener({ type: 'unreadable', ledgerId, error: bad });
        return;
      }
      listener({ type: 'changed', ledgerId, metadata, version: event.stat.version });
    });
  }
}
