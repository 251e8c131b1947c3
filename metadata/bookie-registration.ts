import type { Logger } from '../common';
import { BookieAlreadyRegisteredError, CookieNotFoundError } from './bookkeeper-errors';
import {
  bookiesPath,
  checkScope,
  cookieKey,
  readonlyBookieKey,
  readonlyBookiesPath,
  writableBookieKey,
  writableBookiesPath,
} from './bookkeeper-keys';
import { parseCookie, serializeCookie, type Cookie } from './cookie';
import { BadVersionError, NoSuchKeyError } from './errors';
import type { MetadataSession, MetadataStore, Watch, WatchEvent } from './metadata-store';

/** BookKeeper's etcd default: the lease TTL derived from zkTimeout (10 s). */
export const DEFAULT_REGISTRATION_TTL_SECONDS = 10;

export interface RegistrationManagerOptions {
  /** The session (lease) that holds the registrations; by default one is created with `ttlSeconds` and owned. */
  session?: MetadataSession;
  ttlSeconds?: number;
}

export interface VersionedCookie {
  cookie: Cookie;
  version: bigint;
}

/**
 * The bookie side of BookKeeper's registration (discover/RegistrationManager.java, etcd/EtcdRegistrationManager):
 * a bookie is registered while `<scope>/bookies/writable/<bookieId>` or `<scope>/bookies/readonly/<bookieId>`
 * exists, an empty value on the bookie's session, so it vanishes when the bookie dies. Also reads and writes the
 * bookie's cookie at `<scope>/cookies/<bookieId>`.
 */
export class RegistrationManager {
  private readonly logger: Logger;
  private readonly ttlSeconds: number;
  private session: Promise<MetadataSession> | undefined;
  private readonly ownsSession: boolean;

  constructor(
    private readonly store: MetadataStore,
    private readonly scope: string,
    logger: Logger,
    options: RegistrationManagerOptions = {},
  ) {
    checkScope(scope);
    this.logger = logger.child({ component: 'registration-manager' });
    this.ttlSeconds = options.session?.ttlSeconds ?? options.ttlSeconds ?? DEFAULT_REGISTRATION_TTL_SECONDS;
    this.ownsSession = options.session === undefined;
    if (options.session !== undefined) this.session = Promise.resolve(options.session);
  }

  /** The session holding this bookie's registrations (created on first use unless one was given). */
  getSession(): Promise<MetadataSession> {
    this.session ??= this.store.createSession(this.ttlSeconds);
    return this.session;
  }

  /**
   * Registers the bookie as writable or read-only and removes its registration in the other state, so a
   * transition is: create the new key, then delete the old one (a watcher briefly sees both, never neither).
   * If the key is held by another session (a previous run of this bookie whose lease has not expired), waits up
   * to 2 x TTL for it to vanish, then throws `BookieAlreadyRegisteredError`.
   */
  async registerBookie(bookieId: string, readOnly: boolean): Promise<void> {
    const key = readOnly ? readonlyBookieKey(this.scope, bookieId) : writableBookieKey(this.scope, bookieId);
    const other = readOnly
      ? writableBookieKey(this.scope, bookieId)
      : readonlyBookieKey(this.scope, bookieId);
    await this.register(bookieId, key);
    await this.deleteIfExists(other);
    this.logger.info({ bookieId, readOnly }, 'registered bookie');
  }

  /** Removes the bookie's registration in the given state (nothing if it is not registered). */
  async unregisterBookie(bookieId: string, readOnly: boolean): Promise<void> {
    const key = readOnly ? readonlyBookieKey(this.scope, bookieId) : writableBookieKey(this.scope, bookieId);
    if (!(await this.deleteIfExists(key))) this.logger.info({ bookieId, key }, 'bookie was not registered');
  }

  async isBookieRegistered(bookieId: string): Promise<boolean> {
    const [writable, readonly] = await Promise.all([
      this.store.get(writableBookieKey(this.scope, bookieId)),
      this.store.get(readonlyBookieKey(this.scope, bookieId)),
    ]);
    return writable !== undefined || readonly !== undefined;
  }

  /** The cookie stored for the bookie and its version; `CookieNotFoundError` when there is none. */
  async readCookie(bookieId: string): Promise<VersionedCookie> {
    const stored = await this.store.get(cookieKey(this.scope, bookieId));
    if (stored === undefined) throw new CookieNotFoundError(bookieId);
    return { cookie: parseCookie(stored.value), version: stored.stat.version };
  }

  /**
   * Writes the bookie's cookie: `'absent'` creates it (`BadVersionError` if one exists), a version replaces
   * the cookie of that version (`BadVersionError` on a mismatch, `CookieNotFoundError` if it is gone).
   * Returns the new version.
   */
  async writeCookie(cookie: Cookie, expectedVersion: bigint | 'absent'): Promise<bigint> {
    try {
      const stat = await this.store.put(cookieKey(this.scope, cookie.bookieId), serializeCookie(cookie), {
        expectedVersion,
      });
      return stat.version;
    } catch (error) {
      if (error instanceof NoSuchKeyError) throw new CookieNotFoundError(cookie.bookieId);
      throw error;
    }
  }

  /** Deletes the bookie's cookie if its version matches. */
  async removeCookie(bookieId: string, expectedVersion: bigint | 'any'): Promise<void> {
    try {
      await this.store.delete(cookieKey(this.scope, bookieId), expectedVersion);
    } catch (error) {
      if (error instanceof NoSuchKeyError) throw new CookieNotFoundError(bookieId);
      throw error;
    }
  }

  /** Ends an owned session: its registrations vanish at once. A given session is left to its owner. */
  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session !== undefined && this.ownsSession) await (await session).close();
  }

  private async register(bookieId: string, key: string): Promise<void> {
    const session = await this.getSession();
    const waitMs = 2 * this.ttlSeconds * 1000;
    const existing = await this.store.get(key);
    if (existing !== undefined) {
      if (existing.stat.ephemeralOwner === session.id) return;
      this.logger.info(
        { bookieId, key, previousOwner: existing.stat.ephemeralOwner, waitMs },
        'previous registration still exists, waiting for it to expire',
      );
      if (!(await this.waitUntilGone(key, waitMs)))
        throw new BookieAlreadyRegisteredError(bookieId, key, waitMs);
    }
    try {
      await this.store.put(key, Buffer.alloc(0), { expectedVersion: 'absent', session });
    } catch (error) {
      if (!(error instanceof BadVersionError)) throw error;
      // Someone registered in between: fine if it is this very session (a concurrent call), else a conflict.
      const now = await this.store.get(key);
      if (now?.stat.ephemeralOwner !== session.id)
        throw new BookieAlreadyRegisteredError(bookieId, key, waitMs);
    }
  }

  /** Resolves true once `key` no longer exists, false if it still does after `timeoutMs`. */
  private async waitUntilGone(key: string, timeoutMs: number): Promise<boolean> {
    let resolveGone!: () => void;
    const gone = new Promise<void>((resolve) => (resolveGone = resolve));
    const watch = await this.store.watch(key, (event) => {
      if (event.type === 'delete') resolveGone();
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      // The watch is established; a deletion before it is caught by this read.
      if ((await this.store.get(key)) === undefined) return true;
      const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
      return await Promise.race([gone.then(() => true as const), timedOut]);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      await watch.close();
    }
  }

  private async deleteIfExists(key: string): Promise<boolean> {
    try {
      await this.store.delete(key, 'any');
      return true;
    } catch (error) {
      if (error instanceof NoSuchKeyError) return false;
      throw error;
    }
  }
}

/** The registered bookies at one moment, each list sorted. */
export interface RegisteredBookies {
  writable: string[];
  readOnly: string[];
}

/**
 * The client side (discover/RegistrationClient.java): which bookies are registered, and a watch over both
 * states. BookKeeper's etcd driver stores no BookieServiceInfo; a bookie's address is its id.
 */
export class RegistrationClient {
  private readonly logger: Logger;

  constructor(
    private readonly store: MetadataStore,
    private readonly scope: string,
    logger: Logger,
  ) {
    checkScope(scope);
    this.logger = logger.child({ component: 'registration-client' });
  }

  async getWritableBookies(): Promise<string[]> {
    return this.listIds(`${writableBookiesPath(this.scope)}/`);
  }

  async getReadOnlyBookies(): Promise<string[]> {
    return this.listIds(`${readonlyBookiesPath(this.scope)}/`);
  }

  /**
   * Calls `listener` with the registered bookies once the watch is established, then after every change.
   * Method: the prefix watch starts first and buffers its events; then both lists are read; then the buffered
   * events are applied on top. A set add/remove per key is idempotent and the events are in store order, so
   * the last event of each key wins, whether the listing already reflected it or not.
   */
  async watchBookies(listener: (bookies: RegisteredBookies) => void): Promise<Watch> {
    const writablePrefix = `${writableBookiesPath(this.scope)}/`;
    const readonlyPrefix = `${readonlyBookiesPath(this.scope)}/`;
    const writable = new Set<string>();
    const readOnly = new Set<string>();
    let buffered: WatchEvent[] | undefined = [];
    let closed = false;
    let lastDelivered = '';

    const deliver = (): void => {
      const bookies = { writable: [...writable].sort(), readOnly: [...readOnly].sort() };
      const fingerprint = JSON.stringify(bookies);
      if (closed || fingerprint === lastDelivered) return;
      lastDelivered = fingerprint;
      listener(bookies);
    };
    const apply = (event: WatchEvent): void => {
      for (const [prefix, set] of [
        [writablePrefix, writable],
        [readonlyPrefix, readOnly],
      ] as const) {
        if (!event.key.startsWith(prefix)) continue;
        const bookieId = event.key.slice(prefix.length);
        if (event.type === 'put') set.add(bookieId);
        else set.delete(bookieId);
      }
    };

    const watch = await this.store.watch(
      `${bookiesPath(this.scope)}/`,
      (event) => {
        if (buffered !== undefined) {
          buffered.push(event);
        } else {
          apply(event);
          deliver();
        }
      },
      { prefix: true },
    );
    try {
      const [w, r] = await Promise.all([this.getWritableBookies(), this.getReadOnlyBookies()]);
      for (const id of w) writable.add(id);
      for (const id of r) readOnly.add(id);
    } catch (error) {
      await watch.close();
      throw error;
    }
    for (const event of buffered) apply(event);
    buffered = undefined;
    this.logger.debug({ writable: writable.size, readOnly: readOnly.size }, 'watching bookies');
    deliver();
    return {
      close: async () => {
        closed = true;
        await watch.close();
      },
    };
  }

  private async listIds(prefix: string): Promise<string[]> {
    const entries = await this.store.list(prefix, { keysOnly: true });
    return entries.map((e) => e.key.slice(prefix.length)).sort();
  }
}
