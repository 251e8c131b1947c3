import type { Logger } from '../../common';
import { Position, isManagedLedgerError } from '../../managed-ledger';
import type { ManagedCursor, ManagedLedger, ManagedLedgerInterceptor } from '../../managed-ledger';
import { formatMessageId, parseEntry, readBrokerEntryIndex, withBrokerEntryMetadata } from '../pulsar';
import type { MessageId, TopicName } from '../pulsar';
import type { BrokerConfig } from './broker-config';
import { BrokerError, toBrokerError } from './errors';
import { DEDUPLICATION_CURSOR, MessageDeduplication } from './message-deduplication';
import type { TopicMetricsSample } from './metrics';
import type { BacklogQuota } from './namespace-store';
import { Producer } from './producer';
import type { ProducerOptions, PublisherStats, SendEntryOptions, SendResult } from './producer';
import { Consumer, PersistentSubscription, RateMeter } from './subscription';
import type { ConsumerSink, SubscribeOptions, SubscriptionStats, SubscriptionTopic } from './subscription';

/** The managed-ledger property holding the running message index (Pulsar's ManagedLedgerInterceptorImpl). */
export const INDEX_PROPERTY = 'index';
/** What a send answers for a duplicate (Pulsar's receipt for a dropped duplicate: -1:-1). */
/** How often (at most) a publish recomputes the backlog against the quota. */
const BACKLOG_CHECK_INTERVAL_MS = 1000;

const DUPLICATE_MESSAGE_ID: MessageId = Object.freeze({
  ledgerId: -1n,
  entryId: -1n,
  partition: -1,
  batchIndex: -1,
});

/**
 * The topic's running message index (Pulsar's AppendIndexMetadataInterceptor): the index of the last message
 * assigned, -1 before the first. Every entry's BrokerEntryMetadata carries the index of its last message. As the
 * managed ledger's interceptor it stores the index in the ManagedLedgerInfo properties at every metadata write,
 * so it survives the trimming of every ledger; once the topic has recovered it (`recovered`), never before.
 */
export class MessageIndex implements ManagedLedgerInterceptor {
  last = -1n;
  recovered = false;

  onUpdateManagedLedgerInfo(properties: Map<string, string>): void {
    if (this.recovered) properties.set(INDEX_PROPERTY, this.last.toString());
  }

  /**
   * After the managed ledger opened: the higher of the stored property and the last entry's own index (entries
   * added after the last metadata write are only in the entries).
   */
  async recover(managedLedger: ManagedLedger): Promise<void> {
    let last = -1n;
    const stored = managedLedger.getProperties().get(INDEX_PROPERTY);
    if (stored !== undefined && /^-?\d+$/.test(stored)) last = BigInt(stored);
    const lastPosition = managedLedger.getLastConfirmedEntry();
    if (managedLedger.isValidPosition(lastPosition)) {
      const [entry] = await managedLedger.readEntries(lastPosition, 1);
      const index = entry === undefined ? undefined : readBrokerEntryIndex(entry.data);
      if (index !== undefined && index > last) last = index;
    }
    this.last = last;
    this.recovered = true;
  }
}

/** Pulsar's TopicStats JSON (PersistentTopic.getStats), the fields ledgerline fills. */
export interface TopicStats {
  msgRateIn: number;
  msgThroughputIn: number;
  msgRateOut: number;
  msgThroughputOut: number;
  bytesInCounter: number;
  msgInCounter: number;
  bytesOutCounter: number;
  msgOutCounter: number;
  averageMsgSize: number;
  msgChunkPublished: boolean;
  storageSize: number;
  backlogSize: number;
  earliestMsgPublishTimeInBacklogs: number;
  offloadedStorageSize: number;
  waitingPublishers: number;
  deduplicationStatus: 'Enabled' | 'Disabled';
  topicEpoch?: number;
  nonContiguousDeletedMessagesRanges: number;
  nonContiguousDeletedMessagesRangesSerializedSize: number;
  lastOffloadLedgerId: number;
  lastOffloadSuccessTimeStamp: number;
  lastOffloadFailureTimeStamp: number;
  ownerBroker: string;
  publishers: PublisherStats[];
  subscriptions: Record<string, SubscriptionStats>;
  replication: Record<string, never>;
}

/** Pulsar's ManagedLedgerInternalStats.CursorStats. */
export interface CursorInternalStats {
  markDeletePosition: string;
  readPosition: string;
  waitingReadOp: boolean;
  pendingReadOps: number;
  messagesConsumedCounter: number;
  cursorLedger: bigint;
  cursorLedgerLastEntry: number;
  individuallyDeletedMessages: string;
  lastLedgerSwitchTimestamp: string;
  state: 'Open' | 'Closed' | 'Deleted';
  active: boolean;
  numberOfEntriesSinceFirstNotAckedMessage: number;
  totalNonContiguousDeletedMessagesRange: number;
  subscriptionHavePendingRead: boolean;
  subscriptionHavePendingReplayRead: boolean;
  /** Pulsar's Map<String, Long>: bigints, so 64-bit values (sequence ids, positions) stay exact in the JSON. */
  properties: Record<string, bigint>;
}

/** Pulsar's PersistentTopicInternalStats JSON. */
export interface PersistentTopicInternalStats {
  entriesAddedCounter: number;
  numberOfEntries: number;
  totalSize: number;
  currentLedgerEntries: number;
  currentLedgerSize: number;
  lastLedgerCreatedTimestamp: string;
  lastLedgerCreationFailureTimestamp?: string;
  waitingCursorsCount: number;
  pendingAddEntriesCount: number;
  lastConfirmedEntry: string;
  state: string;
  /** Ledger ids are bigints (near 2^63): the admin JSON writer prints them exactly, as Pulsar's longs. */
  ledgers: Array<{
    ledgerId: bigint;
    entries: number;
    size: number;
    offloaded: boolean;
    underReplicated: boolean;
  }>;
  cursors: Record<string, CursorInternalStats>;
  schemaLedgers: never[];
  compactedLedger: {
    ledgerId: bigint;
    entries: number;
    size: number;
    offloaded: boolean;
    underReplicated: boolean;
  };
}

/** What a topic needs from the broker that loaded it. */
export interface TopicHost {
  readonly config: BrokerConfig;
  /** A producer name unique across this broker's restarts ('<cluster>-<n>-<m>'). */
  nextProducerName(): string;
  /** The topic is gone from the broker (closed or deleted). */
  topicClosed(topic: PersistentTopic): void;
}

export interface PersistentTopicOptions {
  name: TopicName;
  managedLedger: ManagedLedger;
  index: MessageIndex;
  host: TopicHost;
  logger: Logger;
  deduplicationEnabled: boolean;
  /** The namespace's `destination_storage` backlog quota, if any. */
  backlogQuota?: BacklogQuota;
  /** The namespace's message_age quota (limitTime, seconds). */
  ageQuota?: BacklogQuota;
}

type TopicState = 'Open' | 'Closing' | 'Closed' | 'Deleted';

/**
 * A persistent topic (Pulsar's PersistentTopic): one managed ledger; its producers; its subscriptions, each a
 * durable cursor of the managed ledger (every durable cursor but 'pulsar.dedup'), plus non-durable ones for
 * readers. Publishing stamps each entry with the BrokerEntryMetadata (broker timestamp, running index) and
 * resolves once the managed ledger acknowledged the add.
 */
export class PersistentTopic implements SubscriptionTopic {
  readonly name: TopicName;
  readonly managedLedger: ManagedLedger;
  readonly logger: Logger;
  readonly config: BrokerConfig;
  msgInCounter = 0;
  bytesInCounter = 0;
  /** Entries added since this topic was loaded (internal stats' entriesAddedCounter). */
  entriesAddedCounter = 0;
  private readonly index: MessageIndex;
  private readonly host: TopicHost;
  private readonly producers = new Map<string, Producer>();
  private readonly subscriptions = new Map<string, PersistentSubscription>();
  private readonly pendingSubscriptions = new Map<string, Promise<PersistentSubscription>>();
  private readonly rates = new RateMeter();
  private readonly deduplicationEnabled: boolean;
  private deduplication: MessageDeduplication | undefined;
  private backlogQuota: BacklogQuota | undefined;
  private ageQuota: BacklogQuota | undefined;
  private ageCheckedAtMs = 0;
  private ageCheck: Promise<void> | undefined;
  private ageExceeded = false;
  private backlogCheckedAtMs = 0;
  private backlogExceeded = false;
  private nextProducerId = 0;
  private pendingPublishes = 0;
  private state: TopicState = 'Open';
  private closing: Promise<void> | undefined;

  constructor(options: PersistentTopicOptions) {
    this.name = options.name;
    this.managedLedger = options.managedLedger;
    this.index = options.index;
    this.host = options.host;
    this.config = options.host.config;
    this.logger = options.logger;
    this.deduplicationEnabled = options.deduplicationEnabled;
    this.backlogQuota = options.backlogQuota;
    this.ageQuota = options.ageQuota;
  }

  /**
   * After the managed ledger opened: the running index, the deduplication state (replayed from its snapshot), then
   * a subscription for every durable cursor.
   */
  async initialize(): Promise<void> {
    await this.index.recover(this.managedLedger);
    this.deduplication = await MessageDeduplication.recover(this.managedLedger, this.logger, {
      enabled: this.deduplicationEnabled,
      entriesInterval: this.config.brokerDeduplicationEntriesInterval,
      snapshotIntervalSeconds: this.config.brokerDeduplicationSnapshotIntervalSeconds,
      maxNumberOfProducers: this.config.brokerDeduplicationMaxNumberOfProducers,
    });
    for (const cursor of this.managedLedger.getCursors()) {
      if (!cursor.durable || cursor.name === DEDUPLICATION_CURSOR) continue;
      this.subscriptions.set(cursor.name, this.newSubscription(cursor));
    }
    this.logger.info(
      { lastIndex: this.index.last.toString(), subscriptions: this.subscriptions.size },
      'topic loaded',
    );
  }

  get maxMessageSize(): number {
    return this.config.maxMessageSize;
  }

  /** The index of the last message published (-1 before the first). */
  getLastIndex(): bigint {
    return this.index.last;
  }

  isDeduplicationEnabled(): boolean {
    return this.deduplication?.isEnabled() ?? false;
  }

  /** A namespace policy change: deduplication recovers its state (enabled) or forgets it (disabled). */
  setDeduplicationEnabled(enabled: boolean): Promise<void> {
    const deduplication = this.deduplication;
    if (deduplication === undefined || this.state !== 'Open') return Promise.resolve();
    return deduplication.setEnabled(enabled).catch((error: unknown) => {
      this.logger.warn({ err: error, enabled }, 'deduplication policy change failed');
    });
  }

  /** A namespace retention change, applied at once by the managed ledger. */
  setRetention(retentionTimeInMinutes: number, retentionSizeInMB: number): void {
    if (this.state !== 'Open') return;
    this.managedLedger.setRetention(retentionTimeInMinutes, retentionSizeInMB).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'trimming after a retention change failed');
    });
  }

  /** A namespace backlog quota change (undefined: none); checked again at the next publish. */
  setBacklogQuota(quota: BacklogQuota | undefined): void {
    this.backlogQuota = quota;
    this.backlogCheckedAtMs = 0;
    this.backlogExceeded = false;
  }

  setAgeQuota(quota: BacklogQuota | undefined): void {
    this.ageQuota = quota;
    this.ageCheckedAtMs = 0;
    this.ageExceeded = false;
  }

  /** Either backlog quota, size or message age, is exceeded (see isSizeBacklogExceeded, isAgeBacklogExceeded). */
  private isBacklogExceeded(nowMs: number): boolean {
    const bySize = this.isSizeBacklogExceeded(nowMs);
    return this.isAgeBacklogExceeded(nowMs) || bySize;
  }

  /**
   * The message_age quota (Pulsar's time-based backlog quota, checked precisely): the oldest unacknowledged
   * message of any durable subscription published more than `limitTime` seconds ago. Checked at most once a
   * second, in the background (it reads entries): what it found is what sends and new producers see. Over it,
   * `consumer_backlog_eviction` acknowledges the messages past the age in each subscription; the producer
   * policies refuse new producers and sends until it drops.
   */
  private isAgeBacklogExceeded(nowMs: number): boolean {
    const quota = this.ageQuota;
    if (quota === undefined || quota.limitTime < 0) return false;
    if (this.ageCheck === undefined && nowMs - this.ageCheckedAtMs >= BACKLOG_CHECK_INTERVAL_MS) {
      this.ageCheckedAtMs = nowMs;
      this.ageCheck = this.checkAgeBacklog(quota, nowMs)
        .catch((error: unknown) => this.logger.warn({ err: error }, 'backlog age check failed'))
        .finally(() => (this.ageCheck = undefined));
    }
    return this.ageExceeded;
  }

  private async checkAgeBacklog(quota: BacklogQuota, nowMs: number): Promise<void> {
    const oldestAllowed = nowMs - quota.limitTime * 1000;
    let exceeded = false;
    for (const subscription of [...this.subscriptions.values()]) {
      if (!subscription.durable) continue;
      const oldest = await subscription.oldestUnackedPublishTime();
      if (oldest === undefined || oldest >= oldestAllowed) continue;
      if (quota.policy !== 'consumer_backlog_eviction') {
        exceeded = true;
        break;
      }
      await subscription.expirePublishedUpTo(oldestAllowed - 1);
    }
    if (this.ageQuota !== quota) return; // changed meanwhile: the next check is the new quota's
    if (exceeded !== this.ageExceeded) {
      this.logger.info({ exceeded, limitTime: quota.limitTime, policy: quota.policy }, 'backlog age quota');
    }
    this.ageExceeded = exceeded;
  }

  /**
   * The size backlog quota (Pulsar's BacklogQuotaManager), at most once a second: the backlog in bytes of
   * the slowest durable subscription (its backlog entries times the average entry size) against `limitSize`.
   * Over it, `consumer_backlog_eviction` skips the oldest messages of every subscription over the limit;
   * the producer policies refuse new producers and sends (ProducerBlockedQuotaExceededError) until it drops.
   */
  private isSizeBacklogExceeded(nowMs: number): boolean {
    const quota = this.backlogQuota;
    if (quota === undefined || quota.limitSize < 0) return false;
    if (nowMs - this.backlogCheckedAtMs < BACKLOG_CHECK_INTERVAL_MS) return this.backlogExceeded;
    this.backlogCheckedAtMs = nowMs;
    const entries = this.managedLedger.getNumberOfEntries();
    const averageEntryBytes = entries === 0 ? 0 : this.managedLedger.getTotalSize() / entries;
    let exceeded = false;
    for (const subscription of this.subscriptions.values()) {
      if (!subscription.durable) continue;
      const backlog = subscription.cursor.getNumberOfEntriesInBacklog(false);
      if (backlog * averageEntryBytes <= quota.limitSize) continue;
      if (quota.policy !== 'consumer_backlog_eviction') {
        exceeded = true;
        break;
      }
      const keep = averageEntryBytes === 0 ? backlog : Math.floor(quota.limitSize / averageEntryBytes);
      subscription.skip(backlog - keep).then(
        () =>
          this.logger.info({ subscription: subscription.name, skipped: backlog - keep }, 'backlog evicted'),
        (error: unknown) =>
          this.logger.warn({ err: error, subscription: subscription.name }, 'backlog eviction failed'),
      );
    }
    if (exceeded !== this.backlogExceeded) {
      this.logger.info({ exceeded, limitSize: quota.limitSize, policy: quota.policy }, 'backlog quota');
    }
    this.backlogExceeded = exceeded;
    return exceeded;
  }

  private quotaExceededError(what: string): BrokerError {
    return new BrokerError(
      'ProducerBlockedQuotaExceededError',
      this.ageExceeded
        ? `${what} on ${this.name.toString()}: the oldest unacknowledged message is older than the quota of ${this.ageQuota?.limitTime} s`
        : `${what} on ${this.name.toString()}: the backlog is over the quota of ${this.backlogQuota?.limitSize} bytes`,
    );
  }

  // ---- producers ----

  addProducer(options: ProducerOptions = {}): Promise<Producer> {
    const refusal = this.openRefusal('add a producer');
    if (refusal !== undefined) return Promise.reject(refusal);
    // As Pulsar's ServerCnx: a terminated topic takes no new producer (existing ones fail on their next send).
    if (this.managedLedger.isTerminated()) {
      return Promise.reject(
        new BrokerError(
          'TopicTerminated',
          `Topic ${this.name.toString()} is terminated: no producer is added`,
        ),
      );
    }
    const producerName = options.producerName ?? this.host.nextProducerName();
    if (typeof producerName !== 'string' || producerName === '') {
      return Promise.reject(
        new BrokerError('BadRequest', `Invalid producer name for topic ${this.name.toString()}`),
      );
    }
    if (this.isBacklogExceeded(Date.now())) return Promise.reject(this.quotaExceededError('add a producer'));
    const initial = options.initialSequenceId ?? -1n;
    if (typeof initial !== 'bigint' || initial < -1n) {
      return Promise.reject(
        new BrokerError(
          'BadRequest',
          `Invalid initialSequenceId for producer ${producerName} on ${this.name.toString()}: an integer >= -1`,
        ),
      );
    }
    if (this.producers.has(producerName)) {
      return Promise.reject(
        new BrokerError(
          'ProducerBusy',
          `Producer with name '${producerName}' is already connected to topic ${this.name.toString()}`,
        ),
      );
    }
    // A producer that comes back continues after what the broker has of its name (Pulsar's lastSequenceId).
    const known = this.deduplication?.getLastPublishedSequenceId(producerName) ?? -1n;
    const lastSequenceId = initial > known ? initial : known;
    this.deduplication?.producerAdded(producerName);
    const producer = new Producer(this, producerName, this.nextProducerId++, lastSequenceId, options);
    this.producers.set(producerName, producer);
    this.logger.info({ producerName }, 'producer added');
    return Promise.resolve(producer);
  }

  /** Called by Producer.close/disconnect. */
  removeProducer(producer: Producer): void {
    if (this.producers.get(producer.producerName) === producer) {
      this.producers.delete(producer.producerName);
      this.deduplication?.producerRemoved(producer.producerName);
      this.logger.info({ producerName: producer.producerName }, 'producer removed');
    }
  }

  getProducers(): Producer[] {
    return [...this.producers.values()];
  }

  /** Producer.send: `message` from 0x0e01 on, holding `numMessages` messages. */
  publishMessage(
    producer: Producer,
    message: Buffer,
    numMessages: number,
    sequenceId: bigint,
  ): Promise<SendResult> {
    const refusal = this.publishRefusal(producer, message);
    if (refusal !== undefined) return Promise.reject(refusal);
    return this.appendOnce(producer, message, numMessages, sequenceId, sequenceId);
  }

  /** Producer.sendEntry: a message built elsewhere; checked (format, checksum) before it is stored. */
  publishEntry(
    producer: Producer,
    message: Buffer,
    numMessages: number,
    options?: SendEntryOptions,
  ): Promise<SendResult> {
    const refusal = this.publishRefusal(producer, message);
    if (refusal !== undefined) return Promise.reject(refusal);
    let sequenceId: bigint;
    let highestSequenceId: bigint;
    try {
      const { metadata } = parseEntry(message, options);
      sequenceId = metadata.sequenceId;
      const highest = metadata.highestSequenceId;
      highestSequenceId = highest !== undefined && highest > sequenceId ? highest : sequenceId;
      producer.advanceSequenceId(highestSequenceId);
    } catch (error) {
      return Promise.reject(
        new BrokerError(
          'BadRequest',
          `producer ${producer.producerName} on ${this.name.toString()}: bad message`,
          {
            cause: error,
          },
        ),
      );
    }
    return this.appendOnce(producer, message, numMessages, sequenceId, highestSequenceId);
  }

  /** The deduplication check (a duplicate is answered without a write), then the append. */
  private appendOnce(
    producer: Producer,
    message: Buffer,
    numMessages: number,
    sequenceId: bigint,
    highestSequenceId: bigint,
  ): Promise<SendResult> {
    const deduplication = this.deduplication;
    if (deduplication !== undefined && deduplication.isEnabled()) {
      const status = deduplication.check(producer.producerName, sequenceId, highestSequenceId);
      if (status === 'duplicate')
        return Promise.resolve({ messageId: DUPLICATE_MESSAGE_ID, duplicate: true });
      if (status === 'unknown') {
        return Promise.reject(
          new BrokerError(
            'ServiceNotReady',
            `producer ${producer.producerName} on ${this.name.toString()}: message ${sequenceId} is still being persisted; send it again later`,
          ),
        );
      }
    }
    return this.append(producer, message, numMessages, highestSequenceId);
  }

  private append(
    producer: Producer,
    message: Buffer,
    numMessages: number,
    sequenceId: bigint,
  ): Promise<SendResult> {
    const index = this.index.last + BigInt(numMessages);
    this.index.last = index;
    const data = withBrokerEntryMetadata(message, { brokerTimestamp: Date.now(), index });
    this.pendingPublishes++;
    return this.managedLedger.addEntry(data).then(
      (position) => {
        this.pendingPublishes--;
        this.entriesAddedCounter++;
        this.msgInCounter += numMessages;
        this.bytesInCounter += data.length;
        producer.recordPublished(numMessages, data.length);
        this.deduplication?.recordPersisted(producer.producerName, sequenceId, position);
        return { messageId: this.messageIdOf(position), duplicate: false };
      },
      (error: unknown) => {
        this.pendingPublishes--;
        this.deduplication?.resetHighestSequenceIdPushed();
        if (isManagedLedgerError(error, 'ManagedLedgerFenced')) this.fenced();
        throw toBrokerError(error, `publish to ${this.name.toString()}`);
      },
    );
  }

  private publishRefusal(producer: Producer, message: Buffer): BrokerError | undefined {
    if (producer.isClosed()) {
      return new BrokerError(
        'ServiceNotReady',
        `producer ${producer.producerName} on ${this.name.toString()} is closed`,
      );
    }
    if (this.managedLedger.isTerminated()) {
      return new BrokerError('TopicTerminated', `Topic ${this.name.toString()} is terminated`);
    }
    const refusal = this.openRefusal('publish');
    if (refusal !== undefined) return refusal;
    if (this.isBacklogExceeded(Date.now()))
      return this.quotaExceededError(`producer ${producer.producerName}`);
    if (message.length > this.config.maxMessageSize) {
      return new BrokerError(
        'MessageTooLarge',
        `producer ${producer.producerName} on ${this.name.toString()}: message of ${message.length} bytes exceeds maxMessageSize ${this.config.maxMessageSize}`,
      );
    }
    return undefined;
  }

  messageIdOf(position: Position): MessageId {
    return {
      ledgerId: position.ledgerId,
      entryId: position.entryId,
      partition: this.name.partitionIndex,
      batchIndex: -1,
    };
  }

  // ---- subscriptions ----

  /** Attaches a consumer, creating the subscription (durable: its cursor) if needed. */
  async subscribe(options: SubscribeOptions, sink: ConsumerSink): Promise<Consumer> {
    const refusal = this.openRefusal('subscribe');
    if (refusal !== undefined) throw refusal;
    checkSubscriptionName(this.name, options.subscription);
    const durable = options.durable ?? true;
    let subscription: PersistentSubscription;
    if (durable) {
      subscription = await this.createSubscription(options.subscription, options.initialPosition ?? 'latest');
    } else {
      subscription = this.createNonDurableSubscription(options);
    }
    const consumer = new Consumer(subscription, options, sink);
    try {
      subscription.addConsumer(consumer);
    } catch (error) {
      await consumer.close();
      if (!durable && subscription.getConsumers().length === 0) await subscription.delete();
      throw error;
    }
    return consumer;
  }

  /**
   * The durable subscription `name`, created at `start` if it does not exist (an existing one keeps its
   * position). `start` is 'earliest', 'latest' or a position: the first message the subscription delivers.
   */
  async createSubscription(
    name: string,
    start: 'earliest' | 'latest' | Position,
  ): Promise<PersistentSubscription> {
    const refusal = this.openRefusal('create a subscription');
    if (refusal !== undefined) throw refusal;
    checkSubscriptionName(this.name, name);
    const existing = this.subscriptions.get(name);
    if (existing !== undefined) {
      // As Pulsar: one name, one kind of subscription.
      if (!existing.durable) {
        throw new BrokerError('NotAllowed', 'NonDurable subscription with the same name already exists.');
      }
      return existing;
    }
    let pending = this.pendingSubscriptions.get(name);
    if (pending === undefined) {
      pending = this.openSubscription(name, start).finally(() => this.pendingSubscriptions.delete(name));
      this.pendingSubscriptions.set(name, pending);
    }
    return pending;
  }

  private async openSubscription(
    name: string,
    start: 'earliest' | 'latest' | Position,
  ): Promise<PersistentSubscription> {
    let cursor: ManagedCursor;
    try {
      cursor = await this.managedLedger.openCursor(name, {
        initialPosition: start instanceof Position ? 'earliest' : start,
      });
      if (start instanceof Position) await cursor.resetCursor(start);
    } catch (error) {
      throw toBrokerError(error, `create subscription ${name} on ${this.name.toString()}`);
    }
    const subscription = this.newSubscription(cursor);
    this.subscriptions.set(name, subscription);
    this.logger.info({ subscription: name }, 'subscription created');
    return subscription;
  }

  private createNonDurableSubscription(options: SubscribeOptions): PersistentSubscription {
    const existing = this.subscriptions.get(options.subscription);
    if (existing !== undefined) {
      if (existing.durable) {
        throw new BrokerError('NotAllowed', 'Durable subscription with the same name already exists.');
      }
      return existing;
    }
    let start: Position | 'earliest' | 'latest' = options.initialPosition ?? 'latest';
    const id = options.startMessageId;
    if (id !== undefined) {
      if (typeof id.ledgerId !== 'bigint' || typeof id.entryId !== 'bigint') {
        throw new BrokerError(
          'BadRequest',
          `Invalid start message id for a reader of ${this.name.toString()}`,
        );
      }
      // Read after this message; the managed ledger clamps it to the stored range (earliest: -1:-1, latest: max).
      start = new Position(id.ledgerId, id.entryId);
    }
    let cursor: ManagedCursor;
    try {
      cursor = this.managedLedger.newNonDurableCursor(start, options.subscription);
    } catch (error) {
      throw toBrokerError(error, `create reader ${options.subscription} on ${this.name.toString()}`);
    }
    const subscription = this.newSubscription(cursor);
    this.subscriptions.set(options.subscription, subscription);
    return subscription;
  }

  private newSubscription(cursor: ManagedCursor): PersistentSubscription {
    return new PersistentSubscription({ topic: this, cursor, config: this.config, logger: this.logger });
  }

  getSubscription(name: string): PersistentSubscription | undefined {
    return this.subscriptions.get(name);
  }

  getSubscriptions(): Map<string, PersistentSubscription> {
    return new Map(this.subscriptions);
  }

  /** A subscription deleted itself (a non-durable one whose last consumer left, or a forced delete). */
  onSubscriptionDeleted(subscription: PersistentSubscription): void {
    if (this.subscriptions.get(subscription.name) === subscription)
      this.subscriptions.delete(subscription.name);
  }

  /** Deletes the subscription and its cursor; SubscriptionBusy while consumers are attached. */
  async unsubscribe(name: string): Promise<void> {
    const subscription = this.subscriptions.get(name);
    if (subscription === undefined) {
      throw new BrokerError(
        'SubscriptionNotFound',
        `Subscription ${name} not found on topic ${this.name.toString()}`,
      );
    }
    if (subscription.getConsumers().length > 0) {
      throw new BrokerError(
        'SubscriptionBusy',
        `Subscription ${name} of topic ${this.name.toString()} has active consumers`,
      );
    }
    await subscription.delete();
    this.onSubscriptionDeleted(subscription);
    this.logger.info({ subscription: name }, 'subscription deleted');
  }

  // ---- lifecycle ----

  getLastMessageId(): MessageId {
    return this.messageIdOf(this.managedLedger.getLastConfirmedEntry());
  }

  /** No more messages: producers fail with TopicTerminated; consumers get reachedEndOfTopic once they read all. */
  async terminate(): Promise<MessageId> {
    const refusal = this.openRefusal('terminate');
    if (refusal !== undefined) throw refusal;
    try {
      const position = await this.managedLedger.terminate();
      this.logger.info({ lastMessageId: position.toString() }, 'topic terminated');
      return this.messageIdOf(position);
    } catch (error) {
      throw toBrokerError(error, `terminate ${this.name.toString()}`);
    }
  }

  isClosed(): boolean {
    return this.state !== 'Open';
  }

  hasClients(): boolean {
    if (this.producers.size > 0) return true;
    for (const subscription of this.subscriptions.values()) {
      if (subscription.getConsumers().length > 0) return true;
    }
    return false;
  }

  /**
   * Disconnects producers and consumers, closes the subscriptions (durable cursors flushed) and the managed
   * ledger (queued adds complete first). Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown('Closed', 'topic closed');
    return this.closing;
  }

  /** Deletes the managed ledger with its cursors and ledgers; the caller checked for clients (or forces). */
  async delete(): Promise<void> {
    if (this.state === 'Deleted') return;
    if (this.closing !== undefined) {
      await this.closing;
      throw new BrokerError(
        'ServiceNotReady',
        `Topic ${this.name.toString()} was closed before it could be deleted`,
      );
    }
    this.closing = this.shutDown('Deleted', 'topic deleted');
    await this.closing;
  }

  private async shutDown(final: 'Closed' | 'Deleted', reason: string): Promise<void> {
    this.state = 'Closing';
    for (const producer of [...this.producers.values()]) producer.disconnect(reason);
    const subscriptions = [...this.subscriptions.values()];
    try {
      await this.deduplication?.close();
      if (final === 'Deleted') {
        await Promise.all(subscriptions.map((subscription) => subscription.close()));
        await this.managedLedger.delete();
      } else {
        await Promise.all(subscriptions.map((subscription) => subscription.close()));
        await this.managedLedger.close();
      }
    } catch (error) {
      if (!isManagedLedgerError(error, 'ManagedLedgerAlreadyClosed')) {
        this.logger.warn({ err: error }, final === 'Deleted' ? 'topic delete failed' : 'topic close failed');
        this.state = 'Closed';
        this.host.topicClosed(this);
        throw toBrokerError(error, `${final === 'Deleted' ? 'delete' : 'close'} ${this.name.toString()}`);
      }
    }
    this.subscriptions.clear();
    this.state = final;
    this.host.topicClosed(this);
    this.logger.info(final === 'Deleted' ? 'topic deleted' : 'topic closed');
  }

  /**
   * Another owner took the managed ledger (Pulsar closes the topic on ManagedLedgerFencedException): this instance
   * closes, so its clients are disconnected and the next getTopic loads the topic afresh.
   */
  private fenced(): void {
    if (this.state !== 'Open') return;
    this.logger.warn('managed ledger fenced by another owner; closing the topic');
    this.close().catch((error: unknown) => this.logger.warn({ err: error }, 'closing a fenced topic failed'));
  }

  private openRefusal(what: string): BrokerError | undefined {
    if (this.state === 'Open') return undefined;
    return new BrokerError(
      'ServiceNotReady',
      `${what} on ${this.name.toString()}: the topic is ${this.state.toLowerCase()}`,
    );
  }

  // ---- stats ----

  getStats(nowMs = Date.now()): TopicStats {
    const { messagesPerSecond, bytesPerSecond } = this.rates.rates(
      nowMs,
      this.msgInCounter,
      this.bytesInCounter,
    );
    const publishers = [...this.producers.values()].map((producer) => producer.getStats(nowMs));
    const subscriptions: Record<string, SubscriptionStats> = {};
    let msgRateOut = 0;
    let msgThroughputOut = 0;
    let msgOutCounter = 0;
    let bytesOutCounter = 0;
    let backlogSize = 0;
    let ranges = 0;
    for (const [name, subscription] of this.subscriptions) {
      const stats = subscription.getStats();
      subscriptions[name] = stats;
      msgRateOut += stats.msgRateOut;
      msgThroughputOut += stats.msgThroughputOut;
      msgOutCounter += stats.msgOutCounter;
      bytesOutCounter += stats.bytesOutCounter;
      backlogSize = Math.max(backlogSize, stats.backlogSize);
      ranges += stats.nonContiguousDeletedMessagesRanges;
    }
    return {
      msgRateIn: messagesPerSecond,
      msgThroughputIn: bytesPerSecond,
      msgRateOut,
      msgThroughputOut,
      bytesInCounter: this.bytesInCounter,
      msgInCounter: this.msgInCounter,
      bytesOutCounter,
      msgOutCounter,
      averageMsgSize: messagesPerSecond > 0 ? bytesPerSecond / messagesPerSecond : 0,
      msgChunkPublished: false,
      storageSize: this.managedLedger.getTotalSize(),
      backlogSize,
      earliestMsgPublishTimeInBacklogs: 0,
      offloadedStorageSize: 0,
      waitingPublishers: 0,
      deduplicationStatus: this.isDeduplicationEnabled() ? 'Enabled' : 'Disabled',
      nonContiguousDeletedMessagesRanges: ranges,
      nonContiguousDeletedMessagesRangesSerializedSize: 0,
      lastOffloadLedgerId: 0,
      lastOffloadSuccessTimeStamp: 0,
      lastOffloadFailureTimeStamp: 0,
      ownerBroker: '',
      publishers,
      subscriptions,
      replication: {},
    };
  }

  getInternalStats(): PersistentTopicInternalStats {
    const ml = this.managedLedger;
    const ledgers = ml.getLedgersInfo();
    const current = ledgers[ledgers.length - 1];
    const cursors: Record<string, CursorInternalStats> = {};
    let waitingCursorsCount = 0;
    for (const cursor of ml.getCursors()) {
      const stats = cursorInternalStats(cursor, this.entriesAddedCounter);
      if (stats.waitingReadOp) waitingCursorsCount++;
      cursors[cursor.name] = stats;
    }
    const createdAtMs = ml.getLastLedgerCreatedTimestamp() || current?.timestamp || 0;
    return {
      entriesAddedCounter: this.entriesAddedCounter,
      numberOfEntries: ml.getNumberOfEntries(),
      totalSize: ml.getTotalSize(),
      currentLedgerEntries: current?.entries ?? 0,
      currentLedgerSize: current?.size ?? 0,
      lastLedgerCreatedTimestamp: isoTimeOrEmpty(createdAtMs),
      waitingCursorsCount,
      pendingAddEntriesCount: this.pendingPublishes,
      lastConfirmedEntry: ml.getLastConfirmedEntry().toString(),
      state: ml.getState(),
      ledgers: ledgers.map((info) => ({
        ledgerId: info.ledgerId,
        entries: info.entries,
        size: info.size,
        offloaded: false,
        underReplicated: false,
      })),
      cursors,
      schemaLedgers: [],
      compactedLedger: { ledgerId: -1n, entries: -1, size: -1, offloaded: false, underReplicated: false },
    };
  }

  /** This topic's numbers for /metrics. */
  metricsSample(): TopicMetricsSample {
    let consumers = 0;
    let msgOutCounter = 0;
    let bytesOutCounter = 0;
    let msgBacklog = 0;
    for (const subscription of this.subscriptions.values()) {
      const stats = subscription.getStats();
      consumers += stats.consumers.length;
      msgOutCounter += stats.msgOutCounter;
      bytesOutCounter += stats.bytesOutCounter;
      msgBacklog += stats.msgBacklog;
    }
    return {
      topic: this.name.toString(),
      msgInCounter: this.msgInCounter,
      bytesInCounter: this.bytesInCounter,
      msgOutCounter,
      bytesOutCounter,
      producers: this.producers.size,
      consumers,
      subscriptions: this.subscriptions.size,
      storageSize: this.managedLedger.getTotalSize(),
      msgBacklog,
    };
  }

  toString(): string {
    return `PersistentTopic(${this.name.toString()}, lastMessageId=${formatMessageId(this.getLastMessageId())})`;
  }
}

/**
 * A cursor's internal stats. messagesConsumedCounter is Pulsar's: entries added since the topic was loaded minus
 * the cursor's backlog, so it starts at minus the backlog when the topic loads and grows as the cursor consumes.
 */
function cursorInternalStats(cursor: ManagedCursor, entriesAddedCounter: number): CursorInternalStats {
  const ranges = cursor.getIndividuallyDeletedRanges();
  const properties: Record<string, bigint> = {};
  for (const [key, value] of cursor.getProperties()) properties[key] = value;
  const state = cursor.getInternalState();
  return {
    markDeletePosition: cursor.getMarkDeletedPosition().toString(),
    readPosition: cursor.getReadPosition().toString(),
    waitingReadOp: state.waitingReadOp,
    pendingReadOps: state.waitingReadOp ? 1 : 0,
    messagesConsumedCounter: entriesAddedCounter - cursor.getNumberOfEntriesInBacklog(false),
    cursorLedger: state.cursorLedger,
    cursorLedgerLastEntry: state.cursorLedgerLastEntry,
    individuallyDeletedMessages: `[${ranges.map((r) => `(${r.lower.toString()}..${r.upper.toString()}]`).join(', ')}]`,
    lastLedgerSwitchTimestamp: isoTimeOrEmpty(state.lastLedgerSwitchTimestampMs),
    state: state.state,
    active: cursor.isActive(),
    numberOfEntriesSinceFirstNotAckedMessage: state.numberOfEntriesSinceFirstNotAckedMessage,
    totalNonContiguousDeletedMessagesRange: cursor.getTotalNonContiguousDeletedMessagesRange(),
    subscriptionHavePendingRead: false,
    subscriptionHavePendingReplayRead: false,
    properties,
  };
}

/** Subscription names: non-empty strings; 'pulsar.dedup' is the deduplication cursor's. */
function checkSubscriptionName(topic: TopicName, name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.trim() === '' || name === DEDUPLICATION_CURSOR) {
    throw new BrokerError(
      'BadRequest',
      `Invalid subscription name "${String(name)}" on topic ${topic.toString()}`,
    );
  }
}

/** internalStats' time fields: ISO 8601, or '' for a time that is not known (0). */
function isoTimeOrEmpty(ms: number): string {
  return ms === 0 ? '' : new Date(ms).toISOString();
}
