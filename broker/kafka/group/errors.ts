import { LedgerlineError } from '../../../common';
import { KafkaErrorCode } from '../protocol';

/**
 * The Kafka error codes the group coordinator answers with (kafka.md §6), picked from the protocol's table. A
 * request the coordinator refuses is answered with one of these in its `errorCode`, never thrown: the client
 * reads it and reacts (rejoins, looks up the coordinator again, gives up).
 */
export const GroupErrorCode = {
  NONE: KafkaErrorCode.NONE,
  UNKNOWN_SERVER_ERROR: KafkaErrorCode.UNKNOWN_SERVER_ERROR,
  OFFSET_METADATA_TOO_LARGE: KafkaErrorCode.OFFSET_METADATA_TOO_LARGE,
  COORDINATOR_NOT_AVAILABLE: KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
  NOT_COORDINATOR: KafkaErrorCode.NOT_COORDINATOR,
  ILLEGAL_GENERATION: KafkaErrorCode.ILLEGAL_GENERATION,
  INCONSISTENT_GROUP_PROTOCOL: KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL,
  INVALID_GROUP_ID: KafkaErrorCode.INVALID_GROUP_ID,
  UNKNOWN_MEMBER_ID: KafkaErrorCode.UNKNOWN_MEMBER_ID,
  INVALID_SESSION_TIMEOUT: KafkaErrorCode.INVALID_SESSION_TIMEOUT,
  REBALANCE_IN_PROGRESS: KafkaErrorCode.REBALANCE_IN_PROGRESS,
  GROUP_MAX_SIZE_REACHED: KafkaErrorCode.GROUP_MAX_SIZE_REACHED,
} as const;

export type GroupErrorCode = (typeof GroupErrorCode)[keyof typeof GroupErrorCode];

/**
 * A request object the coordinator cannot even read: a field of the wrong type, a count or number that is not an
 * integer in its wire range, bytes that are not a Buffer. The codec layer never builds such an object from a
 * well-formed frame, so this is a bug or garbage, and the caller closes the connection. Never retriable.
 */
export class GroupCoordinatorError extends LedgerlineError {
  declare readonly code: 'InvalidGroupRequest';

  constructor(message: string, options: { cause?: unknown } = {}) {
    super('InvalidGroupRequest', message, options);
  }
}
