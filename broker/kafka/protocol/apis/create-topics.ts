import { ApiKey, defineApi } from '../api-keys';
import { BOOLEAN, INT16, INT32, STRING, array, field, nullable, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';

/**
 * CreateTopics (19), versions 0-3.
 *
 *   request  v0:   topics[name, num_partitions INT32, replication_factor INT16,
 *                  assignments[partition_index, broker_ids[int32]], configs[name, value nullable]], timeout_ms
 *            v1-3: + validate_only BOOLEAN
 *   response v0:   topics[name, error_code]
 *            v1:   topics + error_message nullable
 *            v2-3: + throttle_time_ms first
 */
export const CREATE_TOPICS = defineApi({
  apiKey: ApiKey.CreateTopics,
  name: 'CreateTopics',
  versions: '0-3',
  request: struct({
    topics: field(
      array(
        struct({
          name: field(STRING),
          numPartitions: field(INT32),
          replicationFactor: field(INT16),
          assignments: field(array(struct({ partitionIndex: field(INT32), brokerIds: field(array(INT32)) }))),
          configs: field(array(struct({ name: field(STRING), value: field(nullable(STRING, '0+')) }))),
        }),
      ),
    ),
    timeoutMs: field(INT32, { default: 60000 }),
    validateOnly: field(BOOLEAN, { versions: '1+', default: false }),
  }),
  response: struct({
    throttleTimeMs: field(INT32, { versions: '2+', default: 0 }),
    topics: field(
      array(
        struct({
          name: field(STRING),
          errorCode: field(INT16, { default: 0 }),
          errorMessage: field(nullable(STRING, '0+'), { versions: '1+', default: null }),
        }),
      ),
    ),
  }),
});

export type CreateTopicsRequest = ValueOf<typeof CREATE_TOPICS.request>;
export type CreateTopicsResponse = InputOf<typeof CREATE_TOPICS.response>;
