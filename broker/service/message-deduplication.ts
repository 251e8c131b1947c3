import type { Logger } from '../../common';
import type { ManagedCursor, ManagedLedger, Position } from '../../managed-ledger';
import { parseEntry } from '../pulsar';

/** The durable cursor whose mark-delete properties hold the deduplication snapshots (Pulsar's name). */
export const DEDUPLICATION_CURSOR = 'pulsar.dedup';

/** Entries read per call while replaying the log after the snapshot. */
const REPLAY_BATCH_ENTRIES = 100;

export interface MessageDeduplicationOptions {
  /** Whether the namespace (or brokerDeduplicationEnabled) has deduplication on. */
  enabled: boolean;
  /** brokerDeduplicationEntriesInterval: a snapshot every this many persisted entries (default 1000). */
  entriesInterval?: number;
  /** brokerDeduplicationSnapshotIntervalSeconds: a snapshot this often when entries came in (default 120; 0 off). */
  snapshotIntervalSeconds?: number;
  /** brokerDeduplicationMaxNumberOfProducers: the most producers a snapshot keeps (default 10000). */
  maxNumberOfProducers?: number;
  /**
   * brokerDeduplicationProducerInactivityTimeoutMinutes: a producer disconnected this long is forgotten at the next
   * purge (default 360).
   */
  producerInactivityTimeoutMinutes?: number;
}

/**
 * What check() says about a message:
 * - `new`: not seen before; it is recorded as pushed and must be written;
 * - `duplicate`: at or below the producer's highest persisted sequence id: answer success, write nothing;
 * - `unknown`: at or below the highest pushed but above the highest persisted one — the first copy is still being
 *   written (or its write failed): fail the send with a retryable error, the client sends it again.
 */
export type DeduplicationStatus = 'new' | 'duplicate' | 'unknown';

/**
 * Pulsar's MessageDeduplication for one topic. Per producer name it keeps the highest sequence id pushed (accepted
 * for writing) and the highest persisted (acknowledged by the managed ledger). The persisted map is snapshotted as
 * the mark-delete properties (producer name → sequence id) of the durable cursor `pulsar.dedup`, at the position of
 * the entry that completed it, every `entriesInterval` entries and every `snapshotIntervalSeconds`; recovery loads
 * the snapshot and replays the entries after it (each entry's MessageMetadata names its producer and sequence id),
 * so a message persisted before a crash or restart is still recognised as a duplicate afterwards.
 *
 * Order contract with the topic (as in Pulsar's PersistentTopic): check() before the write, in send order;
 * recordPersisted() in the order the managed ledger acknowledges the adds; resetHighestSequenceIdPushed() when a
 * write fails, so the client's retry of that message is not answered `unknown` forever. Disabled, check() says
 * `new` and nothing is recorded.
 */
export class MessageDeduplication {
  private readonly highestPushed = new Map<string, bigint>();
  private readonly highestPersisted = new Map<string, bigint>();
  /** Producer name → when it disconnected (or was found in the log without a producer); purged after the timeout. */
  private readonly inactiveSinceMs = new Map<string, number>();
  /** Names of the producers connected now (never purged). */
  private readonly activeProducers = new Set<string>();
  private readonly entriesInterval: number;
  private readonly snapshotIntervalMs: number;
  private readonly maxNumberOfProducers: number;
  private readonly inactivityTimeoutMs: number;
  private status: 'Disabled' | 'Recovering' | 'Enabled' | 'Closed' = 'Disabled';
  private cursor: ManagedCursor | undefined;
  /** Entries persisted since the last snapshot, and the position of the last of them. */
  private entriesSinceSnapshot = 0;
  private lastPersisted: Position | undefined;
  private snapshotTimer: NodeJS.Timeout | undefined;
  /** The status change in progress (enable/disable/close run one after the other). */
  private transition: Promise<void> = Promise.resolve();

  private constructor(
    private readonly managedLedger: ManagedLedger,
    private readonly logger: Logger,
    options: MessageDeduplicationOptions,
  ) {
    this.entriesInterval = options.entriesInterval ?? 1000;
    this.snapshotIntervalMs = (options.snapshotIntervalSeconds ?? 120) * 1000;
    this.maxNumberOfProducers = options.maxNumberOfProducers ?? 10000;
    this.inactivityTimeoutMs = (options.producerInactivityTimeoutMinutes ?? 360) * 60_000;
  }

  /**
   * The deduplication state of `managedLedger`: when enabled, opens (or creates, after the last entry) the
   * `pulsar.dedup` cursor, loads its snapshot and replays the entries after it; when disabled, deletes that cursor
   * if an earlier enabled run left it (it would hold data back from trimming).
   */
  static async recover(
    managedLedger: ManagedLedger,
    logger: Logger,
    options: MessageDeduplicationOptions,
  ): Promise<MessageDeduplication> {
    const deduplication = new MessageDeduplication(
      managedLedger,
      logger.child({ component: 'deduplication' }),
      options,
    );
    if (options.enabled) await deduplication.setEnabled(true);
    else await deduplication.deleteCursorIfPresent();
    return deduplication;
  }

  isEnabled(): boolean {
    return this.status === 'Enabled';
  }

  /** Turns deduplication on (recovering the state) or off (forgetting it, deleting the cursor): a policy change. */
  setEnabled(enabled: boolean): Promise<void> {
    const next = this.transition.then(() => (enabled ? this.enable() : this.disable()));
    this.transition = next.catch(() => undefined);
    return next;
  }

  /**
   * Pulsar's checkMessageDuplicate for a message (or a batch: `sequenceId` its lowest, `highestSequenceId` its
   * highest). A `new` message is recorded as pushed at once, so a second copy sent before the first is persisted
   * is answered `unknown`.
   */
  check(
    producerName: string,
    sequenceId: bigint,
    highestSequenceId: bigint = sequenceId,
  ): DeduplicationStatus {
    if (this.status !== 'Enabled') return 'new';
    const lastPushed = this.highestPushed.get(producerName);
    if (lastPushed !== undefined && sequenceId <= lastPushed) {
      const lastPersisted = this.highestPersisted.get(producerName);
      return lastPersisted !== undefined && sequenceId <= lastPersisted ? 'duplicate' : 'unknown';
    }
    this.highestPushed.set(producerName, highestSequenceId > sequenceId ? highestSequenceId : sequenceId);
    return 'new';
  }

  /** Records a sequence id as pushed without a check (check() already does this for `new` messages). */
  recordPushed(producerName: string, sequenceId: bigint): void {
    if (this.status !== 'Enabled') return;
    const last = this.highestPushed.get(producerName);
    if (last === undefined || sequenceId > last) this.highestPushed.set(producerName, sequenceId);
  }

  /**
   * The managed ledger acknowledged the entry at `position` holding messages of `producerName` up to `sequenceId`
   * (the batch's highest). Every `entriesInterval` entries this takes a snapshot at `position`.
   */
  recordPersisted(producerName: string, sequenceId: bigint, position: Position): void {
    if (this.status !== 'Enabled') return;
    const last = this.highestPersisted.get(producerName);
    if (last === undefined || sequenceId > last) this.highestPersisted.set(producerName, sequenceId);
    this.lastPersisted = position;
    if (++this.entriesSinceSnapshot >= this.entriesInterval) void this.takeSnapshot();
  }

  /**
   * After a failed write (Pulsar's resetHighestSequenceIdPushed): what was pushed but not persisted is forgotten,
   * so the producer's retries are checked against what is really stored.
   */
  resetHighestSequenceIdPushed(): void {
    if (this.status !== 'Enabled') return;
    this.highestPushed.clear();
    for (const [producerName, sequenceId] of this.highestPersisted)
      this.highestPushed.set(producerName, sequenceId);
  }

  /** The highest sequence id pushed for `producerName` (what a reconnecting producer continues after); -1 if none. */
  getLastPublishedSequenceId(producerName: string): bigint {
    return this.highestPushed.get(producerName) ?? -1n;
  }

  /** The highest sequence id persisted for `producerName`; -1 if none. */
  getLastPersistedSequenceId(producerName: string): bigint {
    return this.highestPersisted.get(producerName) ?? -1n;
  }

  /** A producer of this name connected: it is no longer inactive. */
  producerAdded(producerName: string): void {
    this.activeProducers.add(producerName);
    this.inactiveSinceMs.delete(producerName);
  }

  /** A producer of this name disconnected: it is forgotten if it stays away longer than the inactivity timeout. */
  producerRemoved(producerName: string, nowMs = Date.now()): void {
    this.activeProducers.delete(producerName);
    this.inactiveSinceMs.set(producerName, nowMs);
  }

  /** Forgets producers disconnected longer than the inactivity timeout (Pulsar's purgeInactiveProducers). */
  purgeInactiveProducers(nowMs = Date.now()): void {
    for (const [producerName, sinceMs] of this.inactiveSinceMs) {
      if (nowMs - sinceMs < this.inactivityTimeoutMs) continue;
      this.inactiveSinceMs.delete(producerName);
      this.highestPushed.delete(producerName);
      this.highestPersisted.delete(producerName);
      this.logger.info({ producerName }, 'inactive producer forgotten by deduplication');
    }
  }

  /**
   * Stores the persisted map (at most maxNumberOfProducers producers) as the `pulsar.dedup` cursor's mark-delete
   * properties at the last persisted position. A failed snapshot is logged: the next one, or a longer replay on
   * recovery, covers it.
   */
  async takeSnapshot(): Promise<void> {
    const cursor = this.cursor;
    const position = this.lastPersisted;
    if (cursor === undefined || position === undefined || this.entriesSinceSnapshot === 0) return;
    this.entriesSinceSnapshot = 0;
    const snapshot = new Map<string, bigint>();
    for (const [producerName, sequenceId] of this.highestPersisted) {
      if (snapshot.size >= this.maxNumberOfProducers) break;
      snapshot.set(producerName, sequenceId);
    }
    try {
      await cursor.markDelete(position, snapshot);
      this.logger.debug(
        { position: position.toString(), producers: snapshot.size },
        'deduplication snapshot taken',
      );
    } catch (error) {
      this.logger.warn({ err: error, position: position.toString() }, 'deduplication snapshot failed');
    }
  }

  /** Takes a last snapshot and stops the timer; the topic closes the managed ledger (and so the cursor) after. */
  close(): Promise<void> {
    const next = this.transition.then(async () => {
      if (this.status === 'Closed') return;
      this.stopTimer();
      if (this.status === 'Enabled') await this.takeSnapshot();
      this.status = 'Closed';
    });
    this.transition = next.catch(() => undefined);
    return next;
  }

  private async enable(): Promise<void> {
    if (this.status === 'Enabled' || this.status === 'Closed') return;
    this.status = 'Recovering';
    let replayed: number;
    try {
      const cursor = await this.managedLedger.openCursor(DEDUPLICATION_CURSOR);
      // Only recovery reads it: it must not hold entries in the cache (Pulsar's setAlwaysInactive).
      cursor.setInactive();
      this.cursor = cursor;
      replayed = await this.replay(cursor);
    } catch (error) {
      this.status = 'Disabled';
      this.cursor = undefined;
      this.highestPushed.clear();
      this.highestPersisted.clear();
      throw error;
    }
    this.startTimer();
    this.logger.info({ producers: this.highestPersisted.size, replayed }, 'deduplication enabled');
    // A snapshot at the end of what was replayed, so the next recovery starts there.
    if (replayed > 0) await this.takeSnapshot();
  }

  /**
   * Loads the snapshot, then applies every entry after it, and turns the state on in the same turn of the event
   * loop as the last "no more entries" check: an add confirmed after that check is recorded by recordPersisted,
   * one confirmed before it is read here. Returns how many entries were replayed.
   */
  private async replay(cursor: ManagedCursor): Promise<number> {
    for (const [producerName, sequenceId] of cursor.getProperties()) {
      this.highestPushed.set(producerName, sequenceId);
      this.highestPersisted.set(producerName, sequenceId);
    }
    cursor.rewind();
    let replayed = 0;
    while (cursor.hasMoreEntries()) {
      const entries = await cursor.readEntries(REPLAY_BATCH_ENTRIES);
      if (entries.length === 0) break;
      for (const entry of entries) {
        this.applyReplayed(entry.data, entry.position);
        this.lastPersisted = entry.position;
        replayed++;
      }
    }
    // As Pulsar: a recovered producer counts as inactive until it connects, so one that never returns is purged.
    const nowMs = Date.now();
    for (const producerName of this.highestPersisted.keys()) {
      if (!this.activeProducers.has(producerName) && !this.inactiveSinceMs.has(producerName)) {
        this.inactiveSinceMs.set(producerName, nowMs);
      }
    }
    this.status = 'Enabled';
    this.entriesSinceSnapshot = replayed;
    return replayed;
  }

  private applyReplayed(data: Buffer, position: Position): void {
    let producerName: string;
    let sequenceId: bigint;
    try {
      const { metadata } = parseEntry(data);
      producerName = metadata.producerName;
      const highest = metadata.highestSequenceId;
      sequenceId = highest !== undefined && highest > metadata.sequenceId ? highest : metadata.sequenceId;
    } catch (error) {
      // An entry that does not parse cannot be a duplicate of anything a producer sends: skip it.
      this.logger.warn(
        { err: error, position: position.toString() },
        'entry skipped by deduplication recovery',
      );
      return;
    }
    const last = this.highestPersisted.get(producerName);
    if (last === undefined || sequenceId > last) {
      this.highestPersisted.set(producerName, sequenceId);
      this.highestPushed.set(producerName, sequenceId);
    }
  }

  private async disable(): Promise<void> {
    if (this.status === 'Disabled' || this.status === 'Closed') return;
    this.stopTimer();
    this.status = 'Disabled';
    this.cursor = undefined;
    this.highestPushed.clear();
    this.highestPersisted.clear();
    this.inactiveSinceMs.clear();
    this.entriesSinceSnapshot = 0;
    this.lastPersisted = undefined;
    await this.deleteCursorIfPresent();
    this.logger.info('deduplication disabled');
  }

  private async deleteCursorIfPresent(): Promise<void> {
    if (!this.managedLedger.getCursors().some((c) => c.name === DEDUPLICATION_CURSOR)) return;
    await this.managedLedger.deleteCursor(DEDUPLICATION_CURSOR);
  }

  private startTimer(): void {
    if (this.snapshotIntervalMs <= 0) return;
    this.snapshotTimer = setInterval(() => {
      this.purgeInactiveProducers();
      void this.takeSnapshot();
    }, this.snapshotIntervalMs);
    this.snapshotTimer.unref();
  }

  private stopTimer(): void {
    if (this.snapshotTimer !== undefined) clearInterval(this.snapshotTimer);
    this.snapshotTimer = undefined;
  }
}
