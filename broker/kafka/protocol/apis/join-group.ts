import { ApiKey, defineApi } from '../api-keys';
import { BYTES, INT16, INT32, STRING, array, field, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';

/**
 * JoinGroup (11), versions 0-2.
 *
 *   request  v0:   group_id, session_timeout_ms INT32, member_id, protocol_type, protocols[name, metadata BYTES]
 *            v1-2: + rebalance_timeout_ms INT32 after session_timeout_ms (decoded as -1 from v0: use the session
 *                  timeout)
 *   response v0-1: error_code, generation_id INT32, protocol_name, leader, member_id,
 *                  members[member_id, metadata BYTES] (filled for the leader only)
 *            v2:   + throttle_time_ms first
 */
export const JOIN_GROUP = defineApi({
  apiKey: ApiKey.JoinGroup,
  name: 'JoinGroup',
  versions: '0-2',
  request: struct({
    groupId: field(STRING),
    sessionTimeoutMs: field(INT32),
    rebalanceTimeoutMs: field(INT32, { versions: '1+', default: -1 }),
    memberId: field(STRING),
    protocolType: field(STRING),
    protocols: field(array(struct({ name: field(STRING), metadata: field(BYTES) }))),
  }),
  response: struct({
    throttleTimeMs: field(INT32, { versions: '2+', default: 0 }),
    errorCode: field(INT16, { default: 0 }),
    generationId: field(INT32, { default: -1 }),
    protocolName: field(STRING, { default: '' }),
    leader: field(STRING, { default: '' }),
    memberId: field(STRING),
    members: field(array(struct({ memberId: field(STRING), metadata: field(BYTES) })), { default: [] }),
  }),
});

export type JoinGroupRequest = ValueOf<typeof JOIN_GROUP.request>;
export type JoinGroupResponse = InputOf<typeof JOIN_GROUP.response>;
