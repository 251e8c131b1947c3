import type { Logger } from '../../common';
import { MANAGED_LEDGERS_ROOT } from '../../managed-ledger';
import type { ManagedLedgerFactory } from '../../managed-ledger';
import { BadVersionError } from '../../metadata';
import type { MetadataStore } from '../../metadata';
import { PulsarFormatError, TopicName } from '../pulsar';
import type { BrokerConfig } from './broker-config';
import { BrokerError, toBrokerError } from './errors';
import type { BrokerMetrics, TopicMetricsSample, TopicMetricsSource } from './metrics';
import { DESTINATION_STORAGE, NamespaceStore, splitNamespace } from './namespace-store';
import type { Policies } from './namespace-store';
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

type ServiceState = 'New' | 'Started' | 'Closing' | 'Closed';

/**
 * The topics of one broker (Pulsar's BrokerService): loads each topic once — its managed ledger opened with the
 * namespace's retention, its running index and subscriptions recovered — auto-creating topics when allowed;
 * lists and deletes them; closes them all on close(). Tenants and namespaces live in `namespaces`.
 */
export class BrokerService implements TopicHost, TopicMetricsSource {
  readonly namespaces: NamespaceStore;
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
    splitNamespace(namespace);
    const prefix = `${MANAGED_LEDGERS_ROOT}/${namespace}/persistent/`;
    const nodes = await this.store.list(prefix, { keysOnly: true });
    const names: string[] = [];
    for (const { key } of nodes) {
      const encoded = key.slice(prefix.length);
      if (encoded === '' || encoded.includes('/')) continue; // a cursor's node
      try {
        names.push(TopicName.fromPersistenceName(`${namespace}/persistent/${encoded}`).toString());
      } catch (error) {
        this.logger.warn({ key, err: error }, 'a managed ledger that is no topic name');
      }
    }
    return names.sort();
  }

  /** Deletes the topic with its subscriptions and data; TopicBusy while it has producers or consumers, unless force. */
  async deleteTopic(name: string | TopicName, force: boolean): Promise<void> {
    const topic = await this.getTopic(name, { createIfMissing: false });
    if (!force && topic.hasClients()) {
      throw new BrokerError('TopicBusy', `Topic ${topic.name.toString()} has active producers/subscriptions`);
    }
    await topic.delete();
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
    if (!createIfMissing && (await this.factory.getManagedLedgerInfo(persistenceName)) === undefined) {
      throw new BrokerError('TopicNotFound', `Topic ${name} not found`);
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
