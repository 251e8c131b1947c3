import { ApiKey, defineApi } from '../api-keys';
import { INT16, INT32, INT64, STRING, array, field, nullable, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';
import { topicPartitions } from './topic-partitions';

/**
 * OffsetFetch (9), versions 1-3 (v1 reads offsets kept by the coordinator; v0, from ZooKeeper, is not served).
 *
 *   request  v1:   group_id, topics[name, partition_indexes[int32]]
 *            v2-3: topics nullable (null = every partition the group has committed)
 *   response v1:   topics[name, partitions[partition_index, committed_offset INT64 (-1 = none),
 *                  metadata nullable, error_code]]
 *            v2:   + error_code (top level) last
 *            v3:   + throttle_time_ms first
 */
export const OFFSET_FETCH = defineApi({
  apiKey: ApiKey.OffsetFetch,
  name: 'OffsetFetch',
  versions: '1-3',
  request: struct({
    groupId: field(STRING),
    topics: field(
      nullable(array(struct({ name: field(STRING), partitionIndexes: field(array(INT32)) })), '2+'),
    ),
  }),
  response: struct({
    throttleTimeMs: field(INT32, { versions: '3+', default: 0 }),
    topics: field(
      topicPartitions({
        partitionIndex: field(INT32),
        committedOffset: field(INT64),
        metadata: field(nullable(STRING, '0+'), { default: null }),
        errorCode: field(INT16, { default: 0 }),
      }),
    ),
    errorCode: field(INT16, { versions: '2+', default: 0 }),
  }),
});

export type OffsetFetchRequest = ValueOf<typeof OFFSET_FETCH.request>;
export type OffsetFetchResponse = InputOf<typeof OFFSET_FETCH.response>;
