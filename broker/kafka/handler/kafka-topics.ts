import { PulsarFormatError, TopicName } from '../../pulsar';
import { BrokerError, isBrokerError } from '../../service';
import type { BrokerService, PersistentTopic } from '../../service';
import { KafkaErrorCode } from '../protocol';

/** Kafka's legal topic names (Topic.java): at most 249 of [a-zA-Z0-9._-]. */
const KAFKA_TOPIC_RE = /^[a-zA-Z0-9._-]{1,249}$/;
const PARTITION_INFIX = '-partition-';

/** A Kafka topic name that cannot be mapped: the code to answer with (INVALID_TOPIC_EXCEPTION). */
export class KafkaTopicError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Kafka topics onto the broker's topics, as KoP maps them (kafka.md §5): Kafka topic `t` is
 * `persistent://<kafkaTenant>/<kafkaNamespace>/t`, a partitioned topic's partition p is `t-partition-p`, and a
 * non-partitioned topic is one partition (p 0 is the topic itself). A name with a '/' (`tenant/ns/t` or a full
 * `persistent://` name) passes through as Pulsar reads it. Also auto-creation, listing and the partition counts.
 */
export class KafkaTopics {
  constructor(
    private readonly broker: BrokerService,
    private readonly tenant: string,
    private readonly namespace: string,
  ) {}

  /** The broker topic of Kafka topic `name`; KafkaTopicError (17) for a name Kafka or Pulsar refuses. */
  topicName(name: string): TopicName {
    if (typeof name !== 'string' || name.includes(PARTITION_INFIX)) {
      throw new KafkaTopicError(
        KafkaErrorCode.INVALID_TOPIC_EXCEPTION,
        `'${String(name)}' is not a topic name here (it names a partition)`,
      );
    }
    try {
      if (name.includes('/')) {
        const parsed = TopicName.parse(name);
        if (parsed.isPersistent) return parsed;
      } else if (KAFKA_TOPIC_RE.test(name) && name !== '.' && name !== '..') {
        return TopicName.get('persistent', this.tenant, this.namespace, name);
      }
    } catch (error) {
      if (!(error instanceof PulsarFormatError)) throw error;
    }
    throw new KafkaTopicError(KafkaErrorCode.INVALID_TOPIC_EXCEPTION, `'${name}' is not a legal topic name`);
  }

  /**
   * The number of Kafka partitions of `topic`: the partitioned topic's count, 1 for a non-partitioned topic that
   * exists, 0 when there is no such topic.
   */
  async partitionCount(topic: TopicName): Promise<number> {
    const count = await this.broker.getPartitionCount(topic);
    if (count > 0) return count;
    if (this.broker.getTopicIfLoaded(topic) !== undefined) return 1;
    try {
      await this.broker.getTopic(topic, { createIfMissing: false });
      return 1;
    } catch (error) {
      if (isBrokerError(error, 'TopicNotFound') || isBrokerError(error, 'Conflict')) return 0;
      throw error;
    }
  }

  /**
   * Creates `topic` as auto-creation does (allowAutoTopicCreationType): a partitioned topic of
   * defaultNumPartitions, or a non-partitioned one. A racing creator's Conflict counts as created. The count after.
   */
  async autoCreate(topic: TopicName): Promise<number> {
    const config = this.broker.config;
    if (config.allowAutoTopicCreationType === 'partitioned') {
      await this.createPartitioned(topic, config.defaultNumPartitions).catch((error: unknown) => {
        if (!isBrokerError(error, 'Conflict')) throw error;
      });
    } else {
      await this.broker.getTopic(topic, { createIfMissing: true });
    }
    return this.partitionCount(topic);
  }

  /** CreateTopics: always a partitioned topic (KoP's), Conflict when any topic of the name exists. */
  async createPartitioned(topic: TopicName, partitions: number): Promise<void> {
    if (this.broker.getTopicIfLoaded(topic) !== undefined) {
      throw new BrokerError('Conflict', `This topic already exists: ${topic.toString()}`);
    }
    await this.broker.createPartitionedTopic(topic, partitions);
  }

  /** Deletes the topic with all its partitions, even with clients attached (Kafka's DeleteTopics does). */
  async delete(topic: TopicName): Promise<void> {
    if ((await this.broker.getPartitionCount(topic)) > 0) {
      await this.broker.deletePartitionedTopic(topic, true);
    } else {
      await this.broker.deleteTopic(topic, true);
    }
  }

  /** Every Kafka topic of the namespace: its Kafka name and partition count, partitions not listed apart. */
  async listAll(): Promise<Array<{ name: string; partitions: number }>> {
    const namespace = `${this.tenant}/${this.namespace}`;
    const partitioned = await this.broker.listPartitionedTopics(namespace);
    const topics = new Map<string, number>();
    for (const full of partitioned) {
      const name = TopicName.parse(full);
      topics.set(name.localName, await this.broker.getPartitionCount(name));
    }
    for (const full of await this.broker.listTopics(namespace)) {
      const name = TopicName.parse(full);
      if (!name.isPersistent) continue;
      if (name.partitionIndex >= 0 && topics.has(name.partitionedTopicName.localName)) continue;
      if (!topics.has(name.localName)) topics.set(name.localName, 1);
    }
    return [...topics].map(([name, partitions]) => ({ name, partitions })).filter((t) => t.partitions > 0);
  }

  /**
   * The broker topic holding partition `partition` of `topic`, loaded; undefined when there is no such partition
   * (UNKNOWN_TOPIC_OR_PARTITION). Loaded topics are found without a metadata read.
   */
  async partition(topic: TopicName, partition: number): Promise<PersistentTopic | undefined> {
    if (!Number.isInteger(partition) || partition < 0) return undefined;
    const loadedPartition = this.broker.getTopicIfLoaded(topic.partition(partition));
    if (loadedPartition !== undefined) return loadedPartition;
    if (partition === 0) {
      const loaded = this.broker.getTopicIfLoaded(topic);
      if (loaded !== undefined) return loaded;
    }
    const count = await this.broker.getPartitionCount(topic);
    const name =
      count > 0
        ? partition < count
          ? topic.partition(partition)
          : undefined
        : partition === 0
          ? topic
          : undefined;
    if (name === undefined) return undefined;
    try {
      return await this.broker.getTopic(name, { createIfMissing: false });
    } catch (error) {
      if (isBrokerError(error, 'TopicNotFound') || isBrokerError(error, 'Conflict')) return undefined;
      throw error;
    }
  }
}
