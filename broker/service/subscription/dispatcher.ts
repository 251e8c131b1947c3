import type { Logger } from '../../../common';
import { isManagedLedgerError } from '../../../managed-ledger';
import type { Entry, ManagedCursor, Position } from '../../../managed-ledger';
import { murmur3_32, parseEntry } from '../../pulsar';
import type { ParsedEntry } from '../../pulsar';
import type { Consumer } from './consumer';
import type {
  DeliveredMessage,
  PendingAck,
  SubscriptionConfig,
  SubscriptionTopic,
  SubscriptionType,
} from './types';
import type { RedeliveryTracker } from './redelivery-tracker';

/** An entry read for dispatch: parsed once, with its Key_Shared sticky key hash. */
export interface PreparedEntry {
  readonly position: Position;
  readonly data: Buffer;
  readonly entry: ParsedEntry;
  readonly stickyKeyHash: number;
}

/** What the next read is: entries from the read position, or positions to redeliver. */
export type ReadPlan = { readonly count: number } | { readonly replay: Position[] };

/** Key_Shared hashes live in [0, 65536), Pulsar's StickyKeyConsumerSelector.DEFAULT_RANGE_SIZE. */
export const STICKY_KEY_HASH_RANGE = 65536;
const NONE_KEY = Buffer.from('NONE_KEY');

/** Entries read back for dispatch were checked on the way in: not checksummed again (as Pulsar's dispatch). */
const DISPATCH_PARSE = { verifyChecksum: false } as const;

const RETRY_DELAY_MIN_MS = 100;
const RETRY_DELAY_MAX_MS = 5000;

export interface DispatcherContext {
  readonly subscriptionName: string;
  readonly cursor: ManagedCursor;
  readonly topic: SubscriptionTopic;
  readonly config: SubscriptionConfig;
  readonly logger: Logger;
  readonly redeliveries: RedeliveryTracker;
}

/**
 * The read loop every dispatcher shares (Pulsar's AbstractDispatcher*): one read at a time, sized by the
 * permits, through readEntriesOrWait; then the subclass hands the entries out. A read overtaken by a rewind, a
 * reset or the last consumer leaving is stale (the epoch moved on): its entries are not dispatched as such, the
 * subclass decides what becomes of them.
 */
export abstract class Dispatcher {
  abstract readonly type: SubscriptionType;
  protected readonly consumers: Consumer[] = [];
  protected readonly subscriptionName: string;
  protected readonly cursor: ManagedCursor;
  protected readonly topic: SubscriptionTopic;
  protected readonly config: SubscriptionConfig;
  protected readonly logger: Logger;
  protected readonly redeliveries: RedeliveryTracker;
  protected closed = false;
  protected readInFlight = false;
  /** The read under way reads new entries (it may be waiting for them), not messages to redeliver. */
  protected readingNewEntries = false;
  private epoch = 0;
  /** A dispatch is handing entries out: reads asked for meanwhile start when it is done. */
  private dispatching = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 0;

  constructor(context: DispatcherContext) {
    this.subscriptionName = context.subscriptionName;
    this.cursor = context.cursor;
    this.topic = context.topic;
    this.config = context.config;
    this.logger = context.logger;
    this.redeliveries = context.redeliveries;
  }

  getConsumers(): Consumer[] {
    return [...this.consumers];
  }

  /** The consumers, not copied: do not modify. */
  consumersView(): readonly Consumer[] {
    return this.consumers;
  }

  /** Adds a consumer; throws ConsumerBusy when the type does not allow it. */
  abstract addConsumer(consumer: Consumer): void;
  /** Removes a consumer; what it had pending goes back for redelivery. */
  abstract removeConsumer(consumer: Consumer): void;
  /** Sends back `positions` (or everything pending) of `consumer` for redelivery, counting the redelivery. */
  abstract redeliver(consumer: Consumer, positions: Position[] | undefined): void;
  /** A pending message of `owner` was acknowledged (owner undefined: no consumer had it pending). */
  abstract acknowledged(
    position: Position,
    owner: Consumer | undefined,
    pending: PendingAck | undefined,
  ): void;
  /** After resetCursor: everything pending or waiting for redelivery is forgotten. */
  abstract reset(): void;
  abstract getActiveConsumer(): Consumer | undefined;
  /** Messages waiting to be redelivered. */
  abstract getReplayCount(): number;
  /** Unacknowledged messages over all consumers. */
  abstract getUnackedCount(): number;
  isBlockedOnUnackedMessages(): boolean {
    return false;
  }
  /** Everything waiting for redelivery at or before `position` (acknowledged cumulatively) is dropped. */
  abstract acknowledgedUpTo(position: Position): void;

  protected abstract nextRead(): ReadPlan | undefined;
  protected abstract dispatch(entries: PreparedEntry[], replay: boolean): void;
  /** Entries of a read overtaken by a rewind, reset or the last consumer leaving. */
  protected abstract onStaleRead(entries: Entry[], replay: boolean): void;

  consumerFlow(_consumer: Consumer): void {
    this.readMoreEntries();
  }

  /** Starts the next read if none is under way and the plan allows one. */
  readMoreEntries(): void {
    if (this.closed || this.readInFlight || this.retryTimer !== undefined) return;
    if (this.dispatching) return;
    const plan = this.nextRead();
    if (plan === undefined) return;
    this.readInFlight = true;
    this.readingNewEntries = 'count' in plan;
    const epoch = this.epoch;
    if ('count' in plan) {
      this.cursor.readEntriesOrWait(plan.count).then(
        (entries) => this.onEntriesRead(epoch, entries, false),
        (error: unknown) => this.onReadFailed(epoch, error, false),
      );
    } else {
      this.readReplay(plan.replay).then(
        (entries) => this.onEntriesRead(epoch, entries, true),
        (error: unknown) => this.onReadFailed(epoch, error, true),
      );
    }
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.cancelPendingRead();
  }

  /** Makes the read under way (if any) stale, and drops it if it is still waiting for entries. */
  protected cancelPendingRead(): void {
    if (!this.readInFlight) return;
    this.epoch++;
    this.cursor.cancelPendingReadRequest();
  }

  /** Tells every consumer that the end of the topic was reached, when nothing is left to redeliver. */
  protected notifyEndOfTopicIfReached(): void {
    if (this.getReplayCount() > 0) return;
    for (const consumer of this.consumers) consumer.notifyEndOfTopic();
  }

  /** A DeliveredMessage for a prepared entry, with its redelivery count. */
  protected delivered(entry: PreparedEntry): DeliveredMessage {
    return {
      messageId: {
        ledgerId: entry.position.ledgerId,
        entryId: entry.position.entryId,
        partition: this.topic.name.partitionIndex,
        batchIndex: -1,
      },
      position: entry.position,
      redeliveryCount: this.redeliveries.get(entry.position),
      entry: entry.entry,
      data: entry.data,
    };
  }

  /** Reads the given positions (each alone; the redelivery path), dropping those acknowledged meanwhile. */
  private async readReplay(positions: Position[]): Promise<Entry[]> {
    const managedLedger = this.topic.managedLedger;
    const reads = await Promise.all(
      positions.map((position) =>
        managedLedger.readEntries(position, 1, position).catch((error: unknown) => {
          this.logger.warn(
            { err: error, position: position.toString() },
            'cannot read a message to redeliver: dropped',
          );
          return [] as Entry[];
        }),
      ),
    );
    const out: Entry[] = [];
    for (let i = 0; i < reads.length; i++) {
      const entry = reads[i]![0];
      if (entry === undefined || !entry.position.equals(positions[i]!)) continue;
      if (this.cursor.isIndividuallyDeleted(entry.position)) continue;
      out.push(entry);
    }
    return out;
  }

  private onEntriesRead(epoch: number, entries: Entry[], replay: boolean): void {
    this.readInFlight = false;
    if (this.closed) return;
    if (epoch !== this.epoch) {
      this.onStaleRead(entries, replay);
      this.readMoreEntries();
      return;
    }
    this.retryDelayMs = 0;
    const prepared = this.prepare(entries);
    this.dispatching = true;
    try {
      if (prepared.length > 0) this.dispatch(prepared, replay);
    } catch (error) {
      // A bug: logged loudly, and the entries are not lost (the cursor is rewound or they wait for redelivery).
      this.logger.error({ err: error }, 'dispatch failed');
      this.onStaleRead(entries, replay);
    } finally {
      this.dispatching = false;
    }
    this.readMoreEntries();
  }

  private onReadFailed(epoch: number, error: unknown, replay: boolean): void {
    this.readInFlight = false;
    if (this.closed) return;
    if (epoch !== this.epoch) {
      this.onStaleRead([], replay);
      this.readMoreEntries();
      return;
    }
    if (isManagedLedgerError(error, 'NoMoreEntriesToRead')) {
      this.notifyEndOfTopicIfReached();
      return;
    }
    if (
      isManagedLedgerError(error, 'CursorAlreadyClosed') ||
      isManagedLedgerError(error, 'ManagedLedgerAlreadyClosed')
    ) {
      return;
    }
    this.retryDelayMs = Math.min(RETRY_DELAY_MAX_MS, Math.max(RETRY_DELAY_MIN_MS, this.retryDelayMs * 2));
    this.logger.warn({ err: error, retryInMs: this.retryDelayMs }, 'read for dispatch failed');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.readMoreEntries();
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }

  /**
   * Parses each entry once (no CRC32C check: DISPATCH_PARSE). An entry that is not in Pulsar's format can never be
   * delivered: it is acknowledged (as Pulsar's client discards and acknowledges a corrupt message) and skipped, so it
   * does not block the backlog.
   */
  private prepare(entries: Entry[]): PreparedEntry[] {
    const out: PreparedEntry[] = [];
    for (const { position, data } of entries) {
      let entry: ParsedEntry;
      try {
        entry = parseEntry(data, DISPATCH_PARSE);
      } catch (error) {
        this.logger.warn(
          { err: error, position: position.toString() },
          'unreadable entry acknowledged and skipped',
        );
        this.cursor.delete(position).catch((err: unknown) => {
          this.logger.warn({ err, position: position.toString() }, 'cannot acknowledge an unreadable entry');
        });
        continue;
      }
      out.push({
        position,
        data,
        entry,
        stickyKeyHash: this.type === 'Key_Shared' ? stickyKeyHashOf(entry) : -1,
      });
    }
    return out;
  }
}

/** Pulsar's sticky key: the ordering key, else the partition key, else "NONE_KEY"; its hash mod 65536. */
export function stickyKeyHashOf(entry: ParsedEntry): number {
  const metadata = entry.metadata;
  const key =
    metadata.orderingKey ?? (metadata.partitionKey === undefined ? NONE_KEY : metadata.partitionKey);
  return murmur3_32(key) % STICKY_KEY_HASH_RANGE;
}

/** The sticky key hash of stored entry bytes; -1 for bytes that are not a Pulsar entry (never delivered anyway). */
export function stickyKeyHashOfData(data: Buffer): number {
  try {
    return stickyKeyHashOf(parseEntry(data));
  } catch {
    return -1;
  }
}
