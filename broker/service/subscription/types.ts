// Types shared by the consumer, the subscription and the dispatchers (a leaf: no file of this folder is imported).
import type { ManagedLedger, Position } from '../../../managed-ledger';
import type { MessageId, ParsedEntry, TopicName } from '../../pulsar';

/**
 * What a transport (the WebSocket endpoint, later Kafka or the binary protocol) implements to receive a consumer's
 * messages. Calls never block and never throw back into the dispatcher: flow control is the permits.
 */
export interface ConsumerSink {
  /** Messages for this consumer, in dispatch order. */
  sendMessages(messages: DeliveredMessage[]): void;
  /** The broker ends this consumer (unsubscribed, subscription or topic deleted, broker closing). */
  close(reason: string): void;
  /** The topic is terminated and this consumer's subscription has read everything. */
  reachedEndOfTopic(): void;
  /** Exclusive/Failover: this consumer became (true) or stopped being (false) the active one. */
  activeConsumerChanged?(active: boolean): void;
}

/** One message handed to a consumer: its id, position, how often it was redelivered, and the stored entry. */
export interface DeliveredMessage {
  messageId: MessageId;
  position: Position;
  redeliveryCount: number;
  entry: ParsedEntry;
  /** The stored entry bytes (broker entry metadata, message metadata, payload). */
  data: Buffer;
}

export type SubscriptionType = 'Exclusive' | 'Failover' | 'Shared' | 'Key_Shared';

export const SUBSCRIPTION_TYPES: readonly SubscriptionType[] = [
  'Exclusive',
  'Failover',
  'Shared',
  'Key_Shared',
];

export interface SubscribeOptions {
  subscription: string;
  subscriptionType: SubscriptionType;
  /** Generated (5 random characters, as Pulsar's client does) when absent. */
  consumerName?: string;
  /** Default true; false makes a non-durable (reader) subscription, removed when its last consumer leaves. */
  durable?: boolean;
  /** Where a new subscription starts; default 'latest'. */
  initialPosition?: 'earliest' | 'latest';
  /** Non-durable subscriptions: read after this message (Pulsar's reader startMessageId, exclusive). */
  startMessageId?: MessageId;
  /** Lower is preferred (Failover's active consumer, Shared's first served); default 0. */
  priorityLevel?: number;
  receiverQueueSize?: number;
  /** > 0: messages unacknowledged this long are redelivered. */
  ackTimeoutMillis?: number;
  /** Delay before negatively acknowledged messages are redelivered; default 60000 (Pulsar's client). */
  negativeAckRedeliveryDelayMillis?: number;
  readCompacted?: never;
  /** For stats only: where the consumer connects from and its client. */
  address?: string;
  clientVersion?: string;
  metadata?: Record<string, string>;
}

/** A message delivered to a consumer and not acknowledged yet (Pulsar's pendingAcks entry). */
export interface PendingAck {
  readonly position: Position;
  /** Messages in the entry (a batch counts its messages). */
  readonly numMessages: number;
  /** Key_Shared's sticky key hash, -1 otherwise. */
  readonly stickyKeyHash: number;
  readonly sentAtMs: number;
}

/** The broker.conf settings dispatch uses (BrokerConfig has them all, under these names). */
export interface SubscriptionConfig {
  dispatcherMaxReadBatchSize: number;
  dispatcherMaxRoundRobinBatchSize: number;
  /** Shared/Key_Shared: a consumer with this many unacknowledged messages gets nothing until half (0: no limit). */
  maxUnackedMessagesPerConsumer: number;
  /** Shared/Key_Shared: the same for the whole subscription. */
  maxUnackedMessagesPerSubscription: number;
  activeConsumerFailoverDelayTimeMillis: number;
}

/** Pulsar's defaults. */
export const DEFAULT_SUBSCRIPTION_CONFIG: Readonly<SubscriptionConfig> = Object.freeze({
  dispatcherMaxReadBatchSize: 100,
  dispatcherMaxRoundRobinBatchSize: 20,
  maxUnackedMessagesPerConsumer: 50_000,
  maxUnackedMessagesPerSubscription: 200_000,
  activeConsumerFailoverDelayTimeMillis: 1000,
});

/** What a subscription uses of its topic's managed ledger. */
export type SubscriptionManagedLedger = Pick<
  ManagedLedger,
  | 'readEntries'
  | 'isTerminated'
  | 'getLastConfirmedEntry'
  | 'deleteCursor'
  | 'newNonDurableCursor'
  | 'getTotalSize'
  | 'getNumberOfEntries'
  | 'getPreviousPosition'
>;

/** What a subscription needs of its topic (PersistentTopic implements it). */
export interface SubscriptionTopic {
  readonly name: TopicName;
  readonly managedLedger: SubscriptionManagedLedger;
  /** Deletes the subscription (SubscriptionBusy while consumers are attached). */
  unsubscribe(subscription: string): Promise<void>;
  /** Messages and bytes dispatched (for the topic's metrics). */
  recordDelivered?(messages: number, bytes: number): void;
  /** The subscription deleted itself (forced delete, or a non-durable one whose last consumer left). */
  onSubscriptionDeleted?(subscription: { readonly name: string }): void;
}

export interface PeekedMessage {
  messageId: MessageId;
  entry: ParsedEntry;
  data: Buffer;
}
