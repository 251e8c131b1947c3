import type { TopicName } from '../pulsar';

/*
 * What the admin REST API may read of the Kafka consumer groups, as plain data: the group coordinator and the
 * Kafka topics live in broker/kafka/, which admin does not import. broker.ts gives the admin routes an
 * implementation (broker/kafka/handler's KafkaGroupsAdminView) while the Kafka listener runs; without one the
 * Kafka routes refuse and topic stats carry no `kafkaGroups`. Read-only: nothing here changes a group.
 */

/** Kafka's group states (DescribeGroups' names). */
export type KafkaGroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** One group in the list. */
export interface KafkaGroupListing {
  groupId: string;
  state: KafkaGroupState;
  /** "consumer" for Kafka consumers; '' for a group that only stored offsets (or was loaded after a restart). */
  protocolType: string;
  members: number;
}

export interface KafkaAssignedPartitions {
  topic: string;
  partitions: number[];
}

export interface KafkaGroupMemberView {
  memberId: string;
  clientId: string;
  /** As Kafka shows it: '/127.0.0.1'. */
  clientHost: string;
  /**
   * The partitions the leader assigned it, decoded from the consumer protocol's assignment bytes (protocol type
   * "consumer"): [] while nothing is assigned (a rebalance in progress); null when the protocol type is another
   * or the bytes are not a consumer assignment (then `assignmentError` says why).
   */
  assignment: KafkaAssignedPartitions[] | null;
  assignmentError?: string;
}

export interface KafkaCommittedOffsetView {
  topic: string;
  partition: number;
  committedOffset: bigint;
  /** The client's metadata string ('' when it sent null). */
  metadata: string;
  /** When the broker stored the commit (ms since the epoch); null for a commit made before the broker started. */
  commitTimestamp: number | null;
  /** The partition's log-end offset (high watermark); null when the partition does not exist. */
  logEndOffset: bigint | null;
  /** logEndOffset - committedOffset, as Kafka's tools compute it; null when either is unknown. */
  lag: bigint | null;
}

export interface KafkaGroupDescription {
  groupId: string;
  state: KafkaGroupState;
  protocolType: string;
  /** The assignor chosen for the current generation; null while there is none (Empty, rebalancing). */
  protocolName: string | null;
  generationId: number;
  leaderId: string | null;
  members: KafkaGroupMemberView[];
  /** Every committed offset of the group, by topic then partition. */
  offsets: KafkaCommittedOffsetView[];
}

/** One group's position on a topic, shown in the topic's stats next to its subscriptions. */
export interface KafkaTopicGroupOffset {
  /** The committed offset (a partitioned topic's stats: the partitions' added up, like the rest of its stats). */
  committedOffset: bigint;
  /** The lag (added up likewise); null when a partition's log-end offset is unknown. */
  lag: bigint | null;
}

export interface KafkaGroupsView {
  /** Every group the coordinator knows (Empty ones too), by group id. */
  listGroups(): KafkaGroupListing[];
  /** The group with its members and committed offsets; undefined for a group the coordinator does not know. */
  describeGroup(groupId: string): Promise<KafkaGroupDescription | undefined>;
  /**
   * The groups with offsets committed on this broker topic, which is one Kafka partition: a partition's topic
   * (`t-partition-N`) or a non-partitioned topic (partition 0); a partitioned topic's stats add its partitions'
   * up. Undefined when the topic is not a Kafka topic at all (outside the Kafka namespace, no group committed on it).
   */
  topicGroups(topic: TopicName): Promise<Record<string, KafkaTopicGroupOffset> | undefined>;
}
