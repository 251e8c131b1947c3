import assert from 'node:assert';
import type { Logger } from '../../common';
import { DEFAULT_REGISTRATION_TTL_SECONDS, RegistrationManager, SessionLostError } from '../../metadata';
import type { MetadataSession, MetadataStore } from '../../metadata';
import type { BookieMetrics } from '../bookie-metrics';
import { BookieFatalError, ReadOnlyModeDisabledError } from './state-errors';

/**
 * Why a bookie is read-only. The bookie is read-only while any reason holds:
 * - `forced`: forceReadOnlyBookie, or an operator's forced read-only; lasts until restart;
 * - `admin`: an operator asked for read-only (admin HTTP API) and has not asked for writable since;
 * - `disks-full`: every ledger dir is full (the disk monitor sets and clears it);
 * - `storage-error`: the journal or ledger storage can no longer write (set by the bookie core).
 */
export type ReadOnlyReason = 'forced' | 'admin' | 'disks-full' | 'storage-error';
export type ReleasableReadOnlyReason = Exclude<ReadOnlyReason, 'forced'>;

/** Where the bookie is registered: `<scope>/bookies/writable/<id>` or `<scope>/bookies/readonly/<id>`. */
export type Registration = 'writable' | 'readonly';

/** The bookie's state at one moment. */
export interface BookieState {
  /** Started (registered once) and not yet shut down. */
  running: boolean;
  shuttingDown: boolean;
  readOnly: boolean;
  forcedReadOnly: boolean;
  readOnlyReasons: ReadOnlyReason[];
  /** High-priority (recovery) adds are accepted even while read-only, if the disks have room for them. */
  availableForHighPriorityWrites: boolean;
  /** The registration that clients see now; undefined while the bookie is not registered. */
  registeredAs: Registration | undefined;
}

export interface BookieStateManagerOptions {
  bookieId: string;
  store: MetadataStore;
  /** The BookKeeper scope in the store, e.g. `/ledgers`. */
  scope: string;
  metrics: BookieMetrics;
  logger: Logger;
  /** Lease TTL of the registration: zkTimeout / 1000 (default 10 s). */
  ttlSeconds?: number;
  /** readOnlyModeEnabled (default true); when false, having to go read-only is fatal. */
  readOnlyModeEnabled?: boolean;
  /** forceReadOnlyBookie: start read-only and stay so. */
  forceReadOnly?: boolean;
}

const RETRY_DELAY_MIN_MS = 100;
const RETRY_DELAY_MAX_MS = 5000;

/**
 * The bookie's state (BookKeeper's BookieStateManager) and its registration in the metadata store.
 *
 * The state is local first: `transitionToReadOnly` makes `isReadOnly()` true at once (so the very next add is
 * refused), then the registration follows. Registration changes run one at a time, on their own queue, and
 * converge on the state: writable or read-only key on the bookie's session, the new key created before the old
 * is deleted (RegistrationManager.registerBookie), so a watching client never sees the bookie vanish.
 *
 * If registering fails (store unreachable) it is retried with backoff. If the session is lost (its lease
 * expired while etcd was unreachable, or was revoked), the bookie's key is gone: a new session is created and
 * the bookie registers again in its current state.
 *
 * Metric SERVER_STATUS: 1 registered and writable, 0 registered and read-only, -1 not registered.
 */
export class BookieStateManager {
  readonly bookieId: string;
  readonly readOnlyModeEnabled: boolean;
  private readonly logger: Logger;
  private readonly ttlSeconds: number;
  private readonly reasons = new Set<ReadOnlyReason>();
  private running = false;
  private shuttingDown = false;
  private highPriorityWritesAvailable = true;
  private registeredAs: Registration | undefined;
  private session: MetadataSession | undefined;
  private registrationManager: RegistrationManager | undefined;
  /** Registration work runs one task at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAttempt = 0;
  private fatalReported = false;
  private stopped: Promise<void> | undefined;
  private lastPublished = '';
  private readonly stateListeners = new Set<(state: BookieState) => void>();
  private readonly fatalListeners = new Set<(error: BookieFatalError) => void>();

  constructor(private readonly options: BookieStateManagerOptions) {
    this.bookieId = options.bookieId;
    this.logger = options.logger.child({ component: 'bookie-state', bookieId: options.bookieId });
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_REGISTRATION_TTL_SECONDS;
    this.readOnlyModeEnabled = options.readOnlyModeEnabled ?? true;
    if (options.forceReadOnly === true) this.reasons.add('forced');
    this.publish();
  }

  isRunning(): boolean {
    return this.running;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  isReadOnly(): boolean {
    return this.reasons.size > 0;
  }

  isForcedReadOnly(): boolean {
    return this.reasons.has('forced');
  }

  isAvailableForHighPriorityWrites(): boolean {
    return this.highPriorityWritesAvailable;
  }

  /** Why the bookie is read-only now, sorted; empty when writable. */
  readOnlyReasons(): ReadOnlyReason[] {
    return [...this.reasons].sort();
  }

  get state(): BookieState {
    return {
      running: this.running,
      shuttingDown: this.shuttingDown,
      readOnly: this.isReadOnly(),
      forcedReadOnly: this.isForcedReadOnly(),
      readOnlyReasons: this.readOnlyReasons(),
      availableForHighPriorityWrites: this.highPriorityWritesAvailable,
      registeredAs: this.registeredAs,
    };
  }

  /** Calls `listener` with the new state after every change. Returns a function that removes it. */
  onStateChange(listener: (state: BookieState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Calls `listener` (once per manager) when the bookie must stop; see BookieFatalError. */
  onFatal(listener: (error: BookieFatalError) => void): () => void {
    this.fatalListeners.add(listener);
    return () => this.fatalListeners.delete(listener);
  }

  /**
   * Registers the bookie (writable, or read-only if a reason already holds) and marks it running. Throws when
   * the registration fails (store unreachable, or another live session holds the bookie's key); call
   * shutdown() then, to end the session it may have opened.
   */
  async start(): Promise<void> {
    assert(!this.running && !this.shuttingDown, 'BookieStateManager.start() called twice or after shutdown');
    await this.serially(async () => {
      await this.register();
      this.running = true;
      this.publish();
    });
    this.logger.info({ registeredAs: this.registeredAs }, 'bookie registered');
  }

  /**
   * Makes the bookie read-only for `reason` (at once), then registers it as read-only. With
   * readOnlyModeEnabled=false an operator's request throws ReadOnlyModeDisabledError, any other reason is fatal
   * (onFatal listeners are called) and the state does not change.
   */
  async transitionToReadOnly(reason: ReleasableReadOnlyReason): Promise<void> {
    if (this.shuttingDown) return;
    if (!this.readOnlyModeEnabled) {
      if (reason === 'admin') throw new ReadOnlyModeDisabledError();
      this.reportFatal(reason);
      return;
    }
    if (this.reasons.has(reason)) return;
    const wasReadOnly = this.isReadOnly();
    this.reasons.add(reason);
    if (!wasReadOnly) this.logger.warn({ reason }, 'bookie is read-only');
    this.publish();
    await this.reconcile();
  }

  /**
   * Drops `reason`; when no reason is left the bookie is writable (at once) and registers as writable. A forced
   * read-only bookie stays read-only.
   */
  async transitionToWritable(reason: ReleasableReadOnlyReason): Promise<void> {
    if (this.shuttingDown || !this.reasons.delete(reason)) return;
    if (this.isReadOnly()) {
      this.logger.info({ reason, stillHeldBy: [...this.reasons] }, 'read-only reason cleared');
    } else {
      this.logger.info({ reason }, 'bookie is writable');
    }
    this.publish();
    await this.reconcile();
  }

  /** Forces the bookie read-only until it restarts (forceReadOnlyBookie; the admin API's force=true). */
  async forceReadOnly(): Promise<void> {
    if (this.shuttingDown || this.reasons.has('forced')) return;
    this.reasons.add('forced');
    this.logger.warn('bookie is forced read-only');
    this.publish();
    await this.reconcile();
  }

  setHighPriorityWritesAvailable(available: boolean): void {
    if (available === this.highPriorityWritesAvailable) return;
    this.highPriorityWritesAvailable = available;
    this.publish();
  }

  /**
   * Marks the bookie shutting down (at once), then ends its session: its registration vanishes, clients stop
   * placing ledgers on it. Idempotent.
   */
  shutdown(): Promise<void> {
    if (this.stopped !== undefined) return this.stopped;
    this.shuttingDown = true;
    clearTimeout(this.retryTimer);
    this.publish();
    this.stopped = this.serially(async () => {
      const session = this.session;
      this.session = undefined;
      this.registrationManager = undefined;
      if (session !== undefined) {
        try {
          await session.close();
        } catch (error) {
          // The key then expires with the lease, one TTL later.
          this.logger.warn({ err: error }, 'cannot end the registration session');
        }
      }
      this.registeredAs = undefined;
      this.running = false;
      this.publish();
      this.logger.info('bookie unregistered');
    });
    return this.stopped;
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Brings the registration in line with the state; on failure, retries later with backoff. */
  private reconcile(): Promise<void> {
    return this.serially(async () => {
      if (!this.running || this.shuttingDown) return;
      try {
        await this.register();
        this.retryAttempt = 0;
      } catch (error) {
        if (error instanceof SessionLostError && this.session !== undefined) {
          this.dropSession(this.session, error);
        }
        const delayMs = Math.min(RETRY_DELAY_MAX_MS, RETRY_DELAY_MIN_MS * 2 ** this.retryAttempt);
        this.retryAttempt += 1;
        this.logger.warn({ err: error, delayMs }, 'bookie registration failed, will retry');
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => void this.reconcile(), delayMs);
        this.retryTimer.unref();
      }
    });
  }

  private async register(): Promise<void> {
    const desired: Registration = this.isReadOnly() ? 'readonly' : 'writable';
    if (this.registeredAs === desired) return;
    const manager = await this.currentRegistrationManager();
    await manager.registerBookie(this.bookieId, desired === 'readonly');
    // The session was lost meanwhile: its key is gone, and the reconcile queued by the loss registers again.
    if (this.registrationManager !== manager) return;
    this.registeredAs = desired;
    this.publish();
  }

  private async currentRegistrationManager(): Promise<RegistrationManager> {
    if (this.registrationManager === undefined) {
      const session = await this.options.store.createSession(this.ttlSeconds);
      session.onLost((cause) => {
        if (this.dropSession(session, cause)) void this.reconcile();
      });
      this.session = session;
      this.registrationManager = new RegistrationManager(
        this.options.store,
        this.options.scope,
        this.logger,
        {
          session,
        },
      );
    }
    return this.registrationManager;
  }

  /** Forgets a lost session (its keys are gone with it); true if it was the current one. */
  private dropSession(session: MetadataSession, cause: Error): boolean {
    if (session !== this.session) return false;
    this.logger.warn({ err: cause, sessionId: session.id }, 'registration session lost, registering again');
    this.session = undefined;
    this.registrationManager = undefined;
    this.registeredAs = undefined;
    this.publish();
    return true;
  }

  private reportFatal(reason: ReleasableReadOnlyReason): void {
    if (this.fatalReported) return;
    this.fatalReported = true;
    const error = new BookieFatalError(reason);
    this.logger.error({ err: error, reason }, 'bookie cannot continue');
    this.notify(this.fatalListeners, error);
  }

  /** Updates SERVER_STATUS and tells the listeners, if anything changed. */
  private publish(): void {
    const state = this.state;
    this.options.metrics.serverStatus.set(state.registeredAs === undefined ? -1 : state.readOnly ? 0 : 1);
    const fingerprint = JSON.stringify(state);
    if (fingerprint === this.lastPublished) return;
    this.lastPublished = fingerprint;
    this.notify(this.stateListeners, state);
  }

  private notify<T>(listeners: ReadonlySet<(value: T) => void>, value: T): void {
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (error) {
        this.logger.error({ err: error }, 'bookie state listener threw');
      }
    }
  }
}
