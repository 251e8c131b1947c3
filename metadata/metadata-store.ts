/**
 * The metadata store: a small, strongly consistent, versioned key-value space with compare-and-set, ordered
 * listing, watches and sessions (ephemeral keys). Two implementations: a real etcd (`etcd://`) for clusters and
 * an embedded RocksDB store for standalone use. Everything BookKeeper- or Pulsar-specific is built on top of it.
 *
 * Keys are strings (UTF-8, `/`-separated by convention) and compared as bytes; values are bytes.
 */

/** What a store knows about one key. */
export interface Stat {
  /**
   * The version a compare-and-set compares against: the store-wide revision of the key's last change
   * (etcd's modRevision). Strictly increases with every change to any key of the store.
   */
  version: bigint;
  /** How many times the key was put since it was (last) created: 1 after the create (etcd's `version`). */
  modCount: bigint;
  /** Set when the key belongs to a session and vanishes with it. */
  ephemeralOwner?: string;
}

export interface StoredValue {
  key: string;
  value: Buffer;
  stat: Stat;
}

/**
 * The version a write expects to find:
 * - a bigint: the key exists with exactly this version (compare-and-set);
 * - `'absent'`: the key must not exist (create);
 * - `'any'`: unconditional.
 */
export type ExpectedVersion = bigint | 'absent' | 'any';

export interface PutOptions {
  expectedVersion?: ExpectedVersion;
  /** Attach the key to this session: it vanishes when the session ends or its process dies. */
  session?: MetadataSession;
}

export interface ListOptions {
  /** Inclusive lower bound (default: the prefix itself). */
  start?: string;
  /** Exclusive upper bound (default: the end of the prefix). */
  end?: string;
  /** Stop after this many keys. */
  limit?: number;
  /** Do not return values (cheaper for large listings). */
  keysOnly?: boolean;
}

export type WatchEvent =
  { type: 'put'; key: string; value: Buffer; stat: Stat } | { type: 'delete'; key: string; version: bigint };

export interface Watch {
  /** Stops delivering events. Idempotent. */
  close(): Promise<void>;
}

/**
 * A session owns ephemeral keys. It ends by `close()` (its keys are deleted at once), or when its keepalives stop
 * (process death, partition), after its TTL; then the store deletes its keys and `onLost` listeners are called.
 */
export interface MetadataSession {
  readonly id: string;
  readonly ttlSeconds: number;
  /** Called once if the session is lost without `close()` (lease expired or revoked elsewhere). */
  onLost(listener: (cause: Error) => void): void;
  close(): Promise<void>;
}

export interface MetadataStore {
  /** The key's value and stat, or `undefined` when it does not exist. */
  get(key: string): Promise<StoredValue | undefined>;

  /**
   * Writes the key if its current version matches `expectedVersion` (default `'any'`) and returns its new stat.
   * Throws `BadVersionError` on a version mismatch or when the key exists (for `'absent'`), `NoSuchKeyError`
   * when a version was expected and the key does not exist.
   */
  put(key: string, value: Buffer, options?: PutOptions): Promise<Stat>;

  /**
   * Deletes the key if its version matches (default `'any'`). Throws `NoSuchKeyError` when it does not exist,
   * `BadVersionError` on a mismatch.
   */
  delete(key: string, expectedVersion?: ExpectedVersion): Promise<void>;

  /** Keys starting with `prefix` (within `start`/`end` if given), ordered by key bytes. */
  list(prefix: string, options?: ListOptions): Promise<StoredValue[]>;

  /**
   * Delivers every later change to `key` (or, with `prefix: true`, to every key starting with it) in the order
   * the store applied them. Resolves once the watch is established: no change after that is missed.
   */
  watch(key: string, listener: (event: WatchEvent) => void, options?: { prefix?: boolean }): Promise<Watch>;

  /** Starts a session kept alive by this process. */
  createSession(ttlSeconds: number): Promise<MetadataSession>;

  /** Ends every session of this client (their ephemeral keys are deleted), stops watches, releases resources. */
  close(): Promise<void>;
}
