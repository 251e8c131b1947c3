import { randomBytes } from 'node:crypto';
import type { Logger } from '../../../common';
import { Position } from '../../../managed-ledger';
import type { ManagedCursor } from '../../../managed-ledger';
import type { MessageId } from '../../pulsar';
import { BrokerError } from '../errors';
import { PositionMap } from './position-map';
import { RateMeter } from './rate-meter';
import type { ConsumerStats } from './subscription-stats';
import type {
  ConsumerSink,
  DeliveredMessage,
  PendingAck,
  SubscribeOptions,
  SubscriptionTopic,
  SubscriptionType,
} from './types';

/** Negatively acknowledged positions waiting for their redelivery time. */
interface NackBatch {
  readonly positions: Position[];
  readonly dueAtMs: number;
}

export const DEFAULT_NEGATIVE_ACK_REDELIVERY_DELAY_MS = 60_000;

/**
 * What a consumer uses of its subscription (PersistentSubscription implements it; declared here so that the
 * consumer does not import the subscription, which imports the consumer).
 */
export interface ConsumerSubscription {
  readonly name: string;
  readonly topic: SubscriptionTopic;
  readonly cursor: ManagedCursor;
  readonly durable: boolean;
  readonly logger: Logger;
  getType(): SubscriptionType | undefined;
  consumerFlow(consumer: Consumer): void;
  acknowledge(consumer: Consumer, positions: Position[]): Promise<void>;
  acknowledgeCumulative(consumer: Consumer, position: Position): Promise<void>;
  redeliver(consumer: Consumer, positions: Position[] | undefined): void;
  removeConsumer(consumer: Consumer): Promise<void>;
  recordDelivered(messages: number, bytes: number): void;
  isEndOfTopic(): boolean;
}

let nextConsumerId = 0;

/**
 * One consumer attached to a subscription (Pulsar's broker-side Consumer). The dispatcher sends it messages while
 * it has permits; it keeps what it was sent and not yet acknowledged (pending acks), so that negative acks, the
 * ack timeout and its close send those messages back for redelivery.
 */
export class Consumer {
  readonly consumerId: number;
  readonly consumerName: string;
  readonly subscriptionType: SubscriptionType;
  readonly subscription: ConsumerSubscription;
  readonly sink: ConsumerSink;
  readonly priorityLevel: number;
  readonly receiverQueueSize: number;
  readonly ackTimeoutMillis: number;
  readonly negativeAckRedeliveryDelayMillis: number;
  readonly connectedSince: string;

  /** Messages the dispatcher may still send (may go below zero: a batch costs all its messages). */
  availablePermits = 0;
  /** Set by the dispatcher: unacknowledged messages reached maxUnackedMessagesPerConsumer (until half). */
  blockedOnUnackedMessages = false;
  readonly pendingAcks = new PositionMap<PendingAck>();

  private readonly logger: Logger;
  private readonly options: SubscribeOptions;
  private unackedMessages = 0;
  private closed = false;
  private endOfTopicNotified = false;
  private ackTimeoutTimer: NodeJS.Timeout | undefined;
  private readonly nacks: NackBatch[] = [];
  private nackTimer: NodeJS.Timeout | undefined;
  private readonly outRate = new RateMeter();
  private readonly redeliverRate = new RateMeter();
  private msgOutCounter = 0;
  private bytesOutCounter = 0;
  private entriesOutCounter = 0;
  private redeliveredCounter = 0;
  private lastAckedTimestamp = 0;
  private lastConsumedTimestamp = 0;
  private lastConsumedFlowTimestamp = 0;
  private readonly readPositionWhenJoining: string;

  constructor(subscription: ConsumerSubscription, options: SubscribeOptions, sink: ConsumerSink) {
    this.consumerId = nextConsumerId++;
    this.subscription = subscription;
    this.sink = sink;
    this.options = options;
    this.consumerName = options.consumerName ?? randomBytes(4).toString('hex').slice(0, 5);
    this.subscriptionType = options.subscriptionType;
    this.priorityLevel = options.priorityLevel ?? 0;
    this.receiverQueueSize = options.receiverQueueSize ?? 1000;
    this.ackTimeoutMillis = options.ackTimeoutMillis ?? 0;
    this.negativeAckRedeliveryDelayMillis =
      options.negativeAckRedeliveryDelayMillis ?? DEFAULT_NEGATIVE_ACK_REDELIVERY_DELAY_MS;
    checkOptions(this, subscription.name);
    this.connectedSince = new Date().toISOString();
    this.readPositionWhenJoining = subscription.cursor.getReadPosition().toString();
    this.logger = subscription.logger.child({ consumer: this.consumerName });
  }

  /** Adds permits (messages): the dispatcher sends while permits are above zero. */
  flow(permits: number): void {
    if (this.closed) return;
    if (!Number.isSafeInteger(permits) || permits < 0) {
      throw new BrokerError(
        'BadRequest',
        `consumer ${this.consumerName} of subscription ${this.subscription.name}: permits must be an integer ≥ 0, got ${String(permits)}`,
      );
    }
    if (permits === 0) return;
    this.availablePermits += permits;
    this.lastConsumedFlowTimestamp = Date.now();
    this.subscription.consumerFlow(this);
  }

  /** Individual acknowledgement of each message (its whole entry). */
  acknowledge(ids: MessageId[]): Promise<void> {
    let positions: Position[];
    try {
      this.checkOpen('acknowledge');
      positions = ids.map((id) => this.positionOf(id));
    } catch (error) {
      return Promise.reject(error);
    }
    this.lastAckedTimestamp = Date.now();
    return this.subscription.acknowledge(this, positions);
  }

  /** Acknowledges everything up to and including `id`: Exclusive and Failover only. */
  acknowledgeCumulative(id: MessageId): Promise<void> {
    let position: Position;
    try {
      this.checkOpen('acknowledge');
      const type = this.subscription.getType();
      if (type === 'Shared' || type === 'Key_Shared') {
        throw new BrokerError(
          'NotAllowed',
          `cumulative acknowledgement is not allowed on ${type} subscription ${this.subscription.name} of ${this.subscription.topic.name.toString()}`,
        );
      }
      position = this.positionOf(id);
    } catch (error) {
      return Promise.reject(error);
    }
    this.lastAckedTimestamp = Date.now();
    return this.subscription.acknowledgeCumulative(this, position);
  }

  /** The messages come back after negativeAckRedeliveryDelayMillis, with redeliveryCount + 1. */
  negativeAcknowledge(ids: MessageId[]): void {
    if (this.closed || ids.length === 0) return;
    // An id that names no message (earliest, latest, a negative id) has nothing to redeliver: Pulsar's broker
    // ignores a redelivery request for it, and so do we.
    const positions = ids.filter(namesAnEntry).map((id) => this.positionOf(id));
    if (positions.length === 0) return;
    const dueAtMs = Date.now() + this.negativeAckRedeliveryDelayMillis;
    this.nacks.push({ positions, dueAtMs });
    if (this.nackTimer === undefined) this.armNackTimer();
  }

  /** Every message sent and not acknowledged comes back (Exclusive/Failover: the cursor rewinds). */
  redeliverUnacknowledged(): void {
    if (this.closed) return;
    this.subscription.redeliver(this, undefined);
  }

  getUnackedCount(): number {
    return this.unackedMessages;
  }

  /** The topic is terminated and the subscription has read (and sent) everything. */
  isEndOfTopic(): boolean {
    return this.subscription.isEndOfTopic();
  }

  isClosed(): boolean {
    return this.closed;
  }

  /** Detaches from the subscription; its unacknowledged messages go back for redelivery. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.stopTimers();
    this.closed = true;
    await this.subscription.removeConsumer(this);
  }

  /** The broker ends this consumer: detached, then the sink is told why. */
  async disconnect(reason: string): Promise<void> {
    if (this.closed) return;
    await this.close();
    try {
      this.sink.close(reason);
    } catch (error) {
      this.logger.warn({ err: error }, 'consumer sink failed to close');
    }
  }

  getStats(): ConsumerStats {
    const now = Date.now();
    const out = this.outRate.rates(now, this.msgOutCounter, this.bytesOutCounter);
    const redeliver = this.redeliverRate.rates(now, this.redeliveredCounter, 0);
    return {
      consumerName: this.consumerName,
      msgRateOut: out.messagesPerSecond,
      msgThroughputOut: out.bytesPerSecond,
      bytesOutCounter: this.bytesOutCounter,
      msgOutCounter: this.msgOutCounter,
      msgRateRedeliver: redeliver.messagesPerSecond,
      availablePermits: this.availablePermits,
      unackedMessages: this.unackedMessages,
      avgMessagesPerEntry: this.entriesOutCounter === 0 ? 0 : this.msgOutCounter / this.entriesOutCounter,
      blockedConsumerOnUnackedMsgs: this.blockedOnUnackedMessages,
      readPositionWhenJoining: this.readPositionWhenJoining,
      lastAckedTimestamp: this.lastAckedTimestamp,
      lastConsumedTimestamp: this.lastConsumedTimestamp,
      lastConsumedFlowTimestamp: this.lastConsumedFlowTimestamp,
      lastAckedTime: isoOrZero(this.lastAckedTimestamp),
      lastConsumedTime: isoOrZero(this.lastConsumedTimestamp),
      address: this.options.address ?? '',
      connectedSince: this.connectedSince,
      clientVersion: this.options.clientVersion ?? '',
      priorityLevel: this.priorityLevel,
      metadata: { ...this.options.metadata },
    };
  }

  toString(): string {
    return `Consumer(${this.consumerName} on ${this.subscription.name})`;
  }

  // ---- called by the subscription and its dispatcher ----

  /**
   * Sends messages (chosen by the dispatcher, which checked the permits): records them as pending acks, takes
   * their permits, and hands them to the sink.
   */
  deliver(messages: DeliveredMessage[], stickyKeyHashes?: number[]): void {
    if (messages.length === 0) return;
    const now = Date.now();
    // Readers (non-durable Exclusive subscriptions) never acknowledge: nothing is kept for them. (A non-durable
    // Exclusive/Failover consumer still gets negative acks redelivered: those rewind the cursor.)
    const track =
      this.subscription.durable ||
      this.subscriptionType === 'Shared' ||
      this.subscriptionType === 'Key_Shared';
    let count = 0;
    let bytes = 0;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      const numMessages = message.entry.numMessages;
      if (track) {
        this.pendingAcks.set({
          position: message.position,
          numMessages,
          stickyKeyHash: stickyKeyHashes?.[i] ?? -1,
          sentAtMs: now,
        });
      }
      count += numMessages;
      bytes += message.data.length;
    }
    this.availablePermits -= count;
    if (track) this.unackedMessages += count;
    // The ack-timeout timer starts with the first delivery (a consumer refused at subscribe never has one).
    if (track && this.ackTimeoutMillis > 0 && this.ackTimeoutTimer === undefined && !this.closed) {
      const tickMs = Math.min(1000, Math.max(10, Math.floor(this.ackTimeoutMillis / 4)));
      this.ackTimeoutTimer = setInterval(() => this.checkAckTimeout(), tickMs);
      this.ackTimeoutTimer.unref();
    }
    this.msgOutCounter += count;
    this.bytesOutCounter += bytes;
    this.entriesOutCounter += messages.length;
    this.lastConsumedTimestamp = now;
    this.subscription.recordDelivered(count, bytes);
    try {
      this.sink.sendMessages(messages);
    } catch (error) {
      // The sink broke its contract; the messages stay pending and come back on redelivery or close.
      this.logger.warn({ err: error }, 'consumer sink failed to take messages');
    }
  }

  /** Drops a pending ack (acknowledged or sent back for redelivery) and returns it. */
  removePending(position: Position): PendingAck | undefined {
    const pending = this.pendingAcks.delete(position);
    if (pending !== undefined) this.unackedMessages -= pending.numMessages;
    return pending;
  }

  /** Drops every pending ack at or before `position` (a cumulative ack). */
  removePendingAtOrBefore(position: Position): PendingAck[] {
    const removed = this.pendingAcks.deleteAtOrBefore(position);
    for (const pending of removed) this.unackedMessages -= pending.numMessages;
    return removed;
  }

  /** Drops every pending ack (they are being redelivered). */
  takeAllPending(): PendingAck[] {
    const all = [...this.pendingAcks.values()];
    this.pendingAcks.clear();
    this.unackedMessages = 0;
    return all;
  }

  countRedelivered(messages: number): void {
    this.redeliveredCounter += messages;
  }

  /** Tells the sink once that the end of the topic was reached. */
  notifyEndOfTopic(): void {
    if (this.closed || this.endOfTopicNotified) return;
    this.endOfTopicNotified = true;
    try {
      this.sink.reachedEndOfTopic();
    } catch (error) {
      this.logger.warn({ err: error }, 'consumer sink failed on end of topic');
    }
  }

  notifyActiveConsumerChanged(active: boolean): void {
    if (this.closed) return;
    try {
      this.sink.activeConsumerChanged?.(active);
    } catch (error) {
      this.logger.warn({ err: error }, 'consumer sink failed on active consumer change');
    }
  }

  // ---- internals ----

  private checkAckTimeout(): void {
    if (this.closed || this.pendingAcks.size === 0) return;
    const deadline = Date.now() - this.ackTimeoutMillis;
    const expired: Position[] = [];
    for (const pending of this.pendingAcks.values()) {
      if (pending.sentAtMs <= deadline) expired.push(pending.position);
    }
    if (expired.length === 0) return;
    this.logger.debug({ messages: expired.length }, 'ack timeout: redelivering');
    this.subscription.redeliver(this, expired);
  }

  private armNackTimer(): void {
    const head = this.nacks[0];
    if (head === undefined) return;
    this.nackTimer = setTimeout(
      () => {
        this.nackTimer = undefined;
        this.redeliverNacked();
      },
      Math.max(0, head.dueAtMs - Date.now()),
    );
    this.nackTimer.unref();
  }

  private redeliverNacked(): void {
    if (this.closed) return;
    const now = Date.now();
    const due: Position[] = [];
    while (this.nacks.length > 0 && this.nacks[0]!.dueAtMs <= now) {
      for (const position of this.nacks.shift()!.positions) due.push(position);
    }
    if (due.length > 0) this.subscription.redeliver(this, due);
    this.armNackTimer();
  }

  private stopTimers(): void {
    if (this.ackTimeoutTimer !== undefined) clearInterval(this.ackTimeoutTimer);
    this.ackTimeoutTimer = undefined;
    if (this.nackTimer !== undefined) clearTimeout(this.nackTimer);
    this.nackTimer = undefined;
    this.nacks.length = 0;
  }

  private positionOf(id: MessageId): Position {
    if (!namesAnEntry(id)) {
      throw new BrokerError(
        'BadRequest',
        `consumer ${this.consumerName} of subscription ${this.subscription.name}: not a message id of ${this.subscription.topic.name.toString()}`,
      );
    }
    return new Position(id.ledgerId, id.entryId);
  }

  private checkOpen(what: string): void {
    if (this.closed) {
      throw new BrokerError(
        'NotAllowed',
        `cannot ${what}: consumer ${this.consumerName} of subscription ${this.subscription.name} is closed`,
      );
    }
  }
}

function checkOptions(consumer: Consumer, subscription: string): void {
  const bad = (what: string, value: unknown): never => {
    throw new BrokerError(
      'BadRequest',
      `subscription ${subscription}: consumer ${consumer.consumerName}: ${what}, got ${String(value)}`,
    );
  };
  if (!Number.isSafeInteger(consumer.priorityLevel) || consumer.priorityLevel < 0) {
    bad('priorityLevel must be an integer ≥ 0', consumer.priorityLevel);
  }
  if (!Number.isSafeInteger(consumer.receiverQueueSize) || consumer.receiverQueueSize < 0) {
    bad('receiverQueueSize must be an integer ≥ 0', consumer.receiverQueueSize);
  }
  if (!Number.isSafeInteger(consumer.ackTimeoutMillis) || consumer.ackTimeoutMillis < 0) {
    bad('ackTimeoutMillis must be an integer ≥ 0', consumer.ackTimeoutMillis);
  }
  if (
    !Number.isSafeInteger(consumer.negativeAckRedeliveryDelayMillis) ||
    consumer.negativeAckRedeliveryDelayMillis < 0
  ) {
    bad('negativeAckRedeliveryDelayMillis must be an integer ≥ 0', consumer.negativeAckRedeliveryDelayMillis);
  }
}

function isoOrZero(timestamp: number): string {
  return timestamp === 0 ? '' : new Date(timestamp).toISOString();
}

/** Whether a message id can name a stored entry (non-negative ledger and entry ids). */
function namesAnEntry(id: MessageId): boolean {
  return (
    id !== null &&
    typeof id === 'object' &&
    typeof id.ledgerId === 'bigint' &&
    typeof id.entryId === 'bigint' &&
    id.ledgerId >= 0n &&
    id.entryId >= 0n
  );
}
