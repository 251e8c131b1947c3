import type { Logger } from '../../common';
import type { LedgerMetadata, VersionedLedgerMetadata } from '../../metadata';
import type { DigestManager, VerifiedEntry } from '../../protocol';
import type { ClientContext } from '../client-context';
import { BKError, isBKError } from '../errors';
import { lastSegment } from '../read/distribution';
import type { LedgerView } from '../read/ledger-view';
import { PendingReadOp } from '../read/pending-read-op';
import { readLastConfirmed } from '../read/read-lac-op';
import { LedgerWriter } from '../write/ledger-writer';
import { updateLedgerMetadata } from '../write/metadata-updates';
import { recoveryRead } from './recovery-read-op';
import type { RecoveryReadResult } from './recovery-read-op';

export interface LedgerRecoveryArgs {
  ledgerId: bigint;
  metadata: VersionedLedgerMetadata;
  digest: DigestManager;
  masterKey: Buffer;
  logger: Logger;
}

/**
 * Recovers a ledger whose writer may be gone, and closes it (BookKeeper's LedgerRecoveryOp with the fixes the
 * TLA+ model found). Resolves with the CLOSED metadata — ours, or another recoverer's if it closed first.
 *
 *   1. CLOSED: nothing to do. OPEN: compare-and-set to IN_RECOVERY (IN_RECOVERY already: another recoverer
 *      started, carry on; CLOSED meanwhile: done). The writer's own metadata updates now fail.
 *   2. Fence: READ entryId=-1 with FENCE_LEDGER to every bookie of the last segment, until quorum coverage
 *      (no write quorum with Qa bookies unknown: no add of the old writer can reach Qa any more). No coverage
 *      → LedgerRecoveryException; the ledger stays IN_RECOVERY for a later attempt.
 *   3. LAC = the highest verified LAC in the answers, floored at the last segment's firstEntryId − 1. Fencing
 *      answers that arrive later are ignored.
 *   4. Read forward from LAC + 1 (recoveryReadBatchSize entries at a time), each read fencing again: an entry
 *      is there on one verified copy, absent once Qw − Qa + 1 bookies of its write set say so; anything else
 *      fails the recovery rather than guess. The first absent entry ends the ledger.
 *   5. Every entry found is re-added with RECOVERY_ADD to its write set (the writer changes the ensemble if a
 *      bookie fails), so it reaches its ack quorum whatever the old writer managed.
 *   6. Once the re-adds are acknowledged: compare-and-set CLOSED with lastEntryId and the length carried by the
 *      last entry. Found CLOSED on a re-read: another recoverer won; adopt its result.
 */
export class LedgerRecoveryOp implements LedgerView {
  readonly ctx: ClientContext;
  readonly ledgerId: bigint;
  readonly logger: Logger;
  readonly digest: DigestManager;
  private readonly masterKey: Buffer;
  private versioned: VersionedLedgerMetadata;
  /** Re-adds the entries found; created with the first one (it needs the length up to the LAC). */
  private writer: LedgerWriter | undefined;
  private readdFailure: BKError | undefined;

  private constructor(ctx: ClientContext, args: LedgerRecoveryArgs) {
    this.ctx = ctx;
    this.ledgerId = args.ledgerId;
    this.logger = args.logger;
    this.digest = args.digest;
    this.masterKey = args.masterKey;
    this.versioned = args.metadata;
  }

  static run(ctx: ClientContext, args: LedgerRecoveryArgs): Promise<VersionedLedgerMetadata> {
    return new LedgerRecoveryOp(ctx, args).recover();
  }

  /** The metadata recovery fenced: reads go to its last segment, whatever ensemble changes the re-adds make. */
  metadata(): LedgerMetadata {
    return this.versioned.metadata;
  }

  private async recover(): Promise<VersionedLedgerMetadata> {
    if (this.versioned.metadata.state === 'CLOSED') return this.versioned;
    this.versioned = await updateLedgerMetadata(
      this.ctx,
      this.ledgerId,
      this.versioned,
      'start recovery',
      (md) => (md.state === 'OPEN' ? { ...md, state: 'IN_RECOVERY' } : undefined),
    );
    if (this.versioned.metadata.state === 'CLOSED') return this.versioned;
    this.logger.info({ ensemble: lastSegment(this.metadata()).ensemble }, 'recovering ledger: fencing');

    const fenced = await readLastConfirmed(this, { mode: 'coverage', fenceMasterKey: this.masterKey });
    const lastAddConfirmed = fenced.lastAddConfirmed;
    try {
      const last = await this.readForward(lastAddConfirmed);
      const end = last ?? {
        entryId: lastAddConfirmed,
        length: await this.lengthAt(lastAddConfirmed, fenced.entries),
      };
      if (this.writer !== undefined) {
        await this.writer.drain();
        const failure = this.writer.error() ?? this.readdFailure;
        if (failure !== undefined) throw this.recoveryFailure('an entry could not be re-added', failure);
        this.versioned = this.writer.metadata();
      }
      this.writer?.dispose();
      return await this.close(end.entryId, end.length);
    } catch (error) {
      // Re-adds still pending must not go on (nor change the ensemble) for a recovery that gave up.
      this.writer?.failAll(this.recoveryFailure('recovery stopped', error));
      return this.closedByAnother(error);
    }
  }

  /**
   * After a failed recovery: when another client closed the ledger meanwhile (a concurrent recoverer, whose
   * close our re-adds' ensemble change ran into), its end is the ledger's end, so recovery adopts it, as the
   * close CAS does. Otherwise the failure stands.
   */
  private async closedByAnother(failure: unknown): Promise<VersionedLedgerMetadata> {
    let current: VersionedLedgerMetadata;
    try {
      current = await this.ctx.ledgerManager.readLedgerMetadata(this.ledgerId);
    } catch {
      throw failure;
    }
    if (current.metadata.state !== 'CLOSED') throw failure;
    this.logger.warn(
      { lastEntryId: current.metadata.lastEntryId.toString(), failure: String(failure) },
      'another client closed the ledger during recovery; adopting its end',
    );
    return current;
  }

  /**
   * Steps 4 and 5: reads from lastAddConfirmed + 1 until the first absent entry, re-adding each one found.
   * Returns the last entry found, or undefined when there was none.
   */
  private async readForward(lastAddConfirmed: bigint): Promise<VerifiedEntry | undefined> {
    const batch = BigInt(this.ctx.config.recoveryReadBatchSize);
    const reads = new Map<bigint, Promise<RecoveryReadResult>>();
    let nextRead = lastAddConfirmed + 1n;
    let last: VerifiedEntry | undefined;
    for (let entryId = lastAddConfirmed + 1n; ; entryId++) {
      while (nextRead < entryId + batch) {
        reads.set(nextRead, recoveryRead(this, this.masterKey, nextRead));
        nextRead++;
      }
      const result = await reads.get(entryId)!;
      reads.delete(entryId);
      if (result.verdict === 'absent') {
        this.logger.info(
          { lastEntryId: (entryId - 1n).toString(), lastAddConfirmed: lastAddConfirmed.toString() },
          'recovery read the end of the ledger',
        );
        return last;
      }
      if (result.verdict === 'unknown') {
        throw new BKError(
          'LedgerRecoveryException',
          `ledger ${this.ledgerId}: recovery cannot tell whether entry ${entryId} exists (${result.answers.join(', ')})`,
          { ledgerId: this.ledgerId, entryId },
        );
      }
      this.readd(result.entry);
      if (this.writer?.error() !== undefined || this.readdFailure !== undefined) {
        throw this.recoveryFailure(
          `entry ${entryId} could not be re-added`,
          this.writer?.error() ?? this.readdFailure!,
        );
      }
      last = result.entry;
    }
  }

  private readd(entry: VerifiedEntry): void {
    if (this.writer === undefined) {
      // The length up to the LAC is this entry's cumulative length less its own payload.
      this.writer = new LedgerWriter(this.ctx, {
        ledgerId: this.ledgerId,
        metadata: this.versioned,
        digest: this.digest,
        masterKey: this.masterKey,
        lastAddConfirmed: entry.entryId - 1n,
        length: entry.length - BigInt(entry.payload.length),
        recovery: true,
      });
    }
    this.writer.addEntry(entry.entryId, entry.payload, (error) => {
      if (error !== undefined) this.readdFailure ??= error;
    });
  }

  /** The ledger's length up to `entryId` when recovery found nothing after it: from the fencing answers, or a read. */
  private async lengthAt(entryId: bigint, fenced: readonly VerifiedEntry[]): Promise<bigint> {
    if (entryId < 0n) return 0n;
    const known = fenced.find((entry) => entry.entryId === entryId);
    if (known !== undefined) return known.length;
    try {
      return (await PendingReadOp.read(this, entryId, entryId)).lastLength;
    } catch (error) {
      throw this.recoveryFailure(`the last confirmed entry ${entryId} could not be read`, error);
    }
  }

  /** Step 6. */
  private async close(lastEntryId: bigint, length: bigint): Promise<VersionedLedgerMetadata> {
    const closed = await updateLedgerMetadata(
      this.ctx,
      this.ledgerId,
      this.versioned,
      'close after recovery',
      (md) => (md.state === 'CLOSED' ? undefined : { ...md, state: 'CLOSED', lastEntryId, length }),
    );
    const md = closed.metadata;
    if (md.lastEntryId !== lastEntryId || md.length !== length) {
      this.logger.warn(
        { lastEntryId: md.lastEntryId.toString(), ours: lastEntryId.toString() },
        'another client closed the ledger first; adopting its end',
      );
    } else {
      this.logger.info(
        { lastEntryId: lastEntryId.toString(), length: length.toString() },
        'ledger recovered and closed',
      );
    }
    return closed;
  }

  private recoveryFailure(what: string, cause: unknown): BKError {
    const detail = cause instanceof Error ? cause.message : String(cause);
    const code = isBKError(cause, 'ClientClosedException')
      ? 'ClientClosedException'
      : 'LedgerRecoveryException';
    return new BKError(code, `ledger ${this.ledgerId}: recovery failed: ${what}: ${detail}`, {
      ledgerId: this.ledgerId,
      cause,
    });
  }
}
