import type { Logger } from '../../common';
import { MANAGED_LEDGERS_ROOT } from '../../managed-ledger';
import type { ManagedLedgerFactory } from '../../managed-ledger';
import { BadVersionError } from '../../metadata';
import type { MetadataStore } from '../../metadata';
import { PulsarFormatError, TopicName } from '../pulsar';
import type { BrokerConfig } from './broker-config';
import { BrokerError, toBrokerError } from './errors';
import type { BrokerMetrics, TopicMetricsSample, TopicMetricsSource } from './metrics';
import { DESTINATION_STORAGE, MESSAGE_AGE, NamespaceStore } from './namespace-store';
import type { Policies } from './namespace-store';
import { PartitionedTopicStore, listTopicNodes } from './partitioned-topic-store';
import { MessageIndex, PersistentTopic } from './persistent-topic';
import type { TopicHost } from './persistent-topic';

export interface BrokerServiceOptions {
  factory: ManagedLedgerFactory;
  store: MetadataStore;
  config: BrokerConfig;
  logger: Logger;
  metrics?: BrokerMetrics;
}

/** The node whose version numbers this broker's runs (Pulsar's DistributedIdGenerator for producer names). */
const PRODUCER_NAME_COUNTER = '/counters/producer-name';
const COUNTER_ATTEMPTS = 20;
/** Pulsar refuses partitioned topics whose name contains this (TopicName.PARTITIONED_TOPIC_SUFFIX). */
const PARTITION_INFIX = '-partition-';

type ServiceState = 'New' | 'Started' | 'Closing' | 'Closed';

/**
 * The topics of one broker (Pulsar's BrokerService): loads each topic once — its managed ledger opened with the
 * namespace's retention, its running index and subscriptions recovered — auto-creating topics when allowed;
 * lists and deletes them; closes them all on close(). Tenants and namespaces live in `namespaces`.
 */
export class BrokerService implements TopicHost, TopicMetricsSource {
  readonly namespaces: NamespaceStore;
  readonly partitionedTopics: PartitionedTopicStore;
  readonly config: BrokerConfig;
  private readonly factory: ManagedLedgerFactory;
  private readonly store: MetadataStore;
  private readonly logger: Logger;
  /** Every topic being loaded or loaded, by full name. */
  private readonly topics = new Map<string, Promise<PersistentTopic>>();
  /** The loaded ones. */
  private readonly loaded = new Map<string, PersistentTopic>();
  private state: ServiceState = 'New';
  private closing: Promise<void> | undefined;
  private producerNamePrefix: string;
  private producerNameCounter = 0;

  constructor(options: BrokerServiceOptions) {
    this.factory = options.factory;
    this.store = options.store;
    this.config = options.config;
    this.logger = options.logger.child({ component: 'broker-service' });
    this.namespaces = new NamespaceStore(options.store, this.logger);
    this.partitionedTopics = new PartitionedTopicStore(options.store, this.logger);
    this.producerNamePrefix = `${this.config.clusterName}-0`;
    options.metrics?.bind(this);
    this.namespaces.onPoliciesChanged((namespace, policies) => this.policiesChanged(namespace, policies));
  }

  /**
   * Creates what a fresh cluster needs if absent (Pulsar's standalone does the same): the cluster, tenant `public`
   * and namespace `public/default`; and takes this run's producer-name prefix.
   */
  async start(): Promise<void> {
    if (this.state !== 'New') throw new Error('BrokerService.start called twice');
    const cluster = this.config.clusterName;
    const host = this.config.advertisedAddress || 'localhost';
    await this.namespaces.createClusterIfAbsent(cluster, {
      serviceUrl: `http://${host}:${this.config.webServicePort}`,
    });
    await this.namespaces.createTenantIfAbsent('public', { adminRoles: [], allowedClusters: [cluster] });
    await this.namespaces.createNamespaceIfAbsent('public/default');
    this.producerNamePrefix = `${cluster}-${await this.nextRunId()}`;
    this.state = 'Started';
    this.logger.info(
      { clusterName: cluster, producerNamePrefix: this.producerNamePrefix },
      'broker service started',
    );
  }

  /**
   * The topic, loaded once per name. A topic that does not exist is created when `createIfMissing` (default:
   * allowAutoTopicCreation), else TopicNotFound; its namespace must exist (NamespaceNotFound).
   */
  async getTopic(
    name: string | TopicName,
    options: { createIfMissing?: boolean } = {},
  ): Promise<PersistentTopic> {
    const topicName = parseTopicName(name);
    this.checkStarted(`load topic ${topicName.toString()}`);
    if (!topicName.isPersistent) {
      throw new BrokerError('NotAllowed', `Non-persistent topics are not supported: ${topicName.toString()}`);
    }
    const key = topicName.toString();
    for (;;) {
      let loading = this.topics.get(key);
      if (loading === undefined) {
        const createIfMissing = options.createIfMissing ?? this.config.allowAutoTopicCreation;
        loading = this.loadTopic(topicName, createIfMissing);
        this.topics.set(key, loading);
        const started = loading;
        started.catch(() => {
          if (this.topics.get(key) === started) this.topics.delete(key);
        });
      }
      const topic = await loading;
      if (!topic.isClosed()) return topic;
      // Closed or deleted meanwhile: it has left the map (topicClosed); load it again.
      if (this.topics.get(key) === loading) this.topics.delete(key);
      this.checkStarted(`load topic ${key}`);
    }
  }

  getTopicIfLoaded(name: string | TopicName): PersistentTopic | undefined {
    const key = typeof name === 'string' ? safeKey(name) : name.toString();
    return key === undefined ? undefined : this.loaded.get(key);
  }

  getLoadedTopics(): PersistentTopic[] {
    return [...this.loaded.values()];
  }

  /** Full names of the namespace's persistent topics: one per managed ledger in the store. */
  async listTopics(namespace: string): Promise<string[]> {
    return listTopicNodes(this.store, MANAGED_LEDGERS_ROOT, namespace, this.logger);
  }

  /** Deletes the topic with its subscriptions and data; TopicBusy while it has producers or consumers, unless force. */
  async deleteTopic(name: string | TopicName, force: boolean): Promise<void> {
    const topic = await this.getTopic(name, { createIfMissing: false });
    if (!force && topic.hasClients()) {
      throw new BrokerError('TopicBusy', `Topic ${topic.name.toString()} has active producers/subscriptions`);
    }
    await topic.delete();
  }

  // ---- partitioned topics: metadata `{"partitions": N}` + N ordinary topics `<name>-partition-<i>` ----

  /** The partition count of a topic: 0 when it is not partitioned (Pulsar's PartitionedTopicMetadata). */
  async getPartitionCount(name: string | TopicName): Promise<number> {
    const topicName = parseTopicName(name);
    return (await this.partitionedTopics.get(topicName))?.partitions ?? 0;
  }

  /**
   * The partition count a client connecting to `name` works with (Pulsar's
   * fetchPartitionedTopicMetadataCheckAllowAutoCreation): the partitioned topic's; else, when no topic of that
   * name exists, auto-creation is allowed and allowAutoTopicCreationType is `partitioned`, a partitioned topic with
   * defaultNumPartitions partitions is created first; else 0 (the topic is or becomes a non-partitioned one).
   */
  async getPartitionCountForClient(name: string | TopicName): Promise<number> {
    const topicName = parseTopicName(name);
    const count = await this.getPartitionCount(topicName);
    if (
      count > 0 ||
      !this.config.allowAutoTopicCreation ||
      this.config.allowAutoTopicCreationType !== 'partitioned' ||
      !topicName.isPersistent ||
      topicName.localName.includes(PARTITION_INFIX) ||
      this.loaded.has(topicName.toString()) ||
      (await this.factory.getManagedLedgerInfo(topicName.persistenceName)) !== undefined
    ) {
      return count;
    }
    try {
      await this.createPartitionedTopic(topicName, this.config.defaultNumPartitions);
    } catch (error) {
      // Another client created it first (or a non-partitioned topic appeared): what is there now counts.
      if (!(error instanceof BrokerError && error.code === 'Conflict')) throw error;
    }
    return this.getPartitionCount(topicName);
  }

  /**
   * Creates a partitioned topic with `partitions` (>= 1) partitions and each partition's topic. Refused when the
   * name is a partition's name (412), when a non-partitioned topic of that name exists or the partitioned topic
   * does (409), as Pulsar's REST does.
   */
  async createPartitionedTopic(name: string | TopicName, partitions: number): Promise<void> {
    const topicName = this.checkPartitionedName(name, partitions);
    this.checkStarted(`create partitioned topic ${topicName.toString()}`);
    await this.namespaces.getPolicies(topicName.namespace);
    if ((await this.factory.getManagedLedgerInfo(topicName.persistenceName)) !== undefined) {
      throw new BrokerError('Conflict', `This topic already exists: ${topicName.toString()}`);
    }
    await this.partitionedTopics.create(topicName, partitions);
    await this.createPartitions(topicName, 0, partitions);
  }

  /** Grows a partitioned topic to `partitions` (more than now, else Conflict) and creates the new partitions. */
  async updatePartitionedTopic(name: string | TopicName, partitions: number): Promise<void> {
    const topicName = this.checkPartitionedName(name, partitions);
    this.checkStarted(`update partitioned topic ${topicName.toString()}`);
    const before = await this.partitionedTopics.grow(topicName, partitions);
    await this.createPartitions(topicName, before, partitions);
  }

  /**
   * Deletes every partition's topic, then the metadata. Unless `force`, refused (TopicBusy, 412) while any
   * partition has producers or consumers, checked on all of them before anything is deleted.
   */
  async deletePartitionedTopic(name: string | TopicName, force: boolean): Promise<void> {
    const topicName = parseTopicName(name);
    this.checkStarted(`delete partitioned topic ${topicName.toString()}`);
    const metadata = await this.partitionedTopics.get(topicName);
    if (metadata === undefined) {
      throw new BrokerError('TopicNotFound', `Partitioned topic does not exist: ${topicName.toString()}`);
    }
    const partitions: PersistentTopic[] = [];
    for (let i = 0; i < metadata.partitions; i++) {
      const partition = await this.getTopic(topicName.partition(i), { createIfMissing: false }).catch(
        (error: unknown) => {
          if (error instanceof BrokerError && error.code === 'TopicNotFound') return undefined;
          throw error;
        },
      );
      if (partition === undefined) continue;
      if (!force && partition.hasClients()) {
        throw new BrokerError(
          'TopicBusy',
          `Topic ${partition.name.toString()} has active producers/subscriptions`,
        );
      }
      partitions.push(partition);
    }
    for (const partition of partitions) await partition.delete();
    await this.partitionedTopics.delete(topicName);
  }

  /** Full names of the namespace's partitioned topics. */
  async listPartitionedTopics(namespace: string): Promise<string[]> {
    return this.partitionedTopics.list(namespace);
  }

  private checkPartitionedName(name: string | TopicName, partitions: number): TopicName {
    const topicName = parseTopicName(name);
    if (!topicName.isPersistent) {
      throw new BrokerError('NotAllowed', `Non-persistent topics are not supported: ${topicName.toString()}`);
    }
    if (topicName.localName.includes(PARTITION_INFIX)) {
      throw new BrokerError('PreconditionFailed', "Partitioned Topic Name should not contain '-partition-'");
    }
    if (!Number.isSafeInteger(partitions) || partitions <= 0) {
      throw new BrokerError('NotAcceptable', 'Number of partitions should be more than 0');
    }
    return topicName;
  }

  private async createPartitions(topicName: TopicName, from: number, to: number): Promise<void> {
    for (let i = from; i < to; i++) await this.getTopic(topicName.partition(i), { createIfMissing: true });
  }

  /**
   * A topic about to be created: not the name of a partitioned topic, and not a partition past its partitioned
   * topic's count (Pulsar's clients never auto-create those either).
   */
  private async checkCreatable(topicName: TopicName): Promise<void> {
    if ((await this.partitionedTopics.get(topicName)) !== undefined) {
      throw new BrokerError(
        'Conflict',
        `${topicName.toString()} is a partitioned topic: its partitions are the topics`,
      );
    }
    if (topicName.partitionIndex < 0) return;
    const parent = await this.partitionedTopics.get(topicName.partitionedTopicName);
    if (parent !== undefined && topicName.partitionIndex >= parent.partitions) {
      throw new BrokerError(
        'TopicNotFound',
        `Topic ${topicName.toString()} not found: the partitioned topic has ${parent.partitions} partitions`,
      );
    }
  }

  nextProducerName(): string {
    return `${this.producerNamePrefix}-${this.producerNameCounter++}`;
  }

  topicClosed(topic: PersistentTopic): void {
    const key = topic.name.toString();
    if (this.loaded.get(key) === topic) {
      this.loaded.delete(key);
      this.topics.delete(key);
    }
  }

  *topicMetrics(): Iterable<TopicMetricsSample> {
    for (const topic of this.loaded.values()) yield topic.metricsSample();
  }

  /** Closes every topic (producers and consumers disconnected, cursors flushed, managed ledgers closed). */
  close(): Promise<void> {
    this.closing ??= this.closeTopics();
    return this.closing;
  }

  private async closeTopics(): Promise<void> {
    this.state = 'Closing';
    const loading = [...this.topics.values()];
    const results = await Promise.allSettled(
      loading.map(async (pending) => {
        const topic = await pending.catch(() => undefined);
        await topic?.close();
      }),
    );
    for (const result of results) {
      if (result.status === 'rejected')
        this.logger.warn({ err: result.reason }, 'a topic did not close cleanly');
    }
    this.state = 'Closed';
    this.logger.info({ topics: loading.length }, 'broker service closed');
  }

  private async loadTopic(topicName: TopicName, createIfMissing: boolean): Promise<PersistentTopic> {
    const name = topicName.toString();
    const policies = await this.namespaces.getPolicies(topicName.namespace);
    const persistenceName = topicName.persistenceName;
    if ((await this.factory.getManagedLedgerInfo(persistenceName)) === undefined) {
      if (!createIfMissing) throw new BrokerError('TopicNotFound', `Topic ${name} not found`);
      await this.checkCreatable(topicName);
    }
    const index = new MessageIndex();
    let managedLedger;
    try {
      const { retentionTimeInMinutes, retentionSizeInMB } = this.retentionOf(policies);
      const config = {
        defaultRetentionTimeInMinutes: retentionTimeInMinutes,
        defaultRetentionSizeInMB: retentionSizeInMB,
      };
      managedLedger = await this.factory.open(persistenceName, config, { interceptor: index });
    } catch (error) {
      throw toBrokerError(error, `load topic ${name}`);
    }
    const topic = new PersistentTopic({
      name: topicName,
      managedLedger,
      index,
      host: this,
      logger: this.logger.child({ topic: name }),
      deduplicationEnabled: policies.deduplicationEnabled ?? this.config.brokerDeduplicationEnabled,
      backlogQuota: policies.backlog_quota_map?.[DESTINATION_STORAGE],
      ageQuota: policies.backlog_quota_map?.[MESSAGE_AGE],
    });
    try {
      await topic.initialize();
    } catch (error) {
      await managedLedger.close().catch((closeError: unknown) => {
        this.logger.warn({ topic: name, err: closeError }, 'closing a topic that failed to load');
      });
      throw toBrokerError(error, `load topic ${name}`);
    }
    if (this.state !== 'Started') {
      await topic.close();
      throw this.notStarted(`load topic ${name}`);
    }
    this.loaded.set(name, topic);
    return topic;
  }

  /** The namespace's retention, else the broker's (every other managed-ledger key: the factory's defaults). */
  private retentionOf(policies: Policies): { retentionTimeInMinutes: number; retentionSizeInMB: number } {
    const retention = policies.retention_policies;
    return {
      retentionTimeInMinutes: retention?.retentionTimeInMinutes ?? this.config.defaultRetentionTimeInMinutes,
      retentionSizeInMB: retention?.retentionSizeInMB ?? this.config.defaultRetentionSizeInMB,
    };
  }

  /** Deduplication, retention and backlog quota of the namespace's loaded topics follow its policies at once. */
  private policiesChanged(namespace: string, policies: Policies): void {
    const deduplication = policies.deduplicationEnabled ?? this.config.brokerDeduplicationEnabled;
    const { retentionTimeInMinutes, retentionSizeInMB } = this.retentionOf(policies);
    for (const topic of this.loaded.values()) {
      if (topic.name.namespace !== namespace) continue;
      void topic.setDeduplicationEnabled(deduplication);
      topic.setRetention(retentionTimeInMinutes, retentionSizeInMB);
      topic.setBacklogQuota(policies.backlog_quota_map?.[DESTINATION_STORAGE]);
      topic.setAgeQuota(policies.backlog_quota_map?.[MESSAGE_AGE]);
    }
  }

  /** A number no earlier run of any broker on this store got: the counter node's modCount after our put. */
  private async nextRunId(): Promise<string> {
    for (let attempt = 0; attempt < COUNTER_ATTEMPTS; attempt++) {
      const found = await this.store.get(PRODUCER_NAME_COUNTER);
      try {
        const stat = await this.store.put(PRODUCER_NAME_COUNTER, Buffer.alloc(0), {
          expectedVersion: found === undefined ? 'absent' : found.stat.version,
        });
        return (stat.modCount - 1n).toString();
      } catch (error) {
        if (!(error instanceof BadVersionError)) throw error;
      }
    }
    throw new BrokerError('ServiceNotReady', `${PRODUCER_NAME_COUNTER} kept changing; cannot name producers`);
  }

  private checkStarted(what: string): void {
    if (this.state !== 'Started') throw this.notStarted(what);
  }

  private notStarted(what: string): BrokerError {
    const why = this.state === 'New' ? 'not started yet' : 'closing';
    return new BrokerError('ServiceNotReady', `${what}: the broker is ${why}`);
  }
}

/** A topic name from a string or TopicName; Pulsar's InvalidTopicName (400) for a bad one. */
function parseTopicName(name: string | TopicName): TopicName {
  if (name instanceof TopicName) return name;
  try {
    return TopicName.parse(name);
  } catch (error) {
    if (error instanceof PulsarFormatError)
      throw new BrokerError('InvalidTopicName', error.message, { cause: error });
    throw error;
  }
}

function safeKey(name: string): string | undefined {
  try {
    return TopicName.parse(name).toString();
  } catch {
    return undefined;
  }
}
