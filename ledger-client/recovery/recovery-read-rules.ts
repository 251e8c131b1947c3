/**
 * The decision rule of a recovery read (BookKeeper's recovery read in PendingReadOp, and the TLA+ model's
 * positive / negative / unknown reads), as a pure function of the answers counted so far.
 */

/** Answers to one recovery read, counted over the entry's write set. */
export interface RecoveryReadTally {
  /** Verified bodies of the entry. */
  found: number;
  /** ENOENTRY or ENOLEDGER. */
  missing: number;
  /** Anything else: no answer, another status, a body that fails verification. */
  failed: number;
}

/**
 * - `found`: one verified copy is enough: the entry exists and recovery re-adds it.
 * - `absent`: Qw − Qa + 1 bookies of the write set say they do not have it, so at most Qa − 1 could: the entry
 *   never reached its ack quorum, was never acknowledged, and recovery may end the ledger before it.
 * - `unknown`: every bookie answered and neither holds: recovery fails rather than guess (a later one retries).
 * - `pending`: wait for more answers.
 */
export type RecoveryReadVerdict = 'found' | 'absent' | 'unknown' | 'pending';

export function recoveryReadVerdict(
  tally: RecoveryReadTally,
  writeQuorumSize: number,
  ackQuorumSize: number,
): RecoveryReadVerdict {
  if (tally.found > 0) return 'found';
  if (tally.missing >= writeQuorumSize - ackQuorumSize + 1) return 'absent';
  if (tally.found + tally.missing + tally.failed >= writeQuorumSize) return 'unknown';
  return 'pending';
}
