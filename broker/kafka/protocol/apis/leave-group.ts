import { ApiKey, defineApi } from '../api-keys';
import { INT16, INT32, STRING, field, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';

/**
 * LeaveGroup (13), versions 0-1.
 *
 *   request  v0-1: group_id, member_id
 *   response v0:   error_code
 *            v1:   + throttle_time_ms first
 */
export const LEAVE_GROUP = defineApi({
  apiKey: ApiKey.LeaveGroup,
  name: 'LeaveGroup',
  versions: '0-1',
  request: struct({ groupId: field(STRING), memberId: field(STRING) }),
  response: struct({
    throttleTimeMs: field(INT32, { versions: '1+', default: 0 }),
    errorCode: field(INT16, { default: 0 }),
  }),
});

export type LeaveGroupRequest = ValueOf<typeof LEAVE_GROUP.request>;
export type LeaveGroupResponse = InputOf<typeof LEAVE_GROUP.response>;
