import type { SubscriptionType } from './types';

/** A consumer in a subscription's stats, with Pulsar's JSON field names (ConsumerStatsImpl). */
export interface ConsumerStats {
  consumerName: string;
  msgRateOut: number;
  msgThroughputOut: number;
  bytesOutCounter: number;
  msgOutCounter: number;
  msgRateRedeliver: number;
  availablePermits: number;
  unackedMessages: number;
  avgMessagesPerEntry: number;
  blockedConsumerOnUnackedMsgs: boolean;
  readPositionWhenJoining: string;
  lastAckedTimestamp: number;
  lastConsumedTimestamp: number;
  lastConsumedFlowTimestamp: number;
  lastAckedTime: string;
  lastConsumedTime: string;
  address: string;
  connectedSince: string;
  clientVersion: string;
  priorityLevel: number;
  keyHashRanges?: string[];
  metadata: Record<string, string>;
}

/** A subscription in a topic's stats, with Pulsar's JSON field names (SubscriptionStatsImpl). */
export interface SubscriptionStats {
  msgRateOut: number;
  msgThroughputOut: number;
  bytesOutCounter: number;
  msgOutCounter: number;
  msgRateRedeliver: number;
  msgBacklog: number;
  msgBacklogNoDelayed: number;
  backlogSize: number;
  unackedMessages: number;
  blockedSubscriptionOnUnackedMsgs: boolean;
  msgDelayed: number;
  type: SubscriptionType | 'None';
  activeConsumerName?: string;
  msgRateExpired: number;
  totalMsgExpired: number;
  lastExpireTimestamp: number;
  lastConsumedFlowTimestamp: number;
  lastConsumedTimestamp: number;
  lastAckedTimestamp: number;
  lastMarkDeleteAdvancedTimestamp: number;
  consumers: ConsumerStats[];
  /** Pulsar's Jackson output names these two `isDurable` and `isReplicated`; `durable`/`replicated` are kept too. */
  isDurable: boolean;
  isReplicated: boolean;
  durable: boolean;
  replicated: boolean;
  allowOutOfOrderDelivery: boolean;
  keySharedMode?: 'AUTO_SPLIT';
  nonContiguousDeletedMessagesRanges: number;
  nonContiguousDeletedMessagesRangesSerializedSize: number;
  subscriptionProperties: Record<string, string>;
}
