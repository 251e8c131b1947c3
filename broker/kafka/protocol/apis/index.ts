// Every API the broker serves, one file each, gathered into the table the codec dispatches on.
import { API_VERSIONS } from './api-versions';
import { CREATE_TOPICS } from './create-topics';
import { DELETE_TOPICS } from './delete-topics';
import { DESCRIBE_GROUPS } from './describe-groups';
import { FETCH } from './fetch';
import { FIND_COORDINATOR } from './find-coordinator';
import { HEARTBEAT } from './heartbeat';
import { JOIN_GROUP } from './join-group';
import { LEAVE_GROUP } from './leave-group';
import { LIST_GROUPS } from './list-groups';
import { LIST_OFFSETS } from './list-offsets';
import { METADATA } from './metadata';
import { OFFSET_COMMIT } from './offset-commit';
import { OFFSET_FETCH } from './offset-fetch';
import { PRODUCE } from './produce';
import { SYNC_GROUP } from './sync-group';

export const APIS = {
  [PRODUCE.apiKey]: PRODUCE,
  [FETCH.apiKey]: FETCH,
  [LIST_OFFSETS.apiKey]: LIST_OFFSETS,
  [METADATA.apiKey]: METADATA,
  [OFFSET_COMMIT.apiKey]: OFFSET_COMMIT,
  [OFFSET_FETCH.apiKey]: OFFSET_FETCH,
  [FIND_COORDINATOR.apiKey]: FIND_COORDINATOR,
  [JOIN_GROUP.apiKey]: JOIN_GROUP,
  [HEARTBEAT.apiKey]: HEARTBEAT,
  [LEAVE_GROUP.apiKey]: LEAVE_GROUP,
  [SYNC_GROUP.apiKey]: SYNC_GROUP,
  [DESCRIBE_GROUPS.apiKey]: DESCRIBE_GROUPS,
  [LIST_GROUPS.apiKey]: LIST_GROUPS,
  [API_VERSIONS.apiKey]: API_VERSIONS,
  [CREATE_TOPICS.apiKey]: CREATE_TOPICS,
  [DELETE_TOPICS.apiKey]: DELETE_TOPICS,
};

export {
  API_VERSIONS,
  CREATE_TOPICS,
  DELETE_TOPICS,
  DESCRIBE_GROUPS,
  FETCH,
  FIND_COORDINATOR,
  HEARTBEAT,
  JOIN_GROUP,
  LEAVE_GROUP,
  LIST_GROUPS,
  LIST_OFFSETS,
  METADATA,
  OFFSET_COMMIT,
  OFFSET_FETCH,
  PRODUCE,
  SYNC_GROUP,
};
export type { ApiVersionsRequest, ApiVersionsResponse } from './api-versions';
export type { CreateTopicsRequest, CreateTopicsResponse } from './create-topics';
export type { DeleteTopicsRequest, DeleteTopicsResponse } from './delete-topics';
export type { DescribeGroupsRequest, DescribeGroupsResponse } from './describe-groups';
export type { FetchRequest, FetchResponse } from './fetch';
export type { FindCoordinatorRequest, FindCoordinatorResponse } from './find-coordinator';
export type { HeartbeatRequest, HeartbeatResponse } from './heartbeat';
export type { JoinGroupRequest, JoinGroupResponse } from './join-group';
export type { LeaveGroupRequest, LeaveGroupResponse } from './leave-group';
export type { ListGroupsRequest, ListGroupsResponse } from './list-groups';
export type { ListOffsetsRequest, ListOffsetsResponse } from './list-offsets';
export type { MetadataRequest, MetadataResponse } from './metadata';
export type { OffsetCommitRequest, OffsetCommitResponse } from './offset-commit';
export type { OffsetFetchRequest, OffsetFetchResponse } from './offset-fetch';
export type { ProduceRequest, ProduceResponse } from './produce';
export type { SyncGroupRequest, SyncGroupResponse } from './sync-group';
