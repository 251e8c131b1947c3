import { ApiKey, defineApi } from '../api-keys';
import { INT16, INT32, INT64, RECORDS, STRING, array, field, nullable, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';

/**
 * Produce (0), version 3 (the first to carry magic-2 record batches).
 *
 *   request  v3: transactional_id nullable STRING, acks INT16, timeout_ms INT32,
 *                topic_data[name, partition_data[index, records RECORDS]]
 *   response v3: responses[name, partition_responses[index, error_code, base_offset INT64,
 *                log_append_time_ms INT64 (-1 for CreateTime)]], throttle_time_ms (last)
 *
 * acks=0 requests get no response at all: the server must not encode one.
 */
export const PRODUCE = defineApi({
  apiKey: ApiKey.Produce,
  name: 'Produce',
  versions: '3',
  request: struct({
    transactionalId: field(nullable(STRING, '0+')),
    acks: field(INT16),
    timeoutMs: field(INT32),
    topicData: field(
      array(
        struct({
          name: field(STRING),
          partitionData: field(array(struct({ index: field(INT32), records: field(RECORDS) }))),
        }),
      ),
    ),
  }),
  response: struct({
    responses: field(
      array(
        struct({
          name: field(STRING),
          partitionResponses: field(
            array(
              struct({
                index: field(INT32),
                errorCode: field(INT16, { default: 0 }),
                baseOffset: field(INT64),
                logAppendTimeMs: field(INT64, { default: -1n }),
              }),
            ),
          ),
        }),
      ),
    ),
    throttleTimeMs: field(INT32, { default: 0 }),
  }),
});

export type ProduceRequest = ValueOf<typeof PRODUCE.request>;
export type ProduceResponse = InputOf<typeof PRODUCE.response>;
