import { encodeBatchPayload, encodeMessage, withBrokerEntryMetadata } from '../../../../../broker/pulsar';
import { BrokerError } from '../../../../../broker/service/errors';
import { FakeTopic, payloadOf, settle, until } from './fixtures';

describe('broker > subscription > Exclusive', () => {
  it('delivers in order within the permits, and more as permits come', async () => {
    const topic = new FakeTopic();
    topic.publishMany(10);
    const { consumer, sink } = await topic.consumer({ subscription: 's' }, 3);
    await until('3 messages', () => sink.messages.length === 3);
    await settle();
    expect(sink.payloads()).toEqual(['m0', 'm1', 'm2']);
    consumer.flow(4);
    await until('7 messages', () => sink.messages.length === 7);
    await settle();
    expect(sink.payloads()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    expect(consumer.availablePermits).toBe(0);
    expect(sink.messages.every((m) => m.redeliveryCount === 0)).toBe(true);
    expect(sink.messages[0]!.messageId).toEqual({
      ledgerId: sink.messages[0]!.position.ledgerId,
      entryId: sink.messages[0]!.position.entryId,
      partition: -1,
      batchIndex: -1,
    });
  });

  it('reads at most dispatcherMaxReadBatchSize entries at a time and waits for new ones', async () => {
    const topic = new FakeTopic({ dispatcherMaxReadBatchSize: 2 });
    topic.publishMany(5);
    const { sink } = await topic.consumer({ subscription: 's' }, 100);
    await until('5 messages', () => sink.messages.length === 5);
    topic.publish('late');
    await until('the late message', () => sink.messages.length === 6);
    expect(sink.payloads()[5]).toBe('late');
  });

  it('refuses a second consumer with ConsumerBusy, and a consumer of another type', async () => {
    const topic = new FakeTopic();
    await topic.consumer({ subscription: 's' });
    const second = await topic.consumer({ subscription: 's' }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(BrokerError);
    expect((second as BrokerError).code).toBe('ConsumerBusy');
    expect((second as BrokerError).message).toContain('s');
    const shared = await topic
      .consumer({ subscription: 's', subscriptionType: 'Shared' })
      .catch((e: unknown) => e);
    expect((shared as BrokerError).code).toBe('ConsumerBusy');
  });

  it('acknowledges individually and cumulatively; a new consumer gets what was not acknowledged, counted as redelivered', async () => {
    const topic = new FakeTopic();
    const positions = topic.publishMany(6);
    const first = await topic.consumer({ subscription: 's' });
    await until('6 messages', () => first.sink.messages.length === 6);
    const ids = first.sink.messages.map((m) => m.messageId);
    await first.consumer.acknowledgeCumulative(ids[1]!);
    await first.consumer.acknowledge([ids[3]!]);
    const sub = topic.subscriptions.get('s')!;
    expect(sub.cursor.getMarkDeletedPosition()).toEqual(positions[1]);
    expect(first.consumer.getUnackedCount()).toBe(3);
    await first.consumer.close();
    expect(sub.getConsumers()).toEqual([]);
    const second = await topic.consumer({ subscription: 's' });
    await until('the unacknowledged messages', () => second.sink.messages.length === 3);
    expect(second.sink.payloads()).toEqual(['m2', 'm4', 'm5']);
    expect(second.sink.messages.map((m) => m.redeliveryCount)).toEqual([1, 1, 1]);
  });

  it('rewinds on a negative ack after the delay: everything unacknowledged comes again, the nacked one counted', async () => {
    const topic = new FakeTopic();
    topic.publishMany(3);
    const { consumer, sink } = await topic.consumer({
      subscription: 's',
      negativeAckRedeliveryDelayMillis: 50,
    });
    await until('3 messages', () => sink.messages.length === 3);
    const [m0, m1] = sink.take();
    await consumer.acknowledge([m0!.messageId]);
    const nackedAt = Date.now();
    consumer.negativeAcknowledge([m1!.messageId]);
    await until('the redelivery', () => sink.messages.length === 2);
    expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(45);
    expect(sink.payloads()).toEqual(['m1', 'm2']);
    expect(sink.messages.map((m) => m.redeliveryCount)).toEqual([1, 0]);
  });

  it('redelivers after the ack timeout', async () => {
    const topic = new FakeTopic();
    topic.publishMany(2);
    const { consumer, sink } = await topic.consumer({ subscription: 's', ackTimeoutMillis: 300 });
    await until('2 messages', () => sink.messages.length === 2);
    await consumer.acknowledge([sink.take()[0]!.messageId]);
    await until('the timed-out message again', () => sink.messages.length >= 1, 2000);
    expect(sink.messages[0]!.entry.payload.toString()).toBe('m1');
    expect(sink.messages[0]!.redeliveryCount).toBe(1);
    await consumer.acknowledge([sink.messages[0]!.messageId]);
    await consumer.close();
  });

  it('rejects a cumulative ack past the end and a malformed message id with BadRequest', async () => {
    const topic = new FakeTopic();
    topic.publishMany(1);
    const { consumer } = await topic.consumer({ subscription: 's' });
    const beyond = await consumer
      .acknowledgeCumulative({ ledgerId: 1n, entryId: 99n, partition: -1, batchIndex: -1 })
      .catch((e: unknown) => e);
    expect((beyond as BrokerError).code).toBe('BadRequest');
    const junk = await consumer
      .acknowledge([{ ledgerId: -5n, entryId: 0n, partition: -1, batchIndex: -1 }])
      .catch((e: unknown) => e);
    expect((junk as BrokerError).code).toBe('BadRequest');
    expect(() => consumer.flow(-1)).toThrow(BrokerError);
  });

  it('reaches the end of a terminated topic once everything is read', async () => {
    const topic = new FakeTopic();
    topic.publishMany(2);
    const { consumer, sink } = await topic.consumer({ subscription: 's' }, 1);
    await until('1 message', () => sink.messages.length === 1);
    topic.host.terminate();
    await settle();
    expect(consumer.isEndOfTopic()).toBe(false);
    consumer.flow(5);
    await until('the end of topic', () => sink.endOfTopic === 1);
    expect(sink.payloads()).toEqual(['m0', 'm1']);
    expect(consumer.isEndOfTopic()).toBe(true);
  });

  it('acknowledges and skips an entry that is not in Pulsar format', async () => {
    const topic = new FakeTopic();
    topic.publish('a');
    const bad = topic.host.add(Buffer.from('not a pulsar entry'));
    topic.publish('b');
    const { sink } = await topic.consumer({ subscription: 's' });
    await until('2 messages', () => sink.messages.length === 2);
    expect(sink.payloads()).toEqual(['a', 'b']);
    expect(topic.subscriptions.get('s')!.cursor.isIndividuallyDeleted(bad)).toBe(true);
  });
});

describe('broker > subscription > permits', () => {
  it('charges a batch entry its number of messages', async () => {
    const topic = new FakeTopic();
    const batch = encodeBatchPayload(
      ['b0', 'b1', 'b2'].map((text) => ({ metadata: { properties: new Map() }, payload: Buffer.from(text) })),
    );
    const message = encodeMessage(
      {
        producerName: 'p',
        sequenceId: 0n,
        publishTime: Date.now(),
        properties: new Map(),
        numMessagesInBatch: 3,
      },
      batch,
    );
    topic.host.add(withBrokerEntryMetadata(message, { brokerTimestamp: Date.now(), index: 2n }));
    topic.publishMany(2);
    const { consumer, sink } = await topic.consumer({ subscription: 's' }, 2);
    await until('2 entries', () => sink.messages.length === 2);
    await settle();
    expect(sink.messages.map((m) => m.entry.numMessages)).toEqual([3, 1]);
    expect(consumer.availablePermits).toBe(-2);
    expect(consumer.getUnackedCount()).toBe(4);
    consumer.flow(2);
    await settle();
    expect(sink.messages.length).toBe(2);
    consumer.flow(1);
    await until('the next entry', () => sink.messages.length === 3);
  });
});

describe('broker > subscription > Failover', () => {
  it('on partition i of a partitioned topic makes the (i mod n)-th consumer active', async () => {
    const topic = new FakeTopic(
      { activeConsumerFailoverDelayTimeMillis: 0 },
      'persistent://public/default/p-partition-1',
    );
    topic.publishMany(1);
    const a = await topic.consumer({ subscription: 's', subscriptionType: 'Failover', consumerName: 'a' }, 0);
    const b = await topic.consumer({ subscription: 's', subscriptionType: 'Failover', consumerName: 'b' }, 0);
    a.consumer.flow(10);
    b.consumer.flow(10);
    await until('b gets it', () => b.sink.messages.length === 1);
    expect(a.sink.messages).toEqual([]);
    expect(b.sink.messages[0]!.messageId.partition).toBe(1);
  });

  it('makes the consumer with the lowest priorityLevel, then name, active', async () => {
    const topic = new FakeTopic();
    topic.publishMany(2);
    const b = await topic.consumer({ subscription: 's', subscriptionType: 'Failover', consumerName: 'b' });
    const a = await topic.consumer({
      subscription: 's',
      subscriptionType: 'Failover',
      consumerName: 'a',
      priorityLevel: 1,
    });
    await until('b gets 2', () => b.sink.messages.length === 2);
    expect(a.sink.messages).toEqual([]);
    expect(b.sink.activeChanges).toEqual([true]);
    expect(a.sink.activeChanges).toEqual([false]);
    expect(topic.subscriptions.get('s')!.getStats().activeConsumerName).toBe('b');
  });

  it('switches to the next consumer when the active one leaves, from the first unacknowledged message, after the delay', async () => {
    const topic = new FakeTopic({ activeConsumerFailoverDelayTimeMillis: 150 });
    topic.publishMany(4);
    const a = await topic.consumer({ subscription: 's', subscriptionType: 'Failover', consumerName: 'a' });
    const b = await topic.consumer({ subscription: 's', subscriptionType: 'Failover', consumerName: 'b' });
    await until('a gets 4', () => a.sink.messages.length === 4);
    await a.consumer.acknowledge([a.sink.messages[0]!.messageId, a.sink.messages[1]!.messageId]);
    const closedAt = Date.now();
    await a.consumer.close();
    expect(b.sink.activeChanges).toEqual([false, true]);
    await until('b gets the unacknowledged ones', () => b.sink.messages.length === 2);
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(140);
    expect(b.sink.payloads()).toEqual(['m2', 'm3']);
    expect(b.sink.messages.map((m) => m.redeliveryCount)).toEqual([1, 1]);
    topic.publish('m4');
    await until('b gets new messages', () => b.sink.messages.length === 3);
    expect(payloadOf(b.sink.messages[2]!)).toBe('m4');
  });

  it('allows several consumers, and cumulative acks', async () => {
    const topic = new FakeTopic({ activeConsumerFailoverDelayTimeMillis: 0 });
    topic.publishMany(3);
    const a = await topic.consumer({ subscription: 's', subscriptionType: 'Failover', consumerName: 'a' });
    await topic.consumer({ subscription: 's', subscriptionType: 'Failover', consumerName: 'b' });
    await until('a gets 3', () => a.sink.messages.length === 3);
    await a.consumer.acknowledgeCumulative(a.sink.messages[2]!.messageId);
    expect(topic.subscriptions.get('s')!.getStats().msgBacklog).toBe(0);
  });
});
