import { EntryVerificationError, LAST_ADD_CONFIRMED, StatusCode } from '../../protocol';
import { BKError } from '../errors';
import type { BKCodeName } from '../errors';
import type { Outcome, ReadEntryResult } from '../transport/bookie-client';
import { lastSegment, writeSetIndexes } from './distribution';
import type { LedgerEntry, LedgerView } from './ledger-view';
import { unexpectedFailure } from './pending-read-op';
import {
  describeStatus,
  describeTransport,
  isMissing,
  readStatusCode,
  transportCodeName,
} from './read-errors';

/** What one long poll learned. */
export interface LongPollResult {
  /** The highest LAC a bookie reported; undefined when no bookie knows the ledger yet. */
  lastAddConfirmed: bigint | undefined;
  /** The entry `entryId`, verified, when a bookie piggybacked it. */
  entry: LedgerEntry | undefined;
}

/**
 * One long-poll round for `entryId` (BookKeeper's ReadLastConfirmedAndEntryOp): READ entryId=-1 with
 * previousLAC = entryId − 1, timeOut and ENTRY_PIGGYBACK, so a bookie answers as soon as its LAC reaches
 * `entryId` (with that entry when it has it) or when `timeoutMs` passes. Bookies of the last segment are asked
 * in pollOrder (healthy ones first): one at a time, the next one added every
 * firstSpeculativeReadLACTimeout ms (doubling, up to maxSpeculativeReadTimeout) or at once after an error; or
 * all at once when `parallel`. The first useful answer wins.
 */
export function longPollLastConfirmed(
  view: LedgerView,
  entryId: bigint,
  timeoutMs: number,
  parallel: boolean,
): Promise<LongPollResult> {
  const metadata = view.metadata();
  const ensemble = lastSegment(metadata).ensemble;
  const bookies = pollOrder(entryId, metadata.ensembleSize, metadata.writeQuorumSize).map(
    (index) => ensemble[index]!,
  );
  const healthFirst = view.ctx.config.reorderReadSequenceEnabled
    ? view.ctx.placement.readOrder(bookies).map((index) => bookies[index]!)
    : bookies;
  const config = view.ctx.config;

  return new Promise((resolve, reject) => {
    let next = 0;
    let outstanding = 0;
    let settled = false;
    let noNews = 0;
    let firstError: BKCodeName | undefined;
    const answers: string[] = [];
    let speculativeMs = config.firstSpeculativeReadLACTimeout;
    let timer: NodeJS.Timeout | undefined;

    const settle = (): void => {
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
    };
    const scheduleSpeculative = (): void => {
      if (parallel || speculativeMs <= 0 || next >= healthFirst.length) return;
      timer = setTimeout(() => {
        timer = undefined;
        if (settled || next >= healthFirst.length) return;
        view.ctx.placement.recordSlow(healthFirst[next - 1]!);
        speculativeMs = Math.min(
          speculativeMs * 2,
          Math.max(config.maxSpeculativeReadTimeout, speculativeMs),
        );
        send();
      }, speculativeMs);
      timer.unref();
    };
    const send = (): void => {
      const bookieId = healthFirst[next++]!;
      outstanding++;
      view.ctx.bookieClient
        .readEntry(bookieId, {
          ledgerId: view.ledgerId,
          entryId: LAST_ADD_CONFIRMED,
          previousLAC: entryId - 1n,
          longPollTimeoutMs: timeoutMs,
          piggyback: true,
        })
        .then(
          (outcome) => onAnswer(bookieId, outcome),
          (error: unknown) => onAnswer(bookieId, unexpectedFailure(bookieId, error)),
        );
      scheduleSpeculative();
    };
    const onAnswer = (bookieId: string, outcome: Outcome<ReadEntryResult>): void => {
      outstanding--;
      if (settled) return;
      if (!outcome.ok) {
        view.ctx.placement.recordFailure(bookieId);
        answers.push(describeTransport(bookieId, outcome.error));
        firstError ??= transportCodeName(outcome.error);
      } else {
        const { status, body, maxLAC } = outcome.value;
        if (status === StatusCode.EOK) {
          const entry = body === undefined ? undefined : verify(bookieId, body);
          if (body === undefined || entry !== undefined) {
            view.ctx.placement.recordSuccess(bookieId);
            settle();
            resolve({ lastAddConfirmed: maxLAC ?? LAST_ADD_CONFIRMED, entry });
            return;
          }
          firstError ??= 'DigestMatchException';
        } else if (isMissing(status)) {
          noNews++;
          answers.push(describeStatus(bookieId, status));
        } else {
          view.ctx.placement.recordFailure(bookieId);
          answers.push(describeStatus(bookieId, status));
          firstError ??= readStatusCode(status);
        }
      }
      if (next < healthFirst.length) {
        if (timer !== undefined) clearTimeout(timer);
        send();
        return;
      }
      if (outstanding > 0) return;
      settle();
      if (noNews > 0 && firstError === undefined) {
        resolve({ lastAddConfirmed: undefined, entry: undefined });
        return;
      }
      reject(
        new BKError(
          firstError ?? 'ReadException',
          `ledger ${view.ledgerId}: no bookie answered the long poll for entry ${entryId} (${answers.join(', ')})`,
          { ledgerId: view.ledgerId, entryId },
        ),
      );
    };
    const verify = (bookieId: string, body: Buffer): LedgerEntry | undefined => {
      try {
        const verified = view.digest.verifyEntry(entryId, body);
        return { ledgerId: view.ledgerId, entryId, length: verified.payload.length, data: verified.payload };
      } catch (error) {
        if (!(error instanceof EntryVerificationError)) throw error;
        view.ctx.placement.recordFailure(bookieId);
        answers.push(`${bookieId} ${error.code}`);
        view.logger.warn(
          { entryId: entryId.toString(), bookieId, err: error },
          'piggybacked entry fails verification',
        );
        return undefined;
      }
    };

    if (parallel) {
      while (next < healthFirst.length) send();
    } else {
      send();
    }
  });
}

/**
 * Ensemble indexes in the order to long-poll them for `entryId`. A bookie learns that `entryId` is confirmed from
 * entry `entryId + 1`, which carries it as LAC, and can piggyback `entryId` only if it stores it: so first the
 * bookies in both write sets, then the rest of the next entry's (they learn the LAC first), then the rest of
 * `entryId`'s, then the others (explicit LAC writes reach every bookie).
 */
export function pollOrder(entryId: bigint, ensembleSize: number, writeQuorumSize: number): number[] {
  const current = writeSetIndexes(entryId, ensembleSize, writeQuorumSize);
  const following = writeSetIndexes(entryId + 1n, ensembleSize, writeQuorumSize);
  const order = [
    ...current.filter((index) => following.includes(index)),
    ...following.filter((index) => !current.includes(index)),
    ...current.filter((index) => !following.includes(index)),
  ];
  for (let index = 0; index < ensembleSize; index++) if (!order.includes(index)) order.push(index);
  return order;
}
