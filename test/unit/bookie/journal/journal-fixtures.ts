/** Shared by the journal tests: packed entries, a small journal config, and a visitor that records replay. */
import { createHash } from 'node:crypto';
import { silentLogger } from '../../../../common';
import { BookieMetrics } from '../../../../bookie';
import { Journal, LOG_MARK_ZERO, replayJournals } from '../../../../bookie/journal';
import type {
  JournalCallback,
  JournalConfig,
  JournalReplayVisitor,
  LogMark,
} from '../../../../bookie/journal';
import { DigestManager, DigestType } from '../../../../protocol';

export function testConfig(overrides: Partial<JournalConfig> = {}): JournalConfig {
  return {
    journalSyncData: true,
    journalMaxGroupWaitMSec: 2,
    journalBufferedWritesThreshold: 524288,
    journalAlignmentSize: 512,
    journalDirectWrites: true,
    journalPreAllocSizeMB: 1,
    journalMaxSizeMB: 2048,
    maxBackupJournals: 5,
    ...overrides,
  };
}

export async function openJournal(
  journalDir: string,
  overrides: Partial<JournalConfig> = {},
): Promise<{ journal: Journal; metrics: BookieMetrics }> {
  const metrics = new BookieMetrics();
  const journal = await Journal.open({
    journalDir,
    config: testConfig(overrides),
    logger: silentLogger(),
    metrics,
  });
  return { journal, metrics };
}

/** A CRC32C packed entry whose payload names it, padded with its entryId's low byte. */
export function packedEntry(ledgerId: bigint, entryId: bigint, payloadBytes = 100): Buffer {
  const payload = Buffer.alloc(payloadBytes, Number(entryId & 0xffn));
  payload.write(`${ledgerId}:${entryId}`.slice(0, payloadBytes));
  return DigestManager.create(ledgerId, Buffer.alloc(0), DigestType.CRC32C).packEntry(
    entryId,
    entryId - 1n,
    BigInt(payloadBytes) * (entryId + 1n),
    payload,
  );
}

/** What a replay (or a test's expectation) holds, one event per record, buffers copied. */
export type ReplayEvent =
  | { kind: 'entry'; entry: Buffer }
  | { kind: 'ledgerKey'; ledgerId: bigint; masterKey: Buffer }
  | { kind: 'fence'; ledgerId: bigint }
  | { kind: 'explicitLac'; ledgerId: bigint; lacBlob: Buffer };

export class RecordingVisitor implements JournalReplayVisitor {
  readonly events: ReplayEvent[] = [];

  entry(entry: Buffer): void {
    this.events.push({ kind: 'entry', entry: Buffer.from(entry) });
  }

  ledgerKey(ledgerId: bigint, masterKey: Buffer): void {
    this.events.push({ kind: 'ledgerKey', ledgerId, masterKey: Buffer.from(masterKey) });
  }

  fence(ledgerId: bigint): void {
    this.events.push({ kind: 'fence', ledgerId });
  }

  explicitLac(ledgerId: bigint, lacBlob: Buffer): void {
    this.events.push({ kind: 'explicitLac', ledgerId, lacBlob: Buffer.from(lacBlob) });
  }
}

/** Replays every journal file of `journalDir` from `from` into a RecordingVisitor. */
export async function replayAll(
  journalDir: string,
  from: LogMark = LOG_MARK_ZERO,
): Promise<RecordingVisitor> {
  const visitor = new RecordingVisitor();
  await replayJournals({ journalDir, from, visitor, logger: silentLogger() });
  return visitor;
}

/**
 * One line per event naming what it holds (kind, ids, sizes, a hash of the bytes): compared with toEqual,
 * these give a readable diff where whole buffers would be compared (and printed) byte by byte.
 */
export function describeEvents(events: readonly ReplayEvent[]): string[] {
  const hash = (bytes: Buffer): string => createHash('sha1').update(bytes).digest('hex').slice(0, 12);
  return events.map((event) => {
    switch (event.kind) {
      case 'entry':
        return `entry ${event.entry.readBigInt64BE(0)}:${event.entry.readBigInt64BE(8)} ${event.entry.length}B ${hash(event.entry)}`;
      case 'ledgerKey':
        return `ledgerKey ${event.ledgerId} ${hash(event.masterKey)}`;
      case 'fence':
        return `fence ${event.ledgerId}`;
      case 'explicitLac':
        return `explicitLac ${event.ledgerId} ${hash(event.lacBlob)}`;
    }
  });
}

/** Appends `event` as the matching journal record. */
export function logEvent(
  journal: Journal,
  event: ReplayEvent,
  callback: JournalCallback,
  ackBeforeSync = false,
): void {
  switch (event.kind) {
    case 'entry':
      return journal.logAddEntry(event.entry, ackBeforeSync, callback);
    case 'ledgerKey':
      return journal.logLedgerKey(event.ledgerId, event.masterKey, callback);
    case 'fence':
      return journal.logFence(event.ledgerId, callback);
    case 'explicitLac':
      return journal.logExplicitLac(event.ledgerId, event.lacBlob, callback);
  }
}

/** Appends and resolves once the record's callback ran (rejecting with its error). */
export function logged(journal: Journal, event: ReplayEvent, ackBeforeSync = false): Promise<void> {
  return new Promise((resolve, reject) =>
    logEvent(journal, event, (error) => (error ? reject(error) : resolve()), ackBeforeSync),
  );
}

/** Bytes `event` takes in a journal file, length field included. */
export function eventRecordBytes(event: ReplayEvent): number {
  switch (event.kind) {
    case 'entry':
      return 4 + event.entry.length;
    case 'fence':
      return 4 + 16;
    case 'ledgerKey':
      return 4 + 16 + 4 + event.masterKey.length;
    case 'explicitLac':
      return 4 + 16 + 4 + event.lacBlob.length;
  }
}

/** Polls `condition` every 5 ms until it holds, failing after `timeoutMs`. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
