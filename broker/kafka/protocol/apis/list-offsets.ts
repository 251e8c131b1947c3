import { ApiKey, defineApi } from '../api-keys';
import { INT16, INT32, INT64, field, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';
import { topicPartitions } from './topic-partitions';

/**
 * ListOffsets (2), version 1 (one offset per partition, with its timestamp).
 *
 *   request  v1: replica_id INT32, topics[name, partitions[partition_index, timestamp INT64]]
 *                (timestamp -1 = latest, -2 = earliest)
 *   response v1: topics[name, partitions[partition_index, error_code, timestamp INT64, offset INT64]]
 */
export const LIST_OFFSETS = defineApi({
  apiKey: ApiKey.ListOffsets,
  name: 'ListOffsets',
  versions: '1',
  request: struct({
    replicaId: field(INT32),
    topics: field(topicPartitions({ partitionIndex: field(INT32), timestamp: field(INT64) })),
  }),
  response: struct({
    topics: field(
      topicPartitions({
        partitionIndex: field(INT32),
        errorCode: field(INT16, { default: 0 }),
        timestamp: field(INT64, { default: -1n }),
        offset: field(INT64, { default: -1n }),
      }),
    ),
  }),
});

export type ListOffsetsRequest = ValueOf<typeof LIST_OFFSETS.request>;
export type ListOffsetsResponse = InputOf<typeof LIST_OFFSETS.response>;
