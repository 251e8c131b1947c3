import type { Logger } from '../../../common';
import { isManagedLedgerError, EARLIEST, Position } from '../../../managed-ledger';
import type { Entry, ManagedCursor } from '../../../managed-ledger';
import { parseEntry } from '../../pulsar';
import { BrokerError } from '../errors';
import type { Consumer, ConsumerSubscription } from './consumer';
import type { Dispatcher } from './dispatcher';
import { KeySharedDispatcher } from './key-shared-dispatcher';
import { RateMeter } from './rate-meter';
import { RedeliveryTracker } from './redelivery-tracker';
import { SharedDispatcher } from './shared-dispatcher';
import { SingleActiveConsumerDispatcher } from './single-active-consumer-dispatcher';
import type { SubscriptionStats } from './subscription-stats';
import { DEFAULT_SUBSCRIPTION_CONFIG, SUBSCRIPTION_TYPES } from './types';
import type { PeekedMessage, SubscriptionConfig, SubscriptionTopic, SubscriptionType } from './types';

export interface PersistentSubscriptionOptions {
  topic: SubscriptionTopic;
  /** Durable cursors are named after the subscription; a non-durable cursor may have another name. */
  cursor: ManagedCursor;
  name?: string;
  config?: Partial<SubscriptionConfig>;
  logger: Logger;
}

type SubscriptionState = 'Open' | 'Closed' | 'Deleted';

const PEEK_READ_BATCH = 100;

/**
 * A subscription: one cursor (durable, or non-durable for readers) and the dispatcher of its current type with the
 * consumers attached (Pulsar's PersistentSubscription). Acknowledgements go to the cursor: individual ones as
 * cursor.delete, cumulative ones as markDelete. Admin operations: skip, clearBacklog, resetCursor, peek, stats.
 */
export class PersistentSubscription implements ConsumerSubscription {
  readonly name: string;
  readonly cursor: ManagedCursor;
  readonly topic: SubscriptionTopic;
  readonly durable: boolean;
  readonly logger: Logger;
  readonly config: SubscriptionConfig;

  private dispatcher: Dispatcher | undefined;
  private readonly redeliveries = new RedeliveryTracker();
  private state: SubscriptionState = 'Open';
  private readonly outRate = new RateMeter();
  private msgOutCounter = 0;
  private bytesOutCounter = 0;
  private lastConsumedTimestamp = 0;
  private lastConsumedFlowTimestamp = 0;
  private lastAckedTimestamp = 0;
  private lastMarkDeleteAdvancedTimestamp = 0;

  private readonly wrapAckError = (error: unknown): never => {
    throw this.wrap(error, 'acknowledge');
  };

  constructor(options: PersistentSubscriptionOptions) {
    this.topic = options.topic;
    this.cursor = options.cursor;
    this.name = options.name ?? options.cursor.name;
    this.durable = options.cursor.durable;
    this.config = { ...DEFAULT_SUBSCRIPTION_CONFIG, ...options.config };
    this.logger = options.logger.child({ subscription: this.name });
  }

  /** The type of the consumers attached (or last attached); undefined before the first. */
  getType(): SubscriptionType | undefined {
    return this.dispatcher?.type;
  }

  /**
   * Attaches a consumer: ConsumerBusy for a second Exclusive consumer, or a type other than the attached
   * consumers'. With no consumer attached, a consumer of another type changes the subscription's type.
   */
  addConsumer(consumer: Consumer): void {
    this.checkOpen('add a consumer to');
    const type = consumer.subscriptionType;
    if (!SUBSCRIPTION_TYPES.includes(type)) {
      throw new BrokerError('BadRequest', `${this.describe()}: unknown subscription type ${String(type)}`);
    }
    let dispatcher = this.dispatcher;
    if (dispatcher !== undefined && dispatcher.type !== type) {
      if (dispatcher.consumersView().length > 0) {
        throw new BrokerError(
          'ConsumerBusy',
          `Subscription is of different type: ${this.describe()} is ${dispatcher.type}, not ${type}`,
        );
      }
      dispatcher.close();
      dispatcher = undefined;
    }
    if (dispatcher === undefined) {
      dispatcher = this.newDispatcher(type);
      this.dispatcher = dispatcher;
    }
    dispatcher.addConsumer(consumer);
    this.logger.info({ consumer: consumer.consumerName, type }, 'consumer added');
  }

  /** Detaches a consumer (its unacknowledged messages go back); a non-durable subscription ends with its last. */
  async removeConsumer(consumer: Consumer): Promise<void> {
    const dispatcher = this.dispatcher;
    if (dispatcher === undefined || !dispatcher.consumersView().includes(consumer)) return;
    dispatcher.removeConsumer(consumer);
    this.logger.info({ consumer: consumer.consumerName }, 'consumer removed');
    if (!this.durable && this.state === 'Open' && dispatcher.consumersView().length === 0) {
      await this.delete().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'cannot remove the non-durable subscription');
      });
    }
  }

  getConsumers(): Consumer[] {
    return this.dispatcher?.getConsumers() ?? [];
  }

  // ---- called by consumers ----

  consumerFlow(consumer: Consumer): void {
    this.lastConsumedFlowTimestamp = Date.now();
    this.dispatcher?.consumerFlow(consumer);
  }

  acknowledge(consumer: Consumer, positions: Position[]): Promise<void> {
    const dispatcher = this.dispatcher;
    for (const position of positions) {
      let owner: Consumer | undefined = consumer;
      let pending = consumer.removePending(position);
      if (pending === undefined && dispatcher !== undefined) {
        // Acknowledgements may come through another consumer of the subscription (Pulsar's getAckOwnerConsumer).
        owner = undefined;
        for (const other of dispatcher.consumersView()) {
          pending = other.removePending(position);
          if (pending !== undefined) {
            owner = other;
            break;
          }
        }
      }
      this.redeliveries.remove(position);
      dispatcher?.acknowledged(position, owner, pending);
    }
    this.lastAckedTimestamp = Date.now();
    const markDelete = this.cursor.getMarkDeletedPosition();
    // The cursor moves in memory at once; the promise is its persistence (or its refusal).
    const done = this.cursor.delete(positions);
    this.noteMarkDelete(markDelete);
    return done.catch(this.wrapAckError);
  }

  acknowledgeCumulative(_consumer: Consumer, position: Position): Promise<void> {
    this.lastAckedTimestamp = Date.now();
    const markDelete = this.cursor.getMarkDeletedPosition();
    this.acknowledgedUpTo(position);
    const done = this.cursor.markDelete(position);
    this.noteMarkDelete(markDelete);
    return done.catch(this.wrapAckError);
  }

  redeliver(consumer: Consumer, positions: Position[] | undefined): void {
    const dispatcher = this.dispatcher;
    if (dispatcher === undefined || !dispatcher.consumersView().includes(consumer)) return;
    dispatcher.redeliver(consumer, positions);
  }

  recordDelivered(messages: number, bytes: number): void {
    this.msgOutCounter += messages;
    this.bytesOutCounter += bytes;
    this.lastConsumedTimestamp = Date.now();
    this.topic.recordDelivered?.(messages, bytes);
  }

  /** The topic is terminated and everything was read (nothing is waiting for redelivery either). */
  isEndOfTopic(): boolean {
    return (
      this.topic.managedLedger.isTerminated() &&
      !this.cursor.hasMoreEntries() &&
      (this.dispatcher?.getReplayCount() ?? 0) === 0
    );
  }

  // ---- admin ----

  /** Acknowledges the next `count` unacknowledged messages (Pulsar's skip). */
  async skip(count: number): Promise<void> {
    this.checkOpen('skip messages of');
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new BrokerError('BadRequest', `${this.describe()}: cannot skip ${String(count)} messages`);
    }
    await this.cursor.skipEntries(count).catch((error: unknown) => {
      throw this.wrap(error, 'skip messages');
    });
    this.acknowledgedUpTo(this.cursor.getMarkDeletedPosition());
    this.lastMarkDeleteAdvancedTimestamp = Date.now();
    this.logger.info({ count }, 'messages skipped');
  }

  /** The publish time of the oldest unacknowledged message; undefined when nothing is unacknowledged. */
  async oldestUnackedPublishTime(): Promise<number | undefined> {
    const oldest = await this.peek(1);
    return oldest?.entry.metadata.publishTime;
  }

  /**
   * Acknowledges every message published at or before `publishTime` (Pulsar's expiry of old messages, used by
   * the message_age backlog quota's consumer_backlog_eviction). Returns whether the mark-delete moved.
   */
  async expirePublishedUpTo(publishTime: number): Promise<boolean> {
    this.checkOpen('expire messages of');
    const firstKept = await this.positionAfterPublishTime(publishTime);
    const upTo = this.topic.managedLedger.getPreviousPosition(firstKept);
    const markDelete = this.cursor.getMarkDeletedPosition();
    if (!upTo.isAfter(markDelete)) return false;
    this.acknowledgedUpTo(upTo);
    await this.cursor.markDelete(upTo).catch((error: unknown) => {
      throw this.wrap(error, 'expire messages');
    });
    this.noteMarkDelete(markDelete);
    this.logger.info({ publishTime, markDelete: upTo.toString() }, 'messages past the backlog age expired');
    return true;
  }

  /** Acknowledges everything (Pulsar's skip_all / clear-backlog). */
  async clearBacklog(): Promise<void> {
    this.checkOpen('clear the backlog of');
    const last = this.topic.managedLedger.getLastConfirmedEntry();
    if (last.entryId >= 0n && last.isAfter(this.cursor.getMarkDeletedPosition())) {
      this.acknowledgedUpTo(last);
      await this.cursor.markDelete(last).catch((error: unknown) => {
        throw this.wrap(error, 'clear the backlog');
      });
      this.lastMarkDeleteAdvancedTimestamp = Date.now();
    }
    this.logger.info({ markDelete: this.cursor.getMarkDeletedPosition().toString() }, 'backlog cleared');
  }

  /**
   * Moves the subscription to `target`: the next message delivered is the one at that position, or the first
   * published after `publishTime` (the first stored one when none is older). Everything after it becomes
   * unacknowledged again; what consumers had pending is forgotten and dispatch starts over from there.
   */
  async resetCursor(target: Position | { publishTime: number }): Promise<void> {
    this.checkOpen('reset');
    let position: Position;
    if (target instanceof Position) {
      position = target;
    } else {
      const publishTime = target?.publishTime;
      if (typeof publishTime !== 'number' || !Number.isFinite(publishTime)) {
        throw new BrokerError('BadRequest', `${this.describe()}: reset needs a position or a publish time`);
      }
      position = await this.positionAfterPublishTime(publishTime);
    }
    this.dispatcher?.reset();
    this.redeliveries.clear();
    try {
      await this.cursor.resetCursor(position);
    } catch (error) {
      throw this.wrap(error, `reset to ${position.toString()}`);
    } finally {
      this.dispatcher?.readMoreEntries();
    }
    this.lastMarkDeleteAdvancedTimestamp = Date.now();
    this.logger.info({ position: position.toString() }, 'subscription reset');
  }

  /** The `n`-th (1-based) unacknowledged message, without consuming it; undefined when there are fewer. */
  async peek(n: number): Promise<PeekedMessage | undefined> {
    this.checkOpen('peek');
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new BrokerError('BadRequest', `${this.describe()}: peek needs a position ≥ 1, got ${String(n)}`);
    }
    let from = this.cursor.getMarkDeletedPosition().next();
    let seen = 0;
    for (;;) {
      let entries: Entry[];
      try {
        entries = await this.topic.managedLedger.readEntries(from, PEEK_READ_BATCH);
      } catch (error) {
        throw this.wrap(error, 'peek');
      }
      const last = entries[entries.length - 1];
      if (last === undefined) return undefined;
      for (const { position, data } of entries) {
        if (this.cursor.isIndividuallyDeleted(position)) continue;
        if (++seen < n) continue;
        return {
          messageId: {
            ledgerId: position.ledgerId,
            entryId: position.entryId,
            partition: this.topic.name.partitionIndex,
            batchIndex: -1,
          },
          entry: parseEntry(data),
          data,
        };
      }
      from = last.position.next();
    }
  }

  getStats(): SubscriptionStats {
    const dispatcher = this.dispatcher;
    const consumers = dispatcher?.consumersView() ?? [];
    const consumerStats = consumers.map((consumer) => {
      const stats = consumer.getStats();
      if (dispatcher instanceof KeySharedDispatcher)
        stats.keyHashRanges = dispatcher.keyHashRangesOf(consumer);
      return stats;
    });
    const rates = this.outRate.rates(Date.now(), this.msgOutCounter, this.bytesOutCounter);
    const backlog = this.cursor.getNumberOfEntriesInBacklog(false);
    const managedLedger = this.topic.managedLedger;
    const entries = managedLedger.getNumberOfEntries();
    const ranges = this.cursor.getTotalNonContiguousDeletedMessagesRange();
    const type = dispatcher?.type;
    return {
      msgRateOut: rates.messagesPerSecond,
      msgThroughputOut: rates.bytesPerSecond,
      bytesOutCounter: this.bytesOutCounter,
      msgOutCounter: this.msgOutCounter,
      msgRateRedeliver: consumerStats.reduce((sum, c) => sum + c.msgRateRedeliver, 0),
      msgBacklog: backlog,
      msgBacklogNoDelayed: backlog,
      backlogSize: entries === 0 ? 0 : Math.round((managedLedger.getTotalSize() / entries) * backlog),
      unackedMessages: dispatcher?.getUnackedCount() ?? 0,
      blockedSubscriptionOnUnackedMsgs: dispatcher?.isBlockedOnUnackedMessages() ?? false,
      msgDelayed: 0,
      type: type ?? 'None',
      ...(dispatcher?.getActiveConsumer() === undefined
        ? {}
        : { activeConsumerName: dispatcher.getActiveConsumer()!.consumerName }),
      msgRateExpired: 0,
      totalMsgExpired: 0,
      lastExpireTimestamp: 0,
      lastConsumedFlowTimestamp: this.lastConsumedFlowTimestamp,
      lastConsumedTimestamp: this.lastConsumedTimestamp,
      lastAckedTimestamp: this.lastAckedTimestamp,
      lastMarkDeleteAdvancedTimestamp: this.lastMarkDeleteAdvancedTimestamp,
      consumers: consumerStats,
      isDurable: this.durable,
      isReplicated: false,
      durable: this.durable,
      replicated: false,
      allowOutOfOrderDelivery: false,
      ...(type === 'Key_Shared' ? { keySharedMode: 'AUTO_SPLIT' as const } : {}),
      nonContiguousDeletedMessagesRanges: ranges,
      nonContiguousDeletedMessagesRangesSerializedSize: ranges * 16,
      subscriptionProperties: Object.fromEntries(this.cursor.getCursorProperties()),
    };
  }

  // ---- lifecycle ----

  /** Disconnects the consumers and stops dispatch (the topic closes the cursor with its managed ledger). */
  async close(): Promise<void> {
    if (this.state !== 'Open') return;
    this.state = 'Closed';
    await this.disconnectAll('the subscription is closing');
    this.dispatcher?.close();
    this.logger.info('subscription closed');
  }

  /** Disconnects every consumer and deletes the cursor (Pulsar's forced delete). */
  async delete(): Promise<void> {
    if (this.state === 'Deleted') return;
    this.state = 'Deleted';
    await this.disconnectAll('the subscription was deleted');
    this.dispatcher?.close();
    try {
      await this.topic.managedLedger.deleteCursor(this.cursor.name);
    } catch (error) {
      if (!isManagedLedgerError(error, 'CursorNotFound')) throw this.wrap(error, 'delete');
    }
    this.logger.info('subscription deleted');
    this.topic.onSubscriptionDeleted?.(this);
  }

  isDeleted(): boolean {
    return this.state === 'Deleted';
  }

  toString(): string {
    return `PersistentSubscription(${this.describe()})`;
  }

  // ---- internals ----

  private newDispatcher(type: SubscriptionType): Dispatcher {
    const context = {
      subscriptionName: this.name,
      cursor: this.cursor,
      topic: this.topic,
      config: this.config,
      logger: this.logger,
      redeliveries: this.redeliveries,
    };
    switch (type) {
      case 'Exclusive':
      case 'Failover':
        return new SingleActiveConsumerDispatcher(context, type);
      case 'Shared':
        return new SharedDispatcher(context);
      case 'Key_Shared':
        return new KeySharedDispatcher(context);
    }
  }

  /** Everything at or before `position` is acknowledged: pending acks, redeliveries and counts go. */
  private acknowledgedUpTo(position: Position): void {
    const dispatcher = this.dispatcher;
    this.redeliveries.removeAtOrBefore(position);
    if (dispatcher === undefined) return;
    for (const consumer of dispatcher.consumersView()) {
      for (const pending of consumer.removePendingAtOrBefore(position)) {
        dispatcher.acknowledged(pending.position, consumer, pending);
      }
    }
    dispatcher.acknowledgedUpTo(position);
  }

  /** The position after the newest message published at or before `publishTime` (binary search, all entries). */
  private async positionAfterPublishTime(publishTime: number): Promise<Position> {
    const managedLedger = this.topic.managedLedger;
    let probe: ManagedCursor;
    try {
      probe = managedLedger.newNonDurableCursor('earliest');
    } catch (error) {
      throw this.wrap(error, 'search by publish time');
    }
    try {
      const found = await probe.findNewestMatching((entry) => publishTimeOf(entry) <= publishTime);
      return found === undefined ? EARLIEST : found.next();
    } catch (error) {
      throw this.wrap(error, 'search by publish time');
    } finally {
      await managedLedger.deleteCursor(probe.name).catch(() => undefined);
    }
  }

  private noteMarkDelete(before: Position): void {
    if (!this.cursor.getMarkDeletedPosition().equals(before))
      this.lastMarkDeleteAdvancedTimestamp = Date.now();
  }

  private async disconnectAll(reason: string): Promise<void> {
    const consumers = this.dispatcher?.getConsumers() ?? [];
    await Promise.all(consumers.map((consumer) => consumer.disconnect(reason)));
  }

  private checkOpen(what: string): void {
    if (this.state !== 'Open') {
      throw new BrokerError(
        this.state === 'Deleted' ? 'SubscriptionNotFound' : 'ServiceNotReady',
        `cannot ${what} ${this.describe()}: it is ${this.state.toLowerCase()}`,
      );
    }
  }

  private describe(): string {
    return `subscription ${this.name} of ${this.topic.name.toString()}`;
  }

  /** The broker's error for a managed-ledger failure, naming the subscription and what was attempted. */
  private wrap(error: unknown, what: string): unknown {
    if (error instanceof BrokerError || !isManagedLedgerError(error)) return error;
    const message = `cannot ${what} on ${this.describe()}: ${error.message}`;
    switch (error.code) {
      case 'InvalidCursorPosition':
      case 'InvalidArgument':
        return new BrokerError('BadRequest', message, { cause: error });
      case 'CursorAlreadyClosed':
      case 'ManagedLedgerAlreadyClosed':
        return new BrokerError('ServiceNotReady', message, { cause: error, retriable: true });
      case 'ManagedLedgerFenced':
        return new BrokerError('TopicFenced', message, { cause: error, retriable: true });
      default:
        return new BrokerError('PersistenceError', message, { cause: error, retriable: error.retriable });
    }
  }
}

/** A message's publish time; an unreadable entry counts as old (the search steps over it). */
function publishTimeOf(entry: Entry): number {
  try {
    return parseEntry(entry.data).metadata.publishTime;
  } catch {
    return Number.NEGATIVE_INFINITY;
  }
}
