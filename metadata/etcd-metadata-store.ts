import assert from 'node:assert';
import { ExponentialBackoff, noop as noopPolicy } from 'cockatiel';
import type * as Etcd3Module from 'etcd3';
import type {
  Etcd3,
  ICompare,
  IKeyValue,
  IRequestOp,
  ITxnResponse,
  IWatchResponse,
  Lease,
  Watcher,
} from 'etcd3';
import type { Logger } from '../common';
import {
  BadVersionError,
  MetadataError,
  MetadataUnavailableError,
  NoSuchKeyError,
  SessionLostError,
} from './errors';
import { isEmptyRange, keyBytes, listRange, prefixEnd } from './key-range';
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

/**
 * etcd3, and gRPC under it, is loaded on first use: some 6 MB of heap that a standalone on its embedded store
 * never needs, and that every full GC of the broker would otherwise mark.
 */
let etcd3Module: typeof Etcd3Module | undefined;
function etcd3(): typeof Etcd3Module {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (etcd3Module ??= require('etcd3') as typeof Etcd3Module);
}

/*
 * The etcd metadata store, on the etcd3 client (1.1.2).
 *
 * Mapping: Stat.version = the key's modRevision, Stat.modCount = the key's etcd `version`, a session = a lease
 * (kept alive by the client, revoked on close), an ephemeral key = a key put with the lease. Every conditional
 * write is one etcd transaction that compares the mod (or create) revision and, in the same transaction, reads
 * the key back: on success that read is the new Stat, on failure it tells BadVersion from NoSuchKey.
 *
 * Failure behaviour of etcd3 1.1.2, checked against a dead endpoint, and what we configure instead:
 * - `dialTimeout` is declared in its options but never read. A refused connection fails a call at once with
 *   UNAVAILABLE; a host that accepts TCP but never answers holds a call until its gRPC deadline, and there is no
 *   deadline by default. We set a deadline on every unary call (`requestTimeoutMs`).
 * - The default fault handling retries three times and puts a circuit breaker on each host that, after three
 *   failures, fails every call with BrokenCircuitError for five seconds even when etcd is back. We disable both
 *   (no-op policies) and retry here, only where it is safe: reads, and writes that never left the client
 *   ("No connection established"). A write that may have reached etcd is never retried: it fails with
 *   MetadataUnavailableError ("may or may not have been applied"), because a blind retry of a compare-and-set that
 *   was in fact applied would report a false BadVersion.
 * - `watch().create()` never settles while etcd is down (the watch stream reconnects forever). We bound the
 *   establishment by `requestTimeoutMs`, and cap the stream's reconnect backoff at two seconds so watches resume
 *   quickly (from the revision after the last one delivered, so nothing is missed) when etcd returns.
 * - A lease reports 'lost' only when etcd says it expired, or after 2 x TTL without a keepalive. We declare a
 *   session lost after one TTL without an acknowledged keepalive: by then etcd may have deleted its keys.
 */

const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
const DEFAULT_LIST_PAGE_SIZE = 1000;
const WATCH_BACKOFF_MAX_MS = 2000;
const RETRY_DELAY_MS = 100;
/** etcd's range end meaning "every key from the start on". */
const RANGE_END_ALL = Buffer.from([0]);

export interface EtcdMetadataStoreOptions {
  /** `http://host:port` for each etcd member. */
  endpoints: string[];
  logger: Logger;
  /** A unary call (and the establishment of a watch) fails with MetadataUnavailableError after this long. */
  requestTimeoutMs?: number;
  /** `list` reads this many keys per etcd range request. */
  listPageSize?: number;
}

function statOf(kv: IKeyValue): Stat {
  const stat: Stat = { version: BigInt(kv.mod_revision), modCount: BigInt(kv.version) };
  const lease = BigInt(kv.lease || '0');
  if (lease !== 0n) stat.ephemeralOwner = leaseIdToSessionId(lease);
  return stat;
}

/** Session ids are lease ids in lowercase hex, zero-padded to 16 digits as `etcdctl lease list` shows them. */
function leaseIdToSessionId(leaseId: bigint): string {
  return leaseId.toString(16).padStart(16, '0');
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** True when etcd3 classifies the error as a transport fault (unavailable, deadline, cancelled, internal). */
function isTransportError(err: unknown): boolean {
  return isObject(err) && etcd3().isRecoverableError(err as Error);
}

/** UNAVAILABLE before the request was sent: the channel had no connection. Safe to retry any call. */
function wasNeverSent(err: unknown): boolean {
  return err instanceof Error && err.message.includes('No connection established');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class EtcdSession implements MetadataSession {
  readonly id: string;
  private state: 'open' | 'lost' | 'closed' = 'open';
  private lostCause: SessionLostError | undefined;
  private readonly listeners: Array<(cause: Error) => void> = [];
  private lastKeepAliveMs = Date.now();
  private readonly watchdog: NodeJS.Timeout;

  constructor(
    readonly store: EtcdMetadataStore,
    private readonly lease: Lease,
    readonly leaseId: string,
    readonly ttlSeconds: number,
    private readonly logger: Logger,
  ) {
    this.id = leaseIdToSessionId(BigInt(leaseId));
    lease.on('keepaliveSucceeded', () => {
      this.lastKeepAliveMs = Date.now();
    });
    lease.on('lost', (err: Error) => this.markLost(err));
    // etcd deletes the lease's keys one TTL after the last keepalive it received; we stop trusting the session
    // after one TTL without an acknowledged keepalive (etcd3 alone would wait for two).
    this.watchdog = setInterval(
      () => {
        const silentMs = Date.now() - this.lastKeepAliveMs;
        if (silentMs >= this.ttlSeconds * 1000) {
          this.markLost(new Error(`no keepalive acknowledged for ${silentMs} ms`));
        }
      },
      Math.max(100, (ttlSeconds * 1000) / 4),
    );
    this.watchdog.unref();
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  onLost(listener: (cause: Error) => void): void {
    if (this.state === 'lost' && this.lostCause !== undefined) {
      const cause = this.lostCause;
      queueMicrotask(() => listener(cause));
      return;
    }
    this.listeners.push(listener);
  }

  /** Called when the lease expired, was revoked elsewhere, or went unacknowledged for a TTL. */
  markLost(cause: Error): void {
    if (this.state !== 'open') return;
    this.state = 'lost';
    clearInterval(this.watchdog);
    this.lostCause = new SessionLostError(this.id, { cause });
    this.logger.warn({ sessionId: this.id, err: cause }, 'metadata session lost');
    // Stop keepalives; if etcd still holds the lease, revoke it so our keys go now rather than linger.
    this.lease.revoke().catch(() => undefined);
    for (const listener of this.listeners.splice(0)) {
      try {
        listener(this.lostCause);
      } catch (err) {
        this.logger.error({ err, sessionId: this.id }, 'metadata session listener threw');
      }
    }
  }

  async close(): Promise<void> {
    if (this.state !== 'open') {
      this.state = 'closed';
      return;
    }
    this.state = 'closed';
    clearInterval(this.watchdog);
    this.listeners.length = 0;
    this.store.forgetSession(this);
    try {
      await this.lease.revoke();
    } catch (err) {
      throw new MetadataUnavailableError(
        `cannot revoke lease of metadata session ${this.id}; its keys expire after ${this.ttlSeconds} s`,
        { cause: err },
      );
    }
  }
}

class EtcdWatch implements Watch {
  private closed = false;

  constructor(
    private readonly store: EtcdMetadataStore,
    private readonly watcher: Watcher,
    private readonly requestTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  get isOpen(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.store.forgetWatch(this);
    // Cancelling waits for etcd's confirmation, which never comes if etcd is gone; do not hang on it.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.requestTimeoutMs);
    });
    try {
      await Promise.race([this.watcher.cancel(), timeout]);
    } catch (err) {
      this.logger.warn({ err }, 'cannot cancel etcd watch');
    } finally {
      clearTimeout(timer);
    }
  }
}

export class EtcdMetadataStore implements MetadataStore {
  private readonly sessions = new Set<EtcdSession>();
  private readonly watches = new Set<EtcdWatch>();
  private closed = false;
  private readonly requestTimeoutMs: number;
  private readonly listPageSize: number;
  private readonly attemptsMax: number;

  private constructor(
    private readonly client: Etcd3,
    readonly endpoints: readonly string[],
    private readonly logger: Logger,
    options: EtcdMetadataStoreOptions,
  ) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.listPageSize = options.listPageSize ?? DEFAULT_LIST_PAGE_SIZE;
    this.attemptsMax = 2 * endpoints.length;
  }

  /** Connects and checks that etcd answers; fails with MetadataUnavailableError within `requestTimeoutMs`. */
  static async connect(options: EtcdMetadataStoreOptions): Promise<EtcdMetadataStore> {
    assert(options.endpoints.length > 0, 'no etcd endpoints');
    const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    assert(requestTimeoutMs > 0, 'requestTimeoutMs must be positive');
    assert(options.listPageSize === undefined || options.listPageSize > 0, 'listPageSize must be positive');
    const logger = options.logger.child({ component: 'etcd-metadata-store', endpoints: options.endpoints });
    const client = new (etcd3().Etcd3)({
      hosts: [...options.endpoints],
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
      faultHandling: {
        host: () => noopPolicy,
        global: noopPolicy,
        watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: WATCH_BACKOFF_MAX_MS }).next(),
      },
    });
    const store = new EtcdMetadataStore(client, options.endpoints, logger, options);
    try {
      // One cheap read proves that etcd answers.
      await store.call('connect', '', true, () =>
        client.kv.range({ key: RANGE_END_ALL, keys_only: true, limit: 1 }),
      );
    } catch (err) {
      client.close();
      throw new MetadataUnavailableError(`cannot reach etcd at ${options.endpoints.join(',')}`, {
        cause: err instanceof MetadataUnavailableError && err.cause !== undefined ? err.cause : err,
      });
    }
    logger.info('etcd metadata store connected');
    return store;
  }

  async get(key: string): Promise<StoredValue | undefined> {
    const response = await this.call('get', key, true, () => this.client.kv.range({ key: keyBytes(key) }));
    const kv = response.kvs[0];
    return kv === undefined ? undefined : { key, value: Buffer.from(kv.value), stat: statOf(kv) };
  }

  async put(key: string, value: Buffer, options: PutOptions = {}): Promise<Stat> {
    assert(key.length > 0, 'empty metadata key');
    const expected = options.expectedVersion ?? 'any';
    let leaseId: string | undefined;
    const session = options.session;
    if (session !== undefined) {
      if (!(session instanceof EtcdSession) || session.store !== this || !session.isOpen) {
        throw new SessionLostError(session.id);
      }
      leaseId = session.leaseId;
    }
    const keyBuffer = keyBytes(key);
    const putOp: IRequestOp = {
      request_put: { key: keyBuffer, value, ...(leaseId === undefined ? {} : { lease: leaseId }) },
    };
    const readOp: IRequestOp = { request_range: { key: keyBuffer } };
    let response: ITxnResponse;
    try {
      response = await this.call('put', key, false, () =>
        this.client.kv.txn({
          compare: compareFor(keyBuffer, expected),
          success: [putOp, readOp],
          failure: [readOp],
        }),
      );
    } catch (err) {
      if (
        session !== undefined &&
        err instanceof MetadataError &&
        err.cause instanceof etcd3().EtcdLeaseInvalidError
      ) {
        (session as EtcdSession).markLost(err.cause);
        throw new SessionLostError(session.id, { cause: err.cause });
      }
      throw err;
    }
    if (response.succeeded) {
      const kv = response.responses[1]?.response_range.kvs[0];
      assert(kv !== undefined, 'etcd transaction lost its own put');
      return statOf(kv);
    }
    const current = response.responses[0]?.response_range.kvs[0];
    if (current === undefined) throw new NoSuchKeyError(key);
    throw new BadVersionError(
      key,
      `expected ${describeExpected(expected)}, found version ${current.mod_revision}`,
    );
  }

  async delete(key: string, expectedVersion: ExpectedVersion = 'any'): Promise<void> {
    const keyBuffer = keyBytes(key);
    if (expectedVersion === 'absent') {
      // Nothing to delete either way; report what is there, as the embedded store does.
      const existing = await this.get(key);
      if (existing === undefined) throw new NoSuchKeyError(key);
      throw new BadVersionError(key, `expected absent, found version ${existing.stat.version}`);
    }
    const readOp: IRequestOp = { request_range: { key: keyBuffer } };
    const response = await this.call('delete', key, false, () =>
      this.client.kv.txn({
        compare: compareFor(keyBuffer, expectedVersion === 'any' ? 'exists' : expectedVersion),
        success: [{ request_delete_range: { key: keyBuffer } }],
        failure: [readOp],
      }),
    );
    if (response.succeeded) return;
    const current = response.responses[0]?.response_range.kvs[0];
    if (current === undefined) throw new NoSuchKeyError(key);
    throw new BadVersionError(key, `expected version ${expectedVersion}, found ${current.mod_revision}`);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<StoredValue[]> {
    assert(
      options.limit === undefined || (Number.isInteger(options.limit) && options.limit > 0),
      'bad list limit',
    );
    const range = listRange(prefix, options);
    if (isEmptyRange(range)) return [];
    const end = range.end ?? RANGE_END_ALL;
    let start = range.start.length === 0 ? RANGE_END_ALL : range.start;
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const results: StoredValue[] = [];
    // Every page after the first reads at the first page's revision: one consistent snapshot.
    let revision: string | undefined;
    while (results.length < limit) {
      const pageSize = Math.min(this.listPageSize, limit - results.length);
      const pageStart = start;
      const response = await this.call('list', prefix, true, () =>
        this.client.kv.range({
          key: pageStart,
          range_end: end,
          limit: pageSize,
          sort_order: etcd3().SortOrder.Ascend,
          sort_target: etcd3().SortTarget.Key,
          keys_only: options.keysOnly === true,
          ...(revision === undefined ? {} : { revision }),
        }),
      );
      revision ??= response.header.revision;
      for (const kv of response.kvs) {
        results.push({
          key: kv.key.toString('utf8'),
          value: options.keysOnly === true ? Buffer.alloc(0) : Buffer.from(kv.value),
          stat: statOf(kv),
        });
      }
      const last = response.kvs[response.kvs.length - 1];
      if (!response.more || last === undefined) break;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return results;
  }

  async watch(
    key: string,
    listener: (event: WatchEvent) => void,
    options: { prefix?: boolean } = {},
  ): Promise<Watch> {
    this.checkOpen();
    const keyBuffer = keyBytes(key);
    const builder = this.client.watch();
    if (options.prefix === true) {
      builder.inRange({
        start: keyBuffer.length === 0 ? RANGE_END_ALL : keyBuffer,
        end: prefixEnd(keyBuffer) ?? RANGE_END_ALL,
      });
    } else {
      builder.key(keyBuffer);
    }
    const watcher = builder.watcher();
    const logger = this.logger.child({ watchKey: key, prefix: options.prefix === true });
    const watch = new EtcdWatch(this, watcher, this.requestTimeoutMs, logger);
    watcher.on('data', (response: IWatchResponse) => {
      for (const event of response.events) {
        if (!watch.isOpen) return;
        const eventKey = event.kv.key.toString('utf8');
        const mapped: WatchEvent =
          event.type === 'Delete'
            ? { type: 'delete', key: eventKey, version: BigInt(event.kv.mod_revision) }
            : { type: 'put', key: eventKey, value: Buffer.from(event.kv.value), stat: statOf(event.kv) };
        try {
          listener(mapped);
        } catch (err) {
          logger.error({ err, key: eventKey }, 'metadata watch listener threw');
        }
      }
    });
    watcher.on('disconnected', (err: Error) => logger.warn({ err }, 'etcd watch disconnected'));
    let established = false;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new MetadataUnavailableError(
              `etcd watch on ${key} not established within ${this.requestTimeoutMs} ms`,
            ),
          ),
        this.requestTimeoutMs,
      );
      watcher.once('connected', () => {
        clearTimeout(timer);
        established = true;
        resolve();
      });
      watcher.on('error', (err: Error) => {
        if (!established) {
          clearTimeout(timer);
          reject(new MetadataUnavailableError(`etcd refused a watch on ${key}`, { cause: err }));
          return;
        }
        // etcd cancelled an established watch (e.g. its revision was compacted away): changes may be missed.
        logger.error({ err }, 'etcd cancelled a metadata watch');
      });
    }).catch(async (err: unknown) => {
      await watch.close();
      throw err;
    });
    watcher.on('connected', () => logger.info('etcd watch re-established'));
    this.watches.add(watch);
    return watch;
  }

  async createSession(ttlSeconds: number): Promise<MetadataSession> {
    assert(
      Number.isInteger(ttlSeconds) && ttlSeconds >= 1,
      'session TTL must be a whole number of seconds >= 1',
    );
    this.checkOpen();
    const lease = this.client.lease(ttlSeconds, { autoKeepAlive: true });
    // A lease whose grant failed emits 'lost'; nobody listens yet, and the failure is reported by grant().
    lease.on('lost', () => undefined);
    let leaseId: string;
    try {
      leaseId = String(await lease.grant());
    } catch (err) {
      lease.release();
      throw new MetadataUnavailableError('cannot create an etcd lease for a metadata session', {
        cause: err,
      });
    }
    const session = new EtcdSession(this, lease, leaseId, ttlSeconds, this.logger);
    this.sessions.add(session);
    this.logger.debug({ sessionId: session.id, ttlSeconds }, 'metadata session created');
    return session;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      [...this.sessions].map((session) =>
        session
          .close()
          .catch((err: unknown) => this.logger.warn({ err, sessionId: session.id }, 'session close failed')),
      ),
    );
    await Promise.all([...this.watches].map((watch) => watch.close()));
    this.client.close();
    this.logger.info('etcd metadata store closed');
  }

  /** @internal */
  forgetSession(session: EtcdSession): void {
    this.sessions.delete(session);
  }

  /** @internal */
  forgetWatch(watch: EtcdWatch): void {
    this.watches.delete(watch);
  }

  private checkOpen(): void {
    if (this.closed) throw new MetadataUnavailableError('etcd metadata store is closed');
  }

  /**
   * Runs one etcd call, retrying transport faults where a retry cannot apply a write twice (see the file
   * comment), and turns etcd3's errors into the metadata error family.
   */
  private async call<T>(op: string, key: string, idempotent: boolean, run: () => Promise<T>): Promise<T> {
    this.checkOpen();
    const deadline = Date.now() + this.requestTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        const retry =
          attempt < this.attemptsMax &&
          Date.now() + RETRY_DELAY_MS < deadline &&
          isTransportError(err) &&
          (idempotent || wasNeverSent(err));
        if (!retry) {
          if (isTransportError(err)) {
            throw new MetadataUnavailableError(`etcd ${op} failed on ${key}`, { cause: err });
          }
          throw new MetadataError('MetadataRejected', `etcd rejected ${op} on ${key}`, { cause: err });
        }
        this.logger.debug({ err, op, key, attempt }, 'retrying etcd call');
        await delay(RETRY_DELAY_MS);
      }
    }
  }
}

function compareFor(key: Buffer, expected: ExpectedVersion | 'exists'): ICompare[] {
  if (expected === 'any') return [];
  if (expected === 'absent') {
    return [
      { key, target: etcd3().CompareTarget.Create, result: etcd3().CompareResult.Equal, create_revision: 0 },
    ];
  }
  if (expected === 'exists') {
    return [
      {
        key,
        target: etcd3().CompareTarget.Create,
        result: etcd3().CompareResult.Greater,
        create_revision: 0,
      },
    ];
  }
  return [
    {
      key,
      target: etcd3().CompareTarget.Mod,
      result: etcd3().CompareResult.Equal,
      mod_revision: expected.toString(),
    },
  ];
}

function describeExpected(expected: ExpectedVersion): string {
  return typeof expected === 'bigint' ? `version ${expected}` : expected;
}
