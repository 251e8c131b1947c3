import { LedgerlineError } from '../../../common';

/**
 * The Kafka error codes the group coordinator answers with (kafka.md §6). A request the coordinator refuses is
 * answered with one of these in its `errorCode`, never thrown: the client reads it and reacts (rejoins, looks up
 * the coordinator again, gives up).
 */
export const GroupErrorCode = {
  NONE: 0,
  UNKNOWN_SERVER_ERROR: -1,
  OFFSET_METADATA_TOO_LARGE: 12,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  GROUP_MAX_SIZE_REACHED: 81,
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
