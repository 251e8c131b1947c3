import type { BKError } from '../errors';
import type { AddEntryCallback, AddEntryRequest } from '../transport/bookie-client';

/** Called once per add: with no error and the entry id once it is confirmed, or with the error that ended it. */
export type AddCallback = (error: BKError | undefined, entryId: bigint) => void;

/**
 * One add in flight (BookKeeper's PendingAddOp): the packed entry, which bookies of its write set acknowledged
 * it and which failed it. The LedgerWriter drives it; it holds no timers and no promises, and one response
 * callback serves every replica (the bookie id tells them apart).
 */
export class PendingAddOp {
  /** Bookies of the current write set that acknowledged the entry; at most writeQuorumSize, no duplicates. */
  readonly acked: string[] = [];
  /** Bookies of the current write set that failed it (counted by delayEnsembleChange); created on first use. */
  failed: string[] | undefined;
  /** Sent to its write set; false while it waits for an ensemble change to end. */
  sent = false;
  /** Acknowledged by ackQuorumSize bookies of the current write set. */
  completed = false;
  /** Released to its caller or failed: later responses are ignored. */
  done = false;

  constructor(
    readonly entryId: bigint,
    /** Ensemble index of the first bookie of the write set: entryId mod ensembleSize. */
    readonly firstIndex: number,
    readonly payloadLength: number,
    readonly request: AddEntryRequest,
    readonly callback: AddCallback,
    readonly onResponse: AddEntryCallback,
  ) {}

  /** Counts an acknowledgement once per bookie; true when this one completed the op. */
  recordAck(bookieId: string, ackQuorumSize: number): boolean {
    if (!this.acked.includes(bookieId)) this.acked.push(bookieId);
    if (this.completed || this.acked.length < ackQuorumSize) return false;
    this.completed = true;
    return true;
  }

  /** Records a failed replica; true while the ack quorum can still be reached without it. */
  recordFailure(bookieId: string, writeQuorumSize: number, ackQuorumSize: number): boolean {
    this.failed ??= [];
    if (!this.failed.includes(bookieId)) this.failed.push(bookieId);
    return writeQuorumSize - this.failed.length >= ackQuorumSize;
  }

  /** Forgets what `bookieId` said: it was replaced, and its acknowledgement no longer counts. */
  forgetBookie(bookieId: string, ackQuorumSize: number): void {
    const ackedAt = this.acked.indexOf(bookieId);
    if (ackedAt >= 0) this.acked.splice(ackedAt, 1);
    if (this.failed !== undefined) {
      const failedAt = this.failed.indexOf(bookieId);
      if (failedAt >= 0) this.failed.splice(failedAt, 1);
    }
    this.completed = this.acked.length >= ackQuorumSize;
  }
}
