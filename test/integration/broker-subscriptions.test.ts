/**
 * Goal: each subscription type's delivery rules hold over real storage — Exclusive, Failover, Shared and
 * Key_Shared through BrokerService and PersistentTopic on a managed ledger over a real bookie process (real etcd):
 * redelivery after a negative ack and after the ack timeout (with redeliveryCount), Key_Shared keeping each key
 * on one consumer, Failover switching when the active consumer disconnects, and acknowledgements (with a hole)
 * surviving a broker restart (a new BrokerService on a new client and store reloads the topic and its cursor).
 *
 * Method: one bookie, E=Qw=Qa=1; producers send through Producer.send (durable when it resolves); consumers are
 * broker Consumers with a recording ConsumerSink, as a transport would attach them.
 */
import { silentLogger } from '../../common';
import { BrokerService, brokerConfig } from '../../broker';
import type {
  ConsumerSink,
  DeliveredMessage,
  PersistentTopic,
  SubscribeOptions,
  Consumer,
} from '../../broker';
import { eventually } from '../harness';
import { mlCluster } from './managed-ledger-fixture';
import type { MlCluster, Owner } from './managed-ledger-fixture';

class Sink implements ConsumerSink {
  readonly messages: DeliveredMessage[] = [];
  closedWith: string | undefined;
  active: boolean | undefined;
  sendMessages(messages: DeliveredMessage[]): void {
    this.messages.push(...messages);
  }
  close(reason: string): void {
    this.closedWith = reason;
  }
  reachedEndOfTopic(): void {}
  activeConsumerChanged(active: boolean): void {
    this.active = active;
  }
  payloads(): string[] {
    return this.messages.map((m) => m.entry.payload.toString());
  }
}

const ONE_BOOKIE = {
  managedLedgerDefaultEnsembleSize: 1,
  managedLedgerDefaultWriteQuorum: 1,
  managedLedgerDefaultAckQuorum: 1,
};

async function startBroker(owner: Owner): Promise<BrokerService> {
  const service = new BrokerService({
    factory: owner.factory,
    store: owner.store,
    config: brokerConfig({ activeConsumerFailoverDelayTimeMillis: 100 }),
    logger: silentLogger(),
  });
  await service.start();
  return service;
}

let topicSeq = 0;

describe('broker > subscriptions over bookies', () => {
  let ml: MlCluster;
  let owner: Owner;
  let broker: BrokerService;
  mlCluster(1, (started) => {
    ml = started;
  });

  beforeAll(async () => {
    owner = await ml.newOwner(ONE_BOOKIE);
    broker = await startBroker(owner);
  });

  afterAll(async () => {
    await broker?.close();
  });

  async function topicWith(count: number, key?: (i: number) => string): Promise<PersistentTopic> {
    const topic = await broker.getTopic(`persistent://public/default/subs-${++topicSeq}`);
    const producer = await topic.addProducer();
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        producer.send({ payload: Buffer.from(`m${i}`), ...(key === undefined ? {} : { key: key(i) }) }),
      ),
    );
    await producer.close();
    return topic;
  }

  async function attach(
    topic: PersistentTopic,
    options: Partial<SubscribeOptions>,
    permits = 1000,
  ): Promise<{ consumer: Consumer; sink: Sink }> {
    const sink = new Sink();
    const consumer = await topic.subscribe(
      { subscription: 's', subscriptionType: 'Exclusive', initialPosition: 'earliest', ...options },
      sink,
    );
    consumer.flow(permits);
    return { consumer, sink };
  }

  it('Exclusive: in order, within permits; a second consumer is refused; a negative ack redelivers from it', async () => {
    const topic = await topicWith(5);
    const { consumer, sink } = await attach(topic, { negativeAckRedeliveryDelayMillis: 50 }, 3);
    await eventually('3 messages', () => (sink.messages.length === 3 ? true : undefined));
    expect(sink.payloads()).toEqual(['m0', 'm1', 'm2']);
    await expect(attach(topic, {})).rejects.toMatchObject({ code: 'ConsumerBusy' });
    await consumer.acknowledge([sink.messages[0]!.messageId]);
    consumer.negativeAcknowledge([sink.messages[1]!.messageId]);
    consumer.flow(10);
    // The rewind sends everything unacknowledged again, in order: m1 (counted), then m2, m3, m4.
    const redeliveredAt = await eventually('the redelivery', () => {
      const at = sink.messages.findIndex((m) => m.redeliveryCount === 1);
      return at >= 0 && sink.messages.length >= at + 4 ? at : undefined;
    });
    const tail = sink.messages.slice(redeliveredAt);
    expect(tail.map((m) => [m.entry.payload.toString(), m.redeliveryCount])).toEqual([
      ['m1', 1],
      ['m2', 0],
      ['m3', 0],
      ['m4', 0],
    ]);
    expect(sink.payloads().filter((p) => p === 'm0')).toEqual(['m0']);
  });

  it('Shared: round robin over two consumers; an ack timeout redelivers with redeliveryCount 1', async () => {
    const topic = await topicWith(40);
    const a = await attach(topic, { subscriptionType: 'Shared', consumerName: 'a', ackTimeoutMillis: 1000 });
    const b = await attach(topic, { subscriptionType: 'Shared', consumerName: 'b' });
    await eventually('40 delivered', () =>
      a.sink.messages.length + b.sink.messages.length >= 40 ? true : undefined,
    );
    expect(b.sink.messages.length).toBeGreaterThan(0);
    await b.consumer.acknowledge(b.sink.messages.map((m) => m.messageId));
    const firstOnA = a.sink.messages.slice();
    await a.consumer.acknowledge(firstOnA.slice(1).map((m) => m.messageId));
    await eventually('the timed-out message again', () =>
      [...a.sink.messages, ...b.sink.messages].some((m) => m.redeliveryCount === 1) ? true : undefined,
    );
    const again = [...a.sink.messages, ...b.sink.messages].filter((m) => m.redeliveryCount === 1);
    expect(again.map((m) => m.entry.payload.toString())).toEqual([firstOnA[0]!.entry.payload.toString()]);
    const sub = topic.getSubscription('s')!;
    expect(sub.getStats().type).toBe('Shared');
  });

  it('Key_Shared: each key on one consumer, in order', async () => {
    const topic = await topicWith(60, (i) => `key-${i % 6}`);
    const a = await attach(topic, { subscriptionType: 'Key_Shared', consumerName: 'a' });
    const b = await attach(topic, { subscriptionType: 'Key_Shared', consumerName: 'b' });
    await eventually('60 delivered', () =>
      a.sink.messages.length + b.sink.messages.length === 60 ? true : undefined,
    );
    for (let k = 0; k < 6; k++) {
      const key = `key-${k}`;
      const onA = a.sink.messages.filter((m) => m.entry.metadata.partitionKey === key);
      const onB = b.sink.messages.filter((m) => m.entry.metadata.partitionKey === key);
      expect(Math.min(onA.length, onB.length)).toBe(0);
      const indexes = [...onA, ...onB].map((m) => Number(m.entry.payload.toString().slice(1)));
      expect(indexes).toEqual(Array.from({ length: 10 }, (_, i) => k + 6 * i));
    }
  });

  it('Failover: the next consumer takes over from the first unacknowledged message when the active one disconnects', async () => {
    const topic = await topicWith(6);
    const a = await attach(topic, { subscriptionType: 'Failover', consumerName: 'a' });
    const b = await attach(topic, { subscriptionType: 'Failover', consumerName: 'b' });
    await eventually('a gets 6', () => (a.sink.messages.length === 6 ? true : undefined));
    expect(a.sink.active).toBe(true);
    expect(b.sink.active).toBe(false);
    await a.consumer.acknowledgeCumulative(a.sink.messages[2]!.messageId);
    await a.consumer.close();
    expect(b.sink.active).toBe(true);
    await eventually('b gets the rest', () => (b.sink.messages.length === 3 ? true : undefined));
    expect(b.sink.payloads()).toEqual(['m3', 'm4', 'm5']);
  });

  it('acknowledgements, with a hole, survive a broker restart', async () => {
    const name = `persistent://public/default/subs-restart-${++topicSeq}`;
    const topic = await broker.getTopic(name);
    const producer = await topic.addProducer();
    for (let i = 0; i < 6; i++) await producer.send({ payload: Buffer.from(`m${i}`) });
    const { consumer, sink } = await attach(topic, { subscriptionType: 'Shared' });
    await eventually('6 delivered', () => (sink.messages.length === 6 ? true : undefined));
    const ids = sink.messages.map((m) => m.messageId);
    await consumer.acknowledge([ids[0]!, ids[1]!, ids[3]!]);
    const secondOwner = await ml.newOwner(ONE_BOOKIE);
    await broker.close();
    broker = await startBroker(secondOwner);
    const reloaded = await broker.getTopic(name);
    const again = await attach(reloaded, { subscriptionType: 'Shared' });
    await eventually('the unacknowledged ones', () => (again.sink.messages.length === 3 ? true : undefined));
    expect(again.sink.payloads()).toEqual(['m2', 'm4', 'm5']);
    expect(reloaded.getSubscription('s')!.getStats().msgBacklog).toBe(3);
  });
});
