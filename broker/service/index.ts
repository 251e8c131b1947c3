// Topics, producers, namespaces and the broker service (see README.md); subscriptions in ./subscription.
export { BrokerService } from './broker-service';
export type { BrokerServiceOptions } from './broker-service';
export { brokerConfig, brokerConfigSchema } from './broker-config';
export type { BrokerConfig } from './broker-config';
export { BROKER_ERROR_CODES, BrokerError, httpStatusOf, isBrokerError, toBrokerError } from './errors';
export type { BrokerErrorCode } from './errors';
export { BrokerMetrics } from './metrics';
export type { TopicMetricsSample, TopicMetricsSource } from './metrics';
export {
  BACKLOG_QUOTA_POLICIES,
  CLUSTERS_ROOT,
  DESTINATION_STORAGE,
  MESSAGE_AGE,
  NamespaceStore,
  POLICIES_ROOT,
  splitNamespace,
} from './namespace-store';
export type {
  BacklogQuota,
  BacklogQuotaPolicy,
  BacklogQuotaType,
  ClusterData,
  Policies,
  RetentionPolicies,
  TenantInfo,
} from './namespace-store';
export {
  PARTITIONED_TOPICS_ROOT,
  PartitionedTopicStore,
  partitionedTopicPath,
} from './partitioned-topic-store';
export type { PartitionedTopicMetadata } from './partitioned-topic-store';
export { INDEX_PROPERTY, MessageIndex, PersistentTopic } from './persistent-topic';
export type {
  CursorInternalStats,
  PersistentTopicInternalStats,
  PersistentTopicOptions,
  TopicHost,
  TopicStats,
} from './persistent-topic';
export { DEDUPLICATION_CURSOR, MessageDeduplication } from './message-deduplication';
export type { DeduplicationStatus, MessageDeduplicationOptions } from './message-deduplication';
export { Producer } from './producer';
export type { ProducerOptions, PublisherStats, SendEntryOptions, SendRequest, SendResult } from './producer';
export { Consumer, PersistentSubscription } from './subscription';
export type {
  ConsumerSink,
  DeliveredMessage,
  SubscribeOptions,
  SubscriptionStats,
  SubscriptionType,
} from './subscription';
export type {
  KafkaAssignedPartitions,
  KafkaCommittedOffsetView,
  KafkaGroupDescription,
  KafkaGroupListing,
  KafkaGroupMemberView,
  KafkaGroupState,
  KafkaGroupsView,
  KafkaTopicGroupOffset,
} from './kafka-groups-view';
