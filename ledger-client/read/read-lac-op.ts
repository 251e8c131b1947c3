import { EntryVerificationError, LAST_ADD_CONFIRMED, StatusCode } from '../../protocol';
import type { VerifiedEntry } from '../../protocol';
import { BKError } from '../errors';
import type { Outcome, ReadEntryResult } from '../transport/bookie-client';
import { hasQuorumCoverage, lastSegment } from './distribution';
import type { LedgerView } from './ledger-view';
import { unexpectedFailure } from './pending-read-op';
import { describeStatus, describeTransport, isMissing } from './read-errors';

/** What the bookies of the last segment say about the end of the ledger. */
export interface LastConfirmedResult {
  /**
   * The highest LAC piggybacked in a verified answer, floored at the last segment's firstEntryId − 1 (the
   * entries before a segment are committed: the writer starts a segment at LAC + 1).
   */
  lastAddConfirmed: bigint;
  /** The verified last entries the bookies returned (recovery takes the length of entry LAC from them). */
  entries: VerifiedEntry[];
}

export interface ReadLastConfirmedOptions {
  /**
   * `coverage`: wait until the answers give quorum coverage (readLastAddConfirmed, recovery's fencing);
   * `first`: the first verified answer (tryReadLastAddConfirmed).
   */
  mode: 'coverage' | 'first';
  /** Fence the ledger on every bookie asked (recovery): FENCE_LEDGER with the master key, high priority. */
  fenceMasterKey?: Buffer;
}

/**
 * Sends READ entryId = -1 ("your last entry") to every bookie of the ledger's last segment (BookKeeper's
 * ReadLastConfirmedOp / TryReadLastConfirmedOp). An answer counts when it is a verified entry, ENOENTRY or
 * ENOLEDGER; anything else (no answer, another status, a body that fails verification) leaves that bookie
 * unknown. In `coverage` mode it resolves once every write quorum has fewer than Qa unknown bookies, ignoring
 * answers that arrive later; if all answered without coverage it fails (LedgerRecoveryException when fencing,
 * ReadException otherwise).
 */
export function readLastConfirmed(
  view: LedgerView,
  options: ReadLastConfirmedOptions,
): Promise<LastConfirmedResult> {
  const metadata = view.metadata();
  const segment = lastSegment(metadata);
  const ensemble = segment.ensemble;
  const floor = segment.firstEntryId - 1n;
  const answered = new Array<boolean>(ensemble.length).fill(false);
  const entries: VerifiedEntry[] = [];
  const answers: string[] = [];
  let lastAddConfirmed = floor;
  let pending = ensemble.length;
  let unauthorized = false;
  let settled = false;
  const fencing = options.fenceMasterKey !== undefined;

  return new Promise((resolve, reject) => {
    const done = (): void => {
      settled = true;
      resolve({ lastAddConfirmed, entries });
    };
    const onAnswer = (index: number, bookieId: string, outcome: Outcome<ReadEntryResult>): void => {
      pending--;
      if (settled) return;
      let verified = false;
      if (!outcome.ok) {
        answers.push(describeTransport(bookieId, outcome.error));
        view.ctx.placement.recordFailure(bookieId);
      } else {
        const { status, body } = outcome.value;
        answers.push(describeStatus(bookieId, status));
        if (status === StatusCode.EOK && body !== undefined) {
          try {
            const entry = view.digest.verifyEntryAnyId(body);
            entries.push(entry);
            if (entry.lastAddConfirmed > lastAddConfirmed) lastAddConfirmed = entry.lastAddConfirmed;
            answered[index] = true;
            verified = true;
          } catch (error) {
            if (!(error instanceof EntryVerificationError)) throw error;
            answers.push(`${bookieId} ${error.code}`);
            view.logger.warn({ bookieId, err: error }, 'last entry from bookie fails verification');
          }
        } else if (isMissing(status)) {
          answered[index] = true;
        } else if (status === StatusCode.EUA) {
          unauthorized = true;
        }
      }
      if (
        options.mode === 'first'
          ? verified
          : hasQuorumCoverage(answered, metadata.writeQuorumSize, metadata.ackQuorumSize)
      ) {
        done();
        return;
      }
      if (pending > 0) return;
      if (options.mode === 'first' && answered.some(Boolean)) {
        done();
        return;
      }
      settled = true;
      const code = unauthorized
        ? 'UnauthorizedAccessException'
        : fencing
          ? 'LedgerRecoveryException'
          : 'ReadException';
      reject(
        new BKError(
          code,
          `ledger ${view.ledgerId}: too few bookies of the last ensemble answered to ${
            fencing ? 'fence it' : 'learn its last add confirmed'
          } (${answers.join(', ')})`,
          { ledgerId: view.ledgerId },
        ),
      );
    };
    ensemble.forEach((bookieId, index) => {
      view.ctx.bookieClient
        .readEntry(bookieId, {
          ledgerId: view.ledgerId,
          entryId: LAST_ADD_CONFIRMED,
          fence: fencing,
          masterKey: options.fenceMasterKey,
          highPriority: fencing,
        })
        .then(
          (outcome) => onAnswer(index, bookieId, outcome),
          (error: unknown) => onAnswer(index, bookieId, unexpectedFailure(bookieId, error)),
        );
    });
  });
}
