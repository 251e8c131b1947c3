/**
 * Goal: the broker's topics as a user of the BrokerService sees them: messages stored in Pulsar's entry format
 * (MessageMetadata + BrokerEntryMetadata with a running index that keeps increasing across rollovers, topic
 * restarts and the trimming of every ledger), topic auto-creation on and off, namespaces that must exist,
 * producer names, deduplication across a restart, delete busy/forced, terminate, close() flushing cursor positions,
 * stats and metrics, and clear errors for bad input.
 * Method: real `ledgerline bookie` processes (built dist/) on a real etcd (managed-ledger fixture); each
 * BrokerService runs over its own ManagedLedgerFactory, BookKeeper client and metadata store ("a broker"), and
 * the stored entries are read back through the managed ledger and parsed with Pulsar's formats.
 */
import { silentLogger } from '../../common';

import type { Entry, ManagedLedger, ManagedLedgerConfig } from '../../managed-ledger';
import {
  BrokerError,
  BrokerMetrics,
  BrokerService,
  EARLIEST_MESSAGE_ID,
  INDEX_PROPERTY,
  LATEST_MESSAGE_ID,
  brokerConfig,
  parseEntry,
} from '../../broker';
import type { BrokerConfig, MessageId, ParsedEntry, PersistentTopic } from '../../broker';
import { eventually } from '../harness';
import { mlCluster } from './managed-ledger-fixture';
import type { MlCluster, Owner } from './managed-ledger-fixture';

let env!: MlCluster;
mlCluster(2, (started) => (env = started));

const services: BrokerService[] = [];
let topicSeq = 0;

afterEach(async () => {
  for (const service of services.splice(0)) await service.close();
});

/** A started BrokerService on `owner` (default: the fixture's owner). */
async function startService(
  config: Partial<BrokerConfig> = {},
  owner: Owner = env.owner,
  metrics?: BrokerMetrics,
): Promise<BrokerService> {
  const service = new BrokerService({
    factory: owner.factory,
    store: owner.store,
    // Consumed data is kept unless a test sets a namespace's retention (no subscription = everything consumed).
    config: brokerConfig({ defaultRetentionTimeInMinutes: -1, defaultRetentionSizeInMB: -1, ...config }),
    logger: silentLogger(),
    metrics,
  });
  services.push(service);
  await service.start();
  return service;
}

/** A broker on its own client, store and factory with these managed-ledger defaults (closed after the block). */
function ownerWith(config: Partial<ManagedLedgerConfig>): Promise<Owner> {
  return env.newOwner(config);
}

function topicName(what: string): string {
  return `persistent://public/default/${what}-${++topicSeq}`;
}

async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  const error: unknown = await promise.then(
    () => 'resolved',
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BrokerError);
  return error as BrokerError;
}

/** Every stored entry of the managed ledger, oldest first. */
async function storedEntries(ml: ManagedLedger): Promise<Array<Entry & { parsed: ParsedEntry }>> {
  const cursor = ml.newNonDurableCursor('earliest');
  const out: Array<Entry & { parsed: ParsedEntry }> = [];
  for (;;) {
    const entries = await cursor.readEntries(100);
    if (entries.length === 0) break;
    for (const entry of entries) out.push({ ...entry, parsed: parseEntry(entry.data) });
  }
  await ml.deleteCursor(cursor.name);
  return out;
}

async function sendMany(topic: PersistentTopic, count: number, first = 0): Promise<void> {
  const producer = await topic.addProducer({});
  for (let i = 0; i < count; i++) await producer.send({ payload: Buffer.from(`m-${first + i}`) });
  await producer.close();
}

function indexes(entries: Array<{ parsed: ParsedEntry }>): bigint[] {
  return entries.map((e) => e.parsed.brokerEntryMetadata?.index ?? -99n);
}

function range(first: number, count: number): bigint[] {
  return Array.from({ length: count }, (_, i) => BigInt(first + i));
}

describe('broker > topics > publish', () => {
  it("stores each message in Pulsar's entry format with its metadata and the running index 0, 1, 2, ...", async () => {
    const service = await startService();
    const topic = await service.getTopic(topicName('format'));
    const producer = await topic.addProducer({ producerName: 'p1' });
    const before = Date.now();
    const first = await producer.send({
      payload: Buffer.from('hello'),
      properties: new Map([['color', 'red']]),
      key: 'k1',
      eventTime: 1234,
    });
    const second = await producer.send({ payload: Buffer.from('world'), sequenceId: 10n });
    const third = await producer.send({ payload: Buffer.alloc(0) });
    expect([first.duplicate, second.duplicate, third.duplicate]).toEqual([false, false, false]);

    const entries = await storedEntries(topic.managedLedger);
    expect(entries.map((e) => e.parsed.payload.toString())).toEqual(['hello', 'world', '']);
    expect(indexes(entries)).toEqual([0n, 1n, 2n]);
    const [a, b, c] = entries.map((e) => e.parsed);
    expect(a!.metadata).toMatchObject({
      producerName: 'p1',
      sequenceId: 0n,
      partitionKey: 'k1',
      eventTime: 1234,
    });
    expect([...a!.metadata.properties]).toEqual([['color', 'red']]);
    expect(a!.metadata.publishTime).toBeGreaterThanOrEqual(before);
    expect(a!.brokerEntryMetadata?.brokerTimestamp).toBeGreaterThanOrEqual(before);
    expect([b!.metadata.sequenceId, c!.metadata.sequenceId]).toEqual([10n, 11n]);
    expect(c!.numMessages).toBe(1);
    // The message ids are the entries' positions.
    expect(entries.map((e) => e.position.toString())).toEqual(
      [first, second, third].map((r) => `${r.messageId.ledgerId}:${r.messageId.entryId}`),
    );
    expect(first.messageId).toMatchObject({ partition: -1, batchIndex: -1 });
    expect(topic.getLastMessageId()).toEqual(third.messageId);
  });

  it('resolves sends in order with many in flight, each after the managed ledger confirmed it', async () => {
    const service = await startService();
    const topic = await service.getTopic(topicName('inflight'));
    const producer = await topic.addProducer({});
    const order: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        producer.send({ payload: Buffer.from(`m${i}`) }).then((r) => {
          order.push(i);
          return r;
        }),
      ),
    );
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const last = results[49]!.messageId;
    expect(topic.managedLedger.getLastConfirmedEntry().toString()).toBe(`${last.ledgerId}:${last.entryId}`);
    expect(indexes(await storedEntries(topic.managedLedger))).toEqual(range(0, 50));
  });

  it('counts a batch entry (sendEntry) as numMessages in the index', async () => {
    const service = await startService();
    const topic = await service.getTopic(topicName('batch'));
    const producer = await topic.addProducer({ producerName: 'batcher' });
    await producer.send({ payload: Buffer.from('single') });
    const { encodeMessage } = await import('../../broker');
    const batch = encodeMessage(
      {
        producerName: 'batcher',
        sequenceId: 5n,
        publishTime: Date.now(),
        properties: new Map(),
        numMessagesInBatch: 3,
      },
      Buffer.from('three messages'),
    );
    await producer.sendEntry(batch, 3);
    await producer.send({ payload: Buffer.from('after') });
    const entries = await storedEntries(topic.managedLedger);
    expect(indexes(entries)).toEqual([0n, 3n, 4n]);
    expect(entries[2]!.parsed.metadata.sequenceId).toBe(6n);
    const junk = await rejection(producer.sendEntry(Buffer.from('not a message'), 1));
    expect(junk.code).toBe('BadRequest');
  });
});

describe('broker > topics > running index', () => {
  it('keeps increasing across ledger rollovers and a restart of the topic', async () => {
    const owner = await ownerWith({ managedLedgerMaxEntriesPerLedger: 4 });
    const service = await startService({}, owner);
    const name = topicName('rollover');
    const topic = await service.getTopic(name);
    await sendMany(topic, 10);
    expect(topic.managedLedger.getLedgersInfo().length).toBeGreaterThanOrEqual(3);
    await topic.close();
    const again = await service.getTopic(name);
    expect(again).not.toBe(topic);
    expect(again.getLastIndex()).toBe(9n);
    await sendMany(again, 3, 10);
    expect(indexes(await storedEntries(again.managedLedger))).toEqual(range(0, 13));
  });

  it('continues after every ledger was trimmed (from the managed ledger properties)', async () => {
    const owner = await ownerWith({ managedLedgerMaxEntriesPerLedger: 3 });
    const service = await startService({}, owner);
    await service.namespaces.createNamespace('public/trimmed');
    await service.namespaces.setRetention('public/trimmed', {
      retentionTimeInMinutes: 0,
      retentionSizeInMB: 0,
    });
    const name = `persistent://public/trimmed/t-${++topicSeq}`;
    const topic = await service.getTopic(name);
    await sendMany(topic, 7);
    await topic.close();
    // Reopened, the old ledgers are no longer current: with no subscription and no retention all of them go.
    const reopened = await service.getTopic(name);
    await reopened.managedLedger.trimConsumedLedgers();
    expect(reopened.managedLedger.getNumberOfEntries()).toBe(0);
    expect(reopened.managedLedger.getProperties().get(INDEX_PROPERTY)).toBe('6');
    await reopened.close();
    const third = await service.getTopic(name);
    expect(third.getLastIndex()).toBe(6n);
    await sendMany(third, 2, 7);
    expect(indexes(await storedEntries(third.managedLedger))).toEqual([7n, 8n]);
  });

  it("applies a namespace's new retention to its loaded topics at once", async () => {
    const owner = await ownerWith({ managedLedgerMaxEntriesPerLedger: 2 });
    const service = await startService({}, owner);
    await service.namespaces.createNamespace('public/retained');
    const topic = await service.getTopic(`persistent://public/retained/t-${++topicSeq}`);
    await sendMany(topic, 6);
    expect(topic.managedLedger.getNumberOfEntries()).toBe(6);
    await service.namespaces.setRetention('public/retained', {
      retentionTimeInMinutes: 0,
      retentionSizeInMB: 0,
    });
    await eventually('the consumed ledgers trimmed', () =>
      topic.managedLedger.getNumberOfEntries() < 6 ? true : undefined,
    );
    expect(topic.getLastIndex()).toBe(5n);
  });

  it('is kept by the next owner of the topic (another broker, after the first one closed)', async () => {
    const name = topicName('handover');
    const first = await startService();
    await sendMany(await first.getTopic(name), 5);
    await first.close();
    const second = await startService({}, await ownerWith({}));
    const topic = await second.getTopic(name, { createIfMissing: false });
    await sendMany(topic, 1, 5);
    expect(indexes(await storedEntries(topic.managedLedger))).toEqual(range(0, 6));
  });
});

describe('broker > topics > managed-ledger interceptor', () => {
  it('is called before every ManagedLedgerInfo write, and what it sets is stored with the list', async () => {
    const owner = await ownerWith({ managedLedgerMaxEntriesPerLedger: 2 });
    const name = `public/default/persistent/interceptor-${++topicSeq}`;
    let calls = 0;
    const interceptor = {
      onUpdateManagedLedgerInfo(properties: Map<string, string>): void {
        properties.set('calls', String(++calls));
      },
    };
    const ml = await owner.factory.open(name, {}, { interceptor });
    const afterOpen = calls;
    expect(afterOpen).toBeGreaterThanOrEqual(1); // the open writes the list with its new ledger
    for (let i = 0; i < 4; i++) await ml.addEntry(Buffer.from(`e${i}`));
    expect(calls).toBeGreaterThan(afterOpen); // rollovers
    await ml.close();
    const stored = await owner.factory.getManagedLedgerInfo(name);
    expect(stored?.properties.get('calls')).toBe(String(calls));
    const reopened = await owner.factory.open(name);
    expect(reopened.getProperties().get('calls')).toBe(String(calls));
    await reopened.close();
  });
});

describe('broker > topics > loading', () => {
  it('auto-creates topics when allowAutoTopicCreation, else only on request (TopicNotFound otherwise)', async () => {
    const service = await startService({ allowAutoTopicCreation: false });
    const name = topicName('auto');
    const missing = await rejection(service.getTopic(name));
    expect(missing.code).toBe('TopicNotFound');
    expect(missing.message).toContain(name);
    expect(await service.listTopics('public/default')).not.toContain(name);
    const created = await service.getTopic(name, { createIfMissing: true });
    expect(await service.getTopic(name)).toBe(created);
    expect(service.getTopicIfLoaded(name)).toBe(created);
    expect(await service.listTopics('public/default')).toContain(name);

    const auto = await startService({}, await ownerWith({}));
    const autoName = topicName('auto-on');
    await auto.getTopic(autoName);
    expect(await auto.listTopics('public/default')).toContain(autoName);
  });

  it('loads a topic once for concurrent callers, and accepts short names', async () => {
    const service = await startService();
    const local = `short-${++topicSeq}`;
    const [a, b, c] = await Promise.all([
      service.getTopic(local),
      service.getTopic(`public/default/${local}`),
      service.getTopic(`persistent://public/default/${local}`),
    ]);
    expect(a).toBe(b);
    expect(a).toBe(c);
    expect(a!.name.toString()).toBe(`persistent://public/default/${local}`);
  });

  it('needs the namespace to exist (NamespaceNotFound), and refuses bad and non-persistent names', async () => {
    const service = await startService();
    const noNamespace = await rejection(service.getTopic('persistent://public/nowhere/t'));
    expect(noNamespace.code).toBe('NamespaceNotFound');
    const noTenant = await rejection(service.getTopic('persistent://ghost/ns/t'));
    expect(noTenant.code).toBe('NamespaceNotFound');
    for (const bad of ['', 'persistent://a/b', 'a/b', 'http://x/y/z', 'persistent://a/b/c/d']) {
      expect((await rejection(service.getTopic(bad))).code).toBe('InvalidTopicName');
    }
    expect((await rejection(service.getTopic('non-persistent://public/default/x'))).code).toBe('NotAllowed');
  });

  it('creates the cluster, tenant public and namespace public/default at start', async () => {
    const service = await startService();
    expect(await service.namespaces.listTenants()).toContain('public');
    expect(await service.namespaces.listNamespaces('public')).toContain('public/default');
    expect(await service.namespaces.listClusters()).toEqual(['standalone']);
  });
});

describe('broker > topics > producers', () => {
  it('refuses a second producer with the same name (ProducerBusy) until the first closes', async () => {
    const service = await startService();
    const topic = await service.getTopic(topicName('busy'));
    const producer = await topic.addProducer({ producerName: 'only-one' });
    const busy = await rejection(topic.addProducer({ producerName: 'only-one' }));
    expect([busy.code, busy.message]).toEqual(['ProducerBusy', expect.stringContaining('only-one')]);
    await producer.close();
    const closedSend = await rejection(producer.send({ payload: Buffer.from('x') }));
    expect(closedSend.code).toBe('ServiceNotReady');
    await topic.addProducer({ producerName: 'only-one' });
  });

  it('generates distinct names <cluster>-<run>-<n>, different in the next run of the broker', async () => {
    const service = await startService();
    const topic = await service.getTopic(topicName('names'));
    const a = await topic.addProducer({});
    const b = await topic.addProducer({});
    expect(a.producerName).toMatch(/^standalone-\d+-\d+$/);
    expect(a.producerName).not.toBe(b.producerName);
    const next = await startService();
    const c = await (await next.getTopic(topicName('names'))).addProducer({});
    const run = (name: string): string => name.split('-')[1]!;
    expect(run(c.producerName)).not.toBe(run(a.producerName));
  });

  it('refuses oversized and malformed messages without writing anything', async () => {
    const service = await startService({ maxMessageSize: 2048 });
    const topic = await service.getTopic(topicName('bad-input'));
    const producer = await topic.addProducer({});
    const large = await rejection(producer.send({ payload: Buffer.alloc(4096) }));
    expect([large.code, large.message]).toEqual(['MessageTooLarge', expect.stringContaining('2048')]);
    // Payload under the limit, but with metadata over it.
    const props = new Map([['big', 'x'.repeat(1500)]]);
    expect((await rejection(producer.send({ payload: Buffer.alloc(1000), properties: props }))).code).toBe(
      'MessageTooLarge',
    );
    const notBuffer = await rejection(producer.send({ payload: 'text' as unknown as Buffer }));
    expect(notBuffer.code).toBe('BadRequest');
    expect((await rejection(producer.send({ payload: Buffer.from('x'), sequenceId: -1n }))).code).toBe(
      'BadRequest',
    );
    const junk = { properties: 'not a map', key: 42 } as unknown as object;
    expect((await rejection(producer.send({ payload: Buffer.from('x'), ...junk }))).code).toBe('BadRequest');
    expect((await rejection(producer.send(undefined as unknown as { payload: Buffer }))).code).toBe(
      'BadRequest',
    );
    const badStart = topic.addProducer({ initialSequenceId: 7 as unknown as bigint });
    expect((await rejection(badStart)).code).toBe('BadRequest');
    expect((await rejection(topic.addProducer({ producerName: '' }))).code).toBe('BadRequest');
    expect((await rejection(topic.createSubscription('s', 'middle' as 'earliest'))).code).toBe('BadRequest');
    expect(topic.managedLedger.getNumberOfEntries()).toBe(0);
    await producer.send({ payload: Buffer.from('fine') });
    expect(indexes(await storedEntries(topic.managedLedger))).toEqual([0n]);
  });

  it('drops duplicates by producer name and sequence id when the namespace enables it, across a restart', async () => {
    const service = await startService();
    await service.namespaces.createNamespace('public/dedup');
    await service.namespaces.setDeduplication('public/dedup', true);
    const name = `persistent://public/dedup/t-${++topicSeq}`;
    const topic = await service.getTopic(name);
    const producer = await topic.addProducer({ producerName: 'dp' });
    expect((await producer.send({ payload: Buffer.from('a'), sequenceId: 1n })).duplicate).toBe(false);
    expect((await producer.send({ payload: Buffer.from('b'), sequenceId: 2n })).duplicate).toBe(false);
    const dup = await producer.send({ payload: Buffer.from('a again'), sequenceId: 1n });
    expect(dup).toEqual({
      duplicate: true,
      messageId: expect.objectContaining({ ledgerId: -1n, entryId: -1n }),
    });
    expect(topic.getStats().deduplicationStatus).toBe('Enabled');
    await topic.close();

    const again = await service.getTopic(name);
    const back = await again.addProducer({ producerName: 'dp' });
    expect(back.lastSequenceId).toBe(2n);
    expect((await back.send({ payload: Buffer.from('b again'), sequenceId: 2n })).duplicate).toBe(true);
    expect((await back.send({ payload: Buffer.from('c') })).duplicate).toBe(false);
    const stored = await storedEntries(again.managedLedger);
    expect(stored.map((e) => e.parsed.payload.toString())).toEqual(['a', 'b', 'c']);
    expect(stored.map((e) => e.parsed.metadata.sequenceId)).toEqual([1n, 2n, 3n]);
    // Without deduplication (public/default) the same sequence id is stored twice.
    const plain = await (await service.getTopic(topicName('no-dedup'))).addProducer({ producerName: 'dp' });
    await plain.send({ payload: Buffer.from('x'), sequenceId: 1n });
    expect((await plain.send({ payload: Buffer.from('x'), sequenceId: 1n })).duplicate).toBe(false);
  });
});

describe('broker > topics > subscriptions, delete, terminate, close', () => {
  it('recovers subscriptions from the durable cursors, and close() flushes their positions', async () => {
    // One mark-delete persisted per minute: the second one below is only in memory until the close flushes it.
    const owner = await ownerWith({ managedLedgerDefaultMarkDeleteRateLimit: 1 / 60 });
    const service = await startService({}, owner);
    const name = topicName('flush');
    const topic = await service.getTopic(name);
    const subscription = await topic.createSubscription('sub', 'earliest');
    await topic.createSubscription('other', 'latest');
    await sendMany(topic, 5);
    const entries = await storedEntries(topic.managedLedger);
    await subscription.cursor.markDelete(entries[0]!.position);
    await subscription.cursor.markDelete(entries[3]!.position);
    await service.close();

    const next = await startService({}, await ownerWith({}));
    const reloaded = await next.getTopic(name, { createIfMissing: false });
    expect([...reloaded.getSubscriptions().keys()].sort()).toEqual(['other', 'sub']);
    const recovered = reloaded.getSubscription('sub')!;
    expect(recovered.cursor.getMarkDeletedPosition().toString()).toBe(entries[3]!.position.toString());
    expect(recovered.cursor.getNumberOfEntriesInBacklog(true)).toBe(1);
    expect(reloaded.getSubscription('other')!.cursor.getNumberOfEntriesInBacklog(true)).toBe(5);
  });

  it('creates a subscription at a position, and unsubscribes it (SubscriptionNotFound afterwards)', async () => {
    const service = await startService();
    const topic = await service.getTopic(topicName('subs'));
    await sendMany(topic, 4);
    const entries = await storedEntries(topic.managedLedger);
    const at = await topic.createSubscription('from-third', entries[2]!.position);
    expect(at.cursor.getNumberOfEntriesInBacklog(true)).toBe(2);
    expect(await topic.createSubscription('from-third', 'earliest')).toBe(at);
    await topic.unsubscribe('from-third');
    expect(topic.getSubscription('from-third')).toBeUndefined();
    expect(topic.managedLedger.getCursors().map((c) => c.name)).not.toContain('from-third');
    expect((await rejection(topic.unsubscribe('from-third'))).code).toBe('SubscriptionNotFound');
    expect((await rejection(topic.createSubscription('pulsar.dedup', 'earliest'))).code).toBe('BadRequest');
  });

  it('starts a reader after a message id, at the earliest or latest, and removes it with its last consumer', async () => {
    const service = await startService();
    const topic = await service.getTopic(topicName('reader'));
    await sendMany(topic, 3);
    const entries = await storedEntries(topic.managedLedger);
    const sink = {
      sendMessages: () => undefined,
      close: () => undefined,
      reachedEndOfTopic: () => undefined,
    };
    const backlogOf = async (startMessageId: MessageId): Promise<number> => {
      const subscription = `reader-${++topicSeq}`;
      const consumer = await topic.subscribe(
        { subscription, subscriptionType: 'Exclusive', durable: false, startMessageId },
        sink,
      );
      const backlog = topic.getSubscription(subscription)!.cursor.getNumberOfEntriesInBacklog(true);
      await consumer.close();
      expect(topic.getSubscription(subscription)).toBeUndefined();
      return backlog;
    };
    const first = entries[0]!.position;
    expect(await backlogOf(topic.messageIdOf(first))).toBe(2);
    expect(await backlogOf(EARLIEST_MESSAGE_ID)).toBe(3);
    expect(await backlogOf(LATEST_MESSAGE_ID)).toBe(0);
    expect(topic.managedLedger.getCursors()).toHaveLength(0);
  });

  it('a durable and a non-durable subscription never share a name (NotAllowed either way, as Pulsar)', async () => {
    const service = await startService();
    const topic = await service.getTopic(topicName('one-kind'));
    const sink = {
      sendMessages: () => undefined,
      close: () => undefined,
      reachedEndOfTopic: () => undefined,
    };
    const durable = await topic.subscribe({ subscription: 'kept', subscriptionType: 'Shared' }, sink);
    const refused = await rejection(
      topic.subscribe({ subscription: 'kept', subscriptionType: 'Shared', durable: false }, sink),
    );
    expect([refused.code, refused.message]).toEqual([
      'NotAllowed',
      expect.stringMatching(/^Durable subscription/),
    ]);
    const reader = await topic.subscribe(
      { subscription: 'passing', subscriptionType: 'Exclusive', durable: false },
      sink,
    );
    const refusedDurable = await rejection(topic.createSubscription('passing', 'earliest'));
    expect([refusedDurable.code, refusedDurable.message]).toEqual([
      'NotAllowed',
      expect.stringMatching(/^NonDurable subscription/),
    ]);
    // Each keeps working as what it is: the durable one still has its cursor, the reader is gone with its consumer.
    expect(topic.getSubscription('kept')!.durable).toBe(true);
    await reader.close();
    expect(topic.getSubscription('passing')).toBeUndefined();
    await durable.close();
    expect(topic.getSubscription('kept')).toBeDefined();
  });

  it('deletes a topic only without clients unless forced; a forced delete disconnects them', async () => {
    const service = await startService();
    const name = topicName('delete');
    const topic = await service.getTopic(name);
    await topic.createSubscription('s', 'earliest');
    const reasons: string[] = [];
    const producer = await topic.addProducer({ onClose: (reason) => reasons.push(reason) });
    await producer.send({ payload: Buffer.from('x') });
    const busy = await rejection(service.deleteTopic(name, false));
    expect([busy.code, busy.message]).toEqual(['TopicBusy', expect.stringContaining(name)]);
    await service.deleteTopic(name, true);
    expect(reasons).toEqual(['topic deleted']);
    expect((await rejection(producer.send({ payload: Buffer.from('y') }))).code).toBe('ServiceNotReady');
    expect(await service.listTopics('public/default')).not.toContain(name);
    expect(service.getTopicIfLoaded(name)).toBeUndefined();
    expect((await rejection(service.deleteTopic(name, false))).code).toBe('TopicNotFound');
    // Without clients a plain delete works, and a new topic of the name starts empty.
    const other = topicName('delete-idle');
    await sendMany(await service.getTopic(other), 2);
    await service.deleteTopic(other, false);
    const fresh = await service.getTopic(other);
    expect(fresh.managedLedger.getNumberOfEntries()).toBe(0);
  });

  it('terminates a topic: sends fail with TopicTerminated, the last message id is returned', async () => {
    const service = await startService();
    const topic = await service.getTopic(topicName('terminate'));
    const producer = await topic.addProducer({});
    const sent = await producer.send({ payload: Buffer.from('last') });
    const last = await topic.terminate();
    expect(last).toEqual(sent.messageId);
    const refused = await rejection(producer.send({ payload: Buffer.from('late') }));
    expect(refused.code).toBe('TopicTerminated');
    // No new producer either (Pulsar's ServerCnx refuses it), and the refusal names the topic.
    const newcomer = await rejection(topic.addProducer({ producerName: 'after-terminate' }));
    expect(newcomer.code).toBe('TopicTerminated');
    expect(newcomer.message).toContain(topic.name.toString());
    expect(topic.getStats().publishers.map((p) => p.producerName)).not.toContain('after-terminate');
  });

  it('closes a topic fenced by another broker: the send fails with TopicFenced, the next load takes it back', async () => {
    const service = await startService();
    const name = topicName('fenced');
    const topic = await service.getTopic(name);
    const reasons: string[] = [];
    const producer = await topic.addProducer({ onClose: (reason) => reasons.push(reason) });
    await producer.send({ payload: Buffer.from('first broker') });
    const other = await startService({}, await ownerWith({}));
    const stolen = await other.getTopic(name);
    const fenced = await rejection(producer.send({ payload: Buffer.from('lost') }));
    expect([fenced.code, fenced.retriable]).toEqual(['TopicFenced', true]);
    await sendMany(stolen, 1);
    await other.close();
    expect(reasons).toEqual(['topic closed']);
    expect(topic.isClosed()).toBe(true);
    const back = await service.getTopic(name);
    expect(back).not.toBe(topic);
    await sendMany(back, 1);
    const stored = await storedEntries(back.managedLedger);
    expect(stored.map((e) => e.parsed.payload.toString())).toEqual(['first broker', 'm-0', 'm-0']);
    // Each owner continues after the last stored index: never a repeat.
    expect(indexes(stored)).toEqual([0n, 1n, 2n]);
  });

  it('refuses work after close(): sends and topic loads fail with ServiceNotReady', async () => {
    const service = await startService();
    const name = topicName('closed');
    const topic = await service.getTopic(name);
    const producer = await topic.addProducer({});
    await service.close();
    expect(topic.isClosed()).toBe(true);
    expect((await rejection(producer.send({ payload: Buffer.from('x') }))).code).toBe('ServiceNotReady');
    expect((await rejection(service.getTopic(name))).code).toBe('ServiceNotReady');
  });
});

describe('broker > topics > backlog quota', () => {
  const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  it('producer_exception: sends and new producers are refused while the slowest subscription is over the quota', async () => {
    const service = await startService();
    await service.namespaces.createNamespace('public/quota');
    const topic = await service.getTopic(`persistent://public/quota/t-${++topicSeq}`);
    const slow = await topic.createSubscription('slow', 'earliest');
    const producer = await topic.addProducer({});
    await service.namespaces.setBacklogQuota('public/quota', {
      limitSize: 1000,
      limitTime: -1,
      policy: 'producer_exception',
    });
    for (let i = 0; i < 8; i++) await producer.send({ payload: Buffer.alloc(200) });
    await pause(1100); // the backlog is measured at most once a second
    const refused = await rejection(producer.send({ payload: Buffer.alloc(200) }));
    expect([refused.code, refused.retriable]).toEqual(['ProducerBlockedQuotaExceededError', true]);
    expect(refused.message).toContain('1000');
    expect((await rejection(topic.addProducer({}))).code).toBe('ProducerBlockedQuotaExceededError');
    await slow.clearBacklog();
    await pause(1100);
    await producer.send({ payload: Buffer.alloc(200) });
    expect(topic.managedLedger.getNumberOfEntries()).toBe(9);
  });

  it('consumer_backlog_eviction: the oldest messages of a subscription over the quota are skipped', async () => {
    const service = await startService();
    await service.namespaces.createNamespace('public/evict');
    await service.namespaces.setBacklogQuota('public/evict', {
      limitSize: 1000,
      limitTime: -1,
      policy: 'consumer_backlog_eviction',
    });
    const topic = await service.getTopic(`persistent://public/evict/t-${++topicSeq}`);
    const slow = await topic.createSubscription('slow', 'earliest');
    const producer = await topic.addProducer({});
    for (let i = 0; i < 8; i++) await producer.send({ payload: Buffer.alloc(200) });
    await pause(1100);
    await producer.send({ payload: Buffer.alloc(200) });
    // Checked before the ninth message was written: the backlog then is cut to what fits in 1000 bytes, and the
    // ninth comes on top.
    const kept = Math.floor(1000 / (topic.managedLedger.getTotalSize() / 9)) + 1;
    await eventually('the backlog evicted under the quota', () =>
      slow.cursor.getNumberOfEntriesInBacklog(true) === kept ? true : undefined,
    );
    expect(slow.cursor.getNumberOfEntriesInBacklog(true)).toBeGreaterThan(0);
  });
});

describe('broker > topics > stats and metrics', () => {
  it("reports stats and internal stats with Pulsar's field names, and /metrics per topic", async () => {
    const metrics = new BrokerMetrics();
    const service = await startService({}, env.owner, metrics);
    const name = topicName('stats');
    const topic = await service.getTopic(name);
    await topic.createSubscription('s', 'earliest');
    const producer = await topic.addProducer({ producerName: 'statp' });
    for (let i = 0; i < 3; i++) await producer.send({ payload: Buffer.alloc(100) });

    const stats = topic.getStats();
    expect(stats).toMatchObject({ msgInCounter: 3, deduplicationStatus: 'Disabled', replication: {} });
    expect(stats.bytesInCounter).toBeGreaterThan(300);
    expect(stats.storageSize).toBe(stats.bytesInCounter);
    expect(stats.publishers).toEqual([expect.objectContaining({ producerName: 'statp', msgInCounter: 3 })]);
    expect(Object.keys(stats.subscriptions)).toEqual(['s']);
    expect(stats.subscriptions.s).toMatchObject({ msgBacklog: 3 });

    const internal = topic.getInternalStats();
    expect(internal).toMatchObject({ entriesAddedCounter: 3, numberOfEntries: 3, state: 'LedgerOpened' });
    expect(internal.lastConfirmedEntry).toMatch(/^\d+:2$/);
    expect(internal.ledgers.length).toBeGreaterThanOrEqual(1);
    // Ledger ids are near 2^63: passed through as bigints, exact (a Number would round them).
    const current = internal.ledgers[internal.ledgers.length - 1]!;
    expect(current.ledgerId).toBe(topic.getLastMessageId().ledgerId);
    expect(internal.lastConfirmedEntry).toBe(`${current.ledgerId.toString()}:2`);
    expect(internal.cursors.s).toMatchObject({ individuallyDeletedMessages: '[]' });
    expect(internal.cursors.s!.markDeletePosition).toMatch(/^\d+:-1$/);
    // Pulsar's messagesConsumedCounter: entries added since the topic loaded, less the backlog.
    expect(internal.cursors.s!.messagesConsumedCounter).toBe(0);

    const text = await metrics.registry.metrics();
    expect(text).toContain(`pulsar_in_messages_total{topic="${name}"} 3`);
    expect(text).toContain(`pulsar_producers_count{topic="${name}"} 1`);
    expect(text).toContain(`pulsar_subscriptions_count{topic="${name}"} 1`);
    expect(text).toContain(`pulsar_msg_backlog{topic="${name}"} 3`);
    expect(text).toMatch(/pulsar_topics_count \d+/);

    await topic.getSubscription('s')!.skip(2);
    expect(topic.getInternalStats().cursors.s!.messagesConsumedCounter).toBe(2);
  });
});
