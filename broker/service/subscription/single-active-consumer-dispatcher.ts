import type { Entry, Position } from '../../../managed-ledger';
import { BrokerError } from '../errors';
import type { Consumer } from './consumer';
import type { PendingAck } from './types';
import { Dispatcher } from './dispatcher';
import type { DispatcherContext, PreparedEntry, ReadPlan } from './dispatcher';

/**
 * Exclusive and Failover (Pulsar's PersistentDispatcherSingleActiveConsumer): one consumer — the active one —
 * gets every message in order. Consumers are ordered by priorityLevel, then name; the active one is the first
 * (partition i of a partitioned topic: the (i mod n)-th of the n consumers at the highest priority). Pulsar picks
 * the active consumer of a non-partitioned topic on a hash ring of the topic name instead; we take the first, as
 * agreed for this broker. When the active consumer changes, the cursor is rewound
 * to the first unacknowledged message — in Failover after activeConsumerFailoverDelayTimeMillis, so the previous
 * one can still acknowledge what it got. Any redelivery request rewinds too: single messages cannot be redelivered
 * alone without breaking the order.
 */
export class SingleActiveConsumerDispatcher extends Dispatcher {
  readonly type: 'Exclusive' | 'Failover';
  private active: Consumer | undefined;
  private switchTimer: NodeJS.Timeout | undefined;

  constructor(context: DispatcherContext, type: 'Exclusive' | 'Failover') {
    super(context);
    this.type = type;
  }

  addConsumer(consumer: Consumer): void {
    if (this.type === 'Exclusive' && this.consumers.length > 0) {
      throw new BrokerError(
        'ConsumerBusy',
        `Exclusive consumer is already connected to subscription ${this.subscriptionName} of ${this.topic.name.toString()}`,
      );
    }
    this.consumers.push(consumer);
    this.consumers.sort(
      (a, b) => a.priorityLevel - b.priorityLevel || compareStrings(a.consumerName, b.consumerName),
    );
    this.pickActiveConsumer();
    if (consumer !== this.active) consumer.notifyActiveConsumerChanged(false);
  }

  removeConsumer(consumer: Consumer): void {
    const index = this.consumers.indexOf(consumer);
    if (index < 0) return;
    this.consumers.splice(index, 1);
    this.sendBack(consumer, undefined);
    if (this.consumers.length === 0) {
      this.active = undefined;
      this.clearSwitchTimer();
      this.cancelPendingRead();
      if (!this.readInFlight) this.rewind();
      return;
    }
    this.pickActiveConsumer();
  }

  redeliver(consumer: Consumer, positions: Position[] | undefined): void {
    if (consumer !== this.active) {
      this.logger.debug(
        { consumer: consumer.consumerName },
        'redelivery asked by a consumer that is not active: ignored',
      );
      return;
    }
    this.sendBack(consumer, positions);
    this.cancelPendingRead();
    if (this.switchTimer === undefined) this.rewindAndRead();
  }

  acknowledged(_position: Position, _owner: Consumer | undefined, _pending: PendingAck | undefined): void {
    // Nothing is blocked on acknowledgements here.
  }

  acknowledgedUpTo(_position: Position): void {
    // Nothing waits for redelivery outside the cursor.
  }

  reset(): void {
    for (const consumer of this.consumers) consumer.takeAllPending();
    this.cancelPendingRead();
  }

  getActiveConsumer(): Consumer | undefined {
    return this.active;
  }

  getReplayCount(): number {
    return 0;
  }

  getUnackedCount(): number {
    let count = 0;
    for (const consumer of this.consumers) count += consumer.getUnackedCount();
    return count;
  }

  override close(): void {
    this.clearSwitchTimer();
    super.close();
  }

  protected nextRead(): ReadPlan | undefined {
    const active = this.active;
    if (active === undefined || this.switchTimer !== undefined || active.availablePermits <= 0)
      return undefined;
    return { count: Math.min(active.availablePermits, this.config.dispatcherMaxReadBatchSize) };
  }

  protected dispatch(entries: PreparedEntry[]): void {
    const active = this.active;
    if (active === undefined || this.switchTimer !== undefined) {
      // The consumer these were read for is gone: read them again for the next one.
      this.rewind();
      return;
    }
    active.deliver(entries.map((entry) => this.delivered(entry)));
  }

  protected onStaleRead(_entries: Entry[]): void {
    // Every stale read here was overtaken by a rewind: rewind again now that no read is under way, since a read
    // queued before the rewind may have run after it and moved the read position.
    this.rewind();
  }

  /** Pulsar's pickAndScheduleActiveConsumer. */
  private pickActiveConsumer(): void {
    const partition = this.topic.name.partitionIndex;
    // Partitions spread over the consumers of the highest priority (the lowest level) only.
    let highest = 0;
    while (
      highest < this.consumers.length &&
      this.consumers[highest]!.priorityLevel === this.consumers[0]!.priorityLevel
    ) {
      highest++;
    }
    const index = partition >= 0 && highest > 0 ? partition % highest : 0;
    const next = this.consumers[index];
    const previous = this.active;
    if (next === previous) return;
    this.active = next;
    if (previous !== undefined) {
      this.sendBack(previous, undefined);
      previous.notifyActiveConsumerChanged(false);
    }
    if (next === undefined) return;
    this.logger.info(
      { consumer: next.consumerName, previous: previous?.consumerName },
      'active consumer changed',
    );
    next.notifyActiveConsumerChanged(true);
    if (previous === undefined) {
      for (const consumer of this.consumers)
        if (consumer !== next) consumer.notifyActiveConsumerChanged(false);
    }
    this.scheduleReadOnActiveConsumer(previous !== undefined);
  }

  /**
   * Delivery to a new active consumer starts at the first unacknowledged message. In Failover, after a switch from
   * another consumer, that waits activeConsumerFailoverDelayTimeMillis (the first consumer starts at once).
   */
  private scheduleReadOnActiveConsumer(switched: boolean): void {
    this.cancelPendingRead();
    this.clearSwitchTimer();
    const delayMs =
      this.type === 'Failover' && switched ? this.config.activeConsumerFailoverDelayTimeMillis : 0;
    if (delayMs <= 0) {
      this.rewindAndRead();
      return;
    }
    this.switchTimer = setTimeout(() => {
      this.switchTimer = undefined;
      this.rewindAndRead();
    }, delayMs);
    this.switchTimer.unref();
  }

  private rewindAndRead(): void {
    if (this.closed) return;
    // A read still under way is stale and rewinds when it ends.
    if (!this.readInFlight) this.rewind();
    this.readMoreEntries();
  }

  /** The consumer's pending messages will be sent again: counted as redelivered (all, or just `positions`). */
  private sendBack(consumer: Consumer, positions: Position[] | undefined): void {
    const pending = consumer.takeAllPending();
    if (positions === undefined) {
      let messages = 0;
      for (const p of pending) {
        this.redeliveries.increment(p.position);
        messages += p.numMessages;
      }
      consumer.countRedelivered(messages);
      return;
    }
    const wasPending = new Set<string>();
    for (const p of pending) wasPending.add(p.position.toString());
    let messages = 0;
    for (const position of positions) {
      if (!wasPending.has(position.toString())) continue;
      this.redeliveries.increment(position);
      messages++;
    }
    consumer.countRedelivered(messages);
  }

  /** Read position back to the first unacknowledged message; a closed cursor (topic closing) has nothing to rewind. */
  private rewind(): void {
    try {
      this.cursor.rewind();
    } catch (error) {
      this.logger.debug({ err: error }, 'cursor not rewound');
    }
  }

  private clearSwitchTimer(): void {
    if (this.switchTimer !== undefined) clearTimeout(this.switchTimer);
    this.switchTimer = undefined;
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
