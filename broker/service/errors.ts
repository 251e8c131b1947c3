import { LedgerlineError } from '../../common';
import { isManagedLedgerError } from '../../managed-ledger';
import { PulsarFormatError } from '../pulsar';

/**
 * The broker's error codes: Pulsar's ServerError names (as the binary protocol and the WebSocket API report them)
 * and the REST errors of its admin API, each with the HTTP status Pulsar answers with (REST, and the WebSocket
 * upgrade before it is accepted) and whether a retry may succeed.
 */
const BROKER_ERRORS = {
  TopicNotFound: { status: 404, retriable: false },
  NamespaceNotFound: { status: 404, retriable: false },
  TenantNotFound: { status: 404, retriable: false },
  SubscriptionNotFound: { status: 404, retriable: false },
  NotFound: { status: 404, retriable: false },
  ConsumerBusy: { status: 409, retriable: false },
  ProducerBusy: { status: 409, retriable: false },
  Conflict: { status: 409, retriable: false },
  /** Pulsar answers 412 to an unsubscribe while consumers are connected ("Subscription has active consumers"). */
  SubscriptionBusy: { status: 412, retriable: false },
  /** A topic delete without force while producers or consumers are connected (412, as Pulsar's REST). */
  TopicBusy: { status: 412, retriable: false },
  TopicTerminated: { status: 412, retriable: false },
  PreconditionFailed: { status: 412, retriable: false },
  NotAllowed: { status: 405, retriable: false },
  /** A partition count that is not a positive number (406, as Pulsar's REST). */
  NotAcceptable: { status: 406, retriable: false },
  InvalidTopicName: { status: 400, retriable: false },
  BadRequest: { status: 400, retriable: false },
  MessageTooLarge: { status: 400, retriable: false },
  TooManyRequests: { status: 429, retriable: true },
  /** The topic's backlog is over its namespace's quota (policies producer_request_hold / producer_exception). */
  ProducerBlockedQuotaExceededError: { status: 429, retriable: true },
  TopicFenced: { status: 503, retriable: true },
  ServiceNotReady: { status: 503, retriable: true },
  PersistenceError: { status: 500, retriable: true },
} as const satisfies Record<string, { status: number; retriable: boolean }>;

export type BrokerErrorCode = keyof typeof BROKER_ERRORS;

export const BROKER_ERROR_CODES = Object.keys(BROKER_ERRORS) as BrokerErrorCode[];

export class BrokerError extends LedgerlineError {
  declare readonly code: BrokerErrorCode;

  constructor(
    code: BrokerErrorCode,
    message: string,
    options: { cause?: unknown; retriable?: boolean } = {},
  ) {
    super(code, message, {
      retriable: options.retriable ?? BROKER_ERRORS[code].retriable,
      cause: options.cause,
    });
  }
}

export function isBrokerError(error: unknown, code?: BrokerErrorCode): error is BrokerError {
  return error instanceof BrokerError && (code === undefined || error.code === code);
}

/**
 * The HTTP status for an error raised through the broker: a BrokerError's own; a bad name or bad bytes in one of
 * Pulsar's formats 400; a managed ledger fenced by another owner or closing 503; anything else 500.
 */
export function httpStatusOf(error: unknown): number {
  if (error instanceof BrokerError) return BROKER_ERRORS[error.code].status;
  if (error instanceof PulsarFormatError) return 400;
  if (isManagedLedgerError(error)) {
    if (error.code === 'ManagedLedgerFenced' || error.code === 'ManagedLedgerAlreadyClosed') return 503;
    if (error.code === 'ManagedLedgerTerminated') return 412;
  }
  return 500;
}

/**
 * A managed-ledger (or other) error from a topic's storage, as the broker reports it: terminated → TopicTerminated,
 * fenced → TopicFenced, closed → ServiceNotReady, refused input (an entry over the ledger's frame limit) →
 * BadRequest, anything else → PersistenceError; BrokerErrors pass unchanged.
 */
export function toBrokerError(error: unknown, what: string): BrokerError {
  if (error instanceof BrokerError) return error;
  if (isManagedLedgerError(error)) {
    switch (error.code) {
      case 'ManagedLedgerTerminated':
        return new BrokerError('TopicTerminated', `${what}: the topic is terminated`, { cause: error });
      case 'ManagedLedgerFenced':
        return new BrokerError('TopicFenced', `${what}: the topic is fenced (another owner)`, {
          cause: error,
        });
      case 'ManagedLedgerAlreadyClosed':
        return new BrokerError('ServiceNotReady', `${what}: the topic is closing`, { cause: error });
      case 'InvalidArgument':
        return new BrokerError('BadRequest', `${what}: ${error.message}`, { cause: error });
    }
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new BrokerError('PersistenceError', `${what}: ${detail}`, { cause: error });
}
