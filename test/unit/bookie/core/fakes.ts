/**
 * In-memory fakes of the two layers below the bookie core — the journal and ledger storage — for unit tests of
 * the core's logic (the integration tests use the real ones). The fake journal keeps its records across a
 * simulated restart, so replay can be tested: `FakeJournalFiles.replay` feeds them back from a mark.
 */
import { silentLogger } from '../../../../common';
import { Bookie, BookieMetrics, WriteCacheFullError, bookieConfigSchema } from '../../../../bookie';
import type {
  BookieConfig,
  FlushOptions,
  JournalApi,
  JournalCallback,
  JournalFiles,
  JournalReplayVisitor,
  LedgerInfo,
  LedgerStorageApi,
  LogMark,
  ReplayReport,
} from '../../../../bookie';

export type JournalRecord =
  | { kind: 'entry'; ledgerId: bigint; entryId: bigint; entry: Buffer }
  | { kind: 'ledgerKey'; ledgerId: bigint; masterKey: Buffer }
  | { kind: 'fence'; ledgerId: bigint }
  | { kind: 'explicitLac'; ledgerId: bigint; lacBlob: Buffer };

interface Waiting {
  callback: JournalCallback;
  /** Index of the record after which it is durable. */
  upTo: number;
}

/**
 * Records appended in order; `sync()` makes everything appended durable and calls back in order (one group
 * commit). With `autoSync` a sync runs on the next event-loop turn after an append.
 */
export class FakeJournal implements JournalApi {
  /** Survives "restarts": the durable prefix is what a crash leaves. */
  readonly records: JournalRecord[];
  durableCount = 0;
  readonly checkpoints: LogMark[] = [];
  autoSync: boolean;
  closed = false;
  private waiting: Waiting[] = [];
  private readonly failureListeners: ((error: Error) => void)[] = [];
  private failure: Error | undefined;
  private failNext: Error | undefined;
  private scheduled = false;

  constructor(options: { autoSync?: boolean; records?: JournalRecord[] } = {}) {
    this.autoSync = options.autoSync ?? true;
    this.records = options.records ?? [];
    this.durableCount = this.records.length;
  }

  get pendingBytes(): number {
    return 0;
  }

  get pendingRecords(): number {
    return this.records.length - this.durableCount;
  }

  logAddEntry(entry: Buffer, ackBeforeSync: boolean, callback: JournalCallback): void {
    const record: JournalRecord = {
      kind: 'entry',
      ledgerId: entry.readBigInt64BE(0),
      entryId: entry.readBigInt64BE(8),
      entry: Buffer.from(entry),
    };
    if (!this.append(record, callback)) return;
    if (ackBeforeSync) {
      // Written, not yet synced: acknowledged now; the record becomes durable with the next sync.
      this.waiting.pop();
      queueMicrotask(() => callback());
    }
  }

  logLedgerKey(ledgerId: bigint, masterKey: Buffer, callback: JournalCallback): void {
    this.append({ kind: 'ledgerKey', ledgerId, masterKey: Buffer.from(masterKey) }, callback);
  }

  logFence(ledgerId: bigint, callback: JournalCallback): void {
    this.append({ kind: 'fence', ledgerId }, callback);
  }

  logExplicitLac(ledgerId: bigint, lacBlob: Buffer, callback: JournalCallback): void {
    this.append({ kind: 'explicitLac', ledgerId, lacBlob: Buffer.from(lacBlob) }, callback);
  }

  forceLedger(_ledgerId: bigint, callback: JournalCallback): void {
    if (this.refuse(callback)) return;
    this.waiting.push({ callback, upTo: this.records.length });
    this.scheduleSync();
  }

  lastSyncedMark(): LogMark {
    return { logFileId: 1n, offset: BigInt(this.durableCount) };
  }

  async checkpointComplete(mark: LogMark): Promise<void> {
    this.checkpoints.push(mark);
  }

  onFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
  }

  /** The next sync fails: its records get the error, and every later record is refused. */
  failNextSync(error: Error): void {
    this.failNext = error;
  }

  /** One group commit: everything appended so far becomes durable; callbacks fire in record order. */
  sync(): void {
    this.scheduled = false;
    const waiting = this.waiting;
    this.waiting = [];
    if (this.failNext !== undefined) {
      this.failure = this.failNext;
      this.failNext = undefined;
      this.records.length = this.durableCount;
      for (const w of waiting) w.callback(this.failure);
      for (const listener of this.failureListeners) listener(this.failure);
      return;
    }
    this.durableCount = this.records.length;
    for (const w of waiting) w.callback();
  }

  async close(): Promise<void> {
    if (this.waiting.length > 0) this.sync();
    this.closed = true;
  }

  private append(record: JournalRecord, callback: JournalCallback): boolean {
    if (this.refuse(callback)) return false;
    this.records.push(record);
    this.waiting.push({ callback, upTo: this.records.length });
    this.scheduleSync();
    return true;
  }

  private refuse(callback: JournalCallback): boolean {
    const error = this.failure ?? (this.closed ? new Error('journal closed') : undefined);
    if (error === undefined) return false;
    queueMicrotask(() => callback(error));
    return true;
  }

  private scheduleSync(): void {
    if (!this.autoSync || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.sync());
  }
}

function entryKey(ledgerId: bigint, entryId: bigint): string {
  return `${ledgerId}:${entryId}`;
}

/** Ledger storage as maps. `writeCacheEntriesMax` simulates a write cache that fills up until flushed. */
export class FakeStorage implements LedgerStorageApi {
  readonly entries = new Map<string, Buffer>();
  readonly infos = new Map<bigint, LedgerInfo>();
  /** Ledger infos that peekLedgerInfo reports (the "hot" cache); cleared to force the async path. */
  readonly hot = new Set<bigint>();
  flushes = 0;
  closed = false;
  writeCacheEntriesMax = Infinity;
  /** Bytes the write cache holds: a large entry may be refused where a small one still fits. */
  writeCacheBytesMax = Infinity;
  private unflushed = 0;
  private unflushedBytes = 0;
  private readonly freedListeners: (() => void)[] = [];

  addEntry(entry: Buffer): void {
    if (
      this.unflushed >= this.writeCacheEntriesMax ||
      this.unflushedBytes + entry.length > this.writeCacheBytesMax
    ) {
      // As DbLedgerStorage: a refusal starts a flush unless one runs; its end is announced to the listeners.
      if (!this.flushing) void this.flush();
      throw new WriteCacheFullError();
    }
    this.unflushed++;
    this.unflushedBytes += entry.length;
    this.entries.set(entryKey(entry.readBigInt64BE(0), entry.readBigInt64BE(8)), Buffer.from(entry));
  }

  onWriteCacheFreed(listener: () => void): void {
    this.freedListeners.push(listener);
  }

  async getEntry(ledgerId: bigint, entryId: bigint): Promise<Buffer | undefined> {
    if (entryId === -1n) {
      const last = await this.getLastEntryId(ledgerId);
      return last === undefined ? undefined : this.entries.get(entryKey(ledgerId, last));
    }
    return this.entries.get(entryKey(ledgerId, entryId));
  }

  async getLastEntryId(ledgerId: bigint): Promise<bigint | undefined> {
    const ids = await this.getEntryIds(ledgerId);
    return ids[ids.length - 1];
  }

  async getEntryIds(ledgerId: bigint): Promise<bigint[]> {
    const ids: bigint[] = [];
    for (const key of this.entries.keys()) {
      const [ledger, entry] = key.split(':');
      if (BigInt(ledger!) === ledgerId) ids.push(BigInt(entry!));
    }
    return ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async getLedgerInfo(ledgerId: bigint): Promise<LedgerInfo | undefined> {
    const info = this.infos.get(ledgerId);
    if (info !== undefined) this.hot.add(ledgerId);
    return info;
  }

  peekLedgerInfo(ledgerId: bigint): LedgerInfo | undefined {
    return this.hot.has(ledgerId) ? this.infos.get(ledgerId) : undefined;
  }

  async setMasterKey(ledgerId: bigint, masterKey: Buffer): Promise<void> {
    if (this.infos.has(ledgerId)) return;
    this.infos.set(ledgerId, { ledgerId, masterKey, fenced: false, explicitLac: undefined });
    this.hot.add(ledgerId);
  }

  async setFenced(ledgerId: bigint): Promise<boolean> {
    const info = this.infos.get(ledgerId) ?? {
      ledgerId,
      masterKey: Buffer.alloc(0),
      fenced: false,
      explicitLac: undefined,
    };
    this.infos.set(ledgerId, { ...info, fenced: true });
    return !info.fenced;
  }

  async setExplicitLac(ledgerId: bigint, lacBlob: Buffer): Promise<void> {
    const info = this.infos.get(ledgerId) ?? {
      ledgerId,
      masterKey: Buffer.alloc(0),
      fenced: false,
      explicitLac: undefined,
    };
    this.infos.set(ledgerId, { ...info, explicitLac: lacBlob });
  }

  async deleteLedger(ledgerId: bigint): Promise<void> {
    for (const id of await this.getEntryIds(ledgerId)) this.entries.delete(entryKey(ledgerId, id));
    this.infos.delete(ledgerId);
    this.hot.delete(ledgerId);
  }

  async listLedgers(): Promise<bigint[]> {
    return [...this.infos.keys()].sort((a, b) => (a < b ? -1 : 1));
  }

  /** `flushGate`, when set, holds every flush until it resolves (a slow flush). */
  flushGate: Promise<void> | undefined;

  private flushing = false;
  /** Whether each flush asked for was the periodic checkpoint's (background), in order. */
  readonly flushBackground: boolean[] = [];

  async flush(options: FlushOptions = {}): Promise<void> {
    this.flushes++;
    this.flushBackground.push(options.background === true);
    this.flushing = true;
    try {
      if (this.flushGate !== undefined) await this.flushGate;
      this.unflushed = 0;
      this.unflushedBytes = 0;
    } finally {
      this.flushing = false;
    }
    for (const listener of this.freedListeners) listener();
  }

  get writeCacheBytes(): number {
    return 0;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** The lastMark file and replay, over a FakeJournal's durable records (a mark's offset = a record index). */
export class FakeJournalFiles implements JournalFiles {
  lastMark: LogMark = { logFileId: 0n, offset: 0n };
  readonly journal: { records: JournalRecord[]; durableCount: number };

  constructor(journal: { records: JournalRecord[]; durableCount: number }) {
    this.journal = journal;
  }

  async readLastMark(): Promise<LogMark> {
    return this.lastMark;
  }

  async writeLastMark(mark: LogMark): Promise<void> {
    this.lastMark = mark;
  }

  async replay(from: LogMark, visitor: JournalReplayVisitor): Promise<ReplayReport> {
    const records = this.journal.records.slice(Number(from.offset), this.journal.durableCount);
    let entries = 0;
    for (const record of records) {
      switch (record.kind) {
        case 'entry':
          entries++;
          await visitor.entry(record.entry);
          break;
        case 'ledgerKey':
          await visitor.ledgerKey(record.ledgerId, record.masterKey);
          break;
        case 'fence':
          await visitor.fence(record.ledgerId);
          break;
        case 'explicitLac':
          await visitor.explicitLac(record.ledgerId, record.lacBlob);
          break;
      }
    }
    return { entries, metaRecords: records.length - entries, files: ['fake'], truncatedTails: [] };
  }
}

export function testConfig(overrides: Record<string, string> = {}): BookieConfig {
  return bookieConfigSchema.parse({ ledgerDirectories: '/tmp', flushInterval: '60000', ...overrides });
}

export interface CoreFixture {
  bookie: Bookie;
  journal: FakeJournal;
  storage: FakeStorage;
  files: FakeJournalFiles;
  metrics: BookieMetrics;
}

/** A started Bookie over fresh fakes (or the given ones, to simulate a restart). */
export async function startBookie(
  options: {
    journal?: FakeJournal;
    storage?: FakeStorage;
    files?: FakeJournalFiles;
    config?: Record<string, string>;
  } = {},
): Promise<CoreFixture> {
  const journal = options.journal ?? new FakeJournal();
  const storage = options.storage ?? new FakeStorage();
  const files = options.files ?? new FakeJournalFiles(journal);
  const metrics = new BookieMetrics();
  const bookie = new Bookie({
    journal,
    storage,
    journalFiles: files,
    logger: silentLogger(),
    metrics,
    config: testConfig(options.config),
  });
  await bookie.start();
  return { bookie, journal, storage, files, metrics };
}
