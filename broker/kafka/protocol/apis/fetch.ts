import { ApiKey, defineApi } from '../api-keys';
import { INT8, INT16, INT32, INT64, RECORDS, STRING, array, field, nullable, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';

/**
 * Fetch (1), version 4 (the first with isolation_level and transactions' fields).
 *
 *   request  v4: replica_id INT32 (-1), max_wait_ms INT32, min_bytes INT32, max_bytes INT32, isolation_level INT8,
 *                topics[topic, partitions[partition, fetch_offset INT64, partition_max_bytes INT32]]
 *   response v4: throttle_time_ms, responses[topic, partitions[partition_index, error_code, high_watermark INT64,
 *                last_stable_offset INT64, aborted_transactions nullable [producer_id INT64, first_offset INT64],
 *                records RECORDS]]
 */
export const FETCH = defineApi({
  apiKey: ApiKey.Fetch,
  name: 'Fetch',
  versions: '4',
  request: struct({
    replicaId: field(INT32),
    maxWaitMs: field(INT32),
    minBytes: field(INT32),
    maxBytes: field(INT32),
    isolationLevel: field(INT8),
    topics: field(
      array(
        struct({
          topic: field(STRING),
          partitions: field(
            array(
              struct({ partition: field(INT32), fetchOffset: field(INT64), partitionMaxBytes: field(INT32) }),
            ),
          ),
        }),
      ),
    ),
  }),
  response: struct({
    throttleTimeMs: field(INT32, { default: 0 }),
    responses: field(
      array(
        struct({
          topic: field(STRING),
          partitions: field(
            array(
              struct({
                partitionIndex: field(INT32),
                errorCode: field(INT16, { default: 0 }),
                highWatermark: field(INT64),
                lastStableOffset: field(INT64),
                abortedTransactions: field(
                  nullable(array(struct({ producerId: field(INT64), firstOffset: field(INT64) })), '0+'),
                  { default: null },
                ),
                records: field(RECORDS),
              }),
            ),
          ),
        }),
      ),
    ),
  }),
});

export type FetchRequest = ValueOf<typeof FETCH.request>;
export type FetchResponse = InputOf<typeof FETCH.response>;
