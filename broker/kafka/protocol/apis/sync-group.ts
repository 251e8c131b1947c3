import { ApiKey, defineApi } from '../api-keys';
import { BYTES, INT16, INT32, STRING, array, field, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';

/**
 * SyncGroup (14), versions 0-1.
 *
 *   request  v0-1: group_id, generation_id INT32, member_id, assignments[member_id, assignment BYTES]
 *                  (the leader's carries every member's assignment; the others' are empty)
 *   response v0:   error_code, assignment BYTES
 *            v1:   + throttle_time_ms first
 */
export const SYNC_GROUP = defineApi({
  apiKey: ApiKey.SyncGroup,
  name: 'SyncGroup',
  versions: '0-1',
  request: struct({
    groupId: field(STRING),
    generationId: field(INT32),
    memberId: field(STRING),
    assignments: field(array(struct({ memberId: field(STRING), assignment: field(BYTES) }))),
  }),
  response: struct({
    throttleTimeMs: field(INT32, { versions: '1+', default: 0 }),
    errorCode: field(INT16, { default: 0 }),
    assignment: field(BYTES, { default: Buffer.alloc(0) }),
  }),
});

export type SyncGroupRequest = ValueOf<typeof SYNC_GROUP.request>;
export type SyncGroupResponse = InputOf<typeof SYNC_GROUP.response>;
