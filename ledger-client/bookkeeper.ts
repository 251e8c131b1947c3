import { ConfigError, silentLogger } from '../common';
import type { Logger } from '../common';
import {
  BadMetadataUriError,
  createMetadataStore,
  LedgerIdGenerator,
  LedgerManager,
  parseMetadataServiceUri,
} from '../metadata';
import type { DigestType, LedgerMetadata, MetadataStore } from '../metadata';
import { clientConfigSchema } from './client-config';
import type { ClientConfig } from './client-config';
import type { ClientContext } from './client-context';
import { BKError } from './errors';
import { BookieWatcher, createPlacementPolicy } from './placement';
import { openLedger } from './read';
import type { ReadHandle } from './read';
import { BookieClientPool } from './transport';
import {
  createLedgerMetadata,
  ledgerParams,
  metadataError,
  newWriteHandle,
  WriteAdvHandle,
  WriteHandle,
} from './write';
import type { CreateAdvLedgerOptions, CreateLedgerOptions, LedgerWriteHandle } from './write';

/** BookKeeper.create's options: any client setting (typed values), a logger, and optionally a shared store. */
export type BookKeeperOptions = Partial<ClientConfig> & {
  logger?: Logger;
  /** A metadata store to use instead of opening `metadataServiceUri`'s; the caller keeps and closes it. */
  store?: MetadataStore;
};

export interface OpenLedgerOptions {
  ledgerId: bigint;
  password: Buffer | string;
  /** Checked for a known name; the ledger's own digest type (from its metadata) is used, as BookKeeper's
   * enableDigestTypeAutodetection does. */
  digestType?: DigestType;
  /** Fence, recover and close the ledger first (default), or open it as it is for reading and tailing. */
  recovery?: boolean;
}

const DIGEST_TYPES: readonly string[] = ['CRC32', 'CRC32C', 'HMAC', 'DUMMY'];

/**
 * The ledger client (BookKeeper's org.apache.bookkeeper.client.api.BookKeeper): create, open, delete and list
 * ledgers. One client holds one connection per bookie, one watch on the bookie registrations and the metadata
 * store; every handle it returns shares them. close() fails the pending adds of its handles with
 * ClientClosedException, closes its read handles, connections and watch, and the store if it opened it.
 */
export class BookKeeper {
  private readonly ctx: ClientContext;
  private readonly logger: Logger;
  private readonly writeHandles = new Set<LedgerWriteHandle>();
  /** Read handles opened here, held weakly: one the caller closed and dropped needs no closing from us. */
  private readHandles = new Set<WeakRef<ReadHandle>>();
  private readHandlesPruneAt = 64;
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    config: ClientConfig,
    logger: Logger,
    private readonly resources: {
      store: MetadataStore;
      ownsStore: boolean;
      pool: BookieClientPool;
      watcher: BookieWatcher;
    },
    scope: string,
  ) {
    this.logger = logger;
    const { store, pool, watcher } = resources;
    this.ctx = {
      config,
      logger,
      bookieClient: pool,
      placement: createPlacementPolicy(config, watcher, logger),
      bookies: watcher,
      ledgerManager: new LedgerManager(store, scope, logger),
      ledgerIdGenerator: new LedgerIdGenerator(store, scope, logger),
      isClosed: () => this.closed,
    };
  }

  /**
   * A client for the cluster `metadataServiceUri` names (or `store`). Settings are checked as a conf file's would
   * be: a bad one fails with IncorrectParameterException naming the key.
   */
  static async create(options: BookKeeperOptions = {}): Promise<BookKeeper> {
    const { logger: given, store: givenStore, ...overrides } = options;
    const logger = (given ?? silentLogger()).child({ component: 'bookkeeper' });
    const config = checkedConfig(overrides);
    let scope: string;
    try {
      scope = parseMetadataServiceUri(config.metadataServiceUri).scope;
    } catch (error) {
      throw setupError(error);
    }
    let store = givenStore;
    const ownsStore = store === undefined;
    let watcher: BookieWatcher | undefined;
    let pool: BookieClientPool | undefined;
    try {
      store ??= (await createMetadataStore(config.metadataServiceUri, { logger })).store;
      watcher = await BookieWatcher.start(store, scope, logger);
      pool = new BookieClientPool({ config, logger });
      const client = new BookKeeper(config, logger, { store, ownsStore, pool, watcher }, scope);
      logger.info({ metadataServiceUri: config.metadataServiceUri }, 'ledger client ready');
      return client;
    } catch (error) {
      await pool?.close();
      await watcher?.close();
      if (ownsStore) await store?.close();
      throw setupError(error);
    }
  }

  /** The settings in force (defaults filled in). */
  get config(): ClientConfig {
    return this.ctx.config;
  }

  /** Creates a ledger (E ≥ Qw ≥ Qa ≥ 1; defaults 3/2/2, CRC32C) and returns a handle that appends to it. */
  async createLedger(options: CreateLedgerOptions = {}): Promise<WriteHandle> {
    this.checkOpen('create a ledger');
    const params = ledgerParams({ ...options, ledgerId: undefined });
    const created = await createLedgerMetadata(this.ctx, params);
    return this.track(newWriteHandle(this.ctx, WriteHandle, created, params, this.untrack));
  }

  /** Creates a ledger whose entry ids the writer chooses, with `ledgerId` when given. */
  async createLedgerAdv(options: CreateAdvLedgerOptions = {}): Promise<WriteAdvHandle> {
    this.checkOpen('create a ledger');
    const params = ledgerParams(options);
    const created = await createLedgerMetadata(this.ctx, params);
    return this.track(newWriteHandle(this.ctx, WriteAdvHandle, created, params, this.untrack));
  }

  /** Opens a ledger for reading: recovered and closed first unless `recovery` is false. */
  async openLedger(options: OpenLedgerOptions): Promise<ReadHandle> {
    this.checkOpen('open a ledger');
    if (typeof options !== 'object' || options === null) {
      throw new BKError('IncorrectParameterException', 'open: options must be an object');
    }
    const { ledgerId, password, digestType, recovery = true } = options;
    if (digestType !== undefined && !DIGEST_TYPES.includes(digestType)) {
      throw new BKError(
        'IncorrectParameterException',
        `open ledger ${String(ledgerId)}: digestType must be one of ${DIGEST_TYPES.join(', ')}, got ${String(digestType)}`,
      );
    }
    if (typeof recovery !== 'boolean') {
      throw new BKError(
        'IncorrectParameterException',
        `open ledger ${String(ledgerId)}: recovery must be a boolean`,
      );
    }
    const handle = await openLedger(this.ctx, { ledgerId, password, recovery });
    this.trackRead(handle);
    return handle;
  }

  /**
   * Removes the ledger's metadata; bookies drop its entries on their next garbage collection.
   * NoSuchLedgerExistsOnMetadataServerException when there is no such ledger.
   */
  async deleteLedger(ledgerId: bigint): Promise<void> {
    this.checkOpen('delete a ledger');
    checkLedgerId(ledgerId, 'delete');
    try {
      await this.ctx.ledgerManager.removeLedgerMetadata(ledgerId, 'any');
    } catch (error) {
      throw metadataError('delete', ledgerId, error);
    }
    this.logger.info({ ledgerId: ledgerId.toString() }, 'deleted ledger');
  }

  /** Every ledger id of the cluster, ascending, fetched page by page. */
  async *listLedgers(): AsyncGenerator<bigint, void, undefined> {
    this.checkOpen('list ledgers');
    const ledgers = this.ctx.ledgerManager.listLedgers();
    for (;;) {
      let next: IteratorResult<bigint>;
      try {
        next = await ledgers.next();
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        throw new BKError('MetaStoreException', `list ledgers: ${detail}`, { cause: error });
      }
      if (next.done === true) return;
      yield next.value;
    }
  }

  async getLedgerMetadata(ledgerId: bigint): Promise<LedgerMetadata> {
    this.checkOpen('read ledger metadata');
    checkLedgerId(ledgerId, 'get metadata of');
    try {
      return (await this.ctx.ledgerManager.readLedgerMetadata(ledgerId)).metadata;
    } catch (error) {
      throw metadataError('get metadata', ledgerId, error);
    }
  }

  /** Closes the client; pending adds fail with ClientClosedException. A second call returns the first's promise. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    const closedError = new BKError('ClientClosedException', 'the ledger client is closed');
    for (const handle of this.writeHandles) handle.abort(closedError);
    this.writeHandles.clear();
    const reads = [...this.readHandles].map((ref) => ref.deref()).filter((h) => h !== undefined);
    this.readHandles.clear();
    await Promise.allSettled(reads.map((handle) => handle.close()));
    const { pool, watcher, store, ownsStore } = this.resources;
    await pool.close();
    await watcher.close();
    if (ownsStore) await store.close();
    this.logger.info('ledger client closed');
  }

  private checkOpen(what: string): void {
    if (this.closed)
      throw new BKError('ClientClosedException', `cannot ${what}: the ledger client is closed`);
  }

  private track<H extends LedgerWriteHandle>(handle: H): H {
    this.writeHandles.add(handle);
    return handle;
  }

  private readonly untrack = (handle: LedgerWriteHandle): void => {
    this.writeHandles.delete(handle);
  };

  private trackRead(handle: ReadHandle): void {
    if (this.readHandles.size >= this.readHandlesPruneAt) {
      this.readHandles = new Set([...this.readHandles].filter((ref) => ref.deref() !== undefined));
      this.readHandlesPruneAt = Math.max(64, this.readHandles.size * 2);
    }
    this.readHandles.add(new WeakRef(handle));
  }
}

/** The typed overrides checked by the same schema a conf file goes through. */
function checkedConfig(overrides: Partial<ClientConfig>): ClientConfig {
  // A key the client does not know is almost always a misspelling (addEntryTimeoutSecs): refused, not dropped.
  const known = Object.keys(clientConfigSchema.shape);
  const unknown = Object.keys(overrides).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new BKError(
      'IncorrectParameterException',
      `unknown client setting${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${known.join(', ')})`,
    );
  }
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) raw[key] = String(value);
  }
  const parsed = clientConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path.join('.');
      return `${key}=${JSON.stringify(raw[key])}: ${issue.message}`;
    });
    throw new BKError('IncorrectParameterException', `bad client settings: ${problems.join('; ')}`);
  }
  return parsed.data;
}

function checkLedgerId(ledgerId: unknown, what: string): asserts ledgerId is bigint {
  if (typeof ledgerId !== 'bigint' || ledgerId < 0n) {
    throw new BKError(
      'IncorrectParameterException',
      `cannot ${what} ledger ${String(ledgerId)}: bad ledger id`,
    );
  }
}

/** Why the client could not start, as a BKError: a bad setting, or a store that cannot be reached. */
function setupError(error: unknown): BKError {
  if (error instanceof BKError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  if (error instanceof ConfigError || error instanceof BadMetadataUriError) {
    return new BKError('IncorrectParameterException', `cannot start the ledger client: ${detail}`, {
      cause: error,
    });
  }
  return new BKError('MetaStoreException', `cannot start the ledger client: ${detail}`, { cause: error });
}
