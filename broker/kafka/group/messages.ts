/**
 * The requests and responses of the group APIs as plain objects, one field per field of kafka.md §2's layouts (in
 * camelCase), so the codec layer maps them 1:1. A response carries every field of the highest version we serve;
 * an older version's encoder leaves out what it does not have (throttleTimeMs, OffsetFetch's top-level errorCode).
 * Metadata and assignment bytes are opaque Buffers, passed through untouched.
 */

/** JoinGroup v0-2. `clientId` and `clientHost` come from the request header and the connection. */
export interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  /** v1+; absent or negative (the codec decodes v0 as -1): the session timeout serves, as for Kafka's v0. */
  rebalanceTimeoutMs?: number;
  /** '' for a member joining for the first time. */
  memberId: string;
  protocolType: string;
  protocols: readonly JoinGroupProtocol[];
  clientId: string;
  clientHost: string;
}

export interface JoinGroupProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupResponse {
  throttleTimeMs: number;
  errorCode: number;
  generationId: number;
  protocolName: string;
  leader: string;
  memberId: string;
  /** Every member with its metadata for the chosen protocol: for the leader only, empty for the others. */
  members: JoinGroupResponseMember[];
}

export interface JoinGroupResponseMember {
  memberId: string;
  metadata: Buffer;
}

/** SyncGroup v0-1. Only the leader sends assignments; followers send an empty array. */
export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  assignments: readonly SyncGroupAssignment[];
}

export interface SyncGroupAssignment {
  memberId: string;
  assignment: Buffer;
}

export interface SyncGroupResponse {
  throttleTimeMs: number;
  errorCode: number;
  assignment: Buffer;
}

/** Heartbeat v0-1. */
export interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
}

/** LeaveGroup v0-1. */
export interface LeaveGroupRequest {
  groupId: string;
  memberId: string;
}

/** Heartbeat and LeaveGroup answer the same: v0 has errorCode only. */
export interface ErrorOnlyResponse {
  throttleTimeMs: number;
  errorCode: number;
}

/** OffsetCommit v2. generationId -1 with memberId '' is a commit from outside group management (kcat, admin). */
export interface OffsetCommitRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  /** -1 = broker default. Read and ignored: committed offsets are kept until the group is deleted. */
  retentionTimeMs: bigint;
  topics: readonly OffsetCommitRequestTopic[];
}

export interface OffsetCommitRequestTopic {
  name: string;
  partitions: readonly OffsetCommitRequestPartition[];
}

export interface OffsetCommitRequestPartition {
  partitionIndex: number;
  committedOffset: bigint;
  committedMetadata: string | null;
}

export interface OffsetCommitResponse {
  throttleTimeMs: number;
  topics: OffsetCommitResponseTopic[];
}

export interface OffsetCommitResponseTopic {
  name: string;
  partitions: OffsetCommitResponsePartition[];
}

export interface OffsetCommitResponsePartition {
  partitionIndex: number;
  errorCode: number;
}

/** OffsetFetch v1-3; `topics` null (v2+) asks for every committed offset of the group. */
export interface OffsetFetchRequest {
  groupId: string;
  topics: readonly OffsetFetchRequestTopic[] | null;
}

export interface OffsetFetchRequestTopic {
  name: string;
  partitionIndexes: readonly number[];
}

export interface OffsetFetchResponse {
  throttleTimeMs: number;
  topics: OffsetFetchResponseTopic[];
  /** v2+ (v1 reports errors per partition only). */
  errorCode: number;
}

export interface OffsetFetchResponseTopic {
  name: string;
  partitions: OffsetFetchResponsePartition[];
}

export interface OffsetFetchResponsePartition {
  partitionIndex: number;
  /** -1n when the group committed nothing for the partition. */
  committedOffset: bigint;
  metadata: string | null;
  errorCode: number;
}

/** DescribeGroups v0-2. */
export interface DescribeGroupsRequest {
  groups: readonly string[];
}

export interface DescribeGroupsResponse {
  throttleTimeMs: number;
  groups: DescribedGroup[];
}

export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  /** Empty, PreparingRebalance, CompletingRebalance, Stable or Dead (an unknown group is Dead, as in Kafka). */
  groupState: string;
  protocolType: string;
  /** The chosen protocol while Stable, '' otherwise (kafka.md's `protocol`; Kafka's schema calls it ProtocolData). */
  protocolData: string;
  members: DescribedGroupMember[];
}

/** Metadata and assignment are filled in only while the group is Stable (as Kafka does). */
export interface DescribedGroupMember {
  memberId: string;
  clientId: string;
  clientHost: string;
  memberMetadata: Buffer;
  memberAssignment: Buffer;
}

/** ListGroups v0-2 has no request fields. */
export interface ListGroupsResponse {
  throttleTimeMs: number;
  errorCode: number;
  groups: ListedGroup[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
}
