import type { z } from 'zod';
import { setting } from '../../common';
import { managedLedgerConfigSchema } from '../../managed-ledger';

/**
 * conf/broker.conf: the broker's settings with Pulsar's key names and defaults, plus every managed-ledger key
 * (managedLedgerConfigSchema: ensemble/quorums, rollover, retention defaults, cursor persistence) which become the
 * defaults of every topic's managed ledger. Values arrive as strings (`loadConfig`); programs get typed values.
 */
export const brokerConfigSchema = managedLedgerConfigSchema.extend({
  /** The cluster this broker belongs to; created in the metadata store at start if absent. */
  clusterName: setting.string('standalone'),
  /** Where the metadata lives: `etcd://host:port[,host:port]/scope` or `rocksdb://<dir>` (embedded). */
  metadataServiceUri: setting.string('etcd://127.0.0.1:2379/ledgers'),
  /** The HTTP port: admin REST, /metrics, /lookup and the WebSocket API (0: a free port). */
  webServicePort: setting.port(8080),
  bindAddress: setting.string('0.0.0.0'),
  /** The host name clients are told to use (lookup answers); empty: the bind address, or localhost. */
  advertisedAddress: setting.string(''),
  /** A producer or consumer on a topic that does not exist creates it (as allowAutoTopicCreationType says). */
  allowAutoTopicCreation: setting.boolean(true),
  /** What auto-creation creates: `non-partitioned` topics, or `partitioned` ones with defaultNumPartitions. */
  allowAutoTopicCreationType: setting.oneOf(['non-partitioned', 'partitioned'] as const, 'non-partitioned'),
  /** The partition count of a partitioned topic created by auto-creation. */
  defaultNumPartitions: setting.integer(1, { min: 1 }),
  /** Producer deduplication for namespaces that do not set it themselves. */
  brokerDeduplicationEnabled: setting.boolean(false),
  /** Deduplication state is snapshotted on the 'pulsar.dedup' cursor every this many entries. */
  brokerDeduplicationEntriesInterval: setting.integer(1000, { min: 1 }),
  /** Producers whose deduplication state is remembered per topic (the oldest are forgotten beyond it). */
  brokerDeduplicationMaxNumberOfProducers: setting.integer(10000, { min: 1 }),
  /** Seconds between deduplication snapshots of an otherwise idle topic. */
  brokerDeduplicationSnapshotIntervalSeconds: setting.integer(120, { min: 1 }),
  /** The largest message (payload plus metadata), in bytes. */
  maxMessageSize: setting.integer(5 * 1024 * 1024, { min: 1024 }),
  /** Sends of one connection awaiting persistence before the connection is paused. */
  maxPendingPublishRequestsPerConnection: setting.integer(1000, { min: 1 }),
  /** Shared/Key_Shared: a consumer with this many unacknowledged messages gets no more (0: no limit). */
  maxUnackedMessagesPerConsumer: setting.integer(50000, { min: 0 }),
  /** Shared/Key_Shared: a subscription with this many unacknowledged messages is paused (0: no limit). */
  maxUnackedMessagesPerSubscription: setting.integer(200000, { min: 0 }),
  /** The most entries one dispatcher read asks for. */
  dispatcherMaxReadBatchSize: setting.integer(100, { min: 1 }),
  /** Shared: the most entries one consumer gets per round-robin turn. */
  dispatcherMaxRoundRobinBatchSize: setting.integer(20, { min: 1 }),
  /** Failover: how long after a switch of the active consumer the cursor is rewound to the first unacked. */
  activeConsumerFailoverDelayTimeMillis: setting.integer(1000, { min: 0 }),
  /** The largest WebSocket text frame accepted (a send frame carries its payload in base64). */
  webSocketMaxTextFrameSize: setting.integer(1048576, { min: 1024 }),
  /**
   * The Kafka listener (KoP's kafkaListeners): `PLAINTEXT://host:port`, the address it binds (port 0: a free
   * port); empty: no Kafka listener. One listener; PLAINTEXT only.
   */
  kafkaListeners: setting.string(''),
  /**
   * What Metadata and FindCoordinator tell Kafka clients to connect to: `PLAINTEXT://host:port`. Empty: the
   * listener, with a wildcard host (0.0.0.0, ::) replaced by advertisedAddress or 127.0.0.1, and the port bound.
   */
  kafkaAdvertisedListeners: setting.string(''),
  /** Kafka topic `t` is `persistent://<kafkaTenant>/<kafkaNamespace>/t`. */
  kafkaTenant: setting.string('public'),
  kafkaNamespace: setting.string('default'),
  /**
   * The retention the Kafka namespace gets when the listener starts and it has none of its own: Kafka keeps a
   * topic's data for log.retention.hours (168) whether or not anyone consumed it, while Pulsar's default (0) lets
   * data nobody subscribed to go at the next trim. -1 = keep forever. An explicit namespace retention is left as
   * it is.
   */
  kafkaRetentionTimeInMinutes: setting.integer(10080, { min: -1 }),
  /** Kafka's log.retention.bytes (-1: no size limit), for the same namespace; in MB. */
  kafkaRetentionSizeInMB: setting.integer(-1, { min: -1 }),
});

export type BrokerConfig = z.infer<typeof brokerConfigSchema>;

/** Defaults for every key, overridden by `overrides` (typed values, as a program or a test passes them). */
export function brokerConfig(overrides: Partial<BrokerConfig> = {}): BrokerConfig {
  return { ...brokerConfigSchema.parse({}), ...overrides };
}
