import { ManagedLedgerError } from '../../../../../managed-ledger';
import { Consumer } from '../../../../../broker/service/subscription';
import { BrokerError } from '../../../../../broker/service/errors';
import { FakeTopic, RecordingSink, payloadOf, settle, until } from './fixtures';

describe('broker > subscription > admin', () => {
  it('peeks the n-th unacknowledged message without consuming it', async () => {
    const topic = new FakeTopic();
    const positions = topic.publishMany(5);
    const sub = await topic.subscription('s');
    await sub.cursor.delete([positions[1]!]);
    const third = await sub.peek(3);
    expect(third?.entry.payload.toString()).toBe('m3');
    expect(third?.messageId).toMatchObject({
      ledgerId: positions[3]!.ledgerId,
      entryId: positions[3]!.entryId,
    });
    expect(await sub.peek(5)).toBeUndefined();
    expect(sub.getStats().msgBacklog).toBe(4);
    await expect(sub.peek(0)).rejects.toThrow(BrokerError);
  });

  it('skips n messages and clears the backlog', async () => {
    const topic = new FakeTopic();
    topic.publishMany(6);
    const sub = await topic.subscription('s');
    await sub.skip(2);
    expect(sub.getStats().msgBacklog).toBe(4);
    expect((await sub.peek(1))?.entry.payload.toString()).toBe('m2');
    await sub.clearBacklog();
    expect(sub.getStats().msgBacklog).toBe(0);
    expect(await sub.peek(1)).toBeUndefined();
  });

  it('resets to a position and to a publish time; attached consumers get messages from there', async () => {
    const topic = new FakeTopic();
    const positions = [0, 1, 2, 3, 4].map((i) => topic.publish(`m${i}`, { publishTime: 1000 + i * 10 }));
    const { consumer, sink } = await topic.consumer({ subscription: 's' });
    await until('5 delivered', () => sink.messages.length === 5);
    await consumer.acknowledgeCumulative(sink.take()[4]!.messageId);
    const sub = topic.subscriptions.get('s')!;
    await sub.resetCursor(positions[2]!);
    await until('from m2', () => sink.messages.length === 3);
    expect(sink.payloads()).toEqual(['m2', 'm3', 'm4']);
    sink.take();
    await sub.resetCursor({ publishTime: 1015 });
    await until('from m2 again', () => sink.messages.length === 3);
    expect(sink.payloads()).toEqual(['m2', 'm3', 'm4']);
    sink.take();
    await sub.resetCursor({ publishTime: 0 });
    await until('from the first', () => sink.messages.length === 5);
    expect(payloadOf(sink.messages[0]!)).toBe('m0');
    await expect(sub.resetCursor({ publishTime: Number.NaN })).rejects.toThrow(BrokerError);
  });

  it('a reset of a Shared subscription sends everything from the new position again, pending or not', async () => {
    const topic = new FakeTopic();
    const positions = topic.publishMany(3);
    const { consumer, sink } = await topic.consumer({ subscription: 's', subscriptionType: 'Shared' });
    await until('3 delivered', () => sink.messages.length === 3);
    await consumer.acknowledge([sink.messages[0]!.messageId]);
    sink.take();
    await topic.subscriptions.get('s')!.resetCursor(positions[0]!);
    await until('3 again', () => sink.messages.length === 3);
    expect(sink.payloads()).toEqual(['m0', 'm1', 'm2']);
    expect(consumer.getUnackedCount()).toBe(3);
  });

  it('Shared consumers hear of the end of a terminated topic once everything was read', async () => {
    const topic = new FakeTopic();
    topic.publishMany(2);
    const { consumer, sink } = await topic.consumer({ subscription: 's', subscriptionType: 'Shared' });
    await until('2 delivered', () => sink.messages.length === 2);
    topic.host.terminate();
    await until('end of topic', () => sink.endOfTopic === 1);
    expect(consumer.isEndOfTopic()).toBe(true);
  });

  it('retries a read that failed in the storage', async () => {
    const topic = new FakeTopic();
    topic.publishMany(2);
    const read = topic.host.readEntries.bind(topic.host);
    let failures = 0;
    topic.host.readEntries = (...args) => {
      if (failures++ === 0) {
        return Promise.reject(new ManagedLedgerError('BookKeeperException', 'bookies unreachable'));
      }
      return read(...args);
    };
    const { sink } = await topic.consumer({ subscription: 's' });
    await until('2 delivered after the retry', () => sink.messages.length === 2);
    expect(failures).toBeGreaterThan(1);
    expect(sink.payloads()).toEqual(['m0', 'm1']);
  });

  it('reports stats with Pulsar names', async () => {
    const topic = new FakeTopic();
    topic.publishMany(3);
    const { consumer, sink } = await topic.consumer({
      subscription: 's',
      subscriptionType: 'Shared',
      consumerName: 'c1',
    });
    await until('3 delivered', () => sink.messages.length === 3);
    await consumer.acknowledge([sink.messages[1]!.messageId]);
    const stats = topic.subscriptions.get('s')!.getStats();
    expect(stats).toMatchObject({
      type: 'Shared',
      msgBacklog: 2,
      msgOutCounter: 3,
      unackedMessages: 2,
      isDurable: true,
      nonContiguousDeletedMessagesRanges: 1,
      blockedSubscriptionOnUnackedMsgs: false,
    });
    expect(stats.bytesOutCounter).toBeGreaterThan(0);
    expect(stats.consumers).toHaveLength(1);
    expect(stats.consumers[0]).toMatchObject({
      consumerName: 'c1',
      unackedMessages: 2,
      msgOutCounter: 3,
      availablePermits: 997,
    });
    expect(JSON.parse(JSON.stringify(stats)).consumers[0].connectedSince).toMatch(/^\d{4}-/);
    expect(topic.delivered).toBe(3);
  });

  it('delete disconnects the consumers and removes the cursor', async () => {
    const topic = new FakeTopic();
    topic.publishMany(1);
    const { consumer, sink } = await topic.consumer({ subscription: 's' });
    const sub = topic.subscriptions.get('s')!;
    await sub.delete();
    expect(sink.closedWith).toContain('deleted');
    expect(consumer.isClosed()).toBe(true);
    expect(topic.deleted).toEqual(['s']);
    expect(() =>
      sub.addConsumer(
        new Consumer(sub, { subscription: 's', subscriptionType: 'Exclusive' }, new RecordingSink()),
      ),
    ).toThrow(BrokerError);
  });

  it('readers: a non-durable subscription from a message id, removed with its last consumer', async () => {
    const topic = new FakeTopic();
    const positions = topic.publishMany(4);
    const sub = topic.reader('reader-1', positions[1]!);
    const sink = new RecordingSink();
    const consumer = new Consumer(
      sub,
      { subscription: 'reader-1', subscriptionType: 'Exclusive', durable: false },
      sink,
    );
    sub.addConsumer(consumer);
    consumer.flow(10);
    await until('2 messages', () => sink.messages.length === 2);
    expect(sink.payloads()).toEqual(['m2', 'm3']);
    expect(sub.durable).toBe(false);
    // A reader acknowledges nothing: nothing is kept pending for it.
    expect(consumer.getUnackedCount()).toBe(0);
    expect(consumer.pendingAcks.size).toBe(0);
    await consumer.close();
    await settle();
    expect(topic.deleted).toEqual(['reader-1']);
  });

  it('readers from earliest and latest', async () => {
    const topic = new FakeTopic();
    topic.publishMany(2);
    const early = topic.reader('r-early', 'earliest');
    const late = topic.reader('r-late', 'latest');
    const sinks = [new RecordingSink(), new RecordingSink()];
    [early, late].forEach((sub, i) => {
      const consumer = new Consumer(
        sub,
        { subscription: sub.name, subscriptionType: 'Exclusive', durable: false },
        sinks[i]!,
      );
      sub.addConsumer(consumer);
      consumer.flow(10);
    });
    topic.publish('new');
    await until('all', () => sinks[0]!.messages.length === 3 && sinks[1]!.messages.length === 1);
    expect(sinks[0]!.payloads()).toEqual(['m0', 'm1', 'new']);
    expect(sinks[1]!.payloads()).toEqual(['new']);
  });

  it('changes type when no consumer is attached', async () => {
    const topic = new FakeTopic();
    const first = await topic.consumer({ subscription: 's', subscriptionType: 'Exclusive' });
    await first.consumer.close();
    await topic.consumer({ subscription: 's', subscriptionType: 'Shared' });
    expect(topic.subscriptions.get('s')!.getType()).toBe('Shared');
  });
});
