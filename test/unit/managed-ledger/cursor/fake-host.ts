import { silentLogger } from '../../../../common';
import type { Logger } from '../../../../common';
import type { BookKeeper, CreateLedgerOptions } from '../../../../ledger-client';
import { BKError } from '../../../../ledger-client';
import type { MetadataSession, MetadataStore, Stat, StoredValue, Watch } from '../../../../metadata';
import { BadVersionError, NoSuchKeyError } from '../../../../metadata';
import { MetaStore, Position, managedLedgerConfig } from '../../../../managed-ledger';
import type { CursorHost, Entry, ManagedLedgerConfig } from '../../../../managed-ledger';

/**
 * Fakes under the cursor, for its unit tests: a managed ledger in memory (FakeCursorHost), a metadata store in
 * memory (FakeMetadataStore, versions as a store-wide revision like etcd's) and a BookKeeper client whose ledgers
 * live in memory (FakeBookKeeper, with switches that make appends or creates fail).
 */

export class FakeMetadataStore implements MetadataStore {
  readonly values = new Map<string, { value: Buffer; stat: Stat }>();
  private revision = 0n;
  puts = 0;

  get(key: string): Promise<StoredValue | undefined> {
    const found = this.values.get(key);
    return Promise.resolve(found === undefined ? undefined : { key, value: found.value, stat: found.stat });
  }

  put(
    key: string,
    value: Buffer,
    options: { expectedVersion?: bigint | 'absent' | 'any' } = {},
  ): Promise<Stat> {
    const found = this.values.get(key);
    const expected = options.expectedVersion ?? 'any';
    if (expected === 'absent' && found !== undefined) return Promise.reject(new BadVersionError(key, 'fake'));
    if (typeof expected === 'bigint') {
      if (found === undefined) return Promise.reject(new NoSuchKeyError(key));
      if (found.stat.version !== expected) return Promise.reject(new BadVersionError(key, 'fake'));
    }
    this.revision++;
    this.puts++;
    const stat: Stat = { version: this.revision, modCount: (found?.stat.modCount ?? 0n) + 1n };
    this.values.set(key, { value: Buffer.from(value), stat });
    return Promise.resolve(stat);
  }

  delete(key: string): Promise<void> {
    if (!this.values.delete(key)) return Promise.reject(new NoSuchKeyError(key));
    return Promise.resolve();
  }

  list(prefix: string): Promise<StoredValue[]> {
    const keys = [...this.values.keys()].filter((k) => k.startsWith(prefix)).sort();
    return Promise.resolve(keys.map((key) => ({ key, ...this.values.get(key)! })));
  }

  watch(): Promise<Watch> {
    return Promise.reject(new Error('FakeMetadataStore has no watches'));
  }

  createSession(): Promise<MetadataSession> {
    return Promise.reject(new Error('FakeMetadataStore has no sessions'));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface FakeLedger {
  ledgerId: bigint;
  entries: Buffer[];
  closed: boolean;
  options: CreateLedgerOptions;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The part of BookKeeper a cursor uses, in memory. */
export class FakeBookKeeper {
  readonly ledgers = new Map<bigint, FakeLedger>();
  private nextLedgerId = 100n;
  failAppends = false;
  failCreates = false;
  failOpens = false;
  creates = 0;
  appends = 0;

  async createLedger(options: CreateLedgerOptions = {}): Promise<FakeWriteHandle> {
    await tick();
    if (this.failCreates) throw new BKError('NotEnoughBookiesException', 'fake: no bookies');
    this.creates++;
    const ledger: FakeLedger = { ledgerId: this.nextLedgerId++, entries: [], closed: false, options };
    this.ledgers.set(ledger.ledgerId, ledger);
    return new FakeWriteHandle(this, ledger);
  }

  async openLedger(options: { ledgerId: bigint; recovery?: boolean }): Promise<FakeReadHandle> {
    await tick();
    if (this.failOpens) throw new BKError('BookieHandleNotAvailableException', 'fake: bookies unreachable');
    const ledger = this.ledgers.get(options.ledgerId);
    if (ledger === undefined) {
      throw new BKError('NoSuchLedgerExistsOnMetadataServerException', `fake: no ledger ${options.ledgerId}`);
    }
    if (options.recovery !== false) ledger.closed = true;
    return new FakeReadHandle(ledger);
  }

  async deleteLedger(ledgerId: bigint): Promise<void> {
    await tick();
    if (!this.ledgers.delete(ledgerId)) {
      throw new BKError('NoSuchLedgerExistsOnMetadataServerException', `fake: no ledger ${ledgerId}`);
    }
  }

  asBookKeeper(): BookKeeper {
    return this as unknown as BookKeeper;
  }
}

export class FakeWriteHandle {
  constructor(
    private readonly bk: FakeBookKeeper,
    private readonly ledger: FakeLedger,
  ) {}

  get ledgerId(): bigint {
    return this.ledger.ledgerId;
  }

  async append(data: Buffer): Promise<bigint> {
    await tick();
    if (this.bk.failAppends) throw new BKError('NotEnoughBookiesException', 'fake: append failed');
    if (this.ledger.closed) throw new BKError('LedgerFencedException', 'fake: fenced');
    this.bk.appends++;
    this.ledger.entries.push(Buffer.from(data));
    return BigInt(this.ledger.entries.length - 1);
  }

  async close(): Promise<void> {
    await tick();
    this.ledger.closed = true;
  }
}

export class FakeReadHandle {
  constructor(private readonly ledger: FakeLedger) {}

  getLastAddConfirmed(): bigint {
    return BigInt(this.ledger.entries.length - 1);
  }

  async read(first: bigint, last: bigint): Promise<Array<{ entryId: bigint; data: Buffer }>> {
    await tick();
    const out = [];
    for (let e = first; e <= last; e++) out.push({ entryId: e, data: this.ledger.entries[Number(e)]! });
    return out;
  }

  async close(): Promise<void> {
    await tick();
  }
}

interface HostLedger {
  ledgerId: bigint;
  entries: Buffer[];
}

/**
 * A managed ledger in memory: ledgers with entries, the last one current; roll, trim and terminate by hand.
 * Positions follow CursorHost's contract.
 */
export class FakeCursorHost implements CursorHost {
  readonly name: string;
  readonly config: ManagedLedgerConfig;
  readonly metaStore: MetaStore;
  readonly bookKeeper: BookKeeper;
  readonly logger: Logger;
  readonly store: FakeMetadataStore;
  readonly bk: FakeBookKeeper;

  readonly ledgers: HostLedger[] = [];
  private readonly everSeen = new Set<bigint>();
  private nextLedgerId = 1n;
  private listeners = new Set<() => void>();
  private terminated = false;
  markDeleteMoves = 0;
  readPositionMoves = 0;

  constructor(
    options: {
      name?: string;
      config?: Partial<ManagedLedgerConfig>;
      store?: FakeMetadataStore;
      bk?: FakeBookKeeper;
      bookKeeper?: BookKeeper;
      metaStore?: MetaStore;
    } = {},
  ) {
    this.name = options.name ?? 'tenant/ns/persistent/topic';
    this.config = managedLedgerConfig({ managedLedgerDefaultMarkDeleteRateLimit: 0, ...options.config });
    this.store = options.store ?? new FakeMetadataStore();
    this.metaStore = options.metaStore ?? new MetaStore(this.store);
    this.bk = options.bk ?? new FakeBookKeeper();
    this.bookKeeper = options.bookKeeper ?? this.bk.asBookKeeper();
    this.logger = silentLogger();
    this.roll();
  }

  /** Starts a new (empty) current ledger. */
  roll(): bigint {
    const ledgerId = this.nextLedgerId;
    this.nextLedgerId += 1n;
    this.ledgers.push({ ledgerId, entries: [] });
    this.everSeen.add(ledgerId);
    return ledgerId;
  }

  add(data: Buffer | string = 'x'): Position {
    const current = this.ledgers[this.ledgers.length - 1]!;
    current.entries.push(Buffer.from(data));
    const position = new Position(current.ledgerId, BigInt(current.entries.length - 1));
    this.notify();
    return position;
  }

  /** Adds `count` entries (data "e<i>"), rolling to a new ledger every `perLedger` entries. */
  fill(count: number, perLedger = Number.POSITIVE_INFINITY): Position[] {
    const out: Position[] = [];
    for (let i = 0; i < count; i++) {
      const current = this.ledgers[this.ledgers.length - 1]!;
      if (current.entries.length >= perLedger) this.roll();
      out.push(this.add(`e${i}`));
    }
    return out;
  }

  /** Deletes the `count` oldest ledgers (never the current one). */
  trim(count: number): void {
    this.ledgers.splice(0, Math.min(count, this.ledgers.length - 1));
  }

  terminate(): void {
    this.terminated = true;
    this.notify();
  }

  isTerminated(): boolean {
    return this.terminated;
  }

  getLastConfirmedEntry(): Position {
    for (let i = this.ledgers.length - 1; i >= 0; i--) {
      const ledger = this.ledgers[i]!;
      if (ledger.entries.length > 0) return new Position(ledger.ledgerId, BigInt(ledger.entries.length - 1));
    }
    return new Position(this.ledgers[0]!.ledgerId, -1n);
  }

  getFirstPosition(): Position {
    return new Position(this.ledgers[0]!.ledgerId, -1n);
  }

  getNextValidPosition(p: Position): Position {
    const next = p.next();
    if (this.isValidPosition(next)) return next;
    for (const ledger of this.ledgers) {
      if (ledger.ledgerId > p.ledgerId && ledger.entries.length > 0) return new Position(ledger.ledgerId, 0n);
    }
    const current = this.ledgers[this.ledgers.length - 1]!;
    const end = new Position(current.ledgerId, BigInt(current.entries.length));
    return next.compareTo(end) > 0 ? next : end;
  }

  getPreviousPosition(p: Position): Position {
    if (p.entryId > 0n && this.ledger(p.ledgerId) !== undefined)
      return new Position(p.ledgerId, p.entryId - 1n);
    for (let i = this.ledgers.length - 1; i >= 0; i--) {
      const ledger = this.ledgers[i]!;
      if (ledger.ledgerId < p.ledgerId && ledger.entries.length > 0) {
        return new Position(ledger.ledgerId, BigInt(ledger.entries.length - 1));
      }
    }
    return this.getFirstPosition();
  }

  isValidPosition(p: Position): boolean {
    const ledger = this.ledger(p.ledgerId);
    return ledger !== undefined && p.entryId >= 0n && p.entryId < BigInt(ledger.entries.length);
  }

  ledgerExists(ledgerId: bigint): boolean {
    return this.everSeen.has(ledgerId);
  }

  getNumberOfEntries(from: Position, to: Position, fromInclusive = false): number {
    let count = 0;
    for (const ledger of this.ledgers) {
      for (let e = 0; e < ledger.entries.length; e++) {
        const p = new Position(ledger.ledgerId, BigInt(e));
        const afterFrom = fromInclusive ? p.compareTo(from) >= 0 : p.compareTo(from) > 0;
        if (afterFrom && p.compareTo(to) <= 0) count++;
      }
    }
    return count;
  }

  async readEntries(from: Position, maxEntries: number, maxPosition?: Position): Promise<Entry[]> {
    await tick();
    const last = this.getLastConfirmedEntry();
    const out: Entry[] = [];
    for (const ledger of this.ledgers) {
      for (let e = 0; e < ledger.entries.length && out.length < maxEntries; e++) {
        const position = new Position(ledger.ledgerId, BigInt(e));
        if (position.compareTo(from) < 0 || position.compareTo(last) > 0) continue;
        if (maxPosition !== undefined && position.compareTo(maxPosition) > 0) continue;
        out.push({ position, data: ledger.entries[e]! });
      }
    }
    return out;
  }

  onNextAdd(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onMarkDeleteMoved(): void {
    this.markDeleteMoves++;
  }

  onReadPositionMoved(): void {
    this.readPositionMoves++;
  }

  private ledger(ledgerId: bigint): HostLedger | undefined {
    return this.ledgers.find((l) => l.ledgerId === ledgerId);
  }

  private notify(): void {
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener();
  }
}
