import { ApiKey, defineApi } from '../api-keys';
import { INT16, INT32, STRING, array, field, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';

/**
 * DeleteTopics (20), versions 0-1.
 *
 *   request  v0-1: topic_names[STRING], timeout_ms INT32
 *   response v0:   responses[name, error_code]
 *            v1:   + throttle_time_ms first
 */
export const DELETE_TOPICS = defineApi({
  apiKey: ApiKey.DeleteTopics,
  name: 'DeleteTopics',
  versions: '0-1',
  request: struct({ topicNames: field(array(STRING)), timeoutMs: field(INT32) }),
  response: struct({
    throttleTimeMs: field(INT32, { versions: '1+', default: 0 }),
    responses: field(array(struct({ name: field(STRING), errorCode: field(INT16, { default: 0 }) }))),
  }),
});

export type DeleteTopicsRequest = ValueOf<typeof DELETE_TOPICS.request>;
export type DeleteTopicsResponse = InputOf<typeof DELETE_TOPICS.response>;
