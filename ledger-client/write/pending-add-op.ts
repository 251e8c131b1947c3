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
  /**
   * Members of the current write set that acknowledged the entry, as a bit per write-set position (0 to
   * writeQuorumSize - 1), and how many. Bits, not a list of bookie ids: a list grows (allocates) at the first
   * acknowledgement, after the op, and an op that V8 placed in old space then keeps that young array alive through
   * scavenges after the op is gone (ops are long-lived under load, and V8 learns to allocate them there).
   */
  ackedPositions = 0;
  ackCount = 0;
  /** Members of the current write set that failed it (counted by delayEnsembleChange), bits as ackedPositions. */
  failedPositions = 0;
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

  /** Whether the write-set member at `position` acknowledged the entry. */
  hasAcked(position: number): boolean {
    return hasBit(this.ackedPositions, position);
  }

  /** Counts an acknowledgement once per write-set position; true when this one completed the op. */
  recordAck(position: number, ackQuorumSize: number): boolean {
    if (!hasBit(this.ackedPositions, position)) {
      this.ackedPositions += bit(position);
      this.ackCount++;
    }
    if (this.completed || this.ackCount < ackQuorumSize) return false;
    this.completed = true;
    return true;
  }

  /** Records a failed write-set member; true while the ack quorum can still be reached without it. */
  recordFailure(position: number, writeQuorumSize: number, ackQuorumSize: number): boolean {
    if (!hasBit(this.failedPositions, position)) this.failedPositions += bit(position);
    return writeQuorumSize - bitCount(this.failedPositions) >= ackQuorumSize;
  }

  /** Forgets what the member at `position` said: it was replaced, and its acknowledgement no longer counts. */
  forgetPosition(position: number, ackQuorumSize: number): void {
    if (hasBit(this.ackedPositions, position)) {
      this.ackedPositions -= bit(position);
      this.ackCount--;
    }
    if (hasBit(this.failedPositions, position)) this.failedPositions -= bit(position);
    this.completed = this.ackCount >= ackQuorumSize;
  }
}

/** Write quorums up to this size have a bit per member in a number (exact integers reach 2^53). */
export const WRITE_QUORUM_SIZE_MAX = 53;

/** Bit `position` of a set of positions kept in a number; arithmetic, so all 53 positions work. */
function bit(position: number): number {
  return 2 ** position;
}

function hasBit(bits: number, position: number): boolean {
  return Math.floor(bits / bit(position)) % 2 === 1;
}

function bitCount(bits: number): number {
  let count = 0;
  for (let rest = bits; rest > 0; rest = Math.floor(rest / 2)) count += rest % 2;
  return count;
}
