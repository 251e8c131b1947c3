import { ApiKey, defineApi } from '../api-keys';
import { INT16, INT32, STRING, array, field, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';

/**
 * ListGroups (16), versions 0-2 (kafka-python's "v2" class sends 1; the bodies are the same).
 *
 *   request  v0-2: (empty)
 *   response v0:   error_code, groups[group_id, protocol_type]
 *            v1-2: + throttle_time_ms first
 */
export const LIST_GROUPS = defineApi({
  apiKey: ApiKey.ListGroups,
  name: 'ListGroups',
  versions: '0-2',
  request: struct({}),
  response: struct({
    throttleTimeMs: field(INT32, { versions: '1+', default: 0 }),
    errorCode: field(INT16, { default: 0 }),
    groups: field(array(struct({ groupId: field(STRING), protocolType: field(STRING) }))),
  }),
});

export type ListGroupsRequest = ValueOf<typeof LIST_GROUPS.request>;
export type ListGroupsResponse = InputOf<typeof LIST_GROUPS.response>;
