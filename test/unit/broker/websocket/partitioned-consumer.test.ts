/*
 * PartitionedConsumer: one session's consumers on the partitions of a partitioned topic, merged. Scripted partition
 * consumers record flows, acks and nacks; the session sink records what it is handed.
 */
import { silentLogger } from '../../../../common';
import type { Consumer, ConsumerSink, DeliveredMessage } from '../../../../broker/service';
import { PartitionedConsumer } from '../../../../broker/websocket/partitioned-consumer';
import { delivered } from './fake-broker';

class ScriptedConsumer {
  readonly flows: number[] = [];
  readonly acks: bigint[] = [];
  readonly nacks: bigint[] = [];
  readonly unsubscribed: string[] = [];
  endOfTopic = false;
  closed = false;
  readonly subscription = {
    name: 'sub',
    topic: { unsubscribe: (name: string) => (this.unsubscribed.push(name), Promise.resolve()) },
  };
  get permits(): number {
    return this.flows.reduce((a, b) => a + b, 0);
  }
  flow(permits: number): void {
    this.flows.push(permits);
  }
  acknowledge(ids: Array<{ entryId: bigint }>): Promise<void> {
    this.acks.push(...ids.map((id) => id.entryId));
    return Promise.resolve();
  }
  negativeAcknowledge(ids: Array<{ entryId: bigint }>): void {
    this.nacks.push(...ids.map((id) => id.entryId));
  }
  isEndOfTopic(): boolean {
    return this.endOfTopic;
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function setup(partitions: number, permitsPerPartition: number) {
  const received: DeliveredMessage[] = [];
  const events: string[] = [];
  const sink: ConsumerSink = {
    sendMessages: (messages) => received.push(...messages),
    close: (reason) => events.push(`close ${reason}`),
    reachedEndOfTopic: () => events.push('end'),
  };
  const merged = new PartitionedConsumer(sink, partitions, permitsPerPartition, silentLogger());
  const consumers = Array.from({ length: partitions }, () => new ScriptedConsumer());
  merged.bind(consumers as unknown as Consumer[]);
  return { merged, consumers, received, events };
}

describe('broker > websocket > partitioned consumer', () => {
  it('gives every partition its own window, merges deliveries in arrival order with the partition in each id', () => {
    const { merged, consumers, received } = setup(3, 4);
    merged.flow(5);
    expect(consumers.map((c) => c.permits)).toEqual([4, 4, 4]);
    merged.sinkOf(2).sendMessages([delivered(1, 'c1'), delivered(2, 'c2')]);
    merged.sinkOf(0).sendMessages([delivered(1, 'a1')]);
    merged.sinkOf(1).sendMessages([delivered(1, 'b1'), delivered(2, 'b2'), delivered(3, 'b3')]);
    // The session asked for 5: the sixth waits in the queue.
    expect(received.map((m) => [m.messageId.partition, Number(m.messageId.entryId)])).toEqual([
      [2, 1],
      [2, 2],
      [0, 1],
      [1, 1],
      [1, 2],
    ]);
    merged.flow(10);
    expect(received.map((m) => m.messageId.partition)).toEqual([2, 2, 0, 1, 1, 1]);
  });

  it('keeps a busy partition flowing while the others have nothing, within its window', () => {
    const { merged, consumers, received } = setup(2, 4);
    merged.flow(100);
    for (let i = 0; i < 5; i++) {
      merged.sinkOf(1).sendMessages([delivered(2 * i, 'x'), delivered(2 * i + 1, 'y')]);
    }
    expect(received).toHaveLength(10);
    expect(consumers[0]!.permits).toBe(4);
    // Granted and not used never exceed the window.
    expect(consumers[1]!.permits - 10).toBeLessThanOrEqual(4);
    expect(consumers[1]!.permits - 10).toBeGreaterThan(0);
  });

  it('stops granting a partition while its messages wait for the session (the queue is bounded)', () => {
    const { merged, consumers, received } = setup(2, 3);
    merged.flow(1);
    merged.sinkOf(0).sendMessages([delivered(1, 'a'), delivered(2, 'b'), delivered(3, 'c')]);
    expect(received).toHaveLength(1);
    // 3 granted, 1 taken: 2 queued, so at most 1 more permit — not granted until half a window is free.
    expect(consumers[0]!.permits).toBeLessThanOrEqual(4);
  });

  it('routes acks and negative acks by the partition of the id; ids of no partition are ignored', async () => {
    const { merged, consumers } = setup(2, 2);
    const id = (partition: number, entryId: bigint) => ({ ledgerId: 9n, entryId, partition, batchIndex: -1 });
    await merged.acknowledge([id(1, 5n), id(0, 6n), id(1, 7n), id(4, 8n)]);
    merged.negativeAcknowledge([id(0, 9n)]);
    expect(consumers[0]!.acks).toEqual([6n]);
    expect(consumers[1]!.acks).toEqual([5n, 7n]);
    expect(consumers[0]!.nacks).toEqual([9n]);
  });

  it('reaches the end of the topic only when every partition did; closes and unsubscribes all', async () => {
    const { merged, consumers, events } = setup(2, 2);
    consumers[0]!.endOfTopic = true;
    merged.sinkOf(0).reachedEndOfTopic();
    expect(events).toEqual([]);
    consumers[1]!.endOfTopic = true;
    merged.sinkOf(1).reachedEndOfTopic();
    expect(events).toEqual(['end']);
    expect(merged.isEndOfTopic()).toBe(true);
    merged.sinkOf(1).close('Topic deleted');
    expect(events).toEqual(['end', 'close Topic deleted']);
    await merged.unsubscribe();
    expect(consumers.map((c) => c.unsubscribed)).toEqual([['sub'], ['sub']]);
    await merged.close();
    expect(consumers.every((c) => c.closed)).toBe(true);
  });
});
