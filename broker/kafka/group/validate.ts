import { GroupCoordinatorError } from './errors';
import type {
  DescribeGroupsRequest,
  HeartbeatRequest,
  JoinGroupRequest,
  LeaveGroupRequest,
  OffsetCommitRequest,
  OffsetFetchRequest,
  SyncGroupRequest,
} from './messages';

/**
 * Shape checks for the request objects the coordinator receives. The codec builds them from frames whose sizes it
 * has capped, so these guard against bugs and garbage, not against size: a field of the wrong type or a number
 * outside its wire type's range throws GroupCoordinatorError naming the field, before any state changes.
 */

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function fail(what: string, why: string): never {
  throw new GroupCoordinatorError(`bad group request: ${what} ${why}`);
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(what, 'is not an object');
  return value as Record<string, unknown>;
}

function string(value: unknown, what: string): string {
  if (typeof value !== 'string') fail(what, 'is not a string');
  return value;
}

function int32(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    fail(what, 'is not an int32');
  }
  return value;
}

function int64(value: unknown, what: string): bigint {
  if (typeof value !== 'bigint' || value < INT64_MIN || value > INT64_MAX)
    fail(what, 'is not an int64 bigint');
  return value;
}

function bytes(value: unknown, what: string): Buffer {
  if (!Buffer.isBuffer(value)) fail(what, 'is not a Buffer');
  return value;
}

/** Checks every element of an array, holes included (a sparse array's holes read as undefined). */
function each(value: unknown, what: string, check: (item: unknown, itemWhat: string) => void): void {
  if (!Array.isArray(value)) fail(what, 'is not an array');
  for (let i = 0; i < value.length; i++) check(value[i] as unknown, `${what}[${i}]`);
}

export function checkJoinGroupRequest(value: unknown): JoinGroupRequest {
  const request = object(value, 'JoinGroup');
  string(request.groupId, 'JoinGroup groupId');
  int32(request.sessionTimeoutMs, 'JoinGroup sessionTimeoutMs');
  if (request.rebalanceTimeoutMs !== undefined)
    int32(request.rebalanceTimeoutMs, 'JoinGroup rebalanceTimeoutMs');
  string(request.memberId, 'JoinGroup memberId');
  string(request.protocolType, 'JoinGroup protocolType');
  string(request.clientId, 'JoinGroup clientId');
  string(request.clientHost, 'JoinGroup clientHost');
  each(request.protocols, 'JoinGroup protocols', (item, what) => {
    const protocol = object(item, what);
    string(protocol.name, `${what}.name`);
    bytes(protocol.metadata, `${what}.metadata`);
  });
  return value as JoinGroupRequest;
}

export function checkSyncGroupRequest(value: unknown): SyncGroupRequest {
  const request = checkMemberRequest(value, 'SyncGroup');
  int32(request.generationId, 'SyncGroup generationId');
  each(request.assignments, 'SyncGroup assignments', (item, what) => {
    const assignment = object(item, what);
    string(assignment.memberId, `${what}.memberId`);
    bytes(assignment.assignment, `${what}.assignment`);
  });
  return value as SyncGroupRequest;
}

export function checkHeartbeatRequest(value: unknown): HeartbeatRequest {
  int32(checkMemberRequest(value, 'Heartbeat').generationId, 'Heartbeat generationId');
  return value as HeartbeatRequest;
}

export function checkLeaveGroupRequest(value: unknown): LeaveGroupRequest {
  checkMemberRequest(value, 'LeaveGroup');
  return value as LeaveGroupRequest;
}

export function checkOffsetCommitRequest(value: unknown): OffsetCommitRequest {
  const request = checkMemberRequest(value, 'OffsetCommit');
  int32(request.generationId, 'OffsetCommit generationId');
  int64(request.retentionTimeMs, 'OffsetCommit retentionTimeMs');
  each(request.topics, 'OffsetCommit topics', (item, topicWhat) => {
    const topic = object(item, topicWhat);
    string(topic.name, `${topicWhat}.name`);
    each(topic.partitions, `${topicWhat}.partitions`, (element, what) => {
      const partition = object(element, what);
      int32(partition.partitionIndex, `${what}.partitionIndex`);
      int64(partition.committedOffset, `${what}.committedOffset`);
      if (partition.committedMetadata !== null)
        string(partition.committedMetadata, `${what}.committedMetadata`);
    });
  });
  return value as OffsetCommitRequest;
}

export function checkOffsetFetchRequest(value: unknown): OffsetFetchRequest {
  const request = object(value, 'OffsetFetch');
  string(request.groupId, 'OffsetFetch groupId');
  if (request.topics !== null) {
    each(request.topics, 'OffsetFetch topics', (item, what) => {
      const topic = object(item, what);
      string(topic.name, `${what}.name`);
      each(topic.partitionIndexes, `${what}.partitionIndexes`, int32);
    });
  }
  return value as OffsetFetchRequest;
}

export function checkDescribeGroupsRequest(value: unknown): DescribeGroupsRequest {
  const request = object(value, 'DescribeGroups');
  each(request.groups, 'DescribeGroups groups', string);
  return value as DescribeGroupsRequest;
}

/** The fields every request that names a member has: groupId and memberId. */
function checkMemberRequest(value: unknown, api: string): Record<string, unknown> {
  const request = object(value, api);
  string(request.groupId, `${api} groupId`);
  string(request.memberId, `${api} memberId`);
  return request;
}
