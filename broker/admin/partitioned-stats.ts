import type { TopicName } from '../pulsar';
import type { SubscriptionStats, TopicStats } from '../service';

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

/** Pulsar's PartitionedTopicStats: the partitions' TopicStats added up, plus `metadata` and `partitions`. */
export type PartitionedTopicStats = Pick<
  TopicStats,
  (typeof SUMMED)[number] | 'averageMsgSize' | 'publishers' | 'subscriptions' | 'replication'
> & {
  metadata: { partitions: number };
  /** Each partition's own stats, by partition topic name; empty unless perPartition=true. */
  partitions: Record<string, TopicStats>;
};

/**
 * Adds up the partitions' stats as Pulsar's PartitionedTopicStatsImpl.add does: rates, counters and sizes summed,
 * averageMsgSize the mean of the partitions', publishers listed together, subscriptions of the same name merged
 * (numbers summed, timestamps the latest, consumers listed together, the rest from the first partition).
 */
export function partitionedStats(
  name: TopicName,
  partitions: TopicStats[],
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
