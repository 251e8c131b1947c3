import type { TopicName } from '../../pulsar';
import { isBrokerError } from '../../service';
import type {
  KafkaAssignedPartitions,
  KafkaCommittedOffsetView,
  KafkaGroupDescription,
  KafkaGroupListing,
  KafkaGroupMemberView,
  KafkaGroupsView,
  KafkaTopicGroupOffset,
} from '../../service';
import { decodeConsumerAssignment } from '../group';
import type { CommittedOffsetSnapshot, GroupCoordinator, GroupMemberSnapshot } from '../group';
import type { KafkaRequestHandler } from './kafka-request-handler';
import { KafkaTopicError } from './kafka-topics';

export interface KafkaGroupsAdminViewOptions {
  coordinator: GroupCoordinator;
  /** The listener's handler: its topic mapping and the partitions' log-end offsets. */
  handler: KafkaRequestHandler;
  /** The Kafka namespace (`kafkaTenant/kafkaNamespace`): its topics' stats show kafkaGroups even when empty. */
  namespace: string;
}

/**
 * The admin REST API's read-only view of the Kafka groups (the service's KafkaGroupsView): the coordinator's
 * groups and committed offsets, with each committed partition's log-end offset and lag, and the assignments of
 * "consumer" groups decoded. Kafka topic names in the offsets are mapped onto broker topics as the listener maps
 * them (KafkaTopics); a name that maps to nothing has no log-end offset.
 */
export class KafkaGroupsAdminView implements KafkaGroupsView {
  constructor(private readonly options: KafkaGroupsAdminViewOptions) {}

  private get coordinator(): GroupCoordinator {
    return this.options.coordinator;
  }

  private get handler(): KafkaRequestHandler {
    return this.options.handler;
  }

  listGroups(): KafkaGroupListing[] {
    const listed: KafkaGroupListing[] = [];
    for (const groupId of [...this.coordinator.groupIds()].sort()) {
      const group = this.coordinator.groupSnapshot(groupId);
      if (group === undefined) continue;
      const { state, protocolType } = group;
      listed.push({ groupId, state, protocolType, members: group.members.length });
    }
    return listed;
  }

  async describeGroup(groupId: string): Promise<KafkaGroupDescription | undefined> {
    const group = this.coordinator.groupSnapshot(groupId);
    if (group === undefined) return undefined;
    const committed = await this.coordinator.committedOffsets(groupId);
    committed.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    const offsets: KafkaCommittedOffsetView[] = [];
    for (const offset of committed) offsets.push(await this.offsetView(offset));
    return {
      groupId,
      state: group.state,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      generationId: group.generationId,
      leaderId: group.leaderId,
      members: group.members.map((member) => memberView(member, group.protocolType)),
      offsets,
    };
  }

  async topicGroups(topic: TopicName): Promise<Record<string, KafkaTopicGroupOffset> | undefined> {
    // A partition's topic is that partition of its partitioned topic; any other topic is its own partition 0.
    const partitioned = topic.partitionIndex >= 0;
    const base = partitioned ? topic.partitionedTopicName : topic;
    const partition = partitioned ? topic.partitionIndex : 0;
    const groups: Record<string, KafkaTopicGroupOffset> = {};
    let logEndOffset: Promise<bigint | null> | undefined;
    for (const groupId of [...this.coordinator.groupIds()].sort()) {
      for (const committed of await this.coordinator.committedOffsets(groupId)) {
        if (committed.partition !== partition) continue;
        const mapped = this.brokerTopicOf(committed.topic);
        if (mapped === undefined || !mapped.equals(base)) continue;
        logEndOffset ??= this.logEndOffsetOf(base, partition);
        groups[groupId] = {
          committedOffset: committed.offset,
          lag: lagOf(committed.offset, await logEndOffset),
        };
      }
    }
    if (Object.keys(groups).length === 0 && topic.namespace !== this.options.namespace) return undefined;
    return groups;
  }

  private async offsetView(committed: CommittedOffsetSnapshot): Promise<KafkaCommittedOffsetView> {
    const topic = this.brokerTopicOf(committed.topic);
    const logEndOffset = topic === undefined ? null : await this.logEndOffsetOf(topic, committed.partition);
    return {
      topic: committed.topic,
      partition: committed.partition,
      committedOffset: committed.offset,
      metadata: committed.metadata,
      commitTimestamp: committed.commitTimestampMs,
      logEndOffset,
      lag: lagOf(committed.offset, logEndOffset),
    };
  }

  /** The broker topic a committed Kafka topic name means; undefined for a name the listener refuses. */
  private brokerTopicOf(kafkaTopic: string): TopicName | undefined {
    try {
      return this.handler.topics.topicName(kafkaTopic);
    } catch (error) {
      if (error instanceof KafkaTopicError) return undefined;
      throw error;
    }
  }

  /**
   * The partition's log-end offset; null when the partition does not exist (deleted, never created, or named in a
   * namespace that does not exist: a client may commit offsets for any name).
   */
  private async logEndOffsetOf(topic: TopicName, partition: number): Promise<bigint | null> {
    let found;
    try {
      found = await this.handler.topics.partition(topic, partition);
    } catch (error) {
      if (isBrokerError(error, 'NamespaceNotFound')) return null;
      throw error;
    }
    return found === undefined ? null : this.handler.logEndOffset(found);
  }
}

/** Kafka's consumer-groups tool: log-end offset − committed, unknown when either is (a committed -1 means none). */
function lagOf(committedOffset: bigint, logEndOffset: bigint | null): bigint | null {
  return logEndOffset === null || committedOffset < 0n ? null : logEndOffset - committedOffset;
}

function memberView(member: GroupMemberSnapshot, protocolType: string): KafkaGroupMemberView {
  const { memberId, clientId, clientHost } = member;
  const view: KafkaGroupMemberView = { memberId, clientId, clientHost, assignment: null };
  if (protocolType !== 'consumer') return view;
  // No bytes: nothing assigned in this generation yet (a rebalance in progress).
  if (member.assignment.length === 0) return { ...view, assignment: [] };
  const decoded = decodeConsumerAssignment(member.assignment);
  if (!decoded.ok) return { ...view, assignmentError: `not a consumer assignment: ${decoded.reason}` };
  const assignment: KafkaAssignedPartitions[] = decoded.assignment.topics.map(({ topic, partitions }) => ({
    topic,
    partitions: [...partitions].sort((a, b) => a - b),
  }));
  return { ...view, assignment };
}
