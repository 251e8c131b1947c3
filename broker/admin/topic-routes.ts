import { EARLIEST, LATEST, Position } from '../../managed-ledger';
import type { BrokerHttpServer } from '../http';
import { HttpError, readBody, sendJson, sendNoContent } from '../http';
import type { MessageId } from '../pulsar';
import { TopicName } from '../pulsar';
import { BrokerError } from '../service';
import type { BrokerService, KafkaGroupsView, PersistentSubscription, PersistentTopic } from '../service';
import { checkedCount, checkedName, messageIdOf, partitionCountOf } from './admin-input';
import { partitionedStats } from './partitioned-stats';
import type { TopicStatsWithKafka } from './partitioned-stats';
import type { MessageIdInput } from './admin-input';
import { sendPeekedMessage } from './peek-response';

type Params = Readonly<Record<string, string | undefined>>;

const NAMESPACE = '/admin/v2/persistent/:tenant/:namespace';
const TOPIC = `${NAMESPACE}/:topic`;
const SUBSCRIPTION = `${TOPIC}/subscription/:subscription`;

/**
 * Pulsar's /admin/v2/persistent topic and subscription endpoints (pulsar.md §5). A topic must exist (404
 * otherwise) except for PUT, which creates it. Subscription positions — the cursor/offset storage service — are
 * read through stats/internalStats and set through resetcursor, skip and skip_all. While a Kafka listener runs
 * (`kafkaGroups()` defined), a Kafka topic's stats also show the Kafka groups' committed offsets and lag.
 */
export function registerTopicRoutes(
  server: BrokerHttpServer,
  broker: BrokerService,
  kafkaGroups: () => KafkaGroupsView | undefined = () => undefined,
): void {
  const namespaceOf = (params: Params): string =>
    `${checkedName('tenant', params.tenant)}/${checkedName('namespace', params.namespace)}`;

  const topicNameOf = (params: Params): TopicName => {
    const namespace = namespaceOf(params);
    const local = params.topic ?? '';
    if (local === '' || local.includes('/')) throw new HttpError(412, `Invalid topic name: ${local}`);
    return TopicName.parse(`persistent://${namespace}/${local}`);
  };

  /** Pulsar's TopicStats, with `kafkaGroups` beside `subscriptions` for a Kafka topic. */
  const statsOf = async (topic: PersistentTopic): Promise<TopicStatsWithKafka> => {
    const stats: TopicStatsWithKafka = topic.getStats();
    const groups = await kafkaGroups()?.topicGroups(topic.name);
    return groups === undefined ? stats : { ...stats, kafkaGroups: groups };
  };

  const existingTopic = (params: Params): Promise<PersistentTopic> =>
    broker.getTopic(topicNameOf(params), { createIfMissing: false });

  /**
   * The topic, or every partition's topic of a partitioned one (Pulsar's subscription admin applies to all of
   * them). `createIfMissing` as getTopic's (the broker's auto-creation when absent).
   */
  const topicOrPartitions = async (
    params: Params,
    createIfMissing?: boolean,
  ): Promise<{ topics: PersistentTopic[]; partitioned: boolean }> => {
    const name = topicNameOf(params);
    const partitions = await broker.getPartitionCount(name);
    if (partitions === 0) {
      const topic = await broker.getTopic(name, createIfMissing === undefined ? {} : { createIfMissing });
      return { topics: [topic], partitioned: false };
    }
    const topics: PersistentTopic[] = [];
    for (let i = 0; i < partitions; i++) {
      topics.push(await broker.getTopic(name.partition(i), { createIfMissing: true }));
    }
    return { topics, partitioned: true };
  };

  /**
   * The subscription on the topic, or on each partition of a partitioned topic where it exists (Pulsar applies
   * clear-backlog and reset-by-time to all of them); SubscriptionNotFound when there is none.
   */
  const subscriptionsOf = async (params: Params): Promise<PersistentSubscription[]> => {
    const { topics, partitioned } = await topicOrPartitions(params, false);
    if (!partitioned) return [await existingSubscription(params)];
    const name = params.subscription ?? '';
    const found = topics.flatMap((topic) => topic.getSubscription(name) ?? []);
    if (found.length === 0) {
      throw new BrokerError(
        'SubscriptionNotFound',
        `Subscription ${name} not found on ${topicNameOf(params).toString()}`,
      );
    }
    return found;
  };

  /** What Pulsar does on one partition only is 405 on a partitioned topic's name. */
  const refusePartitioned = async (params: Params, reason: string): Promise<void> => {
    if ((await broker.getPartitionCount(topicNameOf(params))) > 0)
      throw new BrokerError('NotAllowed', reason);
  };

  const existingSubscription = async (params: Params): Promise<PersistentSubscription> => {
    const topic = await existingTopic(params);
    const name = params.subscription ?? '';
    const subscription = topic.getSubscription(name);
    if (subscription === undefined) {
      throw new BrokerError(
        'SubscriptionNotFound',
        `Subscription ${name} not found on topic ${topic.name.toString()}`,
      );
    }
    return subscription;
  };

  server.route('GET', NAMESPACE, async ({ res, params }) => {
    const namespace = namespaceOf(params);
    await broker.namespaces.getPolicies(namespace); // 404 for a namespace that does not exist
    sendJson(res, 200, await broker.listTopics(namespace));
  });
  server.route('GET', `${NAMESPACE}/partitioned`, async ({ res, params }) => {
    const namespace = namespaceOf(params);
    await broker.namespaces.getPolicies(namespace);
    sendJson(res, 200, await broker.listPartitionedTopics(namespace));
  });

  server.route('PUT', TOPIC, async ({ req, res, params }) => {
    const name = topicNameOf(params);
    await readBody(req);
    const existing = await broker.listTopics(name.namespace);
    if (existing.includes(name.toString()) || (await broker.getPartitionCount(name)) > 0)
      throw new HttpError(409, `This topic already exists: ${name.toString()}`);
    await broker.getTopic(name, { createIfMissing: true });
    sendNoContent(res);
  });
  server.route('DELETE', TOPIC, async ({ res, params, query }) => {
    const name = topicNameOf(params);
    await broker.deleteTopic(name.toString(), query.get('force') === 'true');
    sendNoContent(res);
  });
  // Partition metadata: N for a partitioned topic, else 0 for every topic of an existing namespace, also one not
  // created yet (as Pulsar answers a client's lookup before auto-creation).
  server.route('GET', `${TOPIC}/partitions`, async ({ res, params }) => {
    const name = topicNameOf(params);
    await broker.namespaces.getPolicies(name.namespace);
    sendJson(res, 200, { partitions: await broker.getPartitionCount(name) });
  });
  server.route('PUT', `${TOPIC}/partitions`, async ({ req, res, params }) => {
    const name = topicNameOf(params);
    await broker.createPartitionedTopic(name, partitionCountOf(await readBody(req)));
    sendNoContent(res);
  });
  server.route('POST', `${TOPIC}/partitions`, async ({ req, res, params }) => {
    const name = topicNameOf(params);
    await broker.updatePartitionedTopic(name, partitionCountOf(await readBody(req)));
    sendNoContent(res);
  });
  server.route('DELETE', `${TOPIC}/partitions`, async ({ res, params, query }) => {
    await broker.deletePartitionedTopic(topicNameOf(params), query.get('force') === 'true');
    sendNoContent(res);
  });
  server.route('GET', `${TOPIC}/partitioned-stats`, async ({ res, params, query }) => {
    const name = topicNameOf(params);
    const partitions = await broker.getPartitionCount(name);
    if (partitions === 0)
      throw new BrokerError('TopicNotFound', `Partitioned topic does not exist: ${name.toString()}`);
    const stats: TopicStatsWithKafka[] = [];
    for (let i = 0; i < partitions; i++) {
      stats.push(await statsOf(await broker.getTopic(name.partition(i), { createIfMissing: false })));
    }
    sendJson(res, 200, partitionedStats(name, stats, query.get('perPartition') === 'true'));
  });
  server.route('GET', `${TOPIC}/stats`, async ({ res, params }) => {
    sendJson(res, 200, await statsOf(await existingTopic(params)));
  });
  server.route('GET', `${TOPIC}/internalStats`, async ({ res, params }) => {
    sendJson(res, 200, (await existingTopic(params)).getInternalStats());
  });
  server.route('GET', `${TOPIC}/lastMessageId`, async ({ res, params }) => {
    sendJson(res, 200, messageIdJson((await existingTopic(params)).getLastMessageId()));
  });
  server.route('POST', `${TOPIC}/terminate`, async ({ res, params }) => {
    sendJson(res, 200, messageIdJson(await (await existingTopic(params)).terminate()));
  });

  server.route('GET', `${TOPIC}/subscriptions`, async ({ res, params }) => {
    const names = new Set<string>();
    for (const topic of (await topicOrPartitions(params, false)).topics)
      for (const name of topic.getSubscriptions().keys()) names.add(name);
    sendJson(res, 200, [...names]);
  });
  server.route('PUT', SUBSCRIPTION, async ({ req, res, params }) => {
    // As Pulsar: the topic is created when it does not exist and allowAutoTopicCreation permits; on a partitioned
    // topic the subscription is created on every partition.
    const { topics } = await topicOrPartitions(params);
    const name = subscriptionNameOf(params);
    const start = messageIdOf(await readBody(req));
    for (const topic of topics) {
      if (topic.getSubscription(name) !== undefined) {
        throw new BrokerError(
          'Conflict',
          `Subscription ${name} already exists for topic ${topic.name.toString()}`,
        );
      }
    }
    for (const topic of topics) await topic.createSubscription(name, startOf(start));
    sendNoContent(res);
  });
  server.route('DELETE', SUBSCRIPTION, async ({ res, params, query }) => {
    const { topics, partitioned } = await topicOrPartitions(params, false);
    const name = subscriptionNameOf(params);
    const force = query.get('force') === 'true';
    // Forced: consumers are disconnected first (Pulsar's deleteForcefully); else SubscriptionBusy (412).
    if (!partitioned) {
      const topic = topics[0]!;
      const subscription = topic.getSubscription(name);
      if (force && subscription !== undefined) await subscription.delete();
      else await topic.unsubscribe(name);
      sendNoContent(res);
      return;
    }
    // Partitioned: deleted where it exists, every partition checked before any is changed.
    const found = await subscriptionsOf(params);
    if (!force && found.some((subscription) => subscription.getConsumers().length > 0)) {
      throw new BrokerError('SubscriptionBusy', `Subscription ${name} has active consumers`);
    }
    for (const subscription of found) {
      if (force) await subscription.delete();
      else await subscription.topic.unsubscribe(name);
    }
    sendNoContent(res);
  });
  server.route('POST', `${SUBSCRIPTION}/skip/:count`, async ({ res, params }) => {
    const count = checkedCount('number of messages to skip', params.count);
    await refusePartitioned(params, 'Skip messages on a partitioned topic is not allowed');
    await (await existingSubscription(params)).skip(count);
    sendNoContent(res);
  });
  server.route('POST', `${SUBSCRIPTION}/skip_all`, async ({ res, params }) => {
    for (const subscription of await subscriptionsOf(params)) await subscription.clearBacklog();
    sendNoContent(res);
  });
  server.route('POST', `${SUBSCRIPTION}/resetcursor/:timestamp`, async ({ res, params }) => {
    const publishTime = checkedCount('timestamp', params.timestamp);
    for (const subscription of await subscriptionsOf(params)) await subscription.resetCursor({ publishTime });
    sendNoContent(res);
  });
  server.route('POST', `${SUBSCRIPTION}/resetcursor`, async ({ req, res, params }) => {
    await refusePartitioned(params, 'Reset-cursor at position is not allowed for partitioned-topic');
    const subscription = await existingSubscription(params);
    const id = messageIdOf(await readBody(req));
    if (id === undefined)
      throw new HttpError(400, 'resetcursor needs a message id body {"ledgerId":L,"entryId":E}');
    const position = new Position(id.ledgerId, id.entryId);
    await subscription.resetCursor(id.isExcluded ? position.next() : position);
    sendNoContent(res);
  });
  server.route('GET', `${SUBSCRIPTION}/position/:n`, async ({ res, params }) => {
    const n = checkedCount('message position', params.n, 1);
    await refusePartitioned(params, 'Peek messages on a partitioned topic is not allowed');
    const subscription = await existingSubscription(params);
    const peeked = await subscription.peek(n);
    if (peeked === undefined) {
      throw new HttpError(
        404,
        `Message not found: no message at position ${n} of subscription ${subscription.name}`,
      );
    }
    sendPeekedMessage(res, peeked.messageId, peeked.entry);
  });
}

function subscriptionNameOf(params: Params): string {
  const name = params.subscription ?? '';
  if (name === '') throw new HttpError(412, 'Invalid subscription name: empty');
  return name;
}

/** Where a new subscription starts: Pulsar's MessageId.latest by default, earliest for (-1, -1). */
function startOf(id: MessageIdInput | undefined): 'earliest' | 'latest' | Position {
  if (id === undefined) return 'latest';
  if (id.ledgerId === EARLIEST.ledgerId && id.entryId === EARLIEST.entryId) return 'earliest';
  if (id.ledgerId === LATEST.ledgerId && id.entryId === LATEST.entryId) return 'latest';
  return new Position(id.ledgerId, id.entryId);
}

/** Pulsar's MessageIdImpl as JSON: `{ledgerId, entryId, partitionIndex}` (and batchIndex for a batch message). */
export function messageIdJson(id: MessageId): Record<string, bigint | number> {
  const json: Record<string, bigint | number> = {
    ledgerId: id.ledgerId,
    entryId: id.entryId,
    partitionIndex: id.partition,
  };
  if (id.batchIndex >= 0) json.batchIndex = id.batchIndex;
  return json;
}
