import type { Logger } from '../../../common';
import { isManagedLedgerError } from '../../../managed-ledger';
import { isBrokerError } from '../../service';
import { KafkaErrorCode } from '../protocol';
import { KafkaRecordError } from '../record';
import { KafkaTopicError } from './kafka-topics';

/**
 * The Kafka error code for a failure of a topic operation (kafka.md §6): a missing topic or namespace is
 * UNKNOWN_TOPIC_OR_PARTITION; a topic closing, fenced or not ready is NOT_LEADER_OR_FOLLOWER (clients refresh
 * Metadata and retry); a bookie write failure NOT_ENOUGH_REPLICAS (retriable); a batch's own faults the record
 * errors' codes. Anything else is UNKNOWN_SERVER_ERROR (and is logged by the caller).
 */
export function kafkaErrorCodeOf(error: unknown): number {
  if (error instanceof KafkaTopicError) return error.errorCode;
  if (error instanceof KafkaRecordError) {
    switch (error.code) {
      case 'UnsupportedMagic':
        return KafkaErrorCode.INVALID_RECORD;
      case 'UnsupportedCompression':
        return KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE;
      case 'DecompressedTooLarge':
        return KafkaErrorCode.MESSAGE_TOO_LARGE;
      default:
        return KafkaErrorCode.CORRUPT_MESSAGE;
    }
  }
  if (isBrokerError(error)) {
    switch (error.code) {
      case 'TopicNotFound':
      case 'NamespaceNotFound':
        return KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      case 'InvalidTopicName':
      case 'PreconditionFailed':
        return KafkaErrorCode.INVALID_TOPIC_EXCEPTION;
      case 'MessageTooLarge':
        return KafkaErrorCode.MESSAGE_TOO_LARGE;
      case 'Conflict':
        return KafkaErrorCode.TOPIC_ALREADY_EXISTS;
      case 'NotAcceptable':
        return KafkaErrorCode.INVALID_PARTITIONS;
      case 'ServiceNotReady':
      case 'TopicFenced':
        return KafkaErrorCode.NOT_LEADER_OR_FOLLOWER;
      case 'PersistenceError':
        return KafkaErrorCode.NOT_ENOUGH_REPLICAS;
      default:
        return KafkaErrorCode.UNKNOWN_SERVER_ERROR;
    }
  }
  if (
    isManagedLedgerError(error, 'ManagedLedgerFenced') ||
    isManagedLedgerError(error, 'ManagedLedgerAlreadyClosed')
  ) {
    return KafkaErrorCode.NOT_LEADER_OR_FOLLOWER;
  }
  return KafkaErrorCode.UNKNOWN_SERVER_ERROR;
}

/**
 * kafkaErrorCodeOf, logging the failures that are not the client's (UNKNOWN_SERVER_ERROR) as warnings with what
 * was being done; the others are answers, not faults, and go to debug.
 */
export function answerError(
  logger: Logger,
  error: unknown,
  fields: Record<string, unknown>,
  message: string,
): number {
  const errorCode = kafkaErrorCodeOf(error);
  if (errorCode === KafkaErrorCode.UNKNOWN_SERVER_ERROR) logger.warn({ err: error, ...fields }, message);
  else logger.debug({ err: error, errorCode, ...fields }, message);
  return errorCode;
}
