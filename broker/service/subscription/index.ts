// Subscriptions and dispatch: consumers, the persistent subscription and its dispatchers (see README.md).
export { Consumer, DEFAULT_NEGATIVE_ACK_REDELIVERY_DELAY_MS, SUBSCRIPTION_TYPES } from './consumer';
export type {
  ConsumerSink,
  DeliveredMessage,
  PendingAck,
  SubscribeOptions,
  SubscriptionType,
} from './consumer';
export { PersistentSubscription, DEFAULT_SUBSCRIPTION_CONFIG } from './persistent-subscription';
export type {
  PeekedMessage,
  PersistentSubscriptionOptions,
  SubscriptionConfig,
  SubscriptionManagedLedger,
  SubscriptionTopic,
} from './persistent-subscription';
export { ConsistentHashingSelector } from './key-shared-dispatcher';
export { stickyKeyHashOf } from './dispatcher';
export type { ConsumerStats, SubscriptionStats } from './subscription-stats';
export { RateMeter } from './rate-meter';
