import { STRING, array, field, struct } from '../schema';
import type { Field } from '../schema';

/**
 * The `topics[name, partitions[...]]` nesting that ListOffsets, OffsetCommit and OffsetFetch share: an array of
 * topics, each with its name and an array of per-partition structs of the fields given.
 */
export function topicPartitions<F extends Record<string, Field<unknown, unknown, boolean>>>(
  partitionFields: F,
) {
  return array(struct({ name: field(STRING), partitions: field(array(struct(partitionFields))) }));
}
