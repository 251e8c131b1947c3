import { ApiKey, defineApi } from '../api-keys';
import { INT16, INT32, INT64, STRING, field, nullable, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';
import { topicPartitions } from './topic-partitions';

/**
 * OffsetCommit (8), version 2.
 *
 *   request  v2: group_id, generation_id INT32, member_id, retention_time_ms INT64 (-1 = broker default),
 *                topics[name, partitions[partition_index, committed_offset INT64, committed_metadata nullable]]
 *   response v2: topics[name, partitions[partition_index, error_code]]
 *
 * generation_id -1 with an empty member_id is a commit from outside any group generation (kcat, admin tools).
 */
export const OFFSET_COMMIT = defineApi({
  apiKey: ApiKey.OffsetCommit,
  name: 'OffsetCommit',
  versions: '2',
  request: struct({
    groupId: field(STRING),
    generationId: field(INT32),
    memberId: field(STRING),
    retentionTimeMs: field(INT64, { default: -1n }),
    topics: field(
      topicPartitions({
        partitionIndex: field(INT32),
        committedOffset: field(INT64),
        committedMetadata: field(nullable(STRING, '0+'), { default: null }),
      }),
    ),
  }),
  response: struct({
    topics: field(topicPartitions({ partitionIndex: field(INT32), errorCode: field(INT16, { default: 0 }) })),
  }),
});

export type OffsetCommitRequest = ValueOf<typeof OFFSET_COMMIT.request>;
export type OffsetCommitResponse = InputOf<typeof OFFSET_COMMIT.response>;
