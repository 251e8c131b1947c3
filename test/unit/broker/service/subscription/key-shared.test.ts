import { murmur3_32 } from '../../../../../broker/pulsar';
import { ConsistentHashingSelector } from '../../../../../broker/service/subscription';
import type { Consumer, DeliveredMessage } from '../../../../../broker/service/subscription';
import { FakeTopic, settle, until } from './fixtures';

const keyOf = (m: DeliveredMessage): string => m.entry.metadata.partitionKey!;

/** Which of `names` the ring gives `key` to (the same ring the dispatcher builds from the consumers' names). */
function ownerOf(key: string, names: string[]): string {
  const selector = new ConsistentHashingSelector();
  names.forEach((consumerName, consumerId) => selector.add({ consumerName, consumerId } as Consumer));
  return selector.select(murmur3_32(key) % 65536)!.consumerName;
}

describe('broker > subscription > Key_Shared', () => {
  it('delivers every message of a key to one consumer, in order', async () => {
    const topic = new FakeTopic();
    const a = await topic.consumer({ subscription: 's', subscriptionType: 'Key_Shared', consumerName: 'a' });
    const b = await topic.consumer({ subscription: 's', subscriptionType: 'Key_Shared', consumerName: 'b' });
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
    for (let round = 0; round < 4; round++) for (const key of keys) topic.publish(`${key}/${round}`, { key });
    await until('48 delivered', () => a.sink.messages.length + b.sink.messages.length === 48);
    for (const key of keys) {
      const onA = a.sink.messages.filter((m) => keyOf(m) === key);
      const onB = b.sink.messages.filter((m) => keyOf(m) === key);
      const mine = onA.length > 0 ? onA : onB;
      expect(onA.length === 0 || onB.length === 0).toBe(true);
      expect(mine.map((m) => m.entry.payload.toString())).toEqual([0, 1, 2, 3].map((r) => `${key}/${r}`));
      expect(onA.length > 0 ? 'a' : 'b').toBe(ownerOf(key, ['a', 'b']));
    }
    expect(a.sink.messages.length).toBeGreaterThan(0);
    expect(b.sink.messages.length).toBeGreaterThan(0);
  });

  it('holds a key that moves to a new consumer until the previous one acknowledged its messages (draining hashes)', async () => {
    const topic = new FakeTopic();
    const a = await topic.consumer({ subscription: 's', subscriptionType: 'Key_Shared', consumerName: 'a' });
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    for (const key of keys) topic.publish(`${key}/0`, { key });
    await until('a gets 10', () => a.sink.messages.length === 10);
    const b = await topic.consumer({ subscription: 's', subscriptionType: 'Key_Shared', consumerName: 'b' });
    for (const key of keys) topic.publish(`${key}/1`, { key });
    const moved = keys.filter((key) => ownerOf(key, ['a', 'b']) === 'b');
    const stayed = keys.filter((key) => ownerOf(key, ['a', 'b']) === 'a');
    expect(moved.length).toBeGreaterThan(0);
    expect(stayed.length).toBeGreaterThan(0);
    await until('a gets the keys it keeps', () => a.sink.messages.length === 10 + stayed.length);
    await settle();
    expect(b.sink.messages).toEqual([]);
    // a acknowledges the first moved key's message: only that key goes to b.
    const first = a.sink.messages.find((m) => keyOf(m) === moved[0])!;
    await a.consumer.acknowledge([first.messageId]);
    await until('b gets the drained key', () => b.sink.messages.length === 1);
    expect(b.sink.payloads()).toEqual([`${moved[0]}/1`]);
    // a closes with the rest unacknowledged: b gets them, each key's old message before its new one.
    await a.consumer.close();
    await until('b gets the rest', () => b.sink.messages.length === 1 + 2 * (keys.length - 1));
    for (const key of keys) {
      const payloads = b.sink.messages.filter((m) => keyOf(m) === key).map((m) => m.entry.payload.toString());
      expect(payloads).toEqual(key === moved[0] ? [`${key}/1`] : [`${key}/0`, `${key}/1`]);
    }
  });

  it('sends messages held for a consumer without permits as soon as it gets permits', async () => {
    const topic = new FakeTopic();
    const a = await topic.consumer({ subscription: 's', subscriptionType: 'Key_Shared', consumerName: 'a' });
    const b = await topic.consumer(
      { subscription: 's', subscriptionType: 'Key_Shared', consumerName: 'b' },
      0,
    );
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const forB = keys.filter((key) => ownerOf(key, ['a', 'b']) === 'b');
    expect(forB.length).toBeGreaterThan(0);
    for (const key of keys) topic.publish(`${key}/0`, { key });
    await until('a gets its keys', () => a.sink.messages.length === keys.length - forB.length);
    await settle();
    expect(b.sink.messages).toEqual([]);
    // No new entry arrives: the held messages must not wait behind the read waiting for one.
    b.consumer.flow(100);
    await until('b gets its keys', () => b.sink.messages.length === forB.length);
    expect(b.sink.messages.map(keyOf).sort()).toEqual([...forB].sort());
  });

  it('redelivers a negatively acknowledged message to the same consumer before later messages of its key', async () => {
    const topic = new FakeTopic();
    const { consumer, sink } = await topic.consumer({
      subscription: 's',
      subscriptionType: 'Key_Shared',
      negativeAckRedeliveryDelayMillis: 20,
    });
    topic.publish('x/0', { key: 'x' });
    await until('x/0', () => sink.messages.length === 1);
    consumer.negativeAcknowledge([sink.messages[0]!.messageId]);
    await until('x/0 again', () => sink.messages.length === 2);
    expect(sink.messages[1]!.redeliveryCount).toBe(1);
    topic.publish('x/1', { key: 'x' });
    await until('x/1', () => sink.messages.length === 3);
    expect(sink.payloads()).toEqual(['x/0', 'x/0', 'x/1']);
  });
});
