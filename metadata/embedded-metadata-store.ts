import assert from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Logger } from '../common';
import {
  BadVersionError,
  MetadataError,
  MetadataUnavailableError,
  NoSuchKeyError,
  SessionLostError,
} from './errors';
import { inRange, isEmptyRange, keyBytes, listRange, prefixEnd } from './key-range';
import type { KeyRange } from './key-range';
import type {
  ExpectedVersion,
  ListOptions,
  MetadataSession,
  MetadataStore,
  PutOptions,
  Stat,
  StoredValue,
  Watch,
  WatchEvent,
} from './metadata-store';

/*
 * The embedded metadata store: the MetadataStore contract in one process, persisted in RocksDB.
 *
 * RocksDB layout (one byte of namespace, then the rest):
 *   'm' "format"            -> u8 format version (1)
 *   'm' "revision"          -> u64 BE: the store-wide revision of the last change
 *   'd' <key bytes>         -> record: u8 format, u64 version (modRevision), u64 modCount, u64 createRevision,
 *                              u16 owner length, owner (UTF-8), value bytes
 *   'e' <owner> '/' <key>   -> empty: index of ephemeral keys by owning session
 *   's' <sessionId>         -> JSON { ttlSeconds, createdAtMs, pid }: sessions of the process that holds the store
 *
 * Every operation that changes state is decided on one in-process queue, which makes compare-and-set checks
 * linearizable: the check sees every change decided before it (durable or still staged). Decided changes are
 * staged and written by group commit: all changes staged while a RocksDB batch is being synced go into the next
 * batch, written with `sync: true` together with the new revision. A put or delete resolves only once its batch
 * is durable, so an acknowledged write survives a crash and the revision never goes backwards; watch listeners
 * are called after each batch is durable, in revision order. One synced batch per group instead of one per
 * change is what lets concurrent writers scale (bench/metadata).
 *
 * RocksDB's LOCK file keeps a second process (or a second open in this process) out of the directory.
 */

const FORMAT = 1;
const RECORD_HEADER_BYTES = 1 + 8 + 8 + 8 + 2;
const NS_META = 'm';
const NS_DATA = 'd';
const NS_EPHEMERAL = 'e';
const NS_SESSION = 's';
const META_FORMAT_KEY = Buffer.from(`${NS_META}format`);
const META_REVISION_KEY = Buffer.from(`${NS_META}revision`);

// The rocksdb package (abstract-leveldown API) ships no type declarations; this is the part we use.
type Callback<T = void> = (err: Error | undefined | null, value?: T) => void;
interface RocksIterator {
  next(callback: (err: Error | undefined | null, key?: Buffer, value?: Buffer) => void): void;
  end(callback: Callback): void;
}
type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };
interface RocksDb {
  open(options: { createIfMissing?: boolean; errorIfExists?: boolean }, callback: Callback): void;
  close(callback: Callback): void;
  get(key: Buffer, options: { asBuffer?: boolean }, callback: Callback<Buffer>): void;
  batch(ops: BatchOp[], options: { sync?: boolean }, callback: Callback): void;
  iterator(options: {
    gte?: Buffer;
    lt?: Buffer;
    limit?: number;
    keys?: boolean;
    values?: boolean;
    keyAsBuffer?: boolean;
    valueAsBuffer?: boolean;
  }): RocksIterator;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rocksdb = require('rocksdb') as (location: string) => RocksDb;

interface StoredRecord {
  version: bigint;
  modCount: bigint;
  createRevision: bigint;
  owner: string | undefined;
  value: Buffer;
}

function encodeRecord(record: StoredRecord): Buffer {
  const owner = Buffer.from(record.owner ?? '', 'utf8');
  assert(owner.length <= 0xffff, 'session id too long');
  const header = Buffer.alloc(RECORD_HEADER_BYTES);
  header.writeUInt8(FORMAT, 0);
  header.writeBigUInt64BE(record.version, 1);
  header.writeBigUInt64BE(record.modCount, 9);
  header.writeBigUInt64BE(record.createRevision, 17);
  header.writeUInt16BE(owner.length, 25);
  return Buffer.concat([header, owner, record.value]);
}

function decodeRecord(key: string, bytes: Buffer): StoredRecord {
  if (bytes.length < RECORD_HEADER_BYTES || bytes.readUInt8(0) !== FORMAT) {
    throw new MetadataError('CorruptMetadata', `corrupt metadata record for ${key}`);
  }
  const ownerLength = bytes.readUInt16BE(25);
  if (bytes.length < RECORD_HEADER_BYTES + ownerLength) {
    throw new MetadataError('CorruptMetadata', `corrupt metadata record for ${key}`);
  }
  const version = bytes.readBigUInt64BE(1);
  const modCount = bytes.readBigUInt64BE(9);
  const createRevision = bytes.readBigUInt64BE(17);
  if (version < 1n || modCount < 1n || createRevision < 1n || createRevision > version) {
    throw new MetadataError('CorruptMetadata', `corrupt metadata record for ${key}`);
  }
  const ownerEnd = RECORD_HEADER_BYTES + ownerLength;
  return {
    version,
    modCount,
    createRevision,
    owner: ownerLength === 0 ? undefined : bytes.toString('utf8', RECORD_HEADER_BYTES, ownerEnd),
    // A copy, so that callers never hold a slice of RocksDB's read buffer.
    value: Buffer.from(bytes.subarray(ownerEnd)),
  };
}

function statOf(record: StoredRecord): Stat {
  const stat: Stat = { version: record.version, modCount: record.modCount };
  if (record.owner !== undefined) stat.ephemeralOwner = record.owner;
  return stat;
}

function dataKey(key: string): Buffer {
  return Buffer.concat([Buffer.from(NS_DATA), keyBytes(key)]);
}

function ephemeralIndexKey(owner: string, key: string): Buffer {
  return Buffer.concat([Buffer.from(`${NS_EPHEMERAL}${owner}/`), keyBytes(key)]);
}

function sessionKey(sessionId: string): Buffer {
  return Buffer.from(`${NS_SESSION}${sessionId}`);
}

function encodeU64(value: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(value);
  return bytes;
}

/** RocksDB's "key not found". Duck-typed: errors from the native addon may come from another realm (jest's vm). */
function isNotFound(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    /^NotFound/.test(String((err as { message?: unknown }).message))
  );
}

/** Runs async tasks one at a time, in the order they were queued. */
class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

interface WatchRegistration {
  key: Buffer;
  prefix: boolean;
  listener: (event: WatchEvent) => void;
  /** The last revision decided when the watch was registered: it sees only later changes. */
  fromRevision: bigint;
}

/** Changes decided on the queue that share one synced RocksDB batch. */
interface CommitGroup {
  ops: BatchOp[];
  events: WatchEvent[];
  /** The keys changed, with the revision each was staged at. */
  keys: Array<[string, bigint]>;
  /** The group's last revision: the store revision once the batch is durable. */
  revision: bigint;
  /** Settles when the batch is durable (or failed). */
  done: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function newCommitGroup(revision: bigint): CommitGroup {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { ops: [], events: [], keys: [], revision, done, resolve, reject };
}

function eventRevision(event: WatchEvent): bigint {
  return event.type === 'put' ? event.stat.version : event.version;
}

export interface EmbeddedMetadataStoreOptions {
  /** The directory of the RocksDB database; created if missing. */
  dir: string;
  logger: Logger;
}

class EmbeddedSession implements MetadataSession {
  private closed = false;

  constructor(
    private readonly store: EmbeddedMetadataStore,
    readonly id: string,
    readonly ttlSeconds: number,
  ) {}

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * An in-process session can only end by `close()` (of the session or of the store), which is not a loss, so
   * listeners are kept but never called.
   */
  onLost(_listener: (cause: Error) => void): void {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.store.endSession(this);
  }
}

export class EmbeddedMetadataStore implements MetadataStore {
  private readonly queue = new SerialQueue();
  private readonly watches = new Set<WatchRegistration>();
  private readonly sessions = new Set<EmbeddedSession>();
  private closed = false;
  /** Changes decided but not yet durable, by key (`undefined` record = deleted): what a CAS check must see. */
  private readonly staged = new Map<
    string,
    { record: StoredRecord | undefined; revision: bigint; durable: Promise<void> }
  >();
  /** The last revision decided; `revision` is the last durable one. */
  private stagedRevision: bigint;
  /** The group being filled, and the running group-commit loop, if any. */
  private group: CommitGroup | undefined;
  private flushing: Promise<void> | undefined;
  /** Set when a batch failed to write: the store refuses everything after that. */
  private failure: MetadataUnavailableError | undefined;

  private constructor(
    private readonly db: RocksDb,
    readonly dir: string,
    private revision: bigint,
    private readonly logger: Logger,
  ) {
    this.stagedRevision = revision;
  }

  /**
   * Opens (creating if needed) the store in `dir`. Ephemeral keys left by a previous process are deleted: their
   * sessions died with it. Fails with `MetadataUnavailableError` when another process holds the directory.
   */
  static async open(options: EmbeddedMetadataStoreOptions): Promise<EmbeddedMetadataStore> {
    const logger = options.logger.child({ component: 'embedded-metadata-store', dir: options.dir });
    try {
      mkdirSync(options.dir, { recursive: true });
    } catch (err) {
      throw new MetadataUnavailableError(`cannot create metadata directory ${options.dir}`, { cause: err });
    }
    const db = rocksdb(options.dir);
    try {
      await new Promise<void>((resolve, reject) =>
        db.open({ createIfMissing: true }, (err) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      const locked = /lock/i.test(String((err as { message?: unknown } | undefined)?.message));
      throw new MetadataUnavailableError(
        locked
          ? `metadata directory ${options.dir} is in use by another store (RocksDB LOCK held)`
          : `cannot open metadata directory ${options.dir}`,
        { cause: err },
      );
    }
    try {
      const revision = await EmbeddedMetadataStore.readOrInitMeta(db, options.dir);
      const store = new EmbeddedMetadataStore(db, options.dir, revision, logger);
      await store.removeOrphanedEphemerals();
      logger.info({ revision: store.revision.toString() }, 'embedded metadata store opened');
      return store;
    } catch (err) {
      await new Promise<void>((resolve) => db.close(() => resolve()));
      throw err;
    }
  }

  private static async readOrInitMeta(db: RocksDb, dir: string): Promise<bigint> {
    const format = await dbGet(db, META_FORMAT_KEY);
    if (format === undefined) {
      await dbBatch(db, [
        { type: 'put', key: META_FORMAT_KEY, value: Buffer.from([FORMAT]) },
        { type: 'put', key: META_REVISION_KEY, value: encodeU64(0n) },
      ]);
      return 0n;
    }
    if (format.length !== 1 || format[0] !== FORMAT) {
      throw new MetadataError('CorruptMetadata', `metadata directory ${dir} has an unknown format`);
    }
    const revision = await dbGet(db, META_REVISION_KEY);
    if (revision === undefined || revision.length !== 8) {
      throw new MetadataError('CorruptMetadata', `metadata directory ${dir} has no valid revision`);
    }
    return revision.readBigUInt64BE();
  }

  /** Deletes the ephemeral keys and session records of previous processes, in one batch. */
  private async removeOrphanedEphemerals(): Promise<void> {
    const index = await dbScan(this.db, {
      start: Buffer.from(NS_EPHEMERAL),
      end: prefixEnd(Buffer.from(NS_EPHEMERAL)),
    });
    const sessions = await dbScan(this.db, {
      start: Buffer.from(NS_SESSION),
      end: prefixEnd(Buffer.from(NS_SESSION)),
    });
    if (index.length === 0 && sessions.length === 0) return;
    const ops: BatchOp[] = [];
    const keys: string[] = [];
    for (const [indexKey] of index) {
      const rest = indexKey.subarray(1);
      const slash = rest.indexOf(0x2f);
      assert(slash > 0, 'ephemeral index key without owner');
      const key = rest.subarray(slash + 1).toString('utf8');
      keys.push(key);
      ops.push({ type: 'del', key: indexKey }, { type: 'del', key: dataKey(key) });
    }
    for (const [key] of sessions) ops.push({ type: 'del', key });
    if (keys.length > 0) {
      this.revision += 1n;
      this.stagedRevision = this.revision;
      ops.push({ type: 'put', key: META_REVISION_KEY, value: encodeU64(this.revision) });
    }
    await dbBatch(this.db, ops);
    this.logger.info(
      { keys: keys.length, sessions: sessions.length },
      'removed ephemeral keys of sessions from a previous process',
    );
  }

  async get(key: string): Promise<StoredValue | undefined> {
    this.checkOpen();
    const record = await this.readRecord(key);
    return record === undefined ? undefined : { key, value: record.value, stat: statOf(record) };
  }

  put(key: string, value: Buffer, options: PutOptions = {}): Promise<Stat> {
    assert(key.length > 0, 'empty metadata key');
    const expected = options.expectedVersion ?? 'any';
    const session = options.session;
    const decided = this.decide(key, async () => {
      let owner: string | undefined;
      if (session !== undefined) {
        if (!(session instanceof EmbeddedSession) || !this.sessions.has(session) || !session.isOpen) {
          throw new SessionLostError(session.id);
        }
        owner = session.id;
      }
      const existing = await this.readCurrent(key);
      checkExpected(key, expected, existing);
      const revision = this.stagedRevision + 1n;
      const record: StoredRecord = {
        version: revision,
        modCount: existing === undefined ? 1n : existing.modCount + 1n,
        createRevision: existing === undefined ? revision : existing.createRevision,
        owner,
        value: Buffer.from(value),
      };
      const ops: BatchOp[] = [{ type: 'put', key: dataKey(key), value: encodeRecord(record) }];
      if (existing?.owner !== undefined && existing.owner !== owner) {
        ops.push({ type: 'del', key: ephemeralIndexKey(existing.owner, key) });
      }
      if (owner !== undefined)
        ops.push({ type: 'put', key: ephemeralIndexKey(owner, key), value: Buffer.alloc(0) });
      const stat = statOf(record);
      const durable = this.stage(key, record, ops, {
        type: 'put',
        key,
        value: Buffer.from(record.value),
        stat,
      });
      return { stat, durable };
    });
    return decided.then(async ({ stat, durable }) => {
      await durable;
      return stat;
    });
  }

  delete(key: string, expectedVersion: ExpectedVersion = 'any'): Promise<void> {
    const decided = this.decide(key, async () => {
      const existing = await this.readCurrent(key);
      if (existing === undefined) throw new NoSuchKeyError(key);
      if (expectedVersion === 'absent') {
        throw new BadVersionError(key, `expected absent, found version ${existing.version}`);
      }
      if (expectedVersion !== 'any' && existing.version !== expectedVersion) {
        throw new BadVersionError(key, `expected version ${expectedVersion}, found ${existing.version}`);
      }
      const ops: BatchOp[] = [{ type: 'del', key: dataKey(key) }];
      if (existing.owner !== undefined)
        ops.push({ type: 'del', key: ephemeralIndexKey(existing.owner, key) });
      const revision = this.stagedRevision + 1n;
      return { durable: this.stage(key, undefined, ops, { type: 'delete', key, version: revision }) };
    });
    return decided.then(({ durable }) => durable);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<StoredValue[]> {
    this.checkOpen();
    assert(
      options.limit === undefined || (Number.isInteger(options.limit) && options.limit > 0),
      'bad list limit',
    );
    const range = listRange(prefix, options);
    if (isEmptyRange(range)) return [];
    const ns = Buffer.from(NS_DATA);
    const rows = await dbScan(
      this.db,
      {
        start: Buffer.concat([ns, range.start]),
        end: range.end === undefined ? prefixEnd(ns) : Buffer.concat([ns, range.end]),
      },
      options.limit,
    );
    return rows.map(([rawKey, bytes]) => {
      const key = rawKey.subarray(1).toString('utf8');
      const record = decodeRecord(key, bytes);
      return { key, value: options.keysOnly === true ? Buffer.alloc(0) : record.value, stat: statOf(record) };
    });
  }

  watch(
    key: string,
    listener: (event: WatchEvent) => void,
    options: { prefix?: boolean } = {},
  ): Promise<Watch> {
    // Registered on the queue: every change queued after this one is delivered, none queued before it.
    return this.serialized(async () => {
      const registration: WatchRegistration = {
        key: keyBytes(key),
        prefix: options.prefix === true,
        listener,
        fromRevision: this.stagedRevision,
      };
      this.watches.add(registration);
      return {
        close: async () => {
          this.watches.delete(registration);
        },
      };
    });
  }

  createSession(ttlSeconds: number): Promise<MetadataSession> {
    assert(
      Number.isInteger(ttlSeconds) && ttlSeconds >= 1,
      'session TTL must be a whole number of seconds >= 1',
    );
    return this.serialized(async () => {
      await this.drain();
      const session = new EmbeddedSession(this, randomUUID(), ttlSeconds);
      const record = { ttlSeconds, createdAtMs: Date.now(), pid: process.pid };
      await this.commit([
        { type: 'put', key: sessionKey(session.id), value: Buffer.from(JSON.stringify(record)) },
      ]);
      this.sessions.add(session);
      return session;
    });
  }

  /** Called by `EmbeddedSession.close()`: deletes the session's keys at one revision. */
  endSession(session: EmbeddedSession): Promise<void> {
    return this.queue.run(async () => {
      if (!this.sessions.delete(session)) return;
      await this.drain();
      const indexPrefix = Buffer.from(`${NS_EPHEMERAL}${session.id}/`);
      const index = await dbScan(this.db, { start: indexPrefix, end: prefixEnd(indexPrefix) });
      const ops: BatchOp[] = [{ type: 'del', key: sessionKey(session.id) }];
      const keys: string[] = [];
      for (const [indexKey] of index) {
        const key = indexKey.subarray(indexPrefix.length).toString('utf8');
        keys.push(key);
        ops.push({ type: 'del', key: indexKey }, { type: 'del', key: dataKey(key) });
      }
      if (keys.length === 0) {
        await this.commit(ops);
        return;
      }
      const revision = this.revision + 1n;
      await this.commit(ops, revision);
      for (const key of keys) this.deliver({ type: 'delete', key, version: revision });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const session of [...this.sessions]) {
      try {
        await session.close();
      } catch (err) {
        this.logger.warn({ err, sessionId: session.id }, 'failed to end session on close');
      }
    }
    this.watches.clear();
    await this.queue.run(async () => {
      await this.drain();
      await new Promise<void>((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve())));
    });
    this.logger.info({ revision: this.revision.toString() }, 'embedded metadata store closed');
  }

  private checkOpen(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw new MetadataUnavailableError(`embedded metadata store ${this.dir} is closed`);
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    try {
      this.checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    // Checked once, at enqueue time: an operation accepted before close() still runs, since close() queues the
    // database close behind it.
    return this.queue.run(task);
  }

  /** The key's record as the changes decided so far leave it, staged or durable. */
  private async readCurrent(key: string): Promise<StoredRecord | undefined> {
    const staged = this.staged.get(key);
    return staged !== undefined ? staged.record : this.readRecord(key);
  }

  /**
   * Adds a decided change to the group being filled and starts the group-commit loop if it is idle. Runs on
   * the queue. Resolves when the change is durable.
   */
  private stage(
    key: string,
    record: StoredRecord | undefined,
    ops: BatchOp[],
    event: WatchEvent,
  ): Promise<void> {
    const revision = ++this.stagedRevision;
    assert(eventRevision(event) === revision, 'a staged change carries the next revision');
    const group = (this.group ??= newCommitGroup(revision));
    this.staged.set(key, { record, revision, durable: group.done });
    group.ops.push(...ops);
    group.events.push(event);
    group.keys.push([key, revision]);
    group.revision = revision;
    this.flushing ??= this.flushGroups();
    return group.done;
  }

  /**
   * Runs a put or delete decision on the queue. A refusal (BadVersionError, NoSuchKeyError) that rests on a
   * change of this key not yet durable is reported only once that change is durable: nobody may learn of a
   * change a crash could still undo, and a get() after the refusal must see what the refusal saw.
   */
  private decide<T>(key: string, task: () => Promise<T>): Promise<T> {
    type Outcome =
      { ok: true; decided: T } | { ok: false; error: unknown; pending: Promise<void> | undefined };
    return this.serialized(async (): Promise<Outcome> => {
      try {
        return { ok: true, decided: await task() };
      } catch (error) {
        return { ok: false, error, pending: this.staged.get(key)?.durable };
      }
    }).then(async (outcome) => {
      if (outcome.ok) return outcome.decided;
      if (outcome.pending !== undefined) await outcome.pending;
      throw outcome.error;
    });
  }

  /** The group-commit loop: writes one synced batch per group until nothing is staged. */
  private async flushGroups(): Promise<void> {
    while (this.group !== undefined) {
      const group = this.group;
      this.group = undefined;
      if (this.failure === undefined) {
        try {
          group.ops.push({ type: 'put', key: META_REVISION_KEY, value: encodeU64(group.revision) });
          await dbBatch(this.db, group.ops);
        } catch (err) {
          this.failure = new MetadataUnavailableError(`embedded metadata store ${this.dir} failed a write`, {
            cause: err,
          });
          this.logger.error({ err }, 'metadata write failed; the store refuses further operations');
        }
      }
      if (this.failure !== undefined) {
        group.reject(this.failure);
        continue;
      }
      this.revision = group.revision;
      for (const [key, revision] of group.keys) {
        if (this.staged.get(key)?.revision === revision) this.staged.delete(key);
      }
      for (const event of group.events) this.deliver(event);
      group.resolve();
    }
    // Cleared in the same synchronous step as the loop's last check, so a change staged later starts a new loop.
    this.flushing = undefined;
  }

  /** Waits until every staged change is durable (or failed). Called on the queue, so nothing new is staged. */
  private async drain(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    if (this.failure !== undefined) throw this.failure;
  }

  private async readRecord(key: string): Promise<StoredRecord | undefined> {
    const bytes = await dbGet(this.db, dataKey(key));
    return bytes === undefined ? undefined : decodeRecord(key, bytes);
  }

  /** Writes one durable batch; with `revision`, also advances the store revision to it. */
  private async commit(ops: BatchOp[], revision?: bigint): Promise<void> {
    assert(
      this.stagedRevision === this.revision && this.group === undefined,
      'commit() needs a drained store',
    );
    if (revision !== undefined) {
      assert(revision === this.revision + 1n, 'revision must advance by one per change');
      ops.push({ type: 'put', key: META_REVISION_KEY, value: encodeU64(revision) });
    }
    await dbBatch(this.db, ops);
    if (revision !== undefined) this.revision = this.stagedRevision = revision;
  }

  private deliver(event: WatchEvent): void {
    const key = keyBytes(event.key);
    const revision = eventRevision(event);
    for (const watch of this.watches) {
      if (revision <= watch.fromRevision) continue;
      const matches = watch.prefix
        ? inRange(key, { start: watch.key, end: prefixEnd(watch.key) } satisfies KeyRange)
        : key.equals(watch.key);
      if (!matches) continue;
      try {
        watch.listener(event);
      } catch (err) {
        this.logger.error({ err, key: event.key }, 'metadata watch listener threw');
      }
    }
  }
}

function checkExpected(key: string, expected: ExpectedVersion, existing: StoredRecord | undefined): void {
  if (expected === 'any') return;
  if (expected === 'absent') {
    if (existing !== undefined)
      throw new BadVersionError(key, `expected absent, found version ${existing.version}`);
    return;
  }
  if (existing === undefined) throw new NoSuchKeyError(key);
  if (existing.version !== expected) {
    throw new BadVersionError(key, `expected version ${expected}, found ${existing.version}`);
  }
}

async function dbGet(db: RocksDb, key: Buffer): Promise<Buffer | undefined> {
  try {
    return await new Promise<Buffer | undefined>((resolve, reject) =>
      db.get(key, { asBuffer: true }, (err, value) => (err ? reject(err) : resolve(value))),
    );
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw new MetadataUnavailableError('embedded metadata store read failed', { cause: err });
  }
}

async function dbBatch(db: RocksDb, ops: BatchOp[]): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) =>
      db.batch(ops, { sync: true }, (err) => (err ? reject(err) : resolve())),
    );
  } catch (err) {
    throw new MetadataUnavailableError('embedded metadata store write failed', { cause: err });
  }
}

/** Reads [start, end) in key order, at most `limit` rows. */
async function dbScan(db: RocksDb, range: KeyRange, limit?: number): Promise<Array<[Buffer, Buffer]>> {
  const iterator = db.iterator({
    gte: range.start,
    ...(range.end === undefined ? {} : { lt: range.end }),
    limit: limit ?? -1,
    keyAsBuffer: true,
    valueAsBuffer: true,
  });
  const rows: Array<[Buffer, Buffer]> = [];
  try {
    for (;;) {
      const row = await new Promise<[Buffer, Buffer] | undefined>((resolve, reject) =>
        iterator.next((err, key, value) => {
          if (err) reject(err);
          else resolve(key === undefined || value === undefined ? undefined : [key, value]);
        }),
      );
      if (row === undefined) break;
      rows.push(row);
    }
  } catch (err) {
    throw new MetadataUnavailableError('embedded metadata store scan failed', { cause: err });
  } finally {
    await new Promise<void>((resolve) => iterator.end(() => resolve()));
  }
  return rows;
}
