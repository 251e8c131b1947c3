import type { Logger } from '../../common';
import type { MessageId } from '../pulsar';
import type { Consumer, ConsumerSink, DeliveredMessage } from '../service';
import type { SessionConsumer } from './consumer-handler';

/**
 * The consumers of one WebSocket session on a partitioned topic — one broker Consumer per partition, each on the
 * partition's subscription of the same name — seen by the session as one consumer (Pulsar's
 * MultiTopicsConsumerImpl, which the WebSocket proxy uses for a partitioned topic).
 *
 * Messages from all partitions are merged into one queue in arrival order, each id stamped with its partition;
 * the session's permits (flow) take messages from that queue. Each partition consumer keeps at most
 * `permitsPerPartition` messages granted or queued, so a partition with nothing to send never holds the others
 * back and the queue is bounded by partitions × permitsPerPartition. Acks and negative acks go to the partition
 * named in the message id.
 */
export class PartitionedConsumer implements SessionConsumer {
  private consumers: Consumer[] = [];
  private readonly queue: DeliveredMessage[] = [];
  /** Per partition: messages queued here, not yet taken by the session. */
  private readonly queued: number[];
  /** Per partition: permits given to its consumer and not yet used by a delivery. */
  private readonly granted: number[];
  /** The session's permits not yet used. */
  private wanted = 0;
  private closed = false;

  constructor(
    private readonly sink: ConsumerSink,
    readonly partitions: number,
    private readonly permitsPerPartition: number,
    private readonly logger: Logger,
  ) {
    this.queued = new Array<number>(partitions).fill(0);
    this.granted = new Array<number>(partitions).fill(0);
  }

  /** The sink partition `index`'s broker consumer delivers to. */
  sinkOf(index: number): ConsumerSink {
    return {
      sendMessages: (messages) => this.received(index, messages),
      // One partition's consumer ended by the broker ends the session (its subscription or topic is gone).
      close: (reason) => this.sink.close(reason),
      reachedEndOfTopic: () => {
        if (this.isEndOfTopic()) this.sink.reachedEndOfTopic();
      },
    };
  }

  /** The partition consumers, in partition order (known once every subscribe resolved). */
  bind(consumers: Consumer[]): void {
    if (consumers.length !== this.partitions) throw new Error('one consumer per partition expected');
    this.consumers = consumers;
  }

  flow(permits: number): void {
    this.wanted += permits;
    this.drain();
  }

  /** An id naming no partition of this topic acknowledges nothing (logged), as an unknown position would. */
  acknowledge(ids: MessageId[]): Promise<void> {
    return Promise.all(
      this.byPartition(ids).map(([consumer, partitionIds]) => consumer.acknowledge(partitionIds)),
    ).then(() => undefined);
  }

  negativeAcknowledge(ids: MessageId[]): void {
    for (const [consumer, partitionIds] of this.byPartition(ids)) consumer.negativeAcknowledge(partitionIds);
  }

  isEndOfTopic(): boolean {
    return this.consumers.length > 0 && this.consumers.every((consumer) => consumer.isEndOfTopic());
  }

  /** Closes every partition's consumer: what they were sent and not acked (queued here too) is redelivered. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    await Promise.all(this.consumers.map((consumer) => consumer.close()));
  }

  async unsubscribe(): Promise<void> {
    await Promise.all(
      this.consumers.map((consumer) => consumer.subscription.topic.unsubscribe(consumer.subscription.name)),
    );
  }

  private received(index: number, messages: DeliveredMessage[]): void {
    if (this.closed) return;
    for (const message of messages) {
      const count = message.entry.numMessages;
      this.granted[index] = Math.max(0, (this.granted[index] ?? 0) - count);
      this.queued[index] = (this.queued[index] ?? 0) + count;
      this.queue.push({ ...message, messageId: { ...message.messageId, partition: index } });
    }
    this.drain();
  }

  /** Hands queued messages to the session while it has permits, then tops up the partitions' permits. */
  private drain(): void {
    if (this.closed) return;
    const out: DeliveredMessage[] = [];
    while (this.wanted > 0 && this.queue.length > 0) {
      const message = this.queue.shift()!;
      const count = message.entry.numMessages;
      this.wanted = Math.max(0, this.wanted - count);
      const index = message.messageId.partition;
      this.queued[index] = (this.queued[index] ?? 0) - count;
      out.push(message);
    }
    if (out.length > 0) this.sink.sendMessages(out);
    this.refill();
  }

  /**
   * Gives each partition's consumer permits up to permitsPerPartition less what it has granted and queued; in
   * steps of at least half of that (one flow per half window, as Pulsar's clients send FLOW), or when it has none.
   */
  private refill(): void {
    if (this.closed || this.consumers.length === 0) return;
    const window = this.permitsPerPartition;
    this.consumers.forEach((consumer, index) => {
      const granted = this.granted[index] ?? 0;
      const room = window - granted - (this.queued[index] ?? 0);
      if (room <= 0 || (granted > 0 && room * 2 < window)) return;
      this.granted[index] = granted + room;
      consumer.flow(room);
    });
  }

  private byPartition(ids: MessageId[]): Array<[Consumer, MessageId[]]> {
    const groups = new Map<number, MessageId[]>();
    for (const id of ids) {
      const consumer = this.consumers[id.partition];
      if (consumer === undefined) {
        this.logger.warn(
          { partition: id.partition, partitions: this.partitions },
          'a message id of no partition of this topic: ignored',
        );
        continue;
      }
      const group = groups.get(id.partition) ?? [];
      group.push(id);
      groups.set(id.partition, group);
    }
    return [...groups].map(([index, group]) => [this.consumers[index]!, group]);
  }
}
