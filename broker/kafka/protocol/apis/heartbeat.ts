import { ApiKey, defineApi } from '../api-keys';
import { INT16, INT32, STRING, field, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';

/**
 * Heartbeat (12), versions 0-1.
 *
 *   request  v0-1: group_id, generation_id INT32, member_id
 *   response v0:   error_code
 *            v1:   + throttle_time_ms first
 */
export const HEARTBEAT = defineApi({
  apiKey: ApiKey.Heartbeat,
  name: 'Heartbeat',
  versions: '0-1',
  request: struct({ groupId: field(STRING), generationId: field(INT32), memberId: field(STRING) }),
  response: struct({
    throttleTimeMs: field(INT32, { versions: '1+', default: 0 }),
    errorCode: field(INT16, { default: 0 }),
  }),
});

export type HeartbeatRequest = ValueOf<typeof HEARTBEAT.request>;
export type HeartbeatResponse = InputOf<typeof HEARTBEAT.response>;
