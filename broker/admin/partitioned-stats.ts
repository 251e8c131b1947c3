import type { TopicName } from '../pulsar';
import type { KafkaTopicGroupOffset, SubscriptionStats, TopicStats } from '../service';

const SUMMED = [
  'msgRateIn',
  'msgThroughputIn',
  'msgRateOut',
  'msgThroughputOut',
  'bytesInCounter',
  'msgInCounter',
  'bytesOutCounter',
  'msgOutCounter',
  'storageSize',
  'backlogSize',
  'offloadedStorageSize',
  'waitingPublishers',
] as const;

/** A topic's stats as the admin API shows them: Pulsar's, and the Kafka groups' offsets on a Kafka topic. */
export type TopicStatsWithKafka = TopicStats & { kafkaGroups?: Record<string, KafkaTopicGroupOffset> };

/** Pulsar's PartitionedTopicStats: the partitions' TopicStats added up, plus `metadata` and `partitions`. */
export type PartitionedTopicStats = Pick<
  TopicStats,
  (typeof SUMMED)[number] | 'averageMsgSize' | 'publishers' | 'subscriptions' | 'replication'
> & {
  metadata: { partitions: number };
  /** Each partition's own stats, by partition topic name; empty unless perPartition=true. */
  partitions: Record<string, TopicStatsWithKafka>;
  /** The Kafka groups' offsets added up over the partitions (present when a partition's stats have them). */
  kafkaGroups?: Record<string, KafkaTopicGroupOffset>;
};

/**
 * Adds up the partitions' stats as Pulsar's PartitionedTopicStatsImpl.add does: rates, counters and sizes summed,
 * averageMsgSize the mean of the partitions', publishers listed together, subscriptions of the same name merged
 * (numbers summed, timestamps the latest, consumers listed together, the rest from the first partition). The
 * Kafka groups' committed offsets and lags are summed likewise (a lag unknown on one partition is unknown).
 */
export function partitionedStats(
  name: TopicName,
  partitions: TopicStatsWithKafka[],
  perPartition: boolean,
): PartitionedTopicStats {
  const total: PartitionedTopicStats = {
    msgRateIn: 0,
    msgThroughputIn: 0,
    msgRateOut: 0,
    msgThroughputOut: 0,
    bytesInCounter: 0,
    msgInCounter: 0,
    bytesOutCounter: 0,
    msgOutCounter: 0,
    averageMsgSize: 0,
    storageSize: 0,
    backlogSize: 0,
    offloadedStorageSize: 0,
    waitingPublishers: 0,
    publishers: [],
    subscriptions: {},
    replication: {},
    metadata: { partitions: partitions.length },
    partitions: {},
  };
  partitions.forEach((stats, index) => {
    for (const field of SUMMED) total[field] += stats[field];
    total.averageMsgSize += stats.averageMsgSize / partitions.length;
    total.publishers.push(...stats.publishers);
    for (const [subscription, sub] of Object.entries(stats.subscriptions)) {
      const merged = total.subscriptions[subscription];
      total.subscriptions[subscription] = merged === undefined ? { ...sub } : mergeSubscription(merged, sub);
    }
    if (stats.kafkaGroups !== undefined) {
      total.kafkaGroups ??= {};
      for (const [groupId, offset] of Object.entries(stats.kafkaGroups)) {
        const merged = total.kafkaGroups[groupId];
        total.kafkaGroups[groupId] =
          merged === undefined
            ? { ...offset }
            : {
                committedOffset: merged.committedOffset + offset.committedOffset,
                lag: merged.lag === null || offset.lag === null ? null : merged.lag + offset.lag,
              };
      }
    }
    if (perPartition) total.partitions[name.partition(index).toString()] = stats;
  });
  return total;
}

function mergeSubscription(into: SubscriptionStats, from: SubscriptionStats): SubscriptionStats {
  const merged: Record<string, unknown> = { ...into };
  for (const [field, value] of Object.entries(from)) {
    const current = merged[field];
    if (typeof value === 'number' && typeof current === 'number') {
      merged[field] = field.endsWith('Timestamp') ? Math.max(current, value) : current + value;
    } else if (Array.isArray(value) && Array.isArray(current)) merged[field] = [...current, ...value];
  }
  return merged as unknown as SubscriptionStats;
}
