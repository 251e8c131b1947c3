import type { Entry, Position } from '../../../managed-ledger';
import type { Consumer } from './consumer';
import type { DeliveredMessage, PendingAck } from './types';
import { Dispatcher, stickyKeyHashOfData } from './dispatcher';
import type { PreparedEntry, ReadPlan } from './dispatcher';
import { PositionMap } from './position-map';

/** A message waiting to be redelivered, with its sticky key hash (Key_Shared) or -1. */
export interface ReplayItem {
  readonly position: Position;
  readonly stickyKeyHash: number;
}

/**
 * Shared (Pulsar's PersistentDispatcherMultipleConsumers): messages go round robin to the consumers with permits
 * — the lowest priorityLevel first, at most dispatcherMaxRoundRobinBatchSize per turn. Messages that come back
 * (negative ack, ack timeout, a consumer leaving) wait in a redelivery set, read again before new ones.
 *
 * Unacknowledged limits: a consumer with maxUnackedMessagesPerConsumer unacknowledged messages gets nothing more
 * until that drops to half; the same for the subscription with maxUnackedMessagesPerSubscription (0: no limit).
 */
export class SharedDispatcher extends Dispatcher {
  readonly type: 'Shared' | 'Key_Shared' = 'Shared';
  protected readonly replay = new PositionMap<ReplayItem>();
  private roundRobinIndex = 0;
  private totalUnacked = 0;
  private blockedOnUnacked = false;

  addConsumer(consumer: Consumer): void {
    this.consumers.push(consumer);
    this.readReplayNow();
  }

  /** New permits may let messages waiting for redelivery go: they do not wait behind a read of new entries. */
  override consumerFlow(_consumer: Consumer): void {
    this.readReplayNow();
  }

  removeConsumer(consumer: Consumer): void {
    const index = this.consumers.indexOf(consumer);
    if (index < 0) return;
    this.consumers.splice(index, 1);
    this.sendBack(consumer, consumer.takeAllPending());
    this.consumerRemoved(consumer);
    if (this.consumers.length === 0) this.cancelPendingRead();
    this.checkSubscriptionUnblocked();
    this.readReplayNow();
  }

  redeliver(consumer: Consumer, positions: Position[] | undefined): void {
    const removed: PendingAck[] = [];
    if (positions === undefined) {
      for (const pending of consumer.takeAllPending()) removed.push(pending);
    } else {
      for (const position of positions) {
        const pending = consumer.removePending(position);
        if (pending !== undefined) removed.push(pending);
      }
    }
    this.sendBack(consumer, removed);
    this.checkConsumerUnblocked(consumer);
    this.checkSubscriptionUnblocked();
    this.readReplayNow();
  }

  acknowledged(position: Position, owner: Consumer | undefined, pending: PendingAck | undefined): void {
    const waiting = this.replay.delete(position);
    if (waiting !== undefined) this.replayRemoved(waiting);
    if (owner !== undefined && pending !== undefined) {
      this.pendingRemoved(owner, pending);
      if (this.checkConsumerUnblocked(owner)) this.readMoreEntries();
    }
    if (this.checkSubscriptionUnblocked()) this.readMoreEntries();
  }

  acknowledgedUpTo(position: Position): void {
    for (const item of this.replay.deleteAtOrBefore(position)) this.replayRemoved(item);
  }

  reset(): void {
    for (const consumer of this.consumers) {
      consumer.takeAllPending();
      consumer.blockedOnUnackedMessages = false;
    }
    this.replay.clear();
    this.stateCleared();
    this.totalUnacked = 0;
    this.blockedOnUnacked = false;
    this.cancelPendingRead();
  }

  getActiveConsumer(): Consumer | undefined {
    return undefined;
  }

  getReplayCount(): number {
    return this.replay.size;
  }

  getUnackedCount(): number {
    return this.totalUnacked;
  }

  override isBlockedOnUnackedMessages(): boolean {
    return this.blockedOnUnacked;
  }

  // ---- hooks for Key_Shared ----

  /** A pending message left `consumer` (acknowledged or sent back). */
  protected pendingRemoved(_consumer: Consumer, pending: PendingAck): void {
    this.totalUnacked -= pending.numMessages;
  }

  protected consumerRemoved(_consumer: Consumer): void {}

  protected replayAdded(_item: ReplayItem): void {}

  protected replayRemoved(_item: ReplayItem): void {}

  /** Everything pending and waiting for redelivery was dropped (resetCursor). */
  protected stateCleared(): void {}

  /** Up to `max` positions of the redelivery set to read now, in order. */
  protected replayCandidates(max: number): Position[] {
    const out: Position[] = [];
    for (const item of this.replay.sorted()) {
      if (out.length >= max) break;
      out.push(item.position);
    }
    return out;
  }

  /** Whether new entries may be read while messages wait for redelivery. */
  protected normalReadAllowed(): boolean {
    return true;
  }

  // ---- the read loop ----

  protected nextRead(): ReadPlan | undefined {
    if (this.blockedOnUnacked) return undefined;
    let permits = 0;
    for (const consumer of this.consumers) {
      if (!consumer.blockedOnUnackedMessages && consumer.availablePermits > 0)
        permits += consumer.availablePermits;
    }
    if (permits <= 0) return undefined;
    const count = Math.min(permits, this.config.dispatcherMaxReadBatchSize);
    if (this.replay.size > 0) {
      const positions = this.replayCandidates(count);
      if (positions.length > 0) {
        for (const position of positions) {
          const item = this.replay.delete(position);
          if (item !== undefined) this.replayRemoved(item);
        }
        return { replay: positions };
      }
    }
    return this.normalReadAllowed() ? { count } : undefined;
  }

  protected dispatch(entries: PreparedEntry[], _replay: boolean): void {
    const maxPerTurn = Math.max(1, this.config.dispatcherMaxRoundRobinBatchSize);
    let i = 0;
    while (i < entries.length && !this.blockedOnUnacked) {
      const consumer = this.nextConsumer();
      if (consumer === undefined) break;
      const messages: DeliveredMessage[] = [];
      // Permits, and room under the unacknowledged limits (in messages).
      let room = Math.min(consumer.availablePermits, this.roomUnderLimits(consumer));
      while (i < entries.length && messages.length < maxPerTurn && room > 0) {
        const entry = entries[i++]!;
        messages.push(this.delivered(entry));
        room -= entry.entry.numMessages;
      }
      this.deliverTo(consumer, messages, undefined);
    }
    for (; i < entries.length; i++) this.addToReplay(entries[i]!.position, entries[i]!.stickyKeyHash);
  }

  protected onStaleRead(entries: Entry[], _replay: boolean): void {
    // The cursor moved past these: keep them for redelivery (acknowledged ones are skipped when read again).
    for (const entry of entries) {
      if (this.cursor.isIndividuallyDeleted(entry.position)) continue;
      this.addToReplay(entry.position, this.type === 'Key_Shared' ? stickyKeyHashOfData(entry.data) : -1);
    }
  }

  /** Sends to `consumer` and applies the unacknowledged limits. */
  protected deliverTo(consumer: Consumer, messages: DeliveredMessage[], hashes: number[] | undefined): void {
    if (messages.length === 0) return;
    const before = consumer.getUnackedCount();
    consumer.deliver(messages, hashes);
    this.totalUnacked += consumer.getUnackedCount() - before;
    const perConsumer = this.config.maxUnackedMessagesPerConsumer;
    if (perConsumer > 0 && consumer.getUnackedCount() >= perConsumer && !consumer.blockedOnUnackedMessages) {
      consumer.blockedOnUnackedMessages = true;
      this.logger.debug({ consumer: consumer.consumerName }, 'consumer blocked on unacknowledged messages');
    }
    const perSubscription = this.config.maxUnackedMessagesPerSubscription;
    if (perSubscription > 0 && this.totalUnacked >= perSubscription && !this.blockedOnUnacked) {
      this.blockedOnUnacked = true;
      this.logger.info({ unacked: this.totalUnacked }, 'subscription blocked on unacknowledged messages');
    }
  }

  /** How many more messages `consumer` may have unacknowledged before it or the subscription is blocked. */
  protected roomUnderLimits(consumer: Consumer): number {
    const perConsumer = this.config.maxUnackedMessagesPerConsumer;
    const perSubscription = this.config.maxUnackedMessagesPerSubscription;
    const forConsumer = perConsumer > 0 ? perConsumer - consumer.getUnackedCount() : Number.POSITIVE_INFINITY;
    const forSubscription =
      perSubscription > 0 ? perSubscription - this.totalUnacked : Number.POSITIVE_INFINITY;
    return Math.min(forConsumer, forSubscription);
  }

  protected addToReplay(position: Position, stickyKeyHash: number): void {
    const item = { position, stickyKeyHash };
    const previous = this.replay.set(item);
    if (previous !== undefined) this.replayRemoved(previous);
    this.replayAdded(item);
  }

  /**
   * Messages were added for redelivery: a read waiting for new entries is dropped so that they go first (Pulsar
   * cancels the pending read the same way).
   */
  protected readReplayNow(): void {
    if (this.replay.size > 0 && this.readInFlight && this.readingNewEntries) this.cancelPendingRead();
    this.readMoreEntries();
  }

  /** Pending messages of `consumer` go to the redelivery set, their redelivery counted. */
  private sendBack(consumer: Consumer, removed: PendingAck[]): void {
    let messages = 0;
    for (const pending of removed) {
      this.pendingRemoved(consumer, pending);
      this.addToReplay(pending.position, pending.stickyKeyHash);
      this.redeliveries.increment(pending.position);
      messages += pending.numMessages;
    }
    consumer.countRedelivered(messages);
  }

  /** The next consumer that may receive: the lowest priorityLevel, round robin among equals. */
  private nextConsumer(): Consumer | undefined {
    const n = this.consumers.length;
    let best: Consumer | undefined;
    let bestIndex = -1;
    for (let k = 0; k < n; k++) {
      const index = (this.roundRobinIndex + k) % n;
      const consumer = this.consumers[index]!;
      if (consumer.blockedOnUnackedMessages || consumer.availablePermits <= 0) continue;
      if (best === undefined || consumer.priorityLevel < best.priorityLevel) {
        best = consumer;
        bestIndex = index;
      }
    }
    if (best !== undefined) this.roundRobinIndex = (bestIndex + 1) % n;
    return best;
  }

  private checkConsumerUnblocked(consumer: Consumer): boolean {
    if (!consumer.blockedOnUnackedMessages) return false;
    if (consumer.getUnackedCount() > this.config.maxUnackedMessagesPerConsumer / 2) return false;
    consumer.blockedOnUnackedMessages = false;
    this.logger.debug({ consumer: consumer.consumerName }, 'consumer unblocked');
    return true;
  }

  private checkSubscriptionUnblocked(): boolean {
    if (!this.blockedOnUnacked) return false;
    if (this.totalUnacked > this.config.maxUnackedMessagesPerSubscription / 2) return false;
    this.blockedOnUnacked = false;
    this.logger.info({ unacked: this.totalUnacked }, 'subscription unblocked');
    return true;
  }
}
