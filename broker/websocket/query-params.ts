import { BrokerError } from '../service';
import { messageIdFromBase64 } from '../pulsar';
import type { MessageId } from '../pulsar';
import type { SubscriptionType } from '../service';
import type { HashingScheme, MessageRoutingMode } from './partition-router';

/**
 * The query parameters of Pulsar's WebSocket v2 endpoints (pulsar.md §4), parsed as Pulsar's handlers parse
 * them: integers as Java's parseInt (anything else is "Invalid query params", HTTP 400), booleans as
 * Boolean.parseBoolean (only "true" is true), enums by exact name. `messageRoutingMode` and `hashingScheme` pick
 * the partition of a message on a partitioned topic. Parameters that only tune Pulsar's Java client (batching,
 * compression, send timeout) are validated and otherwise have no effect here: every WebSocket message is its own
 * entry, stored uncompressed.
 */

/** Pulsar caps a WebSocket consumer's or reader's receiver queue at 1000. */
export const RECEIVER_QUEUE_SIZE_MAX = 1000;

export interface ProducerParams {
  producerName?: string;
  initialSequenceId?: bigint;
  /** Sends in flight on this connection at most; more frames wait unread (default 1000). */
  maxPendingMessages: number;
  /** How messages without a key are spread over a partitioned topic's partitions. */
  messageRoutingMode: MessageRoutingMode;
  /** How a key picks a partition. */
  hashingScheme: HashingScheme;
}

export interface ConsumerParams {
  subscriptionType: SubscriptionType;
  durable: boolean;
  /** In flight (delivered, neither acked nor nacked) at most, in push mode: receiverQueueSize capped at 1000, 0 → 1. */
  maxPendingMessages: number;
  receiverQueueSize: number;
  consumerName?: string;
  priorityLevel?: number;
  ackTimeoutMillis: number;
  negativeAckRedeliveryDelayMillis: number;
  pullMode: boolean;
  /** subscriptionInitialPosition (Latest | Earliest): where a subscription that does not exist yet starts. */
  initialPosition?: 'earliest' | 'latest';
  /**
   * Pulsar's dead-letter policy (`maxRedeliverCount`, `deadLetterTopic`): a message redelivered more than
   * maxRedeliverCount times goes to the dead-letter topic (default `<topic>-<subscription>-DLQ`) instead.
   */
  deadLetter?: { maxRedeliverCount: number; topic?: string };
}

export interface ReaderParams {
  readerName?: string;
  maxPendingMessages: number;
  receiverQueueSize: number;
  start: 'earliest' | 'latest' | MessageId;
}

function invalid(detail: string): BrokerError {
  return new BrokerError('BadRequest', `Invalid query params: ${detail}`);
}

const INT_PATTERN = /^[+-]?\d{1,10}$/;
const LONG_PATTERN = /^[+-]?\d{1,19}$/;

function intParam(query: URLSearchParams, name: string, min: number): number | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  const value = Number(text);
  if (!INT_PATTERN.test(text) || value > 2147483647 || value < -2147483648) {
    throw invalid(`${name}=${text} is not an integer`);
  }
  if (value < min) throw invalid(`${name}=${text} is below ${min}`);
  return value;
}

/** Pulsar's ConsumerBuilder takes an ack timeout of 0 (none) or at least 1000 ms; less is a bad parameter. */
const ACK_TIMEOUT_MIN_MS = 1000;

function ackTimeoutParam(query: URLSearchParams): number {
  const value = intParam(query, 'ackTimeoutMillis', 0) ?? 0;
  if (value !== 0 && value < ACK_TIMEOUT_MIN_MS) {
    throw invalid(`ackTimeoutMillis=${value}: Ack timeout should be greater than ${ACK_TIMEOUT_MIN_MS} ms`);
  }
  return value;
}

function longParam(query: URLSearchParams, name: string): bigint | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  const value = LONG_PATTERN.test(text) ? BigInt(text) : undefined;
  if (value === undefined || value > 9223372036854775807n || value < -9223372036854775808n) {
    throw invalid(`${name}=${text} is not a long`);
  }
  return value;
}

function boolParam(query: URLSearchParams, name: string): boolean {
  return query.get(name)?.toLowerCase() === 'true';
}

function enumParam<T extends string>(
  query: URLSearchParams,
  name: string,
  values: readonly T[],
): T | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  if (!(values as readonly string[]).includes(text)) {
    throw invalid(`${name}=${text} is not one of ${values.join(', ')}`);
  }
  return text as T;
}

function stringParam(query: URLSearchParams, name: string): string | undefined {
  const text = query.get(name);
  return text === null || text === '' ? undefined : text;
}

/** The Java client's knobs: checked for well-formedness so a typo is a 400, as in Pulsar. */
function checkClientTuning(query: URLSearchParams): void {
  intParam(query, 'sendTimeoutMillis', 0);
  intParam(query, 'batchingMaxMessages', 0);
  intParam(query, 'batchingMaxPublishDelay', 0);
  enumParam(query, 'compressionType', ['NONE', 'LZ4', 'ZLIB', 'ZSTD', 'SNAPPY']);
}

export function parseProducerParams(query: URLSearchParams): ProducerParams {
  checkClientTuning(query);
  const mode = enumParam(query, 'messageRoutingMode', [
    'SinglePartition',
    'RoundRobinPartition',
    'CustomPartition',
  ] as const);
  const params: ProducerParams = {
    maxPendingMessages: intParam(query, 'maxPendingMessages', 0) || 1000,
    // CustomPartition names a router class of the client: the proxy has none, Pulsar's default applies.
    messageRoutingMode: mode === 'SinglePartition' ? mode : 'RoundRobinPartition',
    hashingScheme:
      enumParam(query, 'hashingScheme', ['JavaStringHash', 'Murmur3_32Hash'] as const) ?? 'JavaStringHash',
  };
  const producerName = stringParam(query, 'producerName');
  if (producerName !== undefined) params.producerName = producerName;
  const initialSequenceId = longParam(query, 'initialSequenceId');
  if (initialSequenceId !== undefined) params.initialSequenceId = initialSequenceId;
  return params;
}

function receiverQueue(query: URLSearchParams): { receiverQueueSize: number; maxPendingMessages: number } {
  const receiverQueueSize = Math.min(
    intParam(query, 'receiverQueueSize', 0) ?? 1000,
    RECEIVER_QUEUE_SIZE_MAX,
  );
  return { receiverQueueSize, maxPendingMessages: receiverQueueSize === 0 ? 1 : receiverQueueSize };
}

export function parseConsumerParams(query: URLSearchParams): ConsumerParams {
  const maxRedeliverCount = intParam(query, 'maxRedeliverCount', 0);
  const deadLetterTopic = stringParam(query, 'deadLetterTopic');
  // As Pulsar's ConsumerBuilder: a dead-letter policy needs maxRedeliverCount > 0.
  if ((maxRedeliverCount !== undefined || deadLetterTopic !== undefined) && !((maxRedeliverCount ?? 0) > 0)) {
    throw invalid('maxRedeliverCount must be > 0 for a dead-letter policy');
  }
  const subscriptionMode = enumParam(query, 'subscriptionMode', ['Durable', 'NonDurable']) ?? 'Durable';
  const params: ConsumerParams = {
    subscriptionType:
      enumParam(query, 'subscriptionType', ['Exclusive', 'Failover', 'Shared', 'Key_Shared'] as const) ??
      'Exclusive',
    durable: subscriptionMode === 'Durable',
    ...receiverQueue(query),
    ackTimeoutMillis: ackTimeoutParam(query),
    negativeAckRedeliveryDelayMillis: intParam(query, 'negativeAckRedeliveryDelay', 0) ?? 60000,
    pullMode: boolParam(query, 'pullMode'),
  };
  if (maxRedeliverCount !== undefined) {
    params.deadLetter =
      deadLetterTopic === undefined ? { maxRedeliverCount } : { maxRedeliverCount, topic: deadLetterTopic };
  }
  const initialPosition = enumParam(query, 'subscriptionInitialPosition', ['Latest', 'Earliest'] as const);
  if (initialPosition !== undefined)
    params.initialPosition = initialPosition === 'Earliest' ? 'earliest' : 'latest';
  const consumerName = stringParam(query, 'consumerName');
  if (consumerName !== undefined) params.consumerName = consumerName;
  const priorityLevel = intParam(query, 'priorityLevel', 0);
  if (priorityLevel !== undefined) params.priorityLevel = priorityLevel;
  return params;
}

export function parseReaderParams(query: URLSearchParams): ReaderParams {
  const messageId = query.get('messageId') ?? 'latest';
  let start: ReaderParams['start'];
  if (messageId === 'earliest' || messageId === 'latest') {
    start = messageId;
  } else {
    try {
      start = messageIdFromBase64(messageId);
    } catch (error) {
      throw new BrokerError(
        'BadRequest',
        `Invalid query params: messageId=${messageId} is not a message id`,
        {
          cause: error,
        },
      );
    }
  }
  const params: ReaderParams = { ...receiverQueue(query), start };
  const readerName = stringParam(query, 'readerName');
  if (readerName !== undefined) params.readerName = readerName;
  return params;
}
