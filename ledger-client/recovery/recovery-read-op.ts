import { EntryVerificationError, StatusCode } from '../../protocol';
import type { VerifiedEntry } from '../../protocol';
import { writeSetOf } from '../read/distribution';
import type { LedgerView } from '../read/ledger-view';
import { unexpectedFailure } from '../read/pending-read-op';
import { describeStatus, describeTransport, isMissing } from '../read/read-errors';
import type { Outcome, ReadEntryResult } from '../transport/bookie-client';
import { recoveryReadVerdict } from './recovery-read-rules';
import type { RecoveryReadTally } from './recovery-read-rules';

export type RecoveryReadResult =
  | { verdict: 'found'; entry: VerifiedEntry }
  | { verdict: 'absent' }
  | { verdict: 'unknown'; answers: string[] };

/**
 * One entry read during recovery: READ with FENCE_LEDGER, the master key and high priority (so a bookie that
 * missed the fencing read is fenced now, before it can acknowledge one more add of the old writer) to every
 * bookie of the entry's write set at once. Settles as soon as recoveryReadVerdict decides; later answers are
 * ignored. `view.metadata()` must be the metadata recovery fenced (its last segment holds the entry).
 */
export function recoveryRead(
  view: LedgerView,
  masterKey: Buffer,
  entryId: bigint,
): Promise<RecoveryReadResult> {
  const metadata = view.metadata();
  const writeSet = writeSetOf(metadata, entryId);
  const tally: RecoveryReadTally = { found: 0, missing: 0, failed: 0 };
  const answers: string[] = [];
  let settled = false;

  return new Promise((resolve) => {
    const onAnswer = (bookieId: string, outcome: Outcome<ReadEntryResult>): void => {
      if (settled) return;
      let entry: VerifiedEntry | undefined;
      if (!outcome.ok) {
        tally.failed++;
        answers.push(describeTransport(bookieId, outcome.error));
      } else if (outcome.value.status === StatusCode.EOK && outcome.value.body !== undefined) {
        try {
          entry = view.digest.verifyEntry(entryId, outcome.value.body);
          tally.found++;
        } catch (error) {
          if (!(error instanceof EntryVerificationError)) throw error;
          tally.failed++;
          answers.push(`${bookieId} ${error.code}`);
          view.logger.warn(
            { entryId: entryId.toString(), bookieId, err: error },
            'recovery read: replica fails verification',
          );
        }
      } else {
        if (isMissing(outcome.value.status)) tally.missing++;
        else tally.failed++;
        answers.push(describeStatus(bookieId, outcome.value.status));
      }
      const verdict = recoveryReadVerdict(tally, metadata.writeQuorumSize, metadata.ackQuorumSize);
      if (verdict === 'pending') return;
      settled = true;
      if (verdict === 'found') resolve({ verdict, entry: entry! });
      else if (verdict === 'absent') resolve({ verdict });
      else resolve({ verdict, answers });
    };
    for (const bookieId of writeSet) {
      view.ctx.bookieClient
        .readEntry(bookieId, { ledgerId: view.ledgerId, entryId, fence: true, masterKey, highPriority: true })
        .then(
          (outcome) => onAnswer(bookieId, outcome),
          (error: unknown) => onAnswer(bookieId, unexpectedFailure(bookieId, error)),
        );
    }
  });
}
