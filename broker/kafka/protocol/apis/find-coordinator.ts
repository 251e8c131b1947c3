import { ApiKey, defineApi } from '../api-keys';
import { INT16, INT32, STRING, field, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';

/**
 * FindCoordinator (10), version 0 (group coordinators only; key_type arrives in v1).
 *
 *   request  v0: key STRING (the group id)
 *   response v0: error_code, node_id INT32, host STRING, port INT32
 */
export const FIND_COORDINATOR = defineApi({
  apiKey: ApiKey.FindCoordinator,
  name: 'FindCoordinator',
  versions: '0',
  request: struct({ key: field(STRING) }),
  response: struct({
    errorCode: field(INT16, { default: 0 }),
    nodeId: field(INT32),
    host: field(STRING),
    port: field(INT32),
  }),
});

export type FindCoordinatorRequest = ValueOf<typeof FIND_COORDINATOR.request>;
export type FindCoordinatorResponse = InputOf<typeof FIND_COORDINATOR.response>;
