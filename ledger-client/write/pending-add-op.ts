import type { BKError } from '../errors';
import type { AddEntryCallback, AddEntryRequest } from '../transport/bookie-client';

/** Called once per add: with no error and the entry id once it is confirmed, or with the error that ended it. */
export type AddCallback = (error: BKError | undefined, entryId: bigint) => void;

const NO_BODY = Buffer.alloc(0);
const noResponse: AddEntryCallback = () => {};

/**
 * One add in flight (BookKeeper's PendingAddOp): the packed entry, which bookies of its write set acknowledged
 * it and which failed it. The LedgerWriter drives it; it holds no timers and no promises, and one response
 * callback serves every replica (the bookie id tells them apart). It is itself the AddEntryRequest every
 * replica is sent, so an add allocates one object for both.
 */
export class PendingAddOp implements AddEntryRequest {
  ledgerId = 0n;
  entryId = 0n;
  masterKey: Buffer = NO_BODY;
  /** The packed entry; for a large entry only its header and digest, the payload following in `payload`. */
  body: Buffer = NO_BODY;
  /** A large entry's payload (the caller's buffer, not copied); undefined when `body` is the whole entry. */
  payload: Buffer | undefined = undefined;
  recoveryAdd = false;
  deferredSync = false;
  /** Ensemble index of the first bookie of the write set: entryId mod ensembleSize. */
  firstIndex = 0;
  payloadLength = 0;
  /** Given to the transport for every replica; the writer sets it. */
  onResponse: AddEntryCallback = noResponse;
  /** Bookies of the current write set that acknowledged the entry; at most writeQuorumSize, no duplicates. */
  readonly acked: string[] = [];
  /** Bookies of the current write set that failed it (counted by delayEnsembleChange); created on first use. */
  failed: string[] | undefined = undefined;
  /** Sent to its write set; false while it waits for an ensemble change to end. */
  sent = false;
  /** Acknowledged by ackQuorumSize bookies of the current write set. */
  completed = false;
  /** Released to its caller or failed: later responses are ignored. */
  done = false;

  /** Either a callback, or a promise's settlers (addEntryAsync: no closure per add for them). */
  constructor(
    private readonly callback: AddCallback | undefined,
    private readonly resolve?: (entryId: bigint) => void,
    private readonly reject?: (error: BKError) => void,
  ) {}

  /** Tells the caller the add's outcome. */
  settle(error: BKError | undefined, entryId: bigint): void {
    if (this.callback !== undefined) this.callback(error, entryId);
    else if (error === undefined) this.resolve!(entryId);
    else this.reject!(error);
  }

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
