import { randomBytes } from 'node:crypto';
import { LedgerlineError } from '../common';
import type { Logger } from '../common';
import { BKError, isBKError } from '../ledger-client';
import type { BookKeeper, CreateLedgerOptions, WriteAdvHandle } from '../ledger-client';
import type { DigestType } from '../metadata';
import type { Entry } from './cursor-host';
import { ManagedCursor } from './cursor/managed-cursor';
import { EntryCache } from './entry-cache';
import { LedgerIds } from './ledger-ids';
import { isManagedLedgerError, ManagedLedgerError } from './errors';
import type { ManagedLedgerConfig } from './managed-ledger-config';
import { isNoSuchLedger, ManagedLedgerView } from './managed-ledger-view';
import type { MetaStore } from './meta-store';
import type { LedgerInfo } from './ml-data-formats';
import { Position } from './position';
import { Fifo, Mutex, sleep } from './serial';

/** Pulsar's ManagedLedgerImpl.State. */
export type ManagedLedgerState =
  | 'None'
  | 'LedgerOpened'
  | 'ClosingLedger'
  | 'ClosedLedger'
  | 'CreatingLedger'
  | 'Closed'
  | 'Fenced'
  | 'Terminated'
  | 'WriteFailed';

export interface ManagedLedgerInit {
  name: string;
  config: ManagedLedgerConfig;
  metaStore: MetaStore;
  bookKeeper: BookKeeper;
  logger: Logger;
  /** Told once the managed ledger is closed or deleted (the factory forgets it). */
  onClosed?: (ml: ManagedLedger) => void;
  interceptor?: ManagedLedgerInterceptor;
}

/**
 * A hook into the managed ledger's metadata writes (the part of Pulsar's ManagedLedgerInterceptor we need): called
 * just before every ManagedLedgerInfo write (open, rollover, trim, terminate, close) with the properties map that
 * write stores, which the hook may update. The broker keeps its running message index there, so the index
 * survives even when every ledger holding entries has been trimmed.
 */
export interface ManagedLedgerInterceptor {
  onUpdateManagedLedgerInfo(properties: Map<string, string>): void;
}

export interface OpenCursorOptions {
  /** Where a new cursor starts: after the last entry ('latest', Pulsar's default) or before the first. */
  initialPosition?: 'earliest' | 'latest';
  /** Properties stored with a new cursor's first mark-delete. */
  properties?: Map<string, bigint>;
}

const MB = 1024 * 1024;
const MINUTE_MS = 60_000;
/** Bytes an entry may have: a little less than the client's frame limit (its frame header and digest). */
const FRAME_OVERHEAD_BYTES = 4096;
/** Ledger creation after a failure is retried after these pauses (doubling), until the metadata timeout. */
const CREATE_RETRY_FIRST_MS = 100;
const CREATE_RETRY_MAX_MS = 2000;
/** Ledger ids tried before giving up on creating a ledger (each taken id is another ledger's). */
const LEDGER_ID_ATTEMPTS = 10;
/** Opens started again after losing the metadata compare-and-set to an owner that was still writing. */
const OPEN_ATTEMPTS = 5;

const DIGEST_TYPES: Readonly<Record<string, DigestType>> = {
  CRC32C: 'CRC32C',
  CRC32: 'CRC32',
  MAC: 'HMAC',
  HMAC: 'HMAC',
  DUMMY: 'DUMMY',
};

/** One addEntry on its way: queued, sent to a ledger, confirmed, released to the caller in queue order. */
class OpAddEntry {
  /** The ledger it was last sent to. */
  handle: WriteAdvHandle | undefined = undefined;
  /** When it was sent there (ms), for managedLedgerAddEntryTimeoutSeconds. */
  sentAtMs = 0;
  /** Its entry id in that ledger (sequential from 0 per ledger, as the client assigns them). */
  entryId = -1;
  /** Set when the ledger confirmed it. */
  position: Position | undefined = undefined;
  /** It filled the ledger: once it is released, the ledger is closed and a new one created. */
  closeWhenDone = false;
  settled = false;

  constructor(
    readonly data: Buffer,
    readonly resolve: (position: Position) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

/**
 * A managed ledger (Pulsar's ManagedLedgerImpl): one named log written as a chain of BookKeeper ledgers, with its
 * ManagedLedgerInfo in the metadata store, updated only by compare-and-set. Created by ManagedLedgerFactory.
 *
 * Adds: a FIFO of OpAddEntry. An op is sent to the current ledger when the state is LedgerOpened, queued
 * otherwise; completions are released strictly in queue order. The op that makes the ledger full (entries, size,
 * age) is marked closeWhenDone and later adds queue behind it; once it is released the ledger is closed and a new
 * one created (`rollover`), and the queue is sent to it. A write failure also rolls over: the failed ledger is
 * closed at its last confirmed entry and every op not in it is sent again, in order, on the new ledger.
 *
 * Metadata writes (ledger list, termination) are serialised by `metadataMutex`; a lost compare-and-set, or a
 * ledger fenced under an add, moves the managed ledger to Fenced: another owner has it, and every later
 * operation fails with ManagedLedgerFenced.
 */
export class ManagedLedger extends ManagedLedgerView {
  private state: ManagedLedgerState = 'None';
  private metadataVersion: bigint | 'absent' = 'absent';
  private properties = new Map<string, string>();
  private terminatedPosition: Position | undefined;

  private readonly pendingAdds = new Fifo<OpAddEntry>();
  private currentHandle: WriteAdvHandle | undefined;
  private currentPushedEntries = 0;
  private currentPushedSize = 0;
  private ledgerCreatedAtMs = 0;
  private lastAddAtMs = Date.now();
  private rolling: Promise<void> | undefined;
  /** A rollover asked for while one was running, about the ledger that one opens. */
  private rollRequestedFor: WriteAdvHandle | undefined;
  private readonly ledgerIds: LedgerIds;
  /** The highest ledger id in the list when opened, then the last created: a new ledger must be higher. */
  private highestLedgerId = -1n;
  /** Ledgers dropped from the list (empty): deleted from BookKeeper after the next metadata write. */
  private ledgersToDelete: bigint[] = [];

  private readonly metadataMutex = new Mutex();
  private readonly trimMutex = new Mutex();
  private trimScheduled = false;
  private readonly cursors = new Map<string, ManagedCursor>();
  private readonly openingCursors = new Map<string, Promise<ManagedCursor>>();
  private addListeners = new Set<() => void>();
  private drainWaiters: Array<() => void> = [];

  private readonly maxEntriesPerLedger: number;
  private readonly maxSizePerLedgerBytes: number;
  private readonly minRolloverMs: number;
  private readonly maxRolloverMs: number;
  private readonly inactiveRolloverMs: number;
  private readonly maxEntrySizeBytes: number;
  private readonly addEntryTimeoutMs: number;
  /** The ledger whose adds were failed for a timeout (once is enough). */
  private timedOutHandle: WriteAdvHandle | undefined;
  private readonly ledgerOptions: CreateLedgerOptions;
  private timer: NodeJS.Timeout | undefined;
  private stopping: 'close' | 'terminate' | 'delete' | undefined;
  private closing: Promise<void> | undefined;
  private readonly onClosed: ((ml: ManagedLedger) => void) | undefined;
  private readonly interceptor: ManagedLedgerInterceptor | undefined;
  private markReleased!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.markReleased = resolve));

  private constructor(init: ManagedLedgerInit) {
    super({ ...init, logger: init.logger.child({ managedLedger: init.name }) });
    const c = init.config;
    this.onClosed = init.onClosed;
    this.interceptor = init.interceptor;
    this.ledgerIds = new LedgerIds(init.metaStore.store);
    this.maxEntriesPerLedger = c.managedLedgerMaxEntriesPerLedger;
    this.maxSizePerLedgerBytes = c.managedLedgerMaxSizePerLedgerMbytes * MB;
    this.minRolloverMs = c.managedLedgerMinLedgerRolloverTimeMinutes * MINUTE_MS;
    // Randomised by up to 5% per managed ledger, so topics created together do not all roll at once.
    this.maxRolloverMs = c.managedLedgerMaxLedgerRolloverTimeMinutes * MINUTE_MS * (1 + Math.random() * 0.05);
    this.inactiveRolloverMs = c.managedLedgerInactiveLedgerRolloverTimeSeconds * 1000;
    this.addEntryTimeoutMs = c.managedLedgerAddEntryTimeoutSeconds * 1000;
    this.maxEntrySizeBytes = init.bookKeeper.config.nettyMaxFrameSizeBytes - FRAME_OVERHEAD_BYTES;
    const digestType = DIGEST_TYPES[c.managedLedgerDigestType];
    if (digestType === undefined) {
      throw new ManagedLedgerError(
        'InvalidArgument',
        `managed ledger ${init.name}: managedLedgerDigestType must be CRC32C, CRC32, MAC or DUMMY, got ${c.managedLedgerDigestType}`,
      );
    }
    this.ledgerOptions = {
      ensembleSize: c.managedLedgerDefaultEnsembleSize,
      writeQuorumSize: c.managedLedgerDefaultWriteQuorum,
      ackQuorumSize: c.managedLedgerDefaultAckQuorum,
      digestType,
      password: c.managedLedgerPassword,
      customMetadata: {
        'pulsar/managed-ledger': init.name,
        application: 'pulsar',
        component: 'managed-ledger',
      },
    };
    if (c.managedLedgerCacheSizeMB > 0) {
      this.cache = new EntryCache({
        maxSizeBytes: c.managedLedgerCacheSizeMB * MB,
        evictionTimeThresholdMs: c.managedLedgerCacheEvictionTimeThresholdMillis,
      });
    }
  }

  /**
   * Opens (creating if needed) and recovers the managed ledger; see `initialize`. An open that loses its
   * compare-and-set to the previous owner (which rolled over meanwhile: its new ledger is not fenced yet) starts
   * again from the metadata that owner wrote, up to OPEN_ATTEMPTS times.
   */
  static async open(init: ManagedLedgerInit): Promise<ManagedLedger> {
    for (let attempt = 1; ; attempt++) {
      const ml = new ManagedLedger(init);
      try {
        await ml.initialize();
        return ml;
      } catch (error) {
        await ml.abandon();
        if (!isManagedLedgerError(error, 'ManagedLedgerFenced') || attempt >= OPEN_ATTEMPTS) throw error;
        ml.logger.info({ attempt }, 'lost the metadata to another owner while opening; opening again');
      }
    }
  }

  // ---- open and recovery ----

  /**
   * Pulsar's initialize: read (or create) the ManagedLedgerInfo; recovery-open the last ledger (fencing a previous
   * owner) and record its real entry count and size; drop empty ledgers; unless terminated, create a new ledger
   * for writes (a recovered ledger is never appended to); write the list by compare-and-set; recover the cursors.
   */
  private async initialize(): Promise<void> {
    const found = await this.metaStore.getManagedLedgerInfo(this.name);
    if (found === undefined) {
      this.metadataVersion = await this.metaStore.putManagedLedgerInfo(
        this.name,
        { ledgers: [], properties: this.properties },
        'absent',
      );
    } else {
      this.metadataVersion = found.version;
      this.properties = found.value.properties;
      this.terminatedPosition = found.value.terminatedPosition;
      this.ledgers = found.value.ledgers;
    }
    for (const info of this.ledgers) {
      if (info.ledgerId > this.highestLedgerId) this.highestLedgerId = info.ledgerId;
    }
    await this.measureLastLedger(true);
    const last = this.ledgers[this.ledgers.length - 1];
    if (last !== undefined && last.timestamp === 0) last.timestamp = Date.now();
    for (const info of this.ledgers) {
      if (info.entries === 0) this.ledgersToDelete.push(info.ledgerId);
    }
    this.ledgers = this.ledgers.filter((info) => info.entries > 0);
    this.recomputeLastConfirmed();

    if (this.terminatedPosition !== undefined) {
      await this.metadataMutex.run(() => this.writeInfo(this.ledgers));
      this.state = 'Terminated';
    } else {
      this.state = 'CreatingLedger';
      const handle = await this.createLedger();
      try {
        await this.installLedger(handle);
      } catch (error) {
        await this.discardLedger(handle);
        throw error;
      }
      this.state = 'LedgerOpened';
    }
    void this.deleteDroppedLedgers();

    const names = await this.metaStore.getCursors(this.name);
    const recovered = await Promise.all(names.map((name) => ManagedCursor.recover(this, name)));
    for (const cursor of recovered) this.cursors.set(cursor.name, cursor);
    this.startTimer();
    this.logger.info(
      {
        state: this.state,
        ledgers: this.ledgers.length,
        entries: this.totalEntries(),
        lastConfirmed: this.lastConfirmed.toString(),
        cursors: names.length,
      },
      'managed ledger opened',
    );
  }

  /** Releases what a failed open holds. */
  private async abandon(): Promise<void> {
    this.stopTimer();
    this.stopping = 'close';
    if (this.state !== 'Fenced') this.state = 'Closed';
    await Promise.allSettled([...this.cursors.values()].map((c) => c.close()));
    await this.currentHandle?.close().catch(() => undefined);
    await this.closeReadHandles();
  }

  // ---- state ----

  /** When the ledger now being written was created (ms since the epoch); 0 before the first one. */
  getLastLedgerCreatedTimestamp(): number {
    return this.ledgerCreatedAtMs;
  }

  getState(): ManagedLedgerState {
    return this.state;
  }

  /** True once close() or delete() was called: the factory opens a new instance after `whenClosed()`. */
  isClosedOrClosing(): boolean {
    return this.state === 'Closed' || this.stopping === 'close' || this.stopping === 'delete';
  }

  /** Resolves once a close or delete has finished. */
  whenClosed(): Promise<void> {
    return this.released;
  }

  /** The properties stored in the ManagedLedgerInfo (as of the last metadata write, or the interceptor's). */
  getProperties(): ReadonlyMap<string, string> {
    return this.properties;
  }

  isTerminated(): boolean {
    return this.state === 'Terminated';
  }

  /** The position the managed ledger was terminated at, if it was. */
  getTerminatedPosition(): Position | undefined {
    return this.terminatedPosition;
  }

  protected checkReadable(what: string): void {
    if (this.state === 'Fenced') throw this.fencedError(what);
    if (this.state === 'Closed') throw this.closedError(what);
  }

  private fencedError(what: string): ManagedLedgerError {
    return new ManagedLedgerError(
      'ManagedLedgerFenced',
      `managed ledger ${this.name}: cannot ${what}: it was fenced (another owner opened it)`,
    );
  }

  private closedError(what: string): ManagedLedgerError {
    return new ManagedLedgerError(
      'ManagedLedgerAlreadyClosed',
      `managed ledger ${this.name}: cannot ${what}: it is closed`,
    );
  }

  // ---- adds ----

  /**
   * Appends `data` and resolves with its position once it and every earlier add are confirmed. Many adds may be
   * in flight; they complete in the order they were made. The buffer is sent and cached as it is: do not modify
   * it afterwards.
   */
  addEntry(data: Buffer): Promise<Position> {
    const refusal = this.addRefusal(data);
    if (refusal !== undefined) return Promise.reject(refusal);
    return new Promise<Position>((resolve, reject) => {
      const op = new OpAddEntry(data, resolve, reject);
      this.pendingAdds.push(op);
      if (this.state === 'LedgerOpened') this.sendAdd(op);
      else if (this.state === 'WriteFailed' || this.state === 'ClosedLedger') this.startRollover();
      // ClosingLedger, CreatingLedger: the op waits in the queue for the next ledger.
    });
  }

  private addRefusal(data: unknown): ManagedLedgerError | undefined {
    if (this.state === 'Fenced') return this.fencedError('add an entry');
    if (this.state === 'Closed' || this.stopping === 'close' || this.stopping === 'delete') {
      return this.closedError('add an entry');
    }
    if (this.state === 'Terminated' || this.stopping === 'terminate') {
      return new ManagedLedgerError(
        'ManagedLedgerTerminated',
        `managed ledger ${this.name}: cannot add an entry: it was terminated`,
      );
    }
    if (!Buffer.isBuffer(data)) {
      return new ManagedLedgerError(
        'InvalidArgument',
        `managed ledger ${this.name}: an entry must be a Buffer`,
      );
    }
    if (data.length > this.maxEntrySizeBytes) {
      return new ManagedLedgerError(
        'InvalidArgument',
        `managed ledger ${this.name}: an entry of ${data.length} bytes is larger than ${this.maxEntrySizeBytes} bytes`,
      );
    }
    return undefined;
  }

  /** Sends `op` to the current ledger; the op that fills it moves the state to ClosingLedger. */
  private sendAdd(op: OpAddEntry): void {
    const handle = this.currentHandle!;
    op.handle = handle;
    op.entryId = this.currentPushedEntries;
    this.currentPushedEntries++;
    this.currentPushedSize += op.data.length;
    const now = Date.now();
    op.sentAtMs = now;
    // (An op sent again after a write failure may have filled the old ledger: that says nothing about this one.)
    op.closeWhenDone = this.isFull(this.currentPushedEntries, this.currentPushedSize, now);
    if (op.closeWhenDone) this.state = 'ClosingLedger';
    handle.write(BigInt(op.entryId), op.data).then(
      (entryId) => this.addConfirmed(op, handle, entryId),
      (error: unknown) => this.addFailed(op, handle, error),
    );
  }

  /** Pulsar's currentLedgerIsFull: the entry or size quota, or the maximum age, once past the minimum age. */
  private isFull(entries: number, size: number, nowMs: number): boolean {
    const ageMs = nowMs - this.ledgerCreatedAtMs;
    const spaceReached = entries >= this.maxEntriesPerLedger || size >= this.maxSizePerLedgerBytes;
    const timeReached = this.maxRolloverMs > 0 && ageMs >= this.maxRolloverMs;
    if (!spaceReached && !timeReached) return false;
    return this.minRolloverMs <= 0 || ageMs > this.minRolloverMs;
  }

  private addConfirmed(op: OpAddEntry, handle: WriteAdvHandle, entryId: bigint): void {
    if (op.settled || op.handle !== handle || op.position !== undefined) return;
    op.position = new Position(handle.ledgerId, entryId);
    this.releaseConfirmed();
  }

  /** Resolves confirmed adds at the head of the queue, in order, and records them in the ledger list. */
  private releaseConfirmed(): void {
    let released = false;
    let roll = false;
    let cacheOn = false;
    const now = Date.now();
    if (this.cache !== undefined) {
      cacheOn = this.hasActiveCursors();
      if (!cacheOn) this.cache.clear();
      else this.cache.evictOlderThanThreshold(now);
    }
    for (let op = this.pendingAdds.peek(); op?.position !== undefined; op = this.pendingAdds.peek()) {
      this.pendingAdds.shift();
      const position = op.position;
      const info = this.ledgers[this.ledgers.length - 1]!;
      if (info.ledgerId !== position.ledgerId || info.entries !== Number(position.entryId)) {
        // The client confirms in entry order and ops are released in queue order: anything else is a bug.
        throw new Error(
          `managed ledger ${this.name}: add confirmed at ${position} but ledger ${info.ledgerId} has ${info.entries} entries`,
        );
      }
      info.entries++;
      info.size += op.data.length;
      this.lastConfirmed = position;
      if (cacheOn) this.cache!.insert({ position, data: op.data } satisfies Entry, now);
      op.settled = true;
      op.resolve(position);
      released = true;
      if (op.closeWhenDone) roll = true;
    }
    if (!released) return;
    this.lastAddAtMs = now;
    this.notifyAddListeners();
    if (this.pendingAdds.length === 0) this.notifyDrained();
    if (roll) this.startRollover(this.currentHandle);
  }

  private addFailed(op: OpAddEntry, handle: WriteAdvHandle, error: unknown): void {
    if (op.settled || op.handle !== handle || op.position !== undefined) return;
    if (this.state === 'Fenced' || this.state === 'Closed') return;
    if (isBKError(error, 'LedgerFencedException')) {
      this.fence(
        new ManagedLedgerError(
          'ManagedLedgerFenced',
          `managed ledger ${this.name}: ledger ${handle.ledgerId} was fenced: another owner opened the managed ledger`,
          { cause: error },
        ),
      );
      return;
    }
    if (handle !== this.currentHandle) return; // a rollover already closes it; the op is sent again after it
    this.logger.warn(
      { err: error, ledgerId: handle.ledgerId.toString() },
      'write failed; moving to a new ledger',
    );
    this.state = 'ClosingLedger';
    this.startRollover(handle);
  }

  // ---- rollover ----

  /**
   * Closes the current ledger (if any) and opens a new one, then sends the queued adds to it. `about` is the
   * ledger whose state asked for it: a request made while a rollover runs is kept only if it is about the
   * ledger that rollover opens.
   */
  private startRollover(about?: WriteAdvHandle): void {
    if (this.rolling !== undefined) {
      if (about !== undefined) this.rollRequestedFor = about;
      return;
    }
    this.rolling = this.rollover()
      .catch((error: unknown) => {
        // Not an operating failure (those are handled inside): the queued adds must not wait for ever.
        this.logger.error({ err: error }, 'rollover failed');
        if (!this.isDone()) this.writeFailed(error, 'rollover failed');
      })
      .finally(() => {
        this.rolling = undefined;
        const again = this.rollRequestedFor;
        this.rollRequestedFor = undefined;
        if (again !== undefined && again === this.currentHandle && this.state === 'ClosingLedger') {
          this.startRollover(again);
        }
      });
  }

  private async rollover(): Promise<void> {
    const old = this.currentHandle;
    if (old !== undefined) {
      this.state = 'ClosingLedger';
      try {
        await this.closeWriteLedger(old);
      } catch (error) {
        if (this.isDone()) return;
        // The ledger's end is unknown: writing elsewhere now could leave two ledgers open. Fail the adds.
        this.writeFailed(error, `cannot close ledger ${old.ledgerId}`);
        return;
      }
      this.currentHandle = undefined;
    }
    if (this.isDone()) return;
    this.state = 'ClosedLedger';
    if (this.stopping !== undefined && this.pendingAdds.length === 0) return;
    this.state = 'CreatingLedger';
    let created: WriteAdvHandle;
    try {
      created = await this.createLedger();
    } catch (error) {
      if (!this.isDone()) this.writeFailed(error, 'cannot create a new ledger');
      return;
    }
    if (this.isDone()) {
      await this.discardLedger(created);
      return;
    }
    try {
      await this.installLedger(created);
    } catch (error) {
      await this.discardLedger(created);
      if (!this.isDone()) this.writeFailed(error, 'cannot record a new ledger in the metadata');
      return;
    }
    this.state = 'LedgerOpened';
    void this.deleteDroppedLedgers();
    this.sendQueuedAdds();
    // The closed ledger may be wholly consumed.
    this.scheduleTrim();
  }

  /** Adds the new ledger to the list (compare-and-set) and makes it the one written. */
  private async installLedger(handle: WriteAdvHandle): Promise<void> {
    const info: LedgerInfo = { ledgerId: handle.ledgerId, entries: 0, size: 0, timestamp: 0 };
    await this.metadataMutex.run(async () => {
      const last = this.ledgers[this.ledgers.length - 1];
      if (last !== undefined && last.ledgerId >= info.ledgerId) {
        throw new Error(
          `managed ledger ${this.name}: new ledger ${info.ledgerId} is not after ledger ${last.ledgerId}`,
        );
      }
      const next = [...this.ledgers, info];
      await this.writeInfo(next);
      this.ledgers = next;
    });
    this.currentHandle = handle;
    this.currentPushedEntries = 0;
    this.currentPushedSize = 0;
    this.ledgerCreatedAtMs = Date.now();
    this.recomputeLastConfirmed();
    this.logger.info({ ledgerId: handle.ledgerId.toString() }, 'ledger created');
  }

  /** Sends every queued op that is not in the current ledger, in order, while the ledger takes adds. */
  private sendQueuedAdds(): void {
    for (let i = 0; i < this.pendingAdds.length && this.state === 'LedgerOpened'; i++) {
      const op = this.pendingAdds.at(i);
      if (op.position === undefined && op.handle !== this.currentHandle) this.sendAdd(op);
    }
  }

  /**
   * Closes a ledger this managed ledger wrote and records its real end in the list. The writer closes it at
   * its last confirmed entry; if that fails, a recovery open closes it (and may find entries whose add failed
   * here but reached the bookies: those ops are confirmed at the entries the ledger holds). An empty ledger
   * leaves the list (and BookKeeper after the next metadata write).
   */
  private async closeWriteLedger(handle: WriteAdvHandle): Promise<void> {
    const ledgerId = handle.ledgerId;
    let lastEntryId: bigint;
    let length: bigint;
    try {
      await handle.close();
      lastEntryId = handle.getLastAddConfirmed();
      length = handle.getLength();
    } catch (error) {
      if (isBKError(error, 'LedgerFencedException') || isBKError(error, 'MetadataVersionException')) {
        this.fence(
          new ManagedLedgerError(
            'ManagedLedgerFenced',
            `managed ledger ${this.name}: ledger ${ledgerId} was closed by another owner`,
            { cause: error },
          ),
        );
        throw error;
      }
      this.logger.warn(
        { err: error, ledgerId: ledgerId.toString() },
        'close failed; recovering the ledger instead',
      );
      try {
        const recovered = await this.bookKeeper.openLedger({
          ledgerId,
          password: this.config.managedLedgerPassword,
          recovery: true,
        });
        lastEntryId = recovered.getLastAddConfirmed();
        length = recovered.getLength();
        await recovered.close();
      } catch (recoveryError) {
        throw new ManagedLedgerError(
          'BookKeeperException',
          `managed ledger ${this.name}: cannot close ledger ${ledgerId}: ${(recoveryError as Error).message}`,
          { cause: recoveryError, retriable: true },
        );
      }
    }
    for (let i = 0; i < this.pendingAdds.length; i++) {
      const op = this.pendingAdds.at(i);
      if (op.handle === handle && op.position === undefined && BigInt(op.entryId) <= lastEntryId) {
        op.position = new Position(ledgerId, BigInt(op.entryId));
      }
    }
    this.releaseConfirmed();
    const info = this.ledgers[this.ledgers.length - 1]!;
    if (info.ledgerId !== ledgerId || BigInt(info.entries) !== lastEntryId + 1n) {
      const error = new ManagedLedgerError(
        'ManagedLedgerWriteFailed',
        `managed ledger ${this.name}: ledger ${ledgerId} closed at entry ${lastEntryId} but ${info.entries} entries were confirmed`,
      );
      this.logger.error({ err: error }, 'ledger end disagrees with the confirmed adds');
      this.fence(error);
      throw error;
    }
    info.size = Number(length);
    info.timestamp = Date.now();
    if (info.entries === 0) {
      // Every change of the list is made under the metadata mutex, so a trim writing the list meanwhile
      // cannot put the empty ledger back.
      await this.metadataMutex.run(async () => {
        this.ledgers = this.ledgers.filter((l) => l !== info);
        this.ledgersToDelete.push(ledgerId);
      });
    }
    this.closeReadHandle(ledgerId);
    this.logger.info(
      { ledgerId: ledgerId.toString(), entries: info.entries, size: info.size },
      'ledger closed',
    );
  }

  /**
   * Creates the next ledger, retrying retriable failures until the metadata timeout. Its id comes from
   * `LedgerIds` (increasing, never reused: see there), above every ledger this managed ledger had.
   */
  private async createLedger(): Promise<WriteAdvHandle> {
    const deadline = Date.now() + this.config.managedLedgerMetadataOperationsTimeoutSeconds * 1000;
    let pauseMs = CREATE_RETRY_FIRST_MS;
    for (;;) {
      try {
        const handle = await this.createLedgerWithNextId();
        this.highestLedgerId = handle.ledgerId;
        return handle;
      } catch (error) {
        const retriable = error instanceof LedgerlineError && error.retriable;
        if (!retriable || this.isDone() || this.stopping !== undefined || Date.now() + pauseMs > deadline) {
          throw new ManagedLedgerError(
            'BookKeeperException',
            `managed ledger ${this.name}: cannot create a ledger: ${(error as Error).message}`,
            { cause: error, retriable: true },
          );
        }
        this.logger.warn({ err: error, retryInMs: pauseMs }, 'cannot create a ledger; retrying');
        await sleep(pauseMs);
        pauseMs = Math.min(pauseMs * 2, CREATE_RETRY_MAX_MS);
      }
    }
  }

  private async createLedgerWithNextId(): Promise<WriteAdvHandle> {
    for (let attempt = 1; ; attempt++) {
      const ledgerId = await this.ledgerIds.next();
      if (ledgerId <= this.highestLedgerId) {
        throw new ManagedLedgerError(
          'BookKeeperException',
          `managed ledger ${this.name}: ledger id ${ledgerId} is not above its ledger ${this.highestLedgerId}`,
        );
      }
      try {
        return await this.bookKeeper.createLedgerAdv({ ...this.ledgerOptions, ledgerId });
      } catch (error) {
        // Taken by a ledger someone created with that id explicitly: take the next one.
        if (!isBKError(error, 'LedgerExistException') || attempt >= LEDGER_ID_ATTEMPTS) throw error;
      }
    }
  }

  /** A ledger created but never recorded: closed and deleted. */
  private async discardLedger(handle: WriteAdvHandle): Promise<void> {
    await handle.close().catch(() => undefined);
    await this.bookKeeper.deleteLedger(handle.ledgerId).catch((error: unknown) => {
      this.logger.warn(
        { err: error, ledgerId: handle.ledgerId.toString() },
        'cannot delete an unused ledger',
      );
    });
  }

  /** After a failure that no new ledger can fix now: the queued adds fail; the next add tries again. */
  private writeFailed(error: unknown, what: string): void {
    this.state = 'WriteFailed';
    const failure = new ManagedLedgerError(
      'ManagedLedgerWriteFailed',
      `managed ledger ${this.name}: ${what}: ${(error as Error).message}`,
      { cause: error, retriable: true },
    );
    this.logger.error({ err: error }, 'write failed');
    this.failPendingAdds(failure);
  }

  private failPendingAdds(error: unknown): void {
    for (let op = this.pendingAdds.shift(); op !== undefined; op = this.pendingAdds.shift()) {
      if (op.settled) continue;
      op.settled = true;
      op.reject(error);
    }
    this.notifyDrained();
  }

  /** Another owner has the managed ledger: nothing more is done here. */
  private fence(error: ManagedLedgerError): void {
    if (this.state === 'Fenced' || this.state === 'Closed') return;
    this.state = 'Fenced';
    this.logger.warn({ err: error }, 'managed ledger fenced');
    this.stopTimer();
    this.failPendingAdds(error);
    this.cache?.clear();
    this.notifyAddListeners();
  }

  /** Fenced or closed: no more writes of any kind. */
  private isDone(): boolean {
    return this.state === 'Fenced' || this.state === 'Closed';
  }

  /** Writes the ledger list (and termination) by compare-and-set; a lost race fences this instance. */
  private async writeInfo(
    ledgers: LedgerInfo[],
    terminatedPosition = this.terminatedPosition,
  ): Promise<void> {
    if (this.state === 'Fenced') throw this.fencedError('write its metadata');
    this.interceptor?.onUpdateManagedLedgerInfo(this.properties);
    try {
      this.metadataVersion = await this.metaStore.putManagedLedgerInfo(
        this.name,
        { ledgers, terminatedPosition, properties: this.properties },
        this.metadataVersion,
      );
    } catch (error) {
      if (isManagedLedgerError(error, 'ManagedLedgerFenced')) this.fence(error);
      throw error;
    }
  }

  private async deleteDroppedLedgers(): Promise<void> {
    const ids = this.ledgersToDelete;
    this.ledgersToDelete = [];
    await this.deleteLedgers(ids);
  }

  private async deleteLedgers(ids: bigint[]): Promise<void> {
    await Promise.all(
      ids.map((ledgerId) =>
        this.bookKeeper.deleteLedger(ledgerId).catch((error: unknown) => {
          if (isNoSuchLedger(error)) return;
          this.logger.warn({ err: error, ledgerId: ledgerId.toString() }, 'cannot delete a ledger');
        }),
      ),
    );
  }

  private recomputeLastConfirmed(): void {
    for (let i = this.ledgers.length - 1; i >= 0; i--) {
      const info = this.ledgers[i]!;
      if (info.entries > 0) {
        this.lastConfirmed = new Position(info.ledgerId, BigInt(info.entries - 1));
        return;
      }
    }
    const first = this.ledgers[0];
    if (first !== undefined) this.lastConfirmed = new Position(first.ledgerId, -1n);
  }

  /** Rolls the current ledger if it is full or old enough (Pulsar's scheduled rollCurrentLedgerIfFull). */
  async rollCurrentLedgerIfFull(): Promise<void> {
    this.checkReadable('roll its ledger');
    const info = this.ledgers[this.ledgers.length - 1];
    if (
      this.state === 'LedgerOpened' &&
      this.currentHandle !== undefined &&
      info?.ledgerId === this.currentHandle.ledgerId &&
      info.entries > 0 &&
      this.isFull(this.currentPushedEntries, this.currentPushedSize, Date.now())
    ) {
      this.state = 'ClosingLedger';
      this.startRollover(this.currentHandle);
    }
    await this.rolling;
  }

  /** An idle current ledger with entries is rolled so that its entries can be trimmed once consumed. */
  private rollIfInactive(nowMs: number): void {
    if (this.inactiveRolloverMs <= 0 || this.state !== 'LedgerOpened' || this.pendingAdds.length > 0) return;
    const info = this.ledgers[this.ledgers.length - 1];
    if (info === undefined || info.entries === 0 || info.ledgerId !== this.currentHandle?.ledgerId) return;
    if (nowMs - this.lastAddAtMs < this.inactiveRolloverMs) return;
    this.logger.info({ ledgerId: info.ledgerId.toString() }, 'rolling an inactive ledger');
    this.state = 'ClosingLedger';
    this.startRollover(this.currentHandle);
  }

  // ---- waiting for adds ----

  onNextAdd(listener: () => void): () => void {
    if (this.state === 'Terminated' || this.isDone()) {
      queueMicrotask(listener);
      return () => undefined;
    }
    this.addListeners.add(listener);
    return () => {
      this.addListeners.delete(listener);
    };
  }

  private notifyAddListeners(): void {
    if (this.addListeners.size === 0) return;
    const listeners = this.addListeners;
    this.addListeners = new Set();
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        this.logger.error({ err: error }, 'an add listener threw');
      }
    }
  }

  private waitForPendingAdds(): Promise<void> {
    if (this.pendingAdds.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private notifyDrained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Stops new writes, then waits for the queued adds and any rollover to finish. */
  private async quiesce(reason: 'close' | 'terminate' | 'delete'): Promise<void> {
    this.stopping = reason;
    while (this.pendingAdds.length > 0 || this.rolling !== undefined) {
      await this.waitForPendingAdds();
      await this.rolling;
    }
  }

  // ---- cursors ----

  /** Opens the durable cursor `name`, creating it at the first or after the last entry if it does not exist. */
  async openCursor(name: string, options: OpenCursorOptions = {}): Promise<ManagedCursor> {
    this.checkReadable(`open cursor ${String(name)}`);
    checkCursorName(this.name, name);
    const initial = options.initialPosition ?? 'latest';
    if (initial !== 'earliest' && initial !== 'latest') {
      throw new ManagedLedgerError(
        'InvalidArgument',
        `managed ledger ${this.name}: cursor ${name}: initialPosition must be 'earliest' or 'latest', got ${String(initial)}`,
      );
    }
    const existing = this.cursors.get(name);
    if (existing !== undefined) {
      if (!existing.durable) {
        throw new ManagedLedgerError(
          'InvalidArgument',
          `managed ledger ${this.name}: a non-durable cursor is named ${name}`,
        );
      }
      return existing;
    }
    let opening = this.openingCursors.get(name);
    if (opening === undefined) {
      const markDelete = initial === 'earliest' ? this.getFirstPosition() : this.lastConfirmed;
      opening = ManagedCursor.create(this, name, markDelete, options.properties)
        .then((cursor) => {
          this.cursors.set(name, cursor);
          return cursor;
        })
        .finally(() => this.openingCursors.delete(name));
      this.openingCursors.set(name, opening);
    }
    return opening;
  }

  /**
   * A cursor kept only in memory that reads after `start` (its mark-delete position): 'earliest' (every stored
   * entry), 'latest' (only new entries) or a position. It never holds data back from trimming.
   */
  newNonDurableCursor(start: Position | 'earliest' | 'latest', name?: string): ManagedCursor {
    this.checkReadable('open a non-durable cursor');
    if (name !== undefined) checkCursorName(this.name, name);
    const existing = name === undefined ? undefined : this.cursors.get(name);
    if (existing !== undefined) {
      if (existing.durable) {
        throw new ManagedLedgerError(
          'InvalidArgument',
          `managed ledger ${this.name}: a durable cursor is named ${name}`,
        );
      }
      return existing;
    }
    const markDelete = this.startMarkDelete(start);
    const cursor = ManagedCursor.nonDurable(
      this,
      name ?? `reader-${randomBytes(5).toString('hex')}`,
      markDelete,
    );
    this.cursors.set(cursor.name, cursor);
    return cursor;
  }

  /** Removes the cursor: its ledger and metadata node for a durable one. Data it held may then be trimmed. */
  async deleteCursor(name: string): Promise<void> {
    this.checkReadable(`delete cursor ${String(name)}`);
    const cursor = this.cursors.get(name);
    if (cursor === undefined) {
      throw new ManagedLedgerError(
        'CursorNotFound',
        `managed ledger ${this.name} has no cursor named ${String(name)}`,
      );
    }
    if (cursor.durable) await cursor.remove();
    else await cursor.close();
    this.cursors.delete(name);
    this.evictCache();
    this.scheduleTrim();
  }

  getCursors(): ManagedCursor[] {
    return [...this.cursors.values()];
  }

  onMarkDeleteMoved(_cursorName: string): void {
    this.scheduleTrim();
  }

  onReadPositionMoved(_cursorName: string): void {
    this.evictCache();
  }

  private hasActiveCursors(): boolean {
    for (const cursor of this.cursors.values()) if (cursor.isActive()) return true;
    return false;
  }

  /** Evicts cached entries before the slowest active cursor's read position (all of them without one). */
  private evictCache(): void {
    if (this.cache === undefined) return;
    let slowest: Position | undefined;
    for (const cursor of this.cursors.values()) {
      if (!cursor.isActive()) continue;
      const p = cursor.getReadPosition();
      if (slowest === undefined || p.isBefore(slowest)) slowest = p;
    }
    if (slowest === undefined) this.cache.clear();
    else this.cache.evictBefore(slowest);
  }

  // ---- trimming ----

  /**
   * Changes the retention (Pulsar's ManagedLedger.setConfig, as a namespace policy change does): read at every
   * trim; a trim runs now, so a shorter retention takes effect without waiting for the next one.
   */
  setRetention(retentionTimeInMinutes: number, retentionSizeInMB: number): Promise<void> {
    this.config.defaultRetentionTimeInMinutes = retentionTimeInMinutes;
    this.config.defaultRetentionSizeInMB = retentionSizeInMB;
    return this.trimConsumedLedgers();
  }

  /**
   * Deletes the closed ledgers every durable cursor has consumed (all but the current one when there is no
   * durable cursor), oldest first, as far as retention allows: a consumed ledger goes once its close is older
   * than defaultRetentionTimeInMinutes or while the managed ledger stays at or above defaultRetentionSizeInMB
   * without it (-1: never for that reason). The list is written by compare-and-set, then the ledgers deleted.
   */
  async trimConsumedLedgers(): Promise<void> {
    this.checkReadable('trim consumed ledgers');
    await this.trimMutex.run(() => this.trim());
  }

  /**
   * Trims in the background, on the next turn of the event loop: calls made in one turn (a burst of
   * acknowledgements moving the mark-delete) cost one check, made off the acknowledging call.
   */
  private scheduleTrim(): void {
    if (this.trimScheduled || this.isDone() || this.stopping !== undefined) return;
    this.trimScheduled = true;
    setImmediate(() => {
      this.trimScheduled = false;
      if (this.isDone() || this.stopping !== undefined) return;
      if (this.trimCandidates(Date.now()).length === 0) return;
      this.trimMutex
        .run(() => this.trim())
        .catch((error: unknown) => this.logger.warn({ err: error }, 'trimming consumed ledgers failed'));
    });
  }

  private async trim(): Promise<void> {
    let doomed: LedgerInfo[] = [];
    await this.metadataMutex.run(async () => {
      if (this.isDone()) return;
      doomed = this.trimCandidates(Date.now());
      if (doomed.length === 0) return;
      const gone = new Set(doomed);
      const next = this.ledgers.filter((info) => !gone.has(info));
      await this.writeInfo(next);
      this.ledgers = next;
    });
    if (doomed.length === 0) return;
    const first = this.ledgers[0]!;
    if (this.lastConfirmed.ledgerId < first.ledgerId) this.recomputeLastConfirmed();
    this.cache?.evictLedgersBefore(first.ledgerId);
    for (const info of doomed) this.closeReadHandle(info.ledgerId);
    for (const cursor of this.cursors.values()) cursor.onLedgersTrimmed();
    this.logger.info({ ledgers: doomed.map((l) => l.ledgerId.toString()) }, 'trimmed consumed ledgers');
    await this.deleteLedgers(doomed.map((l) => l.ledgerId));
  }

  /** The ledgers trimming would delete now (oldest first, never the last ledger nor the one being written). */
  private trimCandidates(nowMs: number): LedgerInfo[] {
    if (this.ledgers.length < 2) return [];
    let bound: bigint | undefined;
    let slowest: Position | undefined;
    for (const cursor of this.cursors.values()) {
      if (!cursor.durable) continue;
      const p = cursor.getMarkDeletedPosition();
      if (slowest === undefined || p.isBefore(slowest)) slowest = p;
    }
    if (slowest !== undefined) bound = this.getNextValidPosition(slowest).ledgerId;
    const retentionTimeMs = this.config.defaultRetentionTimeInMinutes * MINUTE_MS;
    const retentionSizeBytes = this.config.defaultRetentionSizeInMB * MB;
    const totalSize = this.getTotalSize();
    const doomed: LedgerInfo[] = [];
    let sizeToDelete = 0;
    for (let i = 0; i < this.ledgers.length - 1; i++) {
      const info = this.ledgers[i]!;
      if (bound !== undefined && info.ledgerId >= bound) break;
      if (info.ledgerId === this.currentHandle?.ledgerId) break;
      sizeToDelete += info.size;
      const expired = retentionTimeMs >= 0 && nowMs - info.timestamp >= retentionTimeMs;
      const overQuota = retentionSizeBytes >= 0 && totalSize - sizeToDelete >= retentionSizeBytes;
      if (!expired && !overQuota) break;
      doomed.push(info);
    }
    return doomed;
  }

  // ---- maintenance timer ----

  private startTimer(): void {
    const periods = [60_000];
    if (this.maxRolloverMs > 0) periods.push(this.maxRolloverMs / 4);
    if (this.inactiveRolloverMs > 0) periods.push(this.inactiveRolloverMs / 4);
    const retentionMs = this.config.defaultRetentionTimeInMinutes * MINUTE_MS;
    if (retentionMs > 0) periods.push(retentionMs / 4);
    if (this.addEntryTimeoutMs > 0) periods.push(this.addEntryTimeoutMs / 4);
    const periodMs = Math.max(50, Math.min(...periods));
    this.timer = setInterval(() => this.maintain(), periodMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private maintain(): void {
    if (this.isDone() || this.stopping !== undefined) return;
    const now = Date.now();
    this.cache?.evictOlderThanThreshold(now);
    this.rollCurrentLedgerIfFull().catch((error: unknown) =>
      this.logger.warn({ err: error }, 'rollover check failed'),
    );
    this.rollIfInactive(now);
    this.checkAddTimeout(now);
    this.scheduleTrim();
  }

  /**
   * An add outstanding longer than managedLedgerAddEntryTimeoutSeconds fails the ledger as a write failure would:
   * its pending adds are failed in the client (so its close need not wait for them), and re-sent on a new ledger.
   */
  private checkAddTimeout(nowMs: number): void {
    const handle = this.currentHandle;
    const head = this.pendingAdds.peek();
    if (this.addEntryTimeoutMs <= 0 || handle === undefined || head === undefined) return;
    if (handle === this.timedOutHandle) return;
    if (
      head.handle !== handle ||
      head.position !== undefined ||
      nowMs - head.sentAtMs < this.addEntryTimeoutMs
    )
      return;
    this.logger.warn({ ledgerId: handle.ledgerId.toString(), entryId: head.entryId }, 'add timed out');
    this.timedOutHandle = handle;
    handle.abort(
      new BKError('TimeoutException', `managed ledger ${this.name}: add of entry ${head.entryId} timed out`, {
        ledgerId: handle.ledgerId,
      }),
    );
  }

  // ---- terminate, close, delete ----

  /**
   * No more writes: waits for the queued adds, closes the current ledger and records the last entry as the
   * terminated position. Readers see the end (no more entries will come). Returns the terminated position.
   */
  async terminate(): Promise<Position> {
    if (this.state === 'Terminated') return this.terminatedPosition!;
    this.checkReadable('terminate');
    if (this.stopping !== undefined && this.stopping !== 'terminate') throw this.closedError('terminate');
    await this.quiesce('terminate');
    if (this.getState() === 'Terminated') return this.terminatedPosition!;
    this.checkReadable('terminate');
    const handle = this.currentHandle;
    if (handle !== undefined) {
      this.state = 'ClosingLedger';
      await this.closeWriteLedger(handle);
      this.currentHandle = undefined;
    }
    const position = this.lastConfirmed;
    await this.metadataMutex.run(() => this.writeInfo(this.ledgers, position));
    this.terminatedPosition = position;
    this.state = 'Terminated';
    this.stopping = undefined;
    void this.deleteDroppedLedgers();
    this.logger.info({ terminatedPosition: position.toString() }, 'managed ledger terminated');
    this.notifyAddListeners();
    return position;
  }

  /**
   * Waits for the queued adds, closes (and flushes) every cursor, closes the current ledger and records its end
   * in the metadata. A second call returns the first one's promise.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    if (this.state === 'Closed') return;
    await this.quiesce('close');
    this.stopTimer();
    const closed = await Promise.allSettled([...this.cursors.values()].map((c) => c.close()));
    for (const result of closed) {
      if (result.status === 'rejected') this.logger.warn({ err: result.reason }, 'cannot close a cursor');
    }
    if (!this.isDone()) {
      try {
        const handle = this.currentHandle;
        if (handle !== undefined) await this.closeWriteLedger(handle);
        this.currentHandle = undefined;
        await this.metadataMutex.run(() => this.writeInfo(this.ledgers));
        await this.deleteDroppedLedgers();
      } catch (error) {
        this.logger.warn({ err: error }, 'cannot record the closed ledger');
      }
    }
    await this.release();
    this.logger.info('managed ledger closed');
  }

  /**
   * Deletes the managed ledger: its cursors (ledgers and nodes), every ledger, then its metadata node. Fails if
   * another owner has it.
   */
  async delete(): Promise<void> {
    this.checkReadable('delete it');
    if (this.stopping !== undefined) throw this.closedError('delete it');
    await this.quiesce('delete');
    this.stopTimer();
    try {
      this.checkReadable('delete it');
      for (const cursor of [...this.cursors.values()]) {
        if (cursor.durable) await cursor.remove();
        else await cursor.close();
        this.cursors.delete(cursor.name);
      }
      const handle = this.currentHandle;
      this.currentHandle = undefined;
      await handle?.close().catch(() => undefined);
      const ids = [...this.ledgers.map((l) => l.ledgerId), ...this.ledgersToDelete];
      this.ledgersToDelete = [];
      const results = await Promise.allSettled(ids.map((ledgerId) => this.bookKeeper.deleteLedger(ledgerId)));
      const failed = results.find((r) => r.status === 'rejected' && !isNoSuchLedger(r.reason));
      if (failed !== undefined) {
        // The metadata stays, so that another delete can finish the job.
        const cause = (failed as PromiseRejectedResult).reason as Error;
        throw new ManagedLedgerError(
          'BookKeeperException',
          `managed ledger ${this.name}: cannot delete its ledgers: ${cause.message}`,
          { cause, retriable: true },
        );
      }
      await this.metadataMutex.run(async () => {
        if (this.metadataVersion === 'absent') return;
        await this.metaStore.removeManagedLedger(this.name, this.metadataVersion);
      });
      this.ledgers = [];
      this.logger.info('managed ledger deleted');
    } finally {
      await this.release();
    }
  }

  private async release(): Promise<void> {
    if (this.state !== 'Fenced') this.state = 'Closed';
    this.stopping = undefined;
    this.cache?.clear();
    await this.closeReadHandles();
    this.notifyAddListeners();
    this.onClosed?.(this);
    this.markReleased();
  }
}

function checkCursorName(ml: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '') {
    throw new ManagedLedgerError(
      'InvalidArgument',
      `managed ledger ${ml}: a cursor name must be a non-empty string`,
    );
  }
}
