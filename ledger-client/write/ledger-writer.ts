import assert from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChurnMap, churnKey } from '../../common';
import type { Logger } from '../../common';
import type { VersionedLedgerMetadata } from '../../metadata';
import { ENTRY_METADATA_LENGTH, StatusCode } from '../../protocol';
import type { DigestManager } from '../../protocol';
import type { ClientContext } from '../client-context';
import { BKError, isBKError } from '../errors';
import type { BKCodeName } from '../errors';
import type { TransportError } from '../transport/bookie-client';
import { bookieError } from './add-errors';
import { changeEnsembleInMetadata } from './metadata-updates';
import { PendingAddOp, WRITE_QUORUM_SIZE_MAX } from './pending-add-op';
import type { AddCallback } from './pending-add-op';

export interface LedgerWriterInit {
  ledgerId: bigint;
  metadata: VersionedLedgerMetadata;
  digest: DigestManager;
  masterKey: Buffer;
  /** The last entry confirmed before this writer starts: -1n for a new ledger. */
  lastAddConfirmed: bigint;
  /** The ledger's length in bytes up to and including `lastAddConfirmed`. */
  length: bigint;
  /** Adds carry RECOVERY_ADD (accepted by fenced bookies); IN_RECOVERY metadata is expected, not a stop signal. */
  recovery: boolean;
  /** DEFERRED_SYNC adds: bookies acknowledge before fsync, and the LAC advances only through force(). */
  deferredSync?: boolean;
}

/**
 * Payloads from this size on are sent from the caller's buffer (header and digest packed apart, the frame written
 * in parts), not copied into a packed entry and again into each bookie's frame: for a 1 MB Kafka batch that is two
 * or more 1 MB allocations and copies saved. Smaller ones are packed and batched, which costs less than parts.
 */
const ZERO_COPY_PAYLOAD_BYTES = 64 * 1024;
/** Bytes a frame holds besides the packed entry (protobuf header, ids, master key, flags), rounded up. */
const ADD_FRAME_OVERHEAD_BYTES = 512;
/** Placement attempts for an ensemble change while too few bookies are writable, and the pause between. */
const REPLACE_ATTEMPTS = 3;
const REPLACE_RETRY_MS = 1000;
const MAX_SAFE_ENTRY_ID = BigInt(Number.MAX_SAFE_INTEGER);

/** new Promise(captureSettlers) hands its settlers over here, so a promise costs no executor closure. */
let capturedResolve: (entryId: bigint) => void = () => {};
let capturedReject: (error: BKError) => void = () => {};
function captureSettlers(resolve: (entryId: bigint) => void, reject: (error: BKError) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/**
 * The add pipeline of one ledger (BookKeeper's LedgerHandle add path with PendingAddOp and the ensemble change),
 * shared by WriteHandle and by recovery (which re-adds the entries it found with RECOVERY_ADD).
 *
 * Entry e goes to the write set (ensemble indexes (e + i) mod E, i < Qw) and completes once Qa distinct bookies
 * of its current write set acknowledged it. Completions are released strictly in entryId order: the add after
 * the last released one, once completed, and never while an ensemble change is in progress. For ordinary
 * ledgers the LAC is the last released entry; for DEFERRED_SYNC ones it advances only through force().
 *
 * A fenced ledger (EFENCED), a wrong password (EUA) or a closed client fail every pending add and leave the
 * writer unusable. Any other failure of a bookie (an error status, EREADONLY, a timeout, a lost connection)
 * replaces it (the ensemble change):
 *
 *   1. `changing` is set: from now on nothing is released and new adds wait unsent.
 *   2. The placement policy picks a writable bookie for each failed index, excluding the failed ones.
 *   3. The metadata gets the new ensemble from LAC + 1 by compare-and-set (changeEnsembleInMetadata).
 *   4. Every pending add whose write set held a replaced index forgets that bookie's answer (an acknowledgement
 *      from it that arrives later does not count: responses are only taken from the current write set) and is
 *      sent to the replacement; adds that waited are sent to their whole write set.
 *   5. Failures that arrived meanwhile start another round; then completions are released again.
 *
 * With delayEnsembleChange a failed bookie stays until some pending add can no longer reach Qa without it (or
 * the bookie is read-only), as BookKeeper does; the entries acknowledged meanwhile have fewer than Qw copies.
 */
export class LedgerWriter {
  readonly ledgerId: bigint;
  private readonly ctx: ClientContext;
  private readonly logger: Logger;
  private readonly digest: DigestManager;
  private readonly masterKey: Buffer;
  private readonly recovery: boolean;
  private readonly deferredSync: boolean;
  private readonly delayEnsembleChange: boolean;
  private readonly ensembleSize: number;
  private readonly ensembleSizeBig: bigint;
  private readonly writeQuorumSize: number;
  private readonly ackQuorumSize: number;
  private readonly payloadSizeMaxBytes: number;

  private versionedMetadata: VersionedLedgerMetadata;
  /** The last segment's ensemble: every pending add's write set comes from it. */
  private ensemble: string[];
  /** Adds not yet released or failed, by churnKey(entryId). */
  private readonly pending = new ChurnMap<number | string, PendingAddOp>();
  private lac: bigint;
  /** Lengths are byte counts kept as numbers (exact to 2^53 bytes) so an add allocates no bigint for them. */
  private lacLength: number;
  /** The last entry released to its caller (BookKeeper's pendingAddsSequenceHead); the LAC unless deferred. */
  private released: bigint;
  private releasedLength: number;
  private pushed: bigint;
  private pushedLength: number;
  /** The LAC the most recently packed entry carried: readers learn LACs up to this one from entries alone. */
  private piggybackedLac: bigint;
  private addsSent = 0;

  /** Failed bookies by ensemble index, waiting for the ensemble change to replace them. */
  private readonly failedBookies = new Map<number, string>();
  /** delayEnsembleChange: failed bookies kept while every pending add could still reach Qa without them. */
  private readonly delayedFailedBookies = new Map<number, string>();
  /** Bookies this writer replaced before: a replacement avoids them while others are available. */
  private readonly failedBefore = new Set<string>();
  private changing = false;
  /** Inside addEntry's sends: callbacks are deferred to the next tick. */
  private inAddEntry = false;
  private releasing = false;
  /** Set once the writer is unusable; every later add fails with a copy of it. */
  private failure: BKError | undefined;
  private drainWaiters: Array<() => void> = [];
  private unsubscribeFailures: (() => void) | undefined;

  constructor(ctx: ClientContext, init: LedgerWriterInit) {
    const md = init.metadata.metadata;
    const last = md.ensembles[md.ensembles.length - 1];
    assert(last !== undefined, 'ledger metadata without an ensemble');
    assert(
      init.lastAddConfirmed + 1n >= last.firstEntryId,
      `writer LAC ${init.lastAddConfirmed} is before the last segment (from ${last.firstEntryId})`,
    );
    if (md.writeQuorumSize > WRITE_QUORUM_SIZE_MAX) {
      throw new BKError(
        'IncorrectParameterException',
        `ledger ${init.ledgerId}: cannot write with a write quorum of ${md.writeQuorumSize} (at most ${WRITE_QUORUM_SIZE_MAX})`,
        { ledgerId: init.ledgerId },
      );
    }
    this.ctx = ctx;
    this.ledgerId = init.ledgerId;
    this.logger = ctx.logger.child({ ledgerId: init.ledgerId.toString() });
    this.digest = init.digest;
    this.masterKey = init.masterKey;
    this.recovery = init.recovery;
    this.deferredSync = init.deferredSync ?? false;
    this.delayEnsembleChange = ctx.config.delayEnsembleChange;
    this.ensembleSize = md.ensembleSize;
    this.ensembleSizeBig = BigInt(md.ensembleSize);
    this.writeQuorumSize = md.writeQuorumSize;
    this.ackQuorumSize = md.ackQuorumSize;
    this.payloadSizeMaxBytes =
      ctx.config.nettyMaxFrameSizeBytes -
      ADD_FRAME_OVERHEAD_BYTES -
      ENTRY_METADATA_LENGTH -
      init.digest.digestLengthBytes;
    this.versionedMetadata = init.metadata;
    this.ensemble = [...last.ensemble];
    this.lac = init.lastAddConfirmed;
    this.lacLength = Number(init.length);
    this.released = init.lastAddConfirmed;
    this.releasedLength = Number(init.length);
    this.pushed = init.lastAddConfirmed;
    this.pushedLength = Number(init.length);
    this.piggybackedLac = init.lastAddConfirmed;
    this.unsubscribeFailures = ctx.bookieClient.onBookieFailure((bookieId, error) =>
      this.onBookieFailure(bookieId, error),
    );
  }

  lastAddConfirmed(): bigint {
    return this.lac;
  }

  /** The highest entry id handed to addEntry. */
  lastAddPushed(): bigint {
    return this.pushed;
  }

  /** The ledger's length in bytes up to and including the LAC: what a close writes. */
  length(): bigint {
    return BigInt(this.lacLength);
  }

  metadata(): VersionedLedgerMetadata {
    return this.versionedMetadata;
  }

  /** The current (last segment's) ensemble. */
  currentEnsemble(): readonly string[] {
    return this.ensemble;
  }

  /** Adds handed in and not yet released or failed. */
  pendingCount(): number {
    return this.pending.size;
  }

  /** The error that made the writer unusable, if one did. */
  error(): BKError | undefined {
    return this.failure;
  }

  /** The LAC carried by the last entry sent, and how many adds were sent so far (for the explicit-LAC flush). */
  piggyback(): { lastAddConfirmed: bigint; addsSent: number } {
    return { lastAddConfirmed: this.piggybackedLac, addsSent: this.addsSent };
  }

  /**
   * Sends entry `entryId` (the caller picks ids: the next one for a WriteHandle, any new one for an Adv handle)
   * and calls `callback` once: after every earlier entry, when it is confirmed, or with the error that ended it.
   * The callback never runs before addEntry returns.
   */
  addEntry(entryId: bigint, payload: Buffer, callback: AddCallback): void {
    const refused = this.refusal(entryId, payload);
    if (refused !== undefined) {
      process.nextTick(callback, refused, entryId);
      return;
    }
    this.start(entryId, payload, new PendingAddOp(callback));
  }

  /** addEntry as a promise; the promise is the only thing it allocates besides the add itself. */
  addEntryAsync(entryId: bigint, payload: Buffer): Promise<bigint> {
    const refused = this.refusal(entryId, payload);
    if (refused !== undefined) return Promise.reject(refused);
    const promise = new Promise<bigint>(captureSettlers);
    this.start(entryId, payload, new PendingAddOp(undefined, capturedResolve, capturedReject));
    return promise;
  }

  private start(entryId: bigint, payload: Buffer, op: PendingAddOp): void {
    this.pushedLength += payload.length;
    if (entryId > this.pushed) this.pushed = entryId;
    op.ledgerId = this.ledgerId;
    op.entryId = entryId;
    op.masterKey = this.masterKey;
    if (payload.length < ZERO_COPY_PAYLOAD_BYTES) {
      op.body = this.digest.packEntry(entryId, this.lac, BigInt(this.pushedLength), payload);
    } else {
      const parts = this.digest.packEntryParts(entryId, this.lac, BigInt(this.pushedLength), payload);
      op.body = parts.header;
      op.payload = parts.payload;
    }
    op.recoveryAdd = this.recovery;
    op.deferredSync = this.deferredSync;
    op.firstIndex = this.firstIndexOf(entryId);
    op.payloadLength = payload.length;
    op.onResponse = (status, error, bookieId) => this.onAddResponse(op, status, error, bookieId);
    this.piggybackedLac = this.lac;
    this.pending.set(churnKey(entryId), op);
    if (this.changing) return;
    // A transport may fail a request synchronously (client closed, too many in flight); the callbacks that
    // failure ends must still come after addEntry returned.
    this.inAddEntry = true;
    try {
      this.sendToWriteSet(op);
    } finally {
      this.inAddEntry = false;
    }
  }

  /** entryId mod ensembleSize, in number arithmetic for the ids a ledger reaches (below 2^53). */
  private firstIndexOf(entryId: bigint): number {
    if (this.ensembleSize === 1) return 0;
    if (entryId <= MAX_SAFE_ENTRY_ID) return Number(entryId) % this.ensembleSize;
    return Number(entryId % this.ensembleSizeBig);
  }

  /** Resolves once no add is pending (each one released or failed). */
  drain(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Fails every pending add with `error`, in entryId order, and makes the writer unusable: later adds fail with
   * the same code. Called for a fenced ledger, a wrong password, a closed client, an ensemble change that could
   * not be made; and by the handle's owner when it gives the ledger up.
   */
  failAll(error: BKError): void {
    if (this.failure === undefined) {
      this.failure = error;
      if (this.pending.size > 0) {
        this.logger.error({ err: error, pendingAdds: this.pending.size }, 'failing every pending add');
      }
    }
    const ops = this.pending.values().sort((a, b) => (a.entryId < b.entryId ? -1 : 1));
    this.pending.clear();
    for (const op of ops) op.done = true;
    const failOps = (): void => {
      for (const op of ops) this.callBack(op, this.entryError(error, op.entryId), op.entryId);
      this.notifyDrained();
    };
    this.dispose();
    if (this.inAddEntry) process.nextTick(failOps);
    else failOps();
  }

  /** Stops listening for bookie failures; the writer's owner calls it when the ledger is closed. */
  dispose(): void {
    this.unsubscribeFailures?.();
    this.unsubscribeFailures = undefined;
  }

  /**
   * FORCE_LEDGER to every bookie of the current ensemble: the entries released so far are on disk everywhere.
   * For DEFERRED_SYNC ledgers this is what advances the LAC. Resolves with the LAC.
   */
  async force(): Promise<bigint> {
    if (this.failure !== undefined) throw this.entryError(this.failure, undefined);
    if (!this.deferredSync) return this.lac;
    const target = this.released;
    const targetLength = this.releasedLength;
    const ensemble = [...this.ensemble];
    const outcomes = await Promise.all(
      ensemble.map((bookieId) => this.ctx.bookieClient.forceLedger(bookieId, this.ledgerId)),
    );
    outcomes.forEach((outcome, index) => {
      const bookieId = ensemble[index]!;
      if (outcome.ok && outcome.value === StatusCode.EOK) return;
      throw bookieError(
        `force ledger ${this.ledgerId}`,
        bookieId,
        outcome.ok ? outcome.value : undefined,
        outcome.ok ? undefined : outcome.error,
        { ledgerId: this.ledgerId },
      );
    });
    if (target > this.lac) {
      this.lac = target;
      this.lacLength = targetLength;
    }
    return this.lac;
  }

  /** Why an add cannot be taken, or undefined. */
  private refusal(entryId: bigint, payload: Buffer): BKError | undefined {
    if (
      this.failure === undefined &&
      entryId > this.released &&
      payload.length <= this.payloadSizeMaxBytes &&
      !this.pending.has(churnKey(entryId)) &&
      !this.ctx.isClosed()
    ) {
      return undefined;
    }
    const options = { ledgerId: this.ledgerId, entryId };
    if (this.failure !== undefined) return this.entryError(this.failure, entryId);
    if (this.ctx.isClosed()) {
      return new BKError(
        'ClientClosedException',
        `add to ledger ${this.ledgerId}: the client is closed`,
        options,
      );
    }
    if (entryId < 0n) {
      return new BKError(
        'IncorrectParameterException',
        `ledger ${this.ledgerId}: entry id ${entryId} is negative`,
        options,
      );
    }
    if (entryId <= this.released || this.pending.has(churnKey(entryId))) {
      return new BKError(
        'DuplicateEntryIdException',
        `ledger ${this.ledgerId}: entry ${entryId} was already ${this.pending.has(churnKey(entryId)) ? 'added' : 'confirmed'}`,
        options,
      );
    }
    if (payload.length > this.payloadSizeMaxBytes) {
      return new BKError(
        'IncorrectParameterException',
        `ledger ${this.ledgerId} entry ${entryId}: ${payload.length} bytes do not fit in a frame of ` +
          `nettyMaxFrameSizeBytes=${this.ctx.config.nettyMaxFrameSizeBytes}`,
        options,
      );
    }
    return undefined;
  }

  private sendToWriteSet(op: PendingAddOp): void {
    op.sent = true;
    this.addsSent++;
    for (let i = 0; i < this.writeQuorumSize && !op.done; i++) {
      const bookieId = this.ensemble[(op.firstIndex + i) % this.ensembleSize]!;
      this.ctx.bookieClient.addEntry(bookieId, op, op.onResponse);
    }
  }

  /** The position (0 to Qw - 1) of `bookieId` in `op`'s current write set, or -1 when it is not (any more) there. */
  private writeSetPositionOf(op: PendingAddOp, bookieId: string): number {
    for (let i = 0; i < this.writeQuorumSize; i++) {
      if (this.ensemble[(op.firstIndex + i) % this.ensembleSize] === bookieId) return i;
    }
    return -1;
  }

  private onAddResponse(
    op: PendingAddOp,
    status: StatusCode | undefined,
    error: TransportError | undefined,
    bookieId: string,
  ): void {
    if (op.done) return;
    const position = this.writeSetPositionOf(op, bookieId);
    // A bookie replaced by an ensemble change: what it says about this entry no longer counts.
    if (position < 0) return;
    if (error === undefined && status === StatusCode.EOK) {
      if (op.recordAck(position, this.ackQuorumSize)) this.releaseCompleted();
      return;
    }
    const index = (op.firstIndex + position) % this.ensembleSize;
    const failure = bookieError(
      `add of entry ${op.entryId} to ledger ${this.ledgerId}`,
      bookieId,
      status,
      error,
      { ledgerId: this.ledgerId, entryId: op.entryId },
    );
    if (
      failure.code === 'ClientClosedException' ||
      failure.code === 'LedgerFencedException' ||
      failure.code === 'UnauthorizedAccessException'
    ) {
      this.failAll(failure);
      return;
    }
    this.logger.debug({ err: failure, entryId: op.entryId.toString(), bookieId }, 'add failed on a bookie');
    if (this.delayEnsembleChange && status !== StatusCode.EREADONLY) {
      this.delayedFailedBookies.set(index, bookieId);
      if (op.recordFailure(position, this.writeQuorumSize, this.ackQuorumSize)) return;
    }
    this.bookieFailed(index, bookieId);
  }

  /** The pool saw a bookie's connection fail: a failure for every pending add that waits on it. */
  private onBookieFailure(bookieId: string, error: TransportError): void {
    if (this.failure !== undefined || !this.ensemble.includes(bookieId)) return;
    for (const op of this.pending.valuesByKey()) {
      if (!op.sent || op.done) continue;
      const position = this.writeSetPositionOf(op, bookieId);
      if (position >= 0 && !op.hasAcked(position)) this.onAddResponse(op, undefined, error, bookieId);
    }
  }

  private bookieFailed(index: number, bookieId: string): void {
    if (this.deferredSync) {
      // BookKeeper's rule: no ensemble change under DEFERRED_SYNC. Entries released but not yet forced would stay
      // on the old segment's bookies, which force() no longer reaches, and a later LAC would claim them durable.
      this.failAll(
        new BKError(
          'WriteException',
          `bookie ${bookieId} of DEFERRED_SYNC ledger ${this.ledgerId} failed; such a ledger cannot change ensemble`,
          { ledgerId: this.ledgerId, bookieId },
        ),
      );
      return;
    }
    this.failedBookies.set(index, bookieId);
    if (!this.changing) void this.changeEnsemble();
  }

  /** Takes the failed bookies still in the ensemble (and, once a change is due, the delayed ones too). */
  private takeFailedBookies(): Map<number, string> {
    const failed = new Map<number, string>();
    for (const source of [this.failedBookies, this.delayedFailedBookies]) {
      for (const [index, bookieId] of source) {
        if (this.ensemble[index] === bookieId) failed.set(index, bookieId);
      }
      source.clear();
    }
    return failed;
  }

  private async changeEnsemble(): Promise<void> {
    this.changing = true;
    try {
      for (;;) {
        const failed = this.takeFailedBookies();
        if (failed.size === 0 || this.failure !== undefined) break;
        const ensemble = await this.replaceBookies(failed);
        if (this.failure !== undefined) break;
        // The new segment starts after the last released entry (the LAC, unless DEFERRED_SYNC holds it back):
        // released entries keep the ensemble they were acknowledged on.
        this.logger.warn(
          { failedBookies: [...failed.values()], ensemble, firstEntryId: (this.released + 1n).toString() },
          'changing ensemble',
        );
        const updated = await changeEnsembleInMetadata(this.ctx, this.ledgerId, this.versionedMetadata, {
          lastAddConfirmed: this.released,
          ensemble,
          recovery: this.recovery,
        });
        if (this.failure !== undefined) break;
        this.versionedMetadata = updated;
        const previous = this.ensemble;
        this.ensemble = ensemble;
        for (const bookieId of failed.values()) this.ctx.placement.recordFailure(bookieId);
        this.resend(failed, previous);
      }
    } catch (error) {
      const failure = isBKError(error)
        ? error
        : new BKError('WriteException', `ensemble change of ledger ${this.ledgerId} failed`, {
            ledgerId: this.ledgerId,
            cause: error,
          });
      this.changing = false;
      this.failAll(failure);
      return;
    }
    this.changing = false;
    this.releaseCompleted();
  }

  /**
   * A copy of the ensemble with each failed index given a replacement by the placement policy. Too few writable
   * bookies is retried after a pause (one may be registering), then fails with NotEnoughBookiesException.
   */
  private async replaceBookies(failed: Map<number, string>): Promise<string[]> {
    const failedNow = new Set(failed.values());
    for (const bookieId of failedNow) this.failedBefore.add(bookieId);
    const indexes = [...failed.keys()].sort((a, b) => a - b);
    for (let attempt = 1; ; attempt++) {
      // The first attempt also avoids bookies that failed this writer before; later ones only today's.
      const exclude = attempt === 1 ? this.failedBefore : failedNow;
      try {
        const ensemble = [...this.ensemble];
        for (const index of indexes) {
          ensemble[index] = this.ctx.placement.replaceBookie({
            ensembleSize: this.ensembleSize,
            writeQuorumSize: this.writeQuorumSize,
            ackQuorumSize: this.ackQuorumSize,
            excludeBookies: exclude,
            ensemble,
            index,
          });
        }
        return ensemble;
      } catch (error) {
        if (!isBKError(error, 'NotEnoughBookiesException') || attempt >= REPLACE_ATTEMPTS) {
          throw isBKError(error)
            ? new BKError(
                error.code as BKCodeName,
                `ledger ${this.ledgerId}: no replacement for failed bookies ${[...failedNow].join(', ')}: ${error.message}`,
                { ledgerId: this.ledgerId, cause: error },
              )
            : error;
        }
        this.logger.warn(
          { attempt, failedBookies: [...failedNow] },
          'too few bookies to replace a failed one',
        );
        await sleep(REPLACE_RETRY_MS);
        if (this.failure !== undefined) throw this.failure;
      }
    }
  }

  /** After an ensemble change: replaced bookies' answers are forgotten and the adds sent to their replacements. */
  private resend(replaced: Map<number, string>, previous: readonly string[]): void {
    for (const op of this.pending.valuesByKey()) {
      if (op.done) continue;
      if (!op.sent) {
        this.sendToWriteSet(op);
        continue;
      }
      for (let i = 0; i < this.writeQuorumSize && !op.done; i++) {
        const index = (op.firstIndex + i) % this.ensembleSize;
        const old = replaced.get(index);
        if (old === undefined) continue;
        assert(previous[index] === old);
        op.forgetPosition(i, this.ackQuorumSize);
        this.ctx.bookieClient.addEntry(this.ensemble[index]!, op, op.onResponse);
      }
    }
  }

  /** Releases completed adds at the head, in entryId order, unless an ensemble change is in progress. */
  private releaseCompleted(): void {
    if (this.changing || this.releasing) return;
    this.releasing = true;
    try {
      while (!this.changing && this.failure === undefined) {
        const next = this.released + 1n;
        const op = this.pending.get(churnKey(next));
        if (op === undefined || !op.completed) break;
        this.pending.delete(churnKey(next));
        op.done = true;
        this.released = next;
        this.releasedLength += op.payloadLength;
        if (!this.deferredSync) {
          this.lac = next;
          this.lacLength = this.releasedLength;
        }
        this.callBack(op, undefined, next);
      }
    } finally {
      this.releasing = false;
    }
    this.notifyDrained();
  }

  private callBack(op: PendingAddOp, error: BKError | undefined, entryId: bigint): void {
    try {
      op.settle(error, entryId);
    } catch (thrown) {
      this.logger.error({ err: thrown, entryId: entryId.toString() }, 'add callback threw');
    }
  }

  private notifyDrained(): void {
    if (this.pending.size > 0 || this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** A copy of the writer's failure naming one entry, so each caller's error says which add it was. */
  private entryError(error: BKError, entryId: bigint | undefined): BKError {
    if (entryId === undefined) return error;
    return new BKError(
      error.code as BKCodeName,
      `ledger ${this.ledgerId} entry ${entryId}: ${error.message}`,
      {
        ledgerId: this.ledgerId,
        entryId,
        ...(error.bookieId === undefined ? {} : { bookieId: error.bookieId }),
        cause: error,
      },
    );
  }
}
