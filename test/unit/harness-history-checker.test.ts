/**
 * The history checker catches each anomaly a randomized ledger test looks for, and passes a clean history:
 * hand-made histories, each with one fault (or none), checked for the counts and the detail naming it.
 */
import { HistoryChecker } from '../harness';
import type { AnomalyKind, HistoryReport } from '../harness';

const L = 7n;
const payload = (n: number): Buffer => Buffer.from(`payload ${n}`);

/** Ledger L with entries 0..count-1 appended and acknowledged in order, closed at `closedAt` (count-1). */
function ackedLedger(count: number, closedAt: number | 'open' = count - 1): HistoryChecker {
  const history = new HistoryChecker();
  for (let i = 0; i < count; i++) {
    history.appendAcked(history.appendAttempted(L, payload(i), BigInt(i)), BigInt(i));
  }
  if (closedAt !== 'open') history.closed(L, BigInt(closedAt));
  return history;
}

/** Every reader reads 0..last as `payloadAt` says. */
function readAll(history: HistoryChecker, last: number, payloadAt = payload, readers = ['r1', 'r2']): void {
  for (const reader of readers) {
    for (let i = 0; i <= last; i++) history.entryRead(L, reader, BigInt(i), payloadAt(i));
  }
}

function nonZero(report: HistoryReport): Record<string, number> {
  const { ok: _ok, details: _details, ...counts } = report;
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));
}

/** The report has a detail of `kind` about `entryId` whose message contains `text`. */
function expectDetail(report: HistoryReport, kind: AnomalyKind, entryId: bigint, text: string): void {
  expect(report.details).toContainEqual(
    expect.objectContaining({ kind, entryId, message: expect.stringContaining(text) }),
  );
}

function kinds(report: HistoryReport): AnomalyKind[] {
  return [...new Set(report.details.map((d) => d.kind))];
}

describe('harness > history checker', () => {
  test('a clean history passes: every acknowledged entry read back intact by both readers', () => {
    const history = ackedLedger(5);
    readAll(history, 4);
    const report = history.check();
    expect(report.ok).toBe(true);
    expect(nonZero(report)).toEqual({});
    expect(report.details).toEqual([]);
  });

  test('unknown and failed appends may or may not survive recovery', () => {
    const history = ackedLedger(3, 3);
    history.appendUnknown(history.appendAttempted(L, payload(3), 3n));
    history.appendFailed(history.appendAttempted(L, payload(4), 4n), 'timeout');
    history.appendUnknown(history.appendAttempted(L, payload(5), 5n));
    // Recovery found the unknown entry 3 (and re-added it), not 4 or 5.
    readAll(history, 3);
    expect(history.check().ok).toBe(true);
    expect(history.outcomes()).toEqual({ pending: 0, acked: 3, failed: 1, unknown: 2 });
  });

  test('lost: an acknowledged entry beyond the closed lastEntryId', () => {
    const history = ackedLedger(4, 2);
    readAll(history, 2);
    const report = history.check();
    expect(nonZero(report)).toMatchObject({ lost: 1 });
    expectDetail(report, 'lost', 3n, 'beyond the closed lastEntryId 2');
  });

  test('lost: an acknowledged entry that a reader could not read, or that nobody read', () => {
    const history = ackedLedger(3);
    history.entryRead(L, 'r1', 0n, payload(0));
    history.readFailed(L, 'r1', 1n, 'digest mismatch on every replica');
    const report = history.check();
    expect(nonZero(report)).toEqual({ lost: 2 });
    expect(report.details.map((d) => [d.entryId, d.message])).toEqual([
      [1n, expect.stringContaining('unreadable (r1: digest mismatch on every replica)')],
      [2n, expect.stringContaining('never read')],
    ]);
  });

  test('lost: an acknowledged entry read with different bytes', () => {
    const history = ackedLedger(3);
    readAll(history, 2, (i) => (i === 1 ? Buffer.from('garbage') : payload(i)), ['r1']);
    const report = history.check();
    expect(nonZero(report)).toEqual({ lost: 1, phantoms: 1 });
    expect(kinds(report)).toEqual(['lost', 'phantom']);
  });

  test('lost: every acknowledged entry of a ledger never closed', () => {
    const history = ackedLedger(2, 'open');
    const report = history.check();
    expect(nonZero(report)).toEqual({ lost: 2 });
    expect(report.details[0]!.message).toContain('never closed');
  });

  test('reordered: entry n read with the payload appended as m', () => {
    const history = ackedLedger(4);
    const swapped = (i: number): Buffer => payload(i === 1 ? 2 : i === 2 ? 1 : i);
    readAll(history, 3, swapped, ['r1']);
    const report = history.check();
    expect(report.reordered).toBe(2);
    expectDetail(report, 'reordered', 1n, 'payload appended as entry 2');
    // Both entries also came back with other bytes than acknowledged.
    expect(report.lost).toBe(2);
  });

  test('reordered: an append acknowledged as another entryId than the writer gave it', () => {
    const history = new HistoryChecker();
    history.appendAcked(history.appendAttempted(L, payload(0), 0n), 1n);
    history.closed(L, 1n);
    history.entryRead(L, 'r1', 1n, payload(0));
    history.readFailed(L, 'r1', 0n, 'NoSuchEntry');
    const report = history.check();
    expect(nonZero(report)).toEqual({ reordered: 1, holes: 1 });
    expect(kinds(report)).toEqual(['reordered', 'hole']);
  });

  test('differing reads: two readers see different bytes for one entry', () => {
    const history = new HistoryChecker();
    // Entry 2's append never got an answer; readers disagree on what is there.
    history.appendAcked(history.appendAttempted(L, payload(0), 0n), 0n);
    history.appendAcked(history.appendAttempted(L, payload(1), 1n), 1n);
    history.appendUnknown(history.appendAttempted(L, payload(2), 2n));
    history.appendUnknown(history.appendAttempted(L, payload(3), 3n));
    history.closed(L, 2n);
    readAll(history, 1);
    history.entryRead(L, 'r1', 2n, payload(2));
    history.entryRead(L, 'r2', 2n, payload(3));
    const report = history.check();
    expect(report.differingReads).toBe(1);
    expectDetail(report, 'differing-read', 2n, '2 different payloads by r1, r2');
  });

  test('duplicated: one payload read at two entryIds', () => {
    const history = ackedLedger(2, 3);
    history.appendUnknown(history.appendAttempted(L, payload(2)));
    readAll(history, 1);
    history.entryRead(L, 'r1', 2n, payload(2));
    history.entryRead(L, 'r1', 3n, payload(2));
    const report = history.check();
    expect(nonZero(report)).toEqual({ duplicated: 1 });
    expect(report.details[0]!.message).toContain('one payload read at entries 2, 3');
  });

  test('acknowledgements out of entryId order, and two recoveries that closed at different ends', () => {
    const history = new HistoryChecker();
    const first = history.appendAttempted(L, payload(0));
    const second = history.appendAttempted(L, payload(1));
    history.appendAcked(second, 1n);
    history.appendAcked(first, 0n);
    history.closed(L, 1n);
    history.closed(L, 0n);
    readAll(history, 1);
    const report = history.check();
    expect(report.outOfOrderAcks).toBe(1);
    expect(report.differingCloses).toBe(1);
    expect(report.lost).toBe(1);
    expect(kinds(report)).toEqual(['differing-close', 'out-of-order-ack', 'lost']);
  });

  test('ledgers are checked apart: the same payload in two ledgers is no duplicate', () => {
    const history = new HistoryChecker();
    for (const ledgerId of [1n, 2n]) {
      history.appendAcked(history.appendAttempted(ledgerId, payload(0)), 0n);
      history.closed(ledgerId, 0n);
      history.entryRead(ledgerId, 'r1', 0n, payload(0));
    }
    expect(history.check().ok).toBe(true);
  });

  test('a test bug — a repeated payload, an outcome recorded twice — throws at once', () => {
    const history = new HistoryChecker();
    const handle = history.appendAttempted(L, payload(0));
    expect(() => history.appendAttempted(L, payload(0))).toThrow('the same payload appended twice');
    history.appendAcked(handle, 0n);
    expect(() => history.appendFailed(handle)).toThrow('settled twice (acked, then failed)');
  });

  test('details are capped; the counts are not', () => {
    const history = new HistoryChecker({ detailsMax: 3 });
    for (let i = 0; i < 10; i++) history.appendAcked(history.appendAttempted(L, payload(i)), BigInt(i));
    history.closed(L, 9n);
    const report = history.check();
    expect(report.lost).toBe(10);
    expect(report.details).toHaveLength(3);
  });
});
