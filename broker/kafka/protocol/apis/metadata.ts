import { ApiKey, defineApi } from '../api-keys';
import { BOOLEAN, INT16, INT32, STRING, array, field, nullable, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';

/**
 * Metadata (3), versions 0-4.
 *
 *   request  v0:   topics[name]                     (empty array = all topics)
 *            v1-3: topics nullable                  (null = all topics, empty = none)
 *            v4:   + allow_auto_topic_creation BOOLEAN
 *   response v0:   brokers[node_id, host, port], topics[error_code, name,
 *                  partitions[error_code, partition_index, leader_id, replica_nodes[int32], isr_nodes[int32]]]
 *            v1:   brokers + rack nullable; + controller_id after brokers; topics + is_internal after name
 *            v2:   + cluster_id nullable between brokers and controller_id
 *            v3-4: + throttle_time_ms first
 */
export const METADATA = defineApi({
  apiKey: ApiKey.Metadata,
  name: 'Metadata',
  versions: '0-4',
  request: struct({
    topics: field(nullable(array(struct({ name: field(STRING) })), '1+')),
    allowAutoTopicCreation: field(BOOLEAN, { versions: '4+', default: true }),
  }),
  response: struct({
    throttleTimeMs: field(INT32, { versions: '3+', default: 0 }),
    brokers: field(
      array(
        struct({
          nodeId: field(INT32),
          host: field(STRING),
          port: field(INT32),
          rack: field(nullable(STRING, '1+'), { versions: '1+', default: null }),
        }),
      ),
    ),
    clusterId: field(nullable(STRING, '2+'), { versions: '2+', default: null }),
    controllerId: field(INT32, { versions: '1+', default: -1 }),
    topics: field(
      array(
        struct({
          errorCode: field(INT16, { default: 0 }),
          name: field(STRING),
          isInternal: field(BOOLEAN, { versions: '1+', default: false }),
          partitions: field(
            array(
              struct({
                errorCode: field(INT16, { default: 0 }),
                partitionIndex: field(INT32),
                leaderId: field(INT32),
                replicaNodes: field(array(INT32)),
                isrNodes: field(array(INT32)),
              }),
            ),
          ),
        }),
      ),
    ),
  }),
});

export type MetadataRequest = ValueOf<typeof METADATA.request>;
export type MetadataResponse = InputOf<typeof METADATA.response>;
