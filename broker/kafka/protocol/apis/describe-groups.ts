import { ApiKey, defineApi } from '../api-keys';
import { BYTES, INT16, INT32, STRING, array, field, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';

/**
 * DescribeGroups (15), versions 0-2.
 *
 *   request  v0-2: groups[STRING]
 *   response v0:   groups[error_code, group_id, group_state, protocol_type, protocol_data,
 *                  members[member_id, client_id, client_host, member_metadata BYTES, member_assignment BYTES]]
 *            v1-2: + throttle_time_ms first
 */
export const DESCRIBE_GROUPS = defineApi({
  apiKey: ApiKey.DescribeGroups,
  name: 'DescribeGroups',
  versions: '0-2',
  request: struct({ groups: field(array(STRING)) }),
  response: struct({
    throttleTimeMs: field(INT32, { versions: '1+', default: 0 }),
    groups: field(
      array(
        struct({
          errorCode: field(INT16, { default: 0 }),
          groupId: field(STRING),
          groupState: field(STRING),
          protocolType: field(STRING),
          protocolData: field(STRING),
          members: field(
            array(
              struct({
                memberId: field(STRING),
                clientId: field(STRING),
                clientHost: field(STRING),
                memberMetadata: field(BYTES),
                memberAssignment: field(BYTES),
              }),
            ),
          ),
        }),
      ),
    ),
  }),
});

export type DescribeGroupsRequest = ValueOf<typeof DESCRIBE_GROUPS.request>;
export type DescribeGroupsResponse = InputOf<typeof DESCRIBE_GROUPS.response>;
