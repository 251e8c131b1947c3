// Subscriptions and dispatch: consumers, the persistent subscription and its dispatchers (see README.md).
export { Consumer, DEFAULT_NEGATIVE_ACK_REDELIVERY_DELAY_MS } from './consumer';
export type { ConsumerSubscription } from './consumer';
export { DEFAULT_SUBSCRIPTION_CONFIG, SUBSCRIPTION_TYPES } from './types';
export type {
  ConsumerSink,
  DeliveredMessage,
  PeekedMessage,
  PendingAck,
  SubscribeOptions,
  SubscriptionConfig,
  SubscriptionManagedLedger,
  SubscriptionTopic,
  SubscriptionType,
} from './types';
export { PersistentSubscription } from './persistent-subscription';
export type { PersistentSubscriptionOptions } from './persistent-subscription';
export { ConsistentHashingSelector } from './key-shared-dispatcher';
export { stickyKeyHashOf } from './dispatcher';
export type { ConsumerStats, SubscriptionStats } from './subscription-stats';
export { RateMeter } from './rate-meter';
