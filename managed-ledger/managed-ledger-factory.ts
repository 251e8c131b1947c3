import type { Logger } from '../common';
import type { BookKeeper } from '../ledger-client';
import type { MetadataStore } from '../metadata';
import { ManagedLedgerError } from './errors';
import { ManagedLedger } from './managed-ledger';
import type { ManagedLedgerInterceptor } from './managed-ledger';
import { managedLedgerConfigSchema } from './managed-ledger-config';
import type { ManagedLedgerConfig } from './managed-ledger-config';
import { MetaStore } from './meta-store';
import type { ManagedLedgerInfo } from './ml-data-formats';
import { ReadOnlyManagedLedger } from './read-only-managed-ledger';

export interface ManagedLedgerFactoryOptions {
  bookKeeper: BookKeeper;
  store: MetadataStore;
  logger: Logger;
  /** Defaults for every managed ledger this factory opens (broker.conf keys, typed values). */
  config?: Partial<ManagedLedgerConfig>;
}

/** Longest managed-ledger name accepted (it becomes a metadata key). */
const NAME_LENGTH_MAX = 1024;

/**
 * Opens managed ledgers (Pulsar's ManagedLedgerFactoryImpl): one instance per name in this process, each
 * recovered from its metadata (fencing a previous owner) on first open. close() closes them all.
 */
export class ManagedLedgerFactory {
  private readonly bookKeeper: BookKeeper;
  private readonly metaStore: MetaStore;
  private readonly logger: Logger;
  private readonly defaults: Partial<ManagedLedgerConfig>;
  private readonly ledgers = new Map<string, Promise<ManagedLedger>>();
  private closed = false;

  constructor(options: ManagedLedgerFactoryOptions) {
    this.bookKeeper = options.bookKeeper;
    this.metaStore = new MetaStore(options.store);
    this.logger = options.logger.child({ component: 'managed-ledger-factory' });
    this.defaults = options.config ?? {};
    checkedConfig('(factory defaults)', this.defaults);
  }

  /**
   * The managed ledger `name`, created if it does not exist. A name already open here returns the same
   * instance (its config and interceptor stay the ones it was opened with).
   */
  open(
    name: string,
    config: Partial<ManagedLedgerConfig> = {},
    options: { interceptor?: ManagedLedgerInterceptor } = {},
  ): Promise<ManagedLedger> {
    try {
      this.checkOpen(`open managed ledger ${String(name)}`);
      checkName(name);
      const existing = this.ledgers.get(name);
      if (existing !== undefined) {
        // An instance being closed or deleted is not handed out: once it is gone, a new one is opened.
        return existing.then(async (ml) => {
          if (!ml.isClosedOrClosing()) return ml;
          await ml.whenClosed();
          if (this.ledgers.get(name) === existing) this.ledgers.delete(name);
          return this.open(name, config, options);
        });
      }
      const opening = ManagedLedger.open({
        name,
        config: checkedConfig(name, { ...this.defaults, ...config }),
        metaStore: this.metaStore,
        bookKeeper: this.bookKeeper,
        logger: this.logger,
        interceptor: options.interceptor,
        onClosed: () => {
          if (this.ledgers.get(name) === opening) this.ledgers.delete(name);
        },
      });
      this.ledgers.set(name, opening);
      opening.catch(() => {
        if (this.ledgers.get(name) === opening) this.ledgers.delete(name);
      });
      return opening;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A read-only view of `name` as it is now, without taking ownership (nothing fenced, nothing written). */
  async openReadOnly(name: string): Promise<ReadOnlyManagedLedger> {
    this.checkOpen(`open managed ledger ${String(name)} read-only`);
    checkName(name);
    return ReadOnlyManagedLedger.open({
      name,
      config: checkedConfig(name, this.defaults),
      metaStore: this.metaStore,
      bookKeeper: this.bookKeeper,
      logger: this.logger,
    });
  }

  /** The stored metadata of `name`, or undefined when there is no such managed ledger. */
  async getManagedLedgerInfo(name: string): Promise<ManagedLedgerInfo | undefined> {
    this.checkOpen(`read managed ledger ${String(name)}`);
    checkName(name);
    return (await this.metaStore.getManagedLedgerInfo(name))?.value;
  }

  /** Deletes `name` (opening it first, which fences any other owner): cursors, ledgers, then its metadata. */
  async delete(name: string): Promise<void> {
    const ml = await this.open(name);
    await ml.delete();
  }

  /** Closes every managed ledger opened here (flushing their cursors). Later opens fail. */
  async close(): Promise<void> {
    this.closed = true;
    const open = [...this.ledgers.values()];
    const results = await Promise.allSettled(open.map(async (p) => (await p).close()));
    for (const result of results) {
      if (result.status === 'rejected')
        this.logger.warn({ err: result.reason }, 'cannot close a managed ledger');
    }
    this.ledgers.clear();
  }

  private checkOpen(what: string): void {
    if (this.closed) {
      throw new ManagedLedgerError(
        'ManagedLedgerAlreadyClosed',
        `cannot ${what}: the managed ledger factory is closed`,
      );
    }
  }
}

/** A name is `/`-separated non-empty segments (Pulsar's tenant/namespace/persistent/topic), no wider than a key. */
function checkName(name: unknown): asserts name is string {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > NAME_LENGTH_MAX ||
    name.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')
  ) {
    throw new ManagedLedgerError(
      'InvalidArgument',
      `bad managed ledger name ${JSON.stringify(name)}: expected non-empty segments separated by "/" (at most ${NAME_LENGTH_MAX} characters)`,
    );
  }
}

/**
 * The settings given as typed values, checked by the schema a broker.conf goes through (so a bad value fails
 * with the key named), and for ensemble >= write quorum >= ack quorum.
 */
function checkedConfig(name: string, overrides: Partial<ManagedLedgerConfig>): ManagedLedgerConfig {
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(overrides as Record<string, unknown>)) {
    if (value === undefined) continue;
    if (!(key in managedLedgerConfigSchema.shape)) {
      throw new ManagedLedgerError('InvalidArgument', `managed ledger ${name}: unknown setting ${key}`);
    }
    raw[key] = String(value);
  }
  const parsed = managedLedgerConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path.join('.');
      return `${key}=${JSON.stringify(raw[key])}: ${issue.message}`;
    });
    throw new ManagedLedgerError(
      'InvalidArgument',
      `managed ledger ${name}: bad settings: ${problems.join('; ')}`,
    );
  }
  const c = parsed.data;
  if (!(
    c.managedLedgerDefaultEnsembleSize >= c.managedLedgerDefaultWriteQuorum &&
    c.managedLedgerDefaultWriteQuorum >= c.managedLedgerDefaultAckQuorum
  )) {
    throw new ManagedLedgerError(
      'InvalidArgument',
      `managed ledger ${name}: need managedLedgerDefaultEnsembleSize >= managedLedgerDefaultWriteQuorum >= managedLedgerDefaultAckQuorum, got ${c.managedLedgerDefaultEnsembleSize}/${c.managedLedgerDefaultWriteQuorum}/${c.managedLedgerDefaultAckQuorum}`,
    );
  }
  return c;
}
