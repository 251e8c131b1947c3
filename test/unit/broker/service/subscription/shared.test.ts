import { BrokerError } from '../../../../../broker/service/errors';
import { FakeTopic, payloadOf, settle, sleep, until } from './fixtures';

describe('broker > subscription > Shared', () => {
  it('hands messages round robin, at most dispatcherMaxRoundRobinBatchSize per turn', async () => {
    const topic = new FakeTopic({ dispatcherMaxRoundRobinBatchSize: 2 });
    const a = await topic.consumer({ subscription: 's', subscriptionType: 'Shared', consumerName: 'a' });
    const b = await topic.consumer({ subscription: 's', subscriptionType: 'Shared', consumerName: 'b' });
    topic.publishMany(8);
    await until('8 delivered', () => a.sink.messages.length + b.sink.messages.length === 8);
    expect(a.sink.messages.length).toBe(4);
    expect(b.sink.messages.length).toBe(4);
    const all = [...a.sink.messages, ...b.sink.messages].map(payloadOf).sort();
    expect(all).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    // Each turn is a run of at most 2 consecutive messages.
    for (const sink of [a.sink, b.sink]) {
      const indexes = sink.payloads().map((p) => Number(p.slice(1)));
      for (let i = 0; i + 2 < indexes.length; i += 2) expect(indexes[i + 1]).toBe(indexes[i]! + 1);
    }
  });

  it('sends only to consumers with permits, the lowest priorityLevel first', async () => {
    const topic = new FakeTopic();
    topic.publishMany(6);
    const low = await topic.consumer(
      { subscription: 's', subscriptionType: 'Shared', consumerName: 'low', priorityLevel: 1 },
      0,
    );
    const high = await topic.consumer(
      { subscription: 's', subscriptionType: 'Shared', consumerName: 'high' },
      2,
    );
    await until('high gets 2', () => high.sink.messages.length === 2);
    await settle();
    expect(low.sink.messages).toEqual([]);
    low.consumer.flow(10);
    await until('low gets the rest', () => low.sink.messages.length === 4);
    expect(high.sink.payloads()).toEqual(['m0', 'm1']);
  });

  it('redelivers a negatively acknowledged message after the delay with redeliveryCount 1', async () => {
    const topic = new FakeTopic();
    topic.publishMany(3);
    const { consumer, sink } = await topic.consumer({
      subscription: 's',
      subscriptionType: 'Shared',
      negativeAckRedeliveryDelayMillis: 50,
    });
    await until('3 messages', () => sink.messages.length === 3);
    const [m0, m1, m2] = sink.take();
    await consumer.acknowledge([m0!.messageId, m2!.messageId]);
    const nackedAt = Date.now();
    consumer.negativeAcknowledge([m1!.messageId]);
    await until('the redelivery', () => sink.messages.length === 1);
    expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(45);
    expect(payloadOf(sink.messages[0]!)).toBe('m1');
    expect(sink.messages[0]!.redeliveryCount).toBe(1);
    consumer.negativeAcknowledge([sink.messages[0]!.messageId]);
    await until('the second redelivery', () => sink.messages.length === 2);
    expect(sink.messages[1]!.redeliveryCount).toBe(2);
  });

  it("gives a closing consumer's unacknowledged messages to the others", async () => {
    const topic = new FakeTopic();
    topic.publishMany(4);
    const a = await topic.consumer({ subscription: 's', subscriptionType: 'Shared', consumerName: 'a' });
    await until('a gets 4', () => a.sink.messages.length === 4);
    await a.consumer.acknowledge([a.sink.messages[0]!.messageId]);
    const b = await topic.consumer({ subscription: 's', subscriptionType: 'Shared', consumerName: 'b' });
    await a.consumer.close();
    await until('b gets 3', () => b.sink.messages.length === 3);
    expect(b.sink.payloads()).toEqual(['m1', 'm2', 'm3']);
    expect(b.sink.messages.map((m) => m.redeliveryCount)).toEqual([1, 1, 1]);
  });

  it('refuses cumulative acks with NotAllowed', async () => {
    const topic = new FakeTopic();
    topic.publishMany(1);
    const { consumer, sink } = await topic.consumer({ subscription: 's', subscriptionType: 'Shared' });
    await until('1 message', () => sink.messages.length === 1);
    const error = await consumer.acknowledgeCumulative(sink.messages[0]!.messageId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe('NotAllowed');
  });

  it('blocks a consumer at maxUnackedMessagesPerConsumer until half are acknowledged', async () => {
    const topic = new FakeTopic({ maxUnackedMessagesPerConsumer: 4 });
    topic.publishMany(10);
    const { consumer, sink } = await topic.consumer({ subscription: 's', subscriptionType: 'Shared' });
    await until('4 messages', () => sink.messages.length === 4);
    await settle();
    expect(sink.messages.length).toBe(4);
    expect(topic.subscriptions.get('s')!.getStats().consumers[0]!.blockedConsumerOnUnackedMsgs).toBe(true);
    await consumer.acknowledge([sink.messages[0]!.messageId]);
    await settle();
    expect(sink.messages.length).toBe(4);
    await consumer.acknowledge([sink.messages[1]!.messageId]);
    await until('more after half were acknowledged', () => sink.messages.length > 4);
    expect(sink.messages.length).toBe(6);
  });

  it('blocks the subscription at maxUnackedMessagesPerSubscription until half are acknowledged', async () => {
    const topic = new FakeTopic({ maxUnackedMessagesPerSubscription: 4, maxUnackedMessagesPerConsumer: 0 });
    topic.publishMany(10);
    const a = await topic.consumer({ subscription: 's', subscriptionType: 'Shared', consumerName: 'a' });
    const b = await topic.consumer({ subscription: 's', subscriptionType: 'Shared', consumerName: 'b' });
    await until('4 messages', () => a.sink.messages.length + b.sink.messages.length >= 4);
    await settle();
    const delivered = [...a.sink.messages, ...b.sink.messages];
    expect(delivered.length).toBe(4);
    expect(topic.subscriptions.get('s')!.getStats().blockedSubscriptionOnUnackedMsgs).toBe(true);
    await a.consumer.acknowledge(delivered.slice(0, 2).map((m) => m.messageId));
    await until('more', () => a.sink.messages.length + b.sink.messages.length > 4);
  });

  it('redelivers after the ack timeout to any consumer', async () => {
    const topic = new FakeTopic();
    topic.publishMany(1);
    const { consumer, sink } = await topic.consumer({
      subscription: 's',
      subscriptionType: 'Shared',
      ackTimeoutMillis: 300,
    });
    await until('redelivery', () => sink.messages.length === 2);
    expect(sink.receivedAt[1]! - sink.receivedAt[0]!).toBeGreaterThanOrEqual(290);
    expect(sink.messages[1]!.redeliveryCount).toBe(1);
    await consumer.acknowledge([sink.messages[1]!.messageId]);
    await sleep(450);
    expect(sink.messages.length).toBe(2);
    expect(consumer.getUnackedCount()).toBe(0);
  });

  it('accepts an ack through another consumer of the subscription', async () => {
    const topic = new FakeTopic();
    topic.publishMany(1);
    const a = await topic.consumer({ subscription: 's', subscriptionType: 'Shared', consumerName: 'a' });
    await until('a gets it', () => a.sink.messages.length === 1);
    const b = await topic.consumer({ subscription: 's', subscriptionType: 'Shared', consumerName: 'b' });
    await b.consumer.acknowledge([a.sink.messages[0]!.messageId]);
    expect(a.consumer.getUnackedCount()).toBe(0);
    expect(topic.subscriptions.get('s')!.getStats().msgBacklog).toBe(0);
  });
});
