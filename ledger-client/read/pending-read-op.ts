import { EntryVerificationError, StatusCode } from '../../protocol';
import type { VerifiedEntry } from '../../protocol';
import { BKError } from '../errors';
import type { BKCodeName } from '../errors';
import type { Outcome, ReadEntryResult, TransportError } from '../transport/bookie-client';
import { writeSetOf } from './distribution';
import type { LedgerEntry, LedgerView } from './ledger-view';
import {
  describeStatus,
  describeTransport,
  isMissing,
  readStatusCode,
  transportCodeName,
} from './read-errors';

/** Entries of one read with requests outstanding at once: pipelined, but bounded for very long ranges. */
export const READ_ENTRIES_IN_FLIGHT_MAX = 512;

/** The sweep that drives speculative reads runs at least this often. */
const SWEEP_MAX_MS = 250;

/** One entry being read: its replicas in the order to try them and what each said so far. */
interface EntryRead {
  readonly entryId: bigint;
  readonly slot: number;
  readonly replicas: readonly string[];
  /** Index in `replicas` of the next one to ask. */
  next: number;
  outstanding: number;
  lastSentAtMs: number;
  /** How long the latest request may go unanswered before the next replica is asked too (doubles each time). */
  speculativeWaitMs: number;
  missing: number;
  corrupt: number;
  /** The first answer that was neither data nor "no such entry", as a BKError code. */
  firstError: BKCodeName | undefined;
  answers: string[];
  done: boolean;
}

/** The entries of a read, and the ledger's cumulative length up to the last of them. */
export interface ReadResult {
  entries: LedgerEntry[];
  lastLength: bigint;
}

/**
 * Reads the entries [first, last] of a ledger (BookKeeper's PendingReadOp). Each entry goes to the first replica
 * of its write set in the placement policy's read order; an error, "no such entry", a timeout or a body that
 * fails digest verification moves it on to the next replica; after `speculativeReadTimeout` ms without an
 * answer the next replica is asked as well. Many entries are in flight at once; one sweeping timer per op
 * drives speculative reads. The op fails as soon as one entry cannot be served by any replica: with
 * DigestMatchException when a replica returned a corrupt body (never the bad data), NoSuchEntryException when
 * the replicas say the entry is not there, else the first replica error.
 */
export class PendingReadOp {
  private readonly view: LedgerView;
  private readonly first: bigint;
  private readonly count: number;
  private readonly results: LedgerEntry[];
  private readonly active = new Set<EntryRead>();
  private readonly speculativeTimeoutMs: number;
  private readonly speculativeTimeoutMaxMs: number;
  private readonly inFlightMax: number;
  private nextSlot = 0;
  private completed = 0;
  private finished = false;
  private timer: NodeJS.Timeout | undefined;
  private lastLength = 0n;
  private resolve!: (result: ReadResult) => void;
  private reject!: (error: BKError) => void;

  private constructor(view: LedgerView, first: bigint, last: bigint, inFlightMax: number) {
    this.view = view;
    this.first = first;
    this.count = Number(last - first + 1n);
    this.results = new Array<LedgerEntry>(this.count);
    this.speculativeTimeoutMs = view.ctx.config.speculativeReadTimeout;
    this.speculativeTimeoutMaxMs = Math.max(
      view.ctx.config.maxSpeculativeReadTimeout,
      this.speculativeTimeoutMs,
    );
    this.inFlightMax = inFlightMax;
  }

  /** The verified entries first..last (first <= last), and the ledger's length up to `last`. */
  static read(
    view: LedgerView,
    first: bigint,
    last: bigint,
    inFlightMax = READ_ENTRIES_IN_FLIGHT_MAX,
  ): Promise<ReadResult> {
    return new PendingReadOp(view, first, last, inFlightMax).run();
  }

  private run(): Promise<ReadResult> {
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      if (this.speculativeTimeoutMs > 0) {
        // Late by at most a quarter of the timeout, and never by more than SWEEP_MAX_MS.
        const sweepMs = Math.max(5, Math.min(SWEEP_MAX_MS, Math.floor(this.speculativeTimeoutMs / 4)));
        this.timer = setInterval(() => this.sweep(), sweepMs);
        this.timer.unref();
      }
      this.fill();
    });
  }

  private fill(): void {
    const metadata = this.view.metadata();
    const placement = this.view.ctx.placement;
    const reorder = this.view.ctx.config.reorderReadSequenceEnabled;
    while (!this.finished && this.active.size < this.inFlightMax && this.nextSlot < this.count) {
      const slot = this.nextSlot++;
      const entryId = this.first + BigInt(slot);
      const writeSet = writeSetOf(metadata, entryId);
      const replicas = reorder ? placement.readOrder(writeSet).map((index) => writeSet[index]!) : writeSet;
      const entry: EntryRead = {
        entryId,
        slot,
        replicas,
        next: 0,
        outstanding: 0,
        lastSentAtMs: 0,
        speculativeWaitMs: this.speculativeTimeoutMs,
        missing: 0,
        corrupt: 0,
        firstError: undefined,
        answers: [],
        done: false,
      };
      this.active.add(entry);
      this.send(entry);
    }
  }

  private send(entry: EntryRead): void {
    const bookieId = entry.replicas[entry.next++]!;
    entry.outstanding++;
    entry.lastSentAtMs = Date.now();
    this.view.ctx.bookieClient
      .readEntry(bookieId, { ledgerId: this.view.ledgerId, entryId: entry.entryId })
      .then(
        (outcome) => this.onAnswer(entry, bookieId, outcome),
        (error: unknown) => this.onAnswer(entry, bookieId, unexpectedFailure(bookieId, error)),
      );
  }

  private onAnswer(entry: EntryRead, bookieId: string, outcome: Outcome<ReadEntryResult>): void {
    entry.outstanding--;
    if (this.finished || entry.done) return;
    const placement = this.view.ctx.placement;
    if (!outcome.ok) {
      placement.recordFailure(bookieId);
      entry.answers.push(describeTransport(bookieId, outcome.error));
      entry.firstError ??= transportCodeName(outcome.error);
    } else {
      const { status, body } = outcome.value;
      if (status === StatusCode.EOK && body !== undefined) {
        const verified = this.verify(entry, bookieId, body);
        if (verified !== undefined) {
          placement.recordSuccess(bookieId);
          this.complete(entry, verified);
          return;
        }
      } else if (isMissing(status)) {
        entry.missing++;
        entry.answers.push(describeStatus(bookieId, status));
      } else {
        placement.recordFailure(bookieId);
        entry.answers.push(describeStatus(bookieId, status));
        entry.firstError ??= status === StatusCode.EOK ? 'ReadException' : readStatusCode(status);
      }
    }
    if (entry.next < entry.replicas.length) this.send(entry);
    else if (entry.outstanding === 0) this.fail(this.entryFailure(entry));
  }

  private verify(entry: EntryRead, bookieId: string, body: Buffer): VerifiedEntry | undefined {
    try {
      return this.view.digest.verifyEntry(entry.entryId, body);
    } catch (error) {
      if (!(error instanceof EntryVerificationError)) throw error;
      entry.corrupt++;
      entry.answers.push(`${bookieId} ${error.code}`);
      this.view.ctx.placement.recordFailure(bookieId);
      this.view.logger.warn(
        { entryId: entry.entryId.toString(), bookieId, err: error },
        'replica returned an entry that fails verification; trying the next replica',
      );
      return undefined;
    }
  }

  private complete(entry: EntryRead, verified: VerifiedEntry): void {
    entry.done = true;
    this.active.delete(entry);
    this.results[entry.slot] = {
      ledgerId: verified.ledgerId,
      entryId: verified.entryId,
      length: verified.payload.length,
      data: verified.payload,
    };
    if (entry.slot === this.count - 1) this.lastLength = verified.length;
    if (++this.completed === this.count) {
      this.finish();
      this.resolve({ entries: this.results, lastLength: this.lastLength });
      return;
    }
    this.fill();
  }

  /**
   * Speculative reads, as BookKeeper's default policy: an entry whose latest request has waited its speculative
   * wait (speculativeReadTimeout at first) also goes to the next replica, and the wait doubles for the one after,
   * up to maxSpeculativeReadTimeout.
   */
  private sweep(): void {
    const now = Date.now();
    for (const entry of this.active) {
      if (
        entry.outstanding > 0 &&
        entry.next < entry.replicas.length &&
        now - entry.lastSentAtMs >= entry.speculativeWaitMs
      ) {
        this.view.ctx.placement.recordSlow(entry.replicas[entry.next - 1]!);
        entry.speculativeWaitMs = Math.min(entry.speculativeWaitMs * 2, this.speculativeTimeoutMaxMs);
        this.send(entry);
      }
    }
  }

  private entryFailure(entry: EntryRead): BKError {
    const metadata = this.view.metadata();
    const missingAllowed = metadata.writeQuorumSize - metadata.ackQuorumSize;
    let code: BKCodeName;
    let reason: string;
    if (entry.corrupt > 0) {
      code = 'DigestMatchException';
      reason = 'no replica returned a body that passes digest verification';
    } else if (entry.missing === entry.replicas.length || entry.missing > missingAllowed) {
      code = 'NoSuchEntryException';
      reason = 'the replicas do not have it';
    } else {
      code = entry.firstError ?? 'ReadException';
      reason = 'no replica could serve it';
    }
    return new BKError(
      code,
      `ledger ${this.view.ledgerId} entry ${entry.entryId}: ${reason} (${entry.answers.join(', ')})`,
      { ledgerId: this.view.ledgerId, entryId: entry.entryId },
    );
  }

  private fail(error: BKError): void {
    this.finish();
    this.reject(error);
  }

  private finish(): void {
    this.finished = true;
    this.active.clear();
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}

/** A transport that rejected instead of completing with an outcome is treated like a lost connection. */
export function unexpectedFailure(bookieId: string, error: unknown): { ok: false; error: TransportError } {
  const failure = Object.assign(new Error(`request to ${bookieId} failed: ${String(error)}`), {
    failure: 'connection-lost' as const,
    bookieId,
  });
  return { ok: false, error: failure };
}
