import assert from 'node:assert';
import { createHash } from 'node:crypto';

/**
 * What a randomized ledger test observed, per ledger, and a checker over it (after Jepsen's queue checkers,
 * reliability.md §1, in BookKeeper's terms). Pure code: the test records, `check()` judges.
 *
 * Record, per ledger:
 *   - each append as it is attempted (`appendAttempted`, the payload and, if the writer knows it, the entryId it
 *     is meant to get), then its outcome: `appendAcked` with the entryId the client returned, `appendFailed`
 *     (the client said it failed), or `appendUnknown` (no answer: the writer was killed, the test gave up);
 *   - after recovery, the closed ledger's lastEntryId (`closed`; once per recovering client);
 *   - what each reader read: `entryRead` (bytes) or `readFailed` (the read's final failure).
 *
 * Payloads must be unique within a ledger (a repeated one is a test bug and throws): a read is traced back to
 * the append that wrote its bytes. A failed append is not an abort in BookKeeper — recovery may still find its
 * entry — so failed and unknown appends may or may not appear; only acknowledged ones must.
 *
 * `check()` counts, over all ledgers:
 *   lost            acknowledged entries beyond the closed lastEntryId, or that no reader read, or that a reader
 *                   could not read or read with other bytes; every acknowledged entry of a ledger never closed;
 *   duplicated      payloads read at more than one entryId;
 *   reordered       entryIds read with the bytes appended as another id, or acknowledged as another id than
 *                   the writer gave;
 *   differingReads  entryIds for which readers (or one reader twice) got different bytes;
 *   phantoms        entryIds read with bytes no append of this ledger wrote;
 *   holes           entryIds up to the closed lastEntryId, not acknowledged, that a reader could not read;
 *   outOfOrderAcks  acknowledgements that did not come in increasing entryId order (completion order);
 *   differingCloses ledgers closed with two different lastEntryIds;
 * with one `details` line per anomaly (up to detailsMax). `ok` is true when every count is 0.
 */

export type AppendOutcome = 'pending' | 'acked' | 'failed' | 'unknown';

export type AnomalyKind =
  | 'lost'
  | 'duplicated'
  | 'reordered'
  | 'differing-read'
  | 'phantom'
  | 'hole'
  | 'out-of-order-ack'
  | 'differing-close';

export interface Anomaly {
  kind: AnomalyKind;
  ledgerId: bigint;
  entryId?: bigint;
  message: string;
}

export interface HistoryReport {
  lost: number;
  duplicated: number;
  reordered: number;
  differingReads: number;
  phantoms: number;
  holes: number;
  outOfOrderAcks: number;
  differingCloses: number;
  ok: boolean;
  details: Anomaly[];
}

/** The handle of one recorded append, for its outcome. */
export type AppendHandle = number;

interface Append {
  ledgerId: bigint;
  payloadHash: string;
  intendedEntryId: bigint | undefined;
  entryId: bigint | undefined;
  outcome: AppendOutcome;
  reason: string | undefined;
}

interface Read {
  reader: string;
  /** undefined: the read failed. */
  payloadHash: string | undefined;
  reason: string | undefined;
}

interface LedgerHistory {
  appendsByHash: Map<string, Append>;
  /** Acknowledged entryIds, in the order the acknowledgements were recorded. */
  ackOrder: bigint[];
  acked: Map<bigint, Append>;
  closes: bigint[];
  reads: Map<bigint, Read[]>;
}

export class HistoryChecker {
  private readonly appends: Append[] = [];
  private readonly ledgers = new Map<bigint, LedgerHistory>();

  constructor(private readonly options: { detailsMax?: number } = {}) {}

  /** An append of `payload` to `ledgerId` is about to be issued; `entryId` if the writer knows the id it gets. */
  appendAttempted(ledgerId: bigint, payload: Buffer, entryId?: bigint): AppendHandle {
    const ledger = this.ledger(ledgerId);
    const payloadHash = hashOf(payload);
    assert(
      !ledger.appendsByHash.has(payloadHash),
      `ledger ${ledgerId}: the same payload appended twice; the history checker needs unique payloads`,
    );
    const append: Append = {
      ledgerId,
      payloadHash,
      intendedEntryId: entryId,
      entryId: undefined,
      outcome: 'pending',
      reason: undefined,
    };
    ledger.appendsByHash.set(payloadHash, append);
    this.appends.push(append);
    return this.appends.length - 1;
  }

  /** The client acknowledged the append as `entryId`. */
  appendAcked(handle: AppendHandle, entryId: bigint): void {
    const append = this.settle(handle, 'acked');
    append.entryId = entryId;
    const ledger = this.ledger(append.ledgerId);
    ledger.ackOrder.push(entryId);
    // A second acknowledgement of one id is already an out-of-order ack; the first one stays the reference.
    if (!ledger.acked.has(entryId)) ledger.acked.set(entryId, append);
  }

  /** The client reported the append failed. */
  appendFailed(handle: AppendHandle, reason = 'failed'): void {
    this.settle(handle, 'failed').reason = reason;
  }

  /** The append's outcome will never be known (its writer died, or the test stopped waiting). */
  appendUnknown(handle: AppendHandle): void {
    this.settle(handle, 'unknown');
  }

  /** The ledger is closed (after recovery) at `lastEntryId` (-1 when empty), as one client saw it. */
  closed(ledgerId: bigint, lastEntryId: bigint): void {
    this.ledger(ledgerId).closes.push(lastEntryId);
  }

  /** `reader` read `payload` (the entry's data, without BookKeeper's header and digest) at `entryId`. */
  entryRead(ledgerId: bigint, reader: string, entryId: bigint, payload: Buffer): void {
    this.readsOf(ledgerId, entryId).push({ reader, payloadHash: hashOf(payload), reason: undefined });
  }

  /** `reader` could not read `entryId` (its final attempt), with why. */
  readFailed(ledgerId: bigint, reader: string, entryId: bigint, reason: string): void {
    this.readsOf(ledgerId, entryId).push({ reader, payloadHash: undefined, reason });
  }

  /** Appends recorded so far by outcome, for the test's own report. */
  outcomes(): Record<AppendOutcome, number> {
    const counts: Record<AppendOutcome, number> = { pending: 0, acked: 0, failed: 0, unknown: 0 };
    for (const append of this.appends) counts[append.outcome] += 1;
    return counts;
  }

  check(): HistoryReport {
    const report: HistoryReport = {
      lost: 0,
      duplicated: 0,
      reordered: 0,
      differingReads: 0,
      phantoms: 0,
      holes: 0,
      outOfOrderAcks: 0,
      differingCloses: 0,
      ok: true,
      details: [],
    };
    const detailsMax = this.options.detailsMax ?? 100;
    const flag = (counter: CountKey, anomaly: Anomaly): void => {
      report[counter] += 1;
      report.ok = false;
      if (report.details.length < detailsMax) report.details.push(anomaly);
    };
    for (const [ledgerId, ledger] of this.ledgers) checkLedger(ledgerId, ledger, flag);
    return report;
  }

  private settle(handle: AppendHandle, outcome: AppendOutcome): Append {
    const append = this.appends[handle];
    assert(append !== undefined, `no append recorded as ${handle}`);
    assert(
      append.outcome === 'pending',
      `ledger ${append.ledgerId}: append ${handle} settled twice (${append.outcome}, then ${outcome})`,
    );
    append.outcome = outcome;
    return append;
  }

  private readsOf(ledgerId: bigint, entryId: bigint): Read[] {
    const reads = this.ledger(ledgerId).reads;
    let atEntry = reads.get(entryId);
    if (atEntry === undefined) {
      atEntry = [];
      reads.set(entryId, atEntry);
    }
    return atEntry;
  }

  private ledger(ledgerId: bigint): LedgerHistory {
    let ledger = this.ledgers.get(ledgerId);
    if (ledger === undefined) {
      ledger = { appendsByHash: new Map(), ackOrder: [], acked: new Map(), closes: [], reads: new Map() };
      this.ledgers.set(ledgerId, ledger);
    }
    return ledger;
  }
}

type CountKey = Exclude<keyof HistoryReport, 'ok' | 'details'>;
type Flag = (counter: CountKey, anomaly: Anomaly) => void;

function checkLedger(ledgerId: bigint, ledger: LedgerHistory, flag: Flag): void {
  const closes = [...new Set(ledger.closes)];
  if (closes.length > 1) {
    flag('differingCloses', {
      kind: 'differing-close',
      ledgerId,
      message: `ledger ${ledgerId} closed with different lastEntryIds: ${closes.join(', ')}`,
    });
  }
  // With two closes the smaller end is the one that can lose acknowledged entries.
  const lastEntryId = closes.length === 0 ? undefined : closes.reduce((a, b) => (b < a ? b : a));

  let previous: bigint | undefined;
  for (const entryId of ledger.ackOrder) {
    if (previous !== undefined && entryId <= previous) {
      flag('outOfOrderAcks', {
        kind: 'out-of-order-ack',
        ledgerId,
        entryId,
        message: `ledger ${ledgerId}: entry ${entryId} acknowledged after entry ${previous}`,
      });
    }
    previous = previous === undefined || entryId > previous ? entryId : previous;
  }

  for (const [entryId, append] of ledger.acked) {
    if (append.intendedEntryId !== undefined && append.intendedEntryId !== entryId) {
      flag('reordered', {
        kind: 'reordered',
        ledgerId,
        entryId,
        message: `ledger ${ledgerId}: the append meant as entry ${append.intendedEntryId} was acknowledged as ${entryId}`,
      });
    }
    const why = whyLost(entryId, append, lastEntryId, ledger.reads.get(entryId) ?? []);
    if (why !== undefined) {
      flag('lost', {
        kind: 'lost',
        ledgerId,
        entryId,
        message: `ledger ${ledgerId}: acknowledged entry ${entryId} ${why}`,
      });
    }
  }

  if (lastEntryId !== undefined) {
    for (let entryId = 0n; entryId <= lastEntryId; entryId++) {
      if (ledger.acked.has(entryId)) continue;
      const failed = (ledger.reads.get(entryId) ?? []).filter((r) => r.payloadHash === undefined);
      if (failed.length > 0) {
        flag('holes', {
          kind: 'hole',
          ledgerId,
          entryId,
          message: `ledger ${ledgerId} closed at ${lastEntryId}: entry ${entryId} unreadable (${describeFailures(failed)})`,
        });
      }
    }
  }

  const readAt = new Map<string, Set<bigint>>();
  for (const [entryId, reads] of ledger.reads) {
    const seen = new Set<string>();
    for (const read of reads) {
      if (read.payloadHash === undefined) continue;
      seen.add(read.payloadHash);
      let ids = readAt.get(read.payloadHash);
      if (ids === undefined) readAt.set(read.payloadHash, (ids = new Set()));
      ids.add(entryId);
    }
    if (seen.size > 1) {
      const readers = reads.filter((r) => r.payloadHash !== undefined).map((r) => r.reader);
      flag('differingReads', {
        kind: 'differing-read',
        ledgerId,
        entryId,
        message: `ledger ${ledgerId}: entry ${entryId} read with ${seen.size} different payloads by ${readers.join(', ')}`,
      });
    }
    for (const payloadHash of seen) {
      const append = ledger.appendsByHash.get(payloadHash);
      if (append === undefined) {
        flag('phantoms', {
          kind: 'phantom',
          ledgerId,
          entryId,
          message: `ledger ${ledgerId}: entry ${entryId} read with bytes no append of this ledger wrote`,
        });
        continue;
      }
      const appendedAs = append.entryId ?? append.intendedEntryId;
      if (appendedAs !== undefined && appendedAs !== entryId) {
        flag('reordered', {
          kind: 'reordered',
          ledgerId,
          entryId,
          message: `ledger ${ledgerId}: entry ${entryId} read with the payload appended as entry ${appendedAs}`,
        });
      }
    }
  }
  for (const ids of readAt.values()) {
    if (ids.size < 2) continue;
    const sorted = [...ids].sort((a, b) => (a < b ? -1 : 1));
    flag('duplicated', {
      kind: 'duplicated',
      ledgerId,
      entryId: sorted[0],
      message: `ledger ${ledgerId}: one payload read at entries ${sorted.join(', ')}`,
    });
  }
}

/** Why an acknowledged entry counts as lost, or undefined when every reader read it back intact. */
function whyLost(
  entryId: bigint,
  append: Append,
  lastEntryId: bigint | undefined,
  reads: Read[],
): string | undefined {
  if (lastEntryId === undefined) return 'is in a ledger that was never closed (recovered)';
  if (entryId > lastEntryId) return `is beyond the closed lastEntryId ${lastEntryId}`;
  if (reads.length === 0) return 'was never read';
  const failed = reads.filter((r) => r.payloadHash === undefined);
  if (failed.length > 0) return `was unreadable (${describeFailures(failed)})`;
  const differing = reads.filter((r) => r.payloadHash !== append.payloadHash);
  if (differing.length > 0)
    return `was read with other bytes by ${differing.map((r) => r.reader).join(', ')}`;
  return undefined;
}

function describeFailures(failed: Read[]): string {
  return failed.map((r) => `${r.reader}: ${r.reason}`).join('; ');
}

function hashOf(payload: Buffer): string {
  return createHash('sha1').update(payload).digest('base64');
}
