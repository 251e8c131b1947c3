import { randomUUID } from 'node:crypto';
import { silentLogger } from '../../../common';
import type { Logger } from '../../../common';
import { GroupErrorCode } from './errors';
import { EMPTY_BYTES, Group, GroupMember } from './group';
import type { GroupState } from './group';
import { InMemoryOffsetStore } from './offset-store';
import type { CommittedOffset, OffsetStore } from './offset-store';
import { systemScheduler } from './scheduler';
import type { Scheduler } from './scheduler';
import {
  checkDescribeGroupsRequest,
  checkHeartbeatRequest,
  checkJoinGroupRequest,
  checkLeaveGroupRequest,
  checkOffsetCommitRequest,
  checkOffsetFetchRequest,
  checkSyncGroupRequest,
} from './validate';
import type {
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  DescribedGroup,
  ErrorOnlyResponse,
  HeartbeatRequest,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetCommitResponsePartition,
  OffsetFetchRequest,
  OffsetFetchResponse,
  OffsetFetchResponsePartition,
  SyncGroupRequest,
  SyncGroupResponse,
} from './messages';

/**
 * Kafka's group coordinator (kafka.md §4) as an in-memory state machine: JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups and ListGroups at the versions we serve, each a plain
 * request in and a Promise of a plain response out. JoinGroup and SyncGroup may park until the rebalance
 * completes; every parked request is answered, at the latest when a timer fires (the initial delay, the rebalance
 * timeout, the limit on the leader's SyncGroup) or at `close`. Offsets go through an OffsetStore. No I/O, no
 * clock but the Scheduler, so tests drive every timeout.
 *
 * A rebalance, as in Kafka:
 * 1. A new member, changed metadata, a leave or a session expiry moves the group to PreparingRebalance; from
 *    Empty it first waits out the initial delay (extended while members keep arriving, up to the rebalance
 *    timeout), otherwise until every member has rejoined or the rebalance timeout passes.
 * 2. Members that did not rejoin are removed; the generation goes up; the protocol is voted; each parked
 *    JoinGroup is answered (the leader with everyone's metadata) -> CompletingRebalance, or Empty when nobody is
 *    left.
 * 3. The leader's SyncGroup carries the assignments: every parked SyncGroup is answered with its member's bytes
 *    -> Stable. Without the leader's SyncGroup within the rebalance timeout, the members that did not sync are
 *    removed and the group rebalances again.
 */

export interface GroupCoordinatorConfig {
  /** Kafka's group.min.session.timeout.ms: a shorter session timeout gets INVALID_SESSION_TIMEOUT. */
  groupMinSessionTimeoutMs: number;
  /** Kafka's group.max.session.timeout.ms (KoP's default 300000). */
  groupMaxSessionTimeoutMs: number;
  /** Kafka's group.initial.rebalance.delay.ms: how long a group leaving Empty waits for more members. */
  groupInitialRebalanceDelayMs: number;
  /** Kafka's group.max.size: a new member past it gets GROUP_MAX_SIZE_REACHED. */
  groupMaxSize: number;
  /** Kafka's offset.metadata.max.bytes: a longer commit metadata string gets OFFSET_METADATA_TOO_LARGE. */
  offsetMetadataMaxBytes: number;
}

export const DEFAULT_GROUP_COORDINATOR_CONFIG: Readonly<GroupCoordinatorConfig> = {
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 300000,
  groupInitialRebalanceDelayMs: 3000,
  groupMaxSize: 1000,
  offsetMetadataMaxBytes: 4096,
};

export interface GroupCoordinatorOptions {
  config?: Partial<GroupCoordinatorConfig>;
  offsetStore?: OffsetStore;
  scheduler?: Scheduler;
  logger?: Logger;
  /** The wall clock of commit times shown by `committedOffsets` (Date.now by default). */
  now?: () => number;
}

/** A read-only view of one group, for admin and tests. */
export interface GroupSnapshot {
  groupId: string;
  state: GroupState;
  generationId: number;
  protocolType: string;
  protocolName: string | null;
  leaderId: string | null;
  members: GroupMemberSnapshot[];
}

export interface GroupMemberSnapshot {
  memberId: string;
  clientId: string;
  clientHost: string;
  joinedGenerationId: number;
  awaitingJoin: boolean;
  awaitingSync: boolean;
  assignment: Buffer;
}

/** A committed offset as admin shows it: the store's, and when this coordinator stored it. */
export interface CommittedOffsetSnapshot extends CommittedOffset {
  /** When the commit was stored (ms since the epoch); null for one made before this coordinator started. */
  commitTimestampMs: number | null;
}

const THROTTLE_TIME_MS = 0;

export class GroupCoordinator {
  readonly config: Readonly<GroupCoordinatorConfig>;
  private readonly offsetStore: OffsetStore;
  private readonly scheduler: Scheduler;
  private readonly logger: Logger;
  private readonly groups = new Map<string, Group>();
  private readonly now: () => number;
  /**
   * When each partition's offset was last committed here, by groupId -> topic -> partition: read by admin only.
   * The offset store keeps no time, so offsets replayed from before this coordinator started have none.
   */
  private readonly commitTimes = new Map<string, Map<string, Map<number, number>>>();
  private closed = false;

  constructor(options: GroupCoordinatorOptions = {}) {
    this.config = { ...DEFAULT_GROUP_COORDINATOR_CONFIG, ...options.config };
    this.offsetStore = options.offsetStore ?? new InMemoryOffsetStore();
    this.scheduler = options.scheduler ?? systemScheduler;
    this.logger = options.logger ?? silentLogger();
    this.now = options.now ?? Date.now;
    // Groups known to a durable store from before this process: Empty, with only their offsets.
    for (const groupId of this.offsetStore.groupIds?.() ?? []) {
      if (groupId !== '') this.addOffsetsOnlyGroup(groupId);
    }
  }

  // JoinGroup

  async joinGroup(input: JoinGroupRequest): Promise<JoinGroupResponse> {
    const request = checkJoinGroupRequest(input);
    const refuse = (errorCode: number): JoinGroupResponse => joinError(errorCode, request.memberId);
    if (this.closed) return refuse(GroupErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (request.groupId === '') return refuse(GroupErrorCode.INVALID_GROUP_ID);
    const { groupMinSessionTimeoutMs: min, groupMaxSessionTimeoutMs: max } = this.config;
    if (request.sessionTimeoutMs < min || request.sessionTimeoutMs > max) {
      return refuse(GroupErrorCode.INVALID_SESSION_TIMEOUT);
    }
    let group = this.groups.get(request.groupId);
    if (group === undefined && request.memberId !== '') return refuse(GroupErrorCode.UNKNOWN_MEMBER_ID);
    if (group?.is('Dead')) return refuse(GroupErrorCode.COORDINATOR_NOT_AVAILABLE);
    const compatible =
      group === undefined
        ? request.protocolType !== '' && request.protocols.length > 0
        : group.supportsProtocols(request.protocolType, request.protocols, request.memberId);
    if (!compatible) return refuse(GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL);

    if (request.memberId === '') {
      if (group !== undefined && group.members.size >= this.config.groupMaxSize) {
        return refuse(GroupErrorCode.GROUP_MAX_SIZE_REACHED);
      }
      if (group === undefined) {
        group = new Group(request.groupId);
        this.groups.set(group.groupId, group);
      }
      return this.addMemberAndRebalance(group, request);
    }
    const member = group?.members.get(request.memberId);
    if (group === undefined || member === undefined) return refuse(GroupErrorCode.UNKNOWN_MEMBER_ID);
    const unchanged = member.hasSameProtocols(request.protocols);
    // A member that missed its JoinGroup response asks again: the current generation answers it.
    const missedResponse = group.is('CompletingRebalance') && unchanged;
    if (missedResponse || (group.is('Stable') && unchanged && group.leaderId !== member.memberId)) {
      if (member.awaitingSync === undefined) this.resetSession(group, member);
      return this.joinResponse(group, member);
    }
    // PreparingRebalance, changed metadata, or the leader rejoining a Stable group (to reassign).
    return this.updateMemberAndRebalance(group, member, request);
  }

  private addMemberAndRebalance(group: Group, request: JoinGroupRequest): Promise<JoinGroupResponse> {
    const member = new GroupMember(
      `${request.clientId}-${randomUUID()}`,
      request.clientId,
      request.clientHost,
      request.protocols,
      request.sessionTimeoutMs,
      rebalanceTimeoutMs(request),
    );
    group.add(member, request.protocolType);
    if (group.inInitialDelay) group.newMemberAdded = true;
    this.logger.info({ groupId: group.groupId, memberId: member.memberId }, 'kafka group member added');
    return this.parkJoin(group, member, 'member joined');
  }

  private updateMemberAndRebalance(
    group: Group,
    member: GroupMember,
    request: JoinGroupRequest,
  ): Promise<JoinGroupResponse> {
    member.protocols = request.protocols;
    // The only member may change the group's protocol type (supportsProtocols compared it with nobody).
    if (group.members.size === 1) group.protocolType = request.protocolType;
    member.sessionTimeoutMs = request.sessionTimeoutMs;
    member.rebalanceTimeoutMs = rebalanceTimeoutMs(request);
    return this.parkJoin(group, member, 'member rejoined');
  }

  private parkJoin(group: Group, member: GroupMember, reason: string): Promise<JoinGroupResponse> {
    const parked = new Promise<JoinGroupResponse>((resolve) => {
      // A second JoinGroup with the same member id (another connection) replaces the first, which is told to
      // rejoin rather than left waiting.
      member.awaitingJoin?.(joinError(GroupErrorCode.REBALANCE_IN_PROGRESS, member.memberId));
      member.awaitingJoin = resolve;
    });
    this.stopSession(member);
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
    else this.prepareRebalance(group, reason);
    return parked;
  }

  private joinResponse(group: Group, member: GroupMember): JoinGroupResponse {
    const protocolName = group.protocolName ?? '';
    const isLeader = group.leaderId === member.memberId;
    return {
      throttleTimeMs: THROTTLE_TIME_MS,
      errorCode: GroupErrorCode.NONE,
      generationId: group.generationId,
      protocolName,
      leader: group.leaderId ?? '',
      memberId: member.memberId,
      members: isLeader
        ? [...group.members.values()].map((m) => ({
            memberId: m.memberId,
            metadata: m.metadataFor(protocolName),
          }))
        : [],
    };
  }

  // The rebalance

  private prepareRebalance(group: Group, reason: string): void {
    if (group.is('CompletingRebalance')) this.abandonSync(group);
    const fromEmpty = group.is('Empty');
    group.transitionTo('PreparingRebalance');
    const rebalanceTimeoutMs = group.rebalanceTimeoutMs();
    this.logger.info(
      { groupId: group.groupId, generationId: group.generationId, reason, rebalanceTimeoutMs },
      'kafka group rebalance started',
    );
    if (fromEmpty) {
      const delayMs = Math.min(this.config.groupInitialRebalanceDelayMs, rebalanceTimeoutMs);
      group.inInitialDelay = true;
      group.newMemberAdded = false;
      this.scheduleInitialDelay(group, delayMs, Math.max(rebalanceTimeoutMs - delayMs, 0));
    } else {
      group.rebalanceTask = this.scheduler.schedule(rebalanceTimeoutMs, () => this.completeJoin(group));
      this.tryCompleteJoin(group);
    }
  }

  /** Kafka's InitialDelayedJoin: while members keep arriving, wait another delay, up to the rebalance timeout. */
  private scheduleInitialDelay(group: Group, delayMs: number, remainingMs: number): void {
    group.rebalanceTask = this.scheduler.schedule(delayMs, () => {
      if (group.newMemberAdded && remainingMs > 0) {
        group.newMemberAdded = false;
        const nextDelayMs = Math.min(this.config.groupInitialRebalanceDelayMs, remainingMs);
        this.scheduleInitialDelay(group, nextDelayMs, remainingMs - nextDelayMs);
      } else {
        this.completeJoin(group);
      }
    });
  }

  private tryCompleteJoin(group: Group): void {
    if (group.is('PreparingRebalance') && !group.inInitialDelay && group.allMembersJoined())
      this.completeJoin(group);
  }

  private completeJoin(group: Group): void {
    if (!group.is('PreparingRebalance')) return;
    group.rebalanceTask?.cancel();
    group.rebalanceTask = undefined;
    group.inInitialDelay = false;
    for (const member of [...group.members.values()]) {
      if (member.awaitingJoin === undefined) {
        this.logger.info(
          { groupId: group.groupId, memberId: member.memberId },
          'kafka group member did not rejoin',
        );
        this.stopSession(member);
        group.remove(member.memberId);
      }
    }
    group.generationId += 1;
    if (group.members.size === 0) {
      group.protocolName = null;
      group.transitionTo('Empty');
      // Kept, Empty, with its generation: a group that comes back carries on counting from there.
      this.logger.info({ groupId: group.groupId, generationId: group.generationId }, 'kafka group empty');
      return;
    }
    group.protocolName = group.selectProtocol();
    group.transitionTo('CompletingRebalance');
    this.logger.info(
      { groupId: group.groupId, generationId: group.generationId, protocolName: group.protocolName },
      'kafka group rebalance completed',
    );
    for (const member of group.members.values()) {
      const answer = member.awaitingJoin;
      member.awaitingJoin = undefined;
      member.assignment = EMPTY_BYTES;
      member.joinedGenerationId = group.generationId;
      answer?.(this.joinResponse(group, member));
      this.resetSession(group, member);
    }
    const generationId = group.generationId;
    group.syncTask = this.scheduler.schedule(group.rebalanceTimeoutMs(), () => {
      group.syncTask = undefined;
      if (!group.is('CompletingRebalance') || group.generationId !== generationId) return;
      // Chosen before removing any: the first removal starts a rebalance that answers the parked SyncGroups.
      const late = [...group.members.values()].filter((m) => m.awaitingSync === undefined);
      for (const member of late) this.removeMember(group, member, 'no SyncGroup in time');
    });
  }

  /** Leaving CompletingRebalance for another rebalance: parked SyncGroups are told to rejoin. */
  private abandonSync(group: Group): void {
    group.syncTask?.cancel();
    group.syncTask = undefined;
    for (const member of group.members.values()) {
      member.assignment = EMPTY_BYTES;
      const answer = member.awaitingSync;
      if (answer === undefined) continue;
      member.awaitingSync = undefined;
      answer(syncError(GroupErrorCode.REBALANCE_IN_PROGRESS));
      this.resetSession(group, member);
    }
  }

  /** Removes a member (leave, session expiry, no SyncGroup) and rebalances what is left. */
  private removeMember(group: Group, member: GroupMember, reason: string): void {
    this.logger.info(
      { groupId: group.groupId, memberId: member.memberId, reason },
      'kafka group member removed',
    );
    this.stopSession(member);
    const { awaitingJoin, awaitingSync } = member;
    member.awaitingJoin = undefined;
    member.awaitingSync = undefined;
    group.remove(member.memberId);
    awaitingJoin?.(joinError(GroupErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    awaitingSync?.(syncError(GroupErrorCode.UNKNOWN_MEMBER_ID));
    if (group.is('Stable') || group.is('CompletingRebalance')) this.prepareRebalance(group, reason);
    else if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
  }

  // Sessions

  private resetSession(group: Group, member: GroupMember): void {
    member.sessionTask?.cancel();
    member.sessionTask = this.scheduler.schedule(member.sessionTimeoutMs, () => {
      member.sessionTask = undefined;
      const parked = member.awaitingJoin !== undefined || member.awaitingSync !== undefined;
      if (group.members.get(member.memberId) === member && !parked) {
        this.removeMember(group, member, 'session expired');
      }
    });
  }

  private stopSession(member: GroupMember): void {
    member.sessionTask?.cancel();
    member.sessionTask = undefined;
  }

  /** The group and member a Sync/Heartbeat/Leave names, or the error code to answer with. */
  private findMember(groupId: string, memberId: string): { group: Group; member: GroupMember } | number {
    if (this.closed) return GroupErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (groupId === '') return GroupErrorCode.INVALID_GROUP_ID;
    const group = this.groups.get(groupId);
    if (group === undefined) return GroupErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is('Dead')) return GroupErrorCode.COORDINATOR_NOT_AVAILABLE;
    const member = group.members.get(memberId);
    if (member === undefined) return GroupErrorCode.UNKNOWN_MEMBER_ID;
    return { group, member };
  }

  // SyncGroup, Heartbeat, LeaveGroup

  async syncGroup(input: SyncGroupRequest): Promise<SyncGroupResponse> {
    const request = checkSyncGroupRequest(input);
    const found = this.findMember(request.groupId, request.memberId);
    if (typeof found === 'number') return syncError(found);
    const { group, member } = found;
    if (request.generationId !== group.generationId) return syncError(GroupErrorCode.ILLEGAL_GENERATION);
    if (group.is('PreparingRebalance')) return syncError(GroupErrorCode.REBALANCE_IN_PROGRESS);
    if (group.is('Stable')) {
      this.resetSession(group, member);
      return syncAnswer(member.assignment);
    }
    // CompletingRebalance: followers wait for the leader, whose request completes the generation.
    const parked = new Promise<SyncGroupResponse>((resolve) => {
      member.awaitingSync?.(syncError(GroupErrorCode.REBALANCE_IN_PROGRESS));
      member.awaitingSync = resolve;
    });
    this.stopSession(member);
    if (group.leaderId === member.memberId) {
      const assigned = new Map<string, Buffer>(request.assignments.map((a) => [a.memberId, a.assignment]));
      group.syncTask?.cancel();
      group.syncTask = undefined;
      group.transitionTo('Stable');
      this.logger.info({ groupId: group.groupId, generationId: group.generationId }, 'kafka group stable');
      for (const each of group.members.values()) {
        each.assignment = assigned.get(each.memberId) ?? EMPTY_BYTES;
        const answer = each.awaitingSync;
        each.awaitingSync = undefined;
        answer?.(syncAnswer(each.assignment));
        this.resetSession(group, each);
      }
    }
    return parked;
  }

  async heartbeat(input: HeartbeatRequest): Promise<ErrorOnlyResponse> {
    const request = checkHeartbeatRequest(input);
    const found = this.findMember(request.groupId, request.memberId);
    if (typeof found === 'number') return errorOnly(found);
    const { group, member } = found;
    if (request.generationId !== group.generationId) return errorOnly(GroupErrorCode.ILLEGAL_GENERATION);
    if (member.awaitingJoin === undefined && member.awaitingSync === undefined)
      this.resetSession(group, member);
    return errorOnly(
      group.is('PreparingRebalance') ? GroupErrorCode.REBALANCE_IN_PROGRESS : GroupErrorCode.NONE,
    );
  }

  async leaveGroup(input: LeaveGroupRequest): Promise<ErrorOnlyResponse> {
    const request = checkLeaveGroupRequest(input);
    const found = this.findMember(request.groupId, request.memberId);
    if (typeof found === 'number') return errorOnly(found);
    this.removeMember(found.group, found.member, 'member left');
    return errorOnly(GroupErrorCode.NONE);
  }

  // Offsets

  async offsetCommit(input: OffsetCommitRequest): Promise<OffsetCommitResponse> {
    const request = checkOffsetCommitRequest(input);
    const refusal = this.commitRefusal(request);
    const offsets: CommittedOffset[] = [];
    const tooLarge = (metadata: string | null): boolean =>
      metadata !== null && Buffer.byteLength(metadata) > this.config.offsetMetadataMaxBytes;
    if (refusal === GroupErrorCode.NONE) {
      for (const topic of request.topics) {
        for (const p of topic.partitions) {
          if (tooLarge(p.committedMetadata)) continue;
          const metadata = p.committedMetadata ?? '';
          offsets.push({
            topic: topic.name,
            partition: p.partitionIndex,
            offset: p.committedOffset,
            metadata,
          });
        }
      }
    }
    let stored: number = refusal;
    if (offsets.length > 0) {
      if (!this.groups.has(request.groupId)) this.addOffsetsOnlyGroup(request.groupId);
      stored = await this.offsetStore.commit(request.groupId, offsets).then(
        () => {
          this.recordCommitTimes(request.groupId, offsets);
          return GroupErrorCode.NONE;
        },
        (error: unknown) => this.storeErrorCode(error, 'kafka group offset commit failed', request.groupId),
      );
    }
    const answer = (p: {
      partitionIndex: number;
      committedMetadata: string | null;
    }): OffsetCommitResponsePartition => ({
      partitionIndex: p.partitionIndex,
      errorCode:
        refusal === GroupErrorCode.NONE && tooLarge(p.committedMetadata)
          ? GroupErrorCode.OFFSET_METADATA_TOO_LARGE
          : stored,
    });
    return {
      throttleTimeMs: THROTTLE_TIME_MS,
      topics: request.topics.map((topic) => ({ name: topic.name, partitions: topic.partitions.map(answer) })),
    };
  }

  /** NONE when the commit may go ahead (and the committing member's session is renewed), else the error. */
  private commitRefusal(request: OffsetCommitRequest): number {
    if (this.closed) return GroupErrorCode.COORDINATOR_NOT_AVAILABLE;
    const outsideGroupManagement = request.generationId < 0 && request.memberId === '';
    const group = this.groups.get(request.groupId);
    if (group === undefined)
      return outsideGroupManagement ? GroupErrorCode.NONE : GroupErrorCode.ILLEGAL_GENERATION;
    if (group.is('Dead')) return GroupErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (outsideGroupManagement && group.is('Empty')) return GroupErrorCode.NONE;
    if (group.is('CompletingRebalance')) return GroupErrorCode.REBALANCE_IN_PROGRESS;
    const member = group.members.get(request.memberId);
    if (member === undefined) return GroupErrorCode.UNKNOWN_MEMBER_ID;
    if (request.generationId !== group.generationId) return GroupErrorCode.ILLEGAL_GENERATION;
    if (member.awaitingJoin === undefined && member.awaitingSync === undefined)
      this.resetSession(group, member);
    return GroupErrorCode.NONE;
  }

  private recordCommitTimes(groupId: string, offsets: readonly CommittedOffset[]): void {
    const committedAtMs = this.now();
    let topics = this.commitTimes.get(groupId);
    if (topics === undefined) this.commitTimes.set(groupId, (topics = new Map()));
    for (const { topic, partition } of offsets) {
      let partitions = topics.get(topic);
      if (partitions === undefined) topics.set(topic, (partitions = new Map()));
      partitions.set(partition, committedAtMs);
    }
  }

  /** A group known only for its offsets (commits from outside group management): Empty, no protocol type. */
  private addOffsetsOnlyGroup(groupId: string): Group {
    const group = new Group(groupId);
    this.groups.set(groupId, group);
    return group;
  }

  async offsetFetch(input: OffsetFetchRequest): Promise<OffsetFetchResponse> {
    const request = checkOffsetFetchRequest(input);
    const requested = request.topics;
    let found: CommittedOffset[] = [];
    let errorCode: number = GroupErrorCode.NONE;
    if (this.closed) {
      errorCode = GroupErrorCode.COORDINATOR_NOT_AVAILABLE;
    } else {
      const names = requested === null ? null : requested.map((t) => t.name);
      try {
        found = await this.offsetStore.fetch(request.groupId, names);
      } catch (error) {
        errorCode = this.storeErrorCode(error, 'kafka group offset fetch failed', request.groupId);
      }
    }
    const byTopic = new Map<string, Map<number, CommittedOffset>>();
    for (const committed of found) {
      let partitions = byTopic.get(committed.topic);
      if (partitions === undefined) byTopic.set(committed.topic, (partitions = new Map()));
      partitions.set(committed.partition, committed);
    }
    const answer = (
      partitionIndex: number,
      committed: CommittedOffset | undefined,
    ): OffsetFetchResponsePartition =>
      committed === undefined || errorCode !== GroupErrorCode.NONE
        ? { partitionIndex, committedOffset: -1n, metadata: '', errorCode }
        : { partitionIndex, committedOffset: committed.offset, metadata: committed.metadata, errorCode };
    const topics =
      requested === null
        ? [...byTopic].map(([name, partitions]) => ({
            name,
            partitions: [...partitions.values()].map((c) => answer(c.partition, c)),
          }))
        : requested.map((topic) => ({
            name: topic.name,
            partitions: topic.partitionIndexes.map((i) => answer(i, byTopic.get(topic.name)?.get(i))),
          }));
    return { throttleTimeMs: THROTTLE_TIME_MS, topics, errorCode };
  }

  /** What a client is told when the offset store failed: retry (15) for a retriable error, else -1. */
  private storeErrorCode(error: unknown, message: string, groupId: string): number {
    this.logger.warn({ groupId, err: error }, message);
    const retriable =
      typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable;
    return retriable === true
      ? GroupErrorCode.COORDINATOR_NOT_AVAILABLE
      : GroupErrorCode.UNKNOWN_SERVER_ERROR;
  }

  // DescribeGroups, ListGroups

  async describeGroups(input: DescribeGroupsRequest): Promise<DescribeGroupsResponse> {
    const request = checkDescribeGroupsRequest(input);
    return { throttleTimeMs: THROTTLE_TIME_MS, groups: request.groups.map((id) => this.describeGroup(id)) };
  }

  private describeGroup(groupId: string): DescribedGroup {
    const group = this.groups.get(groupId);
    if (this.closed || group === undefined) {
      // Kafka describes a group it does not know as Dead, with no error; a closed coordinator answers 15.
      const errorCode = this.closed ? GroupErrorCode.COORDINATOR_NOT_AVAILABLE : GroupErrorCode.NONE;
      const groupState = this.closed ? '' : 'Dead';
      return { errorCode, groupId, groupState, protocolType: '', protocolData: '', members: [] };
    }
    const stable = group.is('Stable') && group.protocolName !== null;
    const protocol = stable ? (group.protocolName ?? '') : '';
    return {
      errorCode: GroupErrorCode.NONE,
      groupId,
      groupState: group.state,
      protocolType: group.protocolType,
      protocolData: protocol,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? m.metadataFor(protocol) : EMPTY_BYTES,
        memberAssignment: stable ? m.assignment : EMPTY_BYTES,
      })),
    };
  }

  async listGroups(): Promise<ListGroupsResponse> {
    if (this.closed)
      return {
        throttleTimeMs: THROTTLE_TIME_MS,
        errorCode: GroupErrorCode.COORDINATOR_NOT_AVAILABLE,
        groups: [],
      };
    const groups = [...this.groups.values()].map((g) => ({
      groupId: g.groupId,
      protocolType: g.protocolType,
    }));
    return { throttleTimeMs: THROTTLE_TIME_MS, errorCode: GroupErrorCode.NONE, groups };
  }

  // Inspection and shutdown

  groupSnapshot(groupId: string): GroupSnapshot | undefined {
    const group = this.groups.get(groupId);
    if (group === undefined) return undefined;
    return {
      groupId,
      state: group.state,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leaderId: group.leaderId,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        joinedGenerationId: m.joinedGenerationId,
        awaitingJoin: m.awaitingJoin !== undefined,
        awaitingSync: m.awaitingSync !== undefined,
        assignment: m.assignment,
      })),
    };
  }

  groupIds(): string[] {
    return [...this.groups.keys()];
  }

  /**
   * Every committed offset of the group (the store's, as OffsetFetch with null topics reads them) with the time
   * this coordinator stored it; none once closed (it knows no groups then). Rejects when the store's fetch does.
   */
  async committedOffsets(groupId: string): Promise<CommittedOffsetSnapshot[]> {
    if (this.closed) return [];
    const offsets = await this.offsetStore.fetch(groupId, null);
    const times = this.commitTimes.get(groupId);
    return offsets.map((committed) => ({
      ...committed,
      commitTimestampMs: times?.get(committed.topic)?.get(committed.partition) ?? null,
    }));
  }

  /**
   * Stops coordinating (shutdown, or the groups moving to another broker): every group goes Dead, parked requests
   * are answered NOT_COORDINATOR (clients look the coordinator up again), timers are cancelled, and every later
   * request gets COORDINATOR_NOT_AVAILABLE.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const group of this.groups.values()) {
      group.rebalanceTask?.cancel();
      group.syncTask?.cancel();
      for (const member of group.members.values()) {
        this.stopSession(member);
        const { awaitingJoin, awaitingSync } = member;
        member.awaitingJoin = undefined;
        member.awaitingSync = undefined;
        awaitingJoin?.(joinError(GroupErrorCode.NOT_COORDINATOR, member.memberId));
        awaitingSync?.(syncError(GroupErrorCode.NOT_COORDINATOR));
      }
      group.transitionTo('Dead');
    }
    this.groups.clear();
    this.commitTimes.clear();
  }
}

/** The rebalance timeout a JoinGroup asks for: the session timeout for v0 (no field, or the codec's -1). */
function rebalanceTimeoutMs(request: JoinGroupRequest): number {
  const asked = request.rebalanceTimeoutMs;
  return asked === undefined || asked < 0 ? request.sessionTimeoutMs : asked;
}

function joinError(errorCode: number, memberId: string): JoinGroupResponse {
  return {
    throttleTimeMs: THROTTLE_TIME_MS,
    errorCode,
    generationId: -1,
    protocolName: '',
    leader: '',
    memberId,
    members: [],
  };
}

function syncAnswer(assignment: Buffer): SyncGroupResponse {
  return { throttleTimeMs: THROTTLE_TIME_MS, errorCode: GroupErrorCode.NONE, assignment };
}

function syncError(errorCode: number): SyncGroupResponse {
  return { throttleTimeMs: THROTTLE_TIME_MS, errorCode, assignment: EMPTY_BYTES };
}

function errorOnly(errorCode: number): ErrorOnlyResponse {
  return { throttleTimeMs: THROTTLE_TIME_MS, errorCode };
}
