// Kafka's wire protocol as data, no I/O: framing, headers, and one schema file per API for the versions we serve.
export { KafkaProtocolError, UnsupportedApiError } from './errors';
export type { KafkaProtocolErrorCode } from './errors';
export { KafkaErrorCode, isRetriableKafkaError, kafkaErrorName } from './error-codes';
export type { KafkaErrorName } from './error-codes';
export { ApiKey } from './api-keys';
export { FRAME_SIZE_BYTES_MAX_DEFAULT, FrameSplitter } from './frame-splitter';
export type { FrameSplitterOptions } from './frame-splitter';
export { KafkaReader, KafkaWriter } from './primitives';
export {
  SUPPORTED_APIS,
  apiName,
  apiVersionsBody,
  decodeRequest,
  decodeResponse,
  encodeApiVersionsUnsupported,
  encodeRequest,
  encodeResponse,
  encodeResponseChunks,
  isSupported,
} from './codec';
export type {
  KafkaRequest,
  RequestBody,
  RequestHeader,
  RequestInput,
  ResponseBody,
  ResponseValue,
  SupportedApi,
  SupportedApiKey,
} from './codec';
export type {
  ApiVersionsRequest,
  ApiVersionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  FetchRequest,
  FetchResponse,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  MetadataRequest,
  MetadataResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  ProduceRequest,
  ProduceResponse,
  SyncGroupRequest,
  SyncGroupResponse,
} from './apis';
