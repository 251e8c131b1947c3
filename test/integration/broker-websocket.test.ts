/**
 * Goal: Pulsar's WebSocket API end to end — what a WebSocket client sees when producing to and consuming from
 * durable topics: every "ok" message delivered in publish order with its metadata, acks that stick, redelivery
 * after a negative ack and after a consumer leaves, readers from earliest / latest / a message id, isEndOfTopic
 * after a terminate, and HTTP statuses for refused upgrades.
 * Method: `ledgerline standalone` as a child process on a temp data dir (broker-websocket-fixture.ts), real `ws`
 * client connections; what the tests check on the broker's side they read from its admin REST API.
 */
import type { Socket } from 'node:net';
import { messageIdFromBase64, messageIdToBase64 } from '../../broker';
import { eventually } from '../harness';
import { TestClient, eventuallyTrue, refusal } from '../unit/broker/websocket/ws-client';
import { wsStandalone } from './broker-websocket-fixture';
import type { WsStandalone } from './broker-websocket-fixture';

let env!: WsStandalone;
wsStandalone((started) => (env = started));

let topicSeq = 0;
function topicPath(): string {
  return `persistent/public/default/ws-${process.pid}-${++topicSeq}`;
}

const clients: TestClient[] = [];
async function connect(path: string): Promise<TestClient> {
  const client = await TestClient.connect(`${env.base}/ws/v2/${path}`);
  clients.push(client);
  return client;
}
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

interface TopicStats {
  msgInCounter: number;
  publishers: unknown[];
  subscriptions: Record<string, { msgBacklog: number }>;
}

/** The topic's stats from the admin REST API (Pulsar's TopicStats); `topic` as in topicPath(). */
async function topicStats(topic: string): Promise<TopicStats> {
  const reply = await env.admin('GET', `${topic}/stats`);
  expect(reply.status).toBe(200);
  return reply.json as TopicStats;
}

/** Resolves once the topic exists and `check` of its stats holds (polled), failing the test after 10 s. */
function statsReach(topic: string, what: string, check: (stats: TopicStats) => boolean): Promise<true> {
  return eventually(
    what,
    async () => {
      const reply = await env.admin('GET', `${topic}/stats`);
      return reply.status === 200 && check(reply.json as TopicStats) ? true : undefined;
    },
    10_000,
  );
}

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}
function text(frame: Record<string, unknown>): string {
  return Buffer.from(frame.payload as string, 'base64').toString();
}

/** Sends messages m<first>..m<first+count-1> and waits for every reply; returns the replies. */
async function produce(
  producer: TestClient,
  count: number,
  first = 0,
): Promise<Array<Record<string, unknown>>> {
  const before = producer.frames.length;
  for (let i = first; i < first + count; i++) {
    producer.send({ payload: b64(`m${i}`), context: `${i}`, key: `k${i % 3}`, properties: { i: `${i}` } });
  }
  return (await producer.waitFrames(before + count)).slice(before);
}

describe('broker > websocket (end to end)', () => {
  it('delivers every acknowledged message in order, with its metadata; acks stick across reconnects', async () => {
    const topic = topicPath();
    const consumer = await connect(`consumer/${topic}/sub?subscriptionType=Exclusive`);
    const producer = await connect(`producer/${topic}?producerName=ws-p`);
    const replies = await produce(producer, 20);
    expect(replies.map((r) => r.result)).toEqual(Array(20).fill('ok'));
    expect(replies.map((r) => r.context)).toEqual(Array.from({ length: 20 }, (_, i) => `${i}`));

    const frames = await consumer.waitFrames(20);
    expect(frames.map(text)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(frames.map((f) => f.messageId)).toEqual(replies.map((r) => r.messageId));
    expect(frames[4]).toMatchObject({ key: 'k1', properties: { i: '4' }, redeliveryCount: 0 });
    expect(Date.parse(frames[4]!.publishTime as string)).toBeGreaterThan(Date.now() - 60_000);
    // Ack the first 10 only, then reconnect: the other 10 come again.
    for (const frame of frames.slice(0, 10)) consumer.send({ messageId: frame.messageId });
    consumer.send({ type: 'isEndOfTopic' });
    expect((await consumer.waitFrames(21))[20]).toEqual({ endOfTopic: false });
    consumer.close();
    await consumer.waitClose();
    const again = await connect(`consumer/${topic}/sub`);
    const redelivered = await again.waitFrames(10);
    expect(redelivered.map(text)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 10}`));
  });

  it('acks sent together stick even beside an ack the broker refuses, and acks sent just before a close stick', async () => {
    const topic = topicPath();
    const consumer = await connect(`consumer/${topic}/sub?subscriptionType=Exclusive`);
    const producer = await connect(`producer/${topic}`);
    await produce(producer, 10);
    const frames = await consumer.waitFrames(10);
    // An id of an entry that was never written: the cursor refuses it, and only it.
    const real = messageIdFromBase64(frames[0]!.messageId as string);
    const bogus = messageIdToBase64({ ...real, entryId: real.entryId + 1_000_000n });
    // All in one TCP write, the connection dropped right after it: the broker reads the acks and the end of the
    // connection together.
    const socket = (consumer.ws as unknown as { _socket: Socket })._socket;
    socket.cork();
    for (const frame of frames.slice(0, 5)) consumer.send({ messageId: frame.messageId });
    consumer.send({ messageId: bogus });
    for (const frame of frames.slice(5, 8)) consumer.send({ messageId: frame.messageId });
    socket.uncork();
    socket.end();
    await consumer.waitClose();
    const again = await connect(`consumer/${topic}/sub`);
    const redelivered = await again.waitFrames(2);
    expect(redelivered.map(text)).toEqual(['m8', 'm9']);
    again.send({ type: 'isEndOfTopic' });
    expect((await again.waitFrames(3))[2]).toEqual({ endOfTopic: false });
  });

  it('redelivers a negatively acknowledged message with its redeliveryCount', async () => {
    const topic = topicPath();
    const consumer = await connect(
      `consumer/${topic}/s?subscriptionType=Shared&negativeAckRedeliveryDelay=100`,
    );
    const producer = await connect(`producer/${topic}`);
    await produce(producer, 2);
    const [first, second] = await consumer.waitFrames(2);
    consumer.send({ messageId: second!.messageId });
    consumer.send({ type: 'negativeAcknowledge', messageId: first!.messageId });
    const frames = await consumer.waitFrames(3);
    expect(frames[2]).toMatchObject({ messageId: first!.messageId, redeliveryCount: 1, payload: b64('m0') });
  });

  it('maxRedeliverCount: a message nacked past it goes to the dead-letter topic, with its origin, and is acked', async () => {
    const topic = topicPath();
    const dlq = `${topic.replace('persistent/', 'persistent://')}-s-DLQ`;
    // A reader on the default dead-letter topic, <topic>-<subscription>-DLQ, before anything goes there.
    const dead = await connect(`reader/${dlq.replace('persistent://', 'persistent/')}?messageId=earliest`);
    const consumer = await connect(
      `consumer/${topic}/s?subscriptionType=Shared&negativeAckRedeliveryDelay=50&maxRedeliverCount=2`,
    );
    const producer = await connect(`producer/${topic}`);
    await produce(producer, 2);
    // m0 is nacked every time it comes: delivered with redeliveryCount 0, 1 and 2, then dead-lettered.
    const seen: Array<[string, unknown]> = [];
    for (let delivered = 0; seen.filter(([m]) => m === 'm0').length < 3;) {
      const frames = await consumer.waitFrames(delivered + 1);
      for (const frame of frames.slice(delivered)) {
        seen.push([text(frame), frame.redeliveryCount]);
        if (text(frame) === 'm0') consumer.send({ type: 'negativeAcknowledge', messageId: frame.messageId });
        else consumer.send({ messageId: frame.messageId });
      }
      delivered = frames.length;
    }
    const [deadFrame] = await dead.waitFrames(1, 10_000);
    expect(text(deadFrame!)).toBe('m0');
    expect(deadFrame!.key).toBe('k0');
    const properties = deadFrame!.properties as Record<string, string>;
    expect(properties).toMatchObject({ i: '0', REAL_TOPIC: dlq.replace('-s-DLQ', '') });
    expect(properties.ORIGIN_MESSAGE_ID).toMatch(/^\d+:0:-1$/);
    // The client never saw m0 a fourth time, and the subscription has nothing left: m0 was acked.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen.filter(([m]) => m === 'm0').map(([, count]) => count)).toEqual([0, 1, 2]);
    expect(consumer.frames).toHaveLength(seen.length);
    expect((await topicStats(topic)).subscriptions.s!.msgBacklog).toBe(0);
  });

  it('a dead-letter publish that fails closes its producer and leaves the message unacknowledged', async () => {
    const topic = topicPath();
    const dlq = `${topic}-s-DLQ`;
    const consumer = await connect(
      `consumer/${topic}/s?subscriptionType=Shared&negativeAckRedeliveryDelay=50&maxRedeliverCount=1`,
    );
    const producer = await connect(`producer/${topic}`);
    /** Waits for the n-th delivery and nacks it. */
    const nackDelivery = async (n: number): Promise<Record<string, unknown>> => {
      const frame = (await consumer.waitFrames(n))[n - 1]!;
      consumer.send({ type: 'negativeAcknowledge', messageId: frame.messageId });
      return frame;
    };
    // m0 is dead-lettered: that makes the session's producer on the dead-letter topic.
    await produce(producer, 1);
    await nackDelivery(1);
    await nackDelivery(2);
    await statsReach(dlq, 'm0 stored on the dead-letter topic', (stats) => stats.msgInCounter === 1);
    expect((await topicStats(dlq)).publishers).toHaveLength(1);
    // The dead-letter topic is terminated: the next copy's send fails there.
    expect((await env.admin('POST', `${dlq}/terminate`)).status).toBe(200);
    await produce(producer, 1, 1);
    expect(text(await nackDelivery(3))).toBe('m1');
    await nackDelivery(4);
    // The failed producer is gone from the dead-letter topic. m1 is not lost: it stays in the subscription,
    // unacknowledged (each redelivery tries the dead-letter topic again, so the client does not see it).
    await statsReach(dlq, 'the failed producer gone', (stats) => stats.publishers.length === 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await topicStats(dlq)).publishers).toHaveLength(0);
    expect(consumer.frames).toHaveLength(4);
    expect((await topicStats(topic)).subscriptions.s!.msgBacklog).toBe(1);
  });

  it('subscriptionInitialPosition=Earliest starts a new subscription at the first message; Latest and the default after the last', async () => {
    const topic = topicPath();
    const producer = await connect(`producer/${topic}`);
    await produce(producer, 3);
    const earliest = await connect(`consumer/${topic}/from-start?subscriptionInitialPosition=Earliest`);
    const latest = await connect(`consumer/${topic}/from-end?subscriptionInitialPosition=Latest`);
    const byDefault = await connect(`consumer/${topic}/default`);
    expect((await earliest.waitFrames(3)).map(text)).toEqual(['m0', 'm1', 'm2']);
    await produce(producer, 1, 3);
    expect((await earliest.waitFrames(4)).map(text)[3]).toBe('m3');
    expect((await latest.waitFrames(1)).map(text)).toEqual(['m3']);
    expect((await byDefault.waitFrames(1)).map(text)).toEqual(['m3']);
    // An existing subscription keeps its position: Earliest does not rewind it.
    for (const frame of await earliest.waitFrames(4)) earliest.send({ messageId: frame.messageId });
    earliest.send({ type: 'isEndOfTopic' });
    await earliest.waitFrames(5);
    earliest.close();
    await earliest.waitClose();
    const again = await connect(`consumer/${topic}/from-start?subscriptionInitialPosition=Earliest`);
    await produce(producer, 1, 4);
    expect((await again.waitFrames(1)).map(text)).toEqual(['m4']);
    const bad = await refusal(`${env.base}/ws/v2/consumer/${topic}/s?subscriptionInitialPosition=First`);
    expect(bad.status).toBe(400);
  });

  it('readers start at earliest, latest or after a message id, and see the end of a terminated topic', async () => {
    const topic = topicPath();
    const producer = await connect(`producer/${topic}`);
    const replies = await produce(producer, 5);
    const earliest = await connect(`reader/${topic}?messageId=earliest`);
    expect((await earliest.waitFrames(5)).map(text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    const after = await connect(
      `reader/${topic}?messageId=${encodeURIComponent(replies[2]!.messageId as string)}`,
    );
    expect((await after.waitFrames(2)).map(text)).toEqual(['m3', 'm4']);
    const latest = await connect(`reader/${topic}`);
    await produce(producer, 1, 5);
    expect((await latest.waitFrames(1)).map(text)).toEqual(['m5']);

    expect((await env.admin('POST', `${topic}/terminate`)).status).toBe(200);
    await earliest.waitFrames(6);
    earliest.send({ type: 'isEndOfTopic' });
    expect((await earliest.waitFrames(7))[6]).toEqual({ endOfTopic: true });
    // A producer connected before the terminate gets an error for its next send, and nothing is stored.
    producer.send({ payload: b64('late'), context: 'late' });
    const late = (await producer.waitFrames(7))[6]!;
    expect(late).toMatchObject({ result: 'send-error:8', context: 'late' });
    expect(late.errorMsg).toEqual(expect.stringContaining('terminated'));
    // A new producer is refused before the upgrade, as Pulsar's WebSocket servlet answers: 503.
    expect((await refusal(`${env.base}/ws/v2/producer/${topic}`)).status).toBe(503);
  });

  it('Shared spreads messages over consumers; Key_Shared keeps each key on one consumer', async () => {
    const shared = topicPath();
    const a = await connect(`consumer/${shared}/sh?subscriptionType=Shared&consumerName=a`);
    const b = await connect(`consumer/${shared}/sh?subscriptionType=Shared&consumerName=b`);
    await produce(await connect(`producer/${shared}`), 60);
    await eventuallyTrue(() => a.frames.length + b.frames.length === 60);
    expect(a.frames.length).toBeGreaterThan(0);
    expect(b.frames.length).toBeGreaterThan(0);
    const all = [...a.frames, ...b.frames].map((frame) => text(JSON.parse(frame) as Record<string, unknown>));
    expect(all.sort()).toEqual(Array.from({ length: 60 }, (_, i) => `m${i}`).sort());

    const keyed = topicPath();
    const c = await connect(`consumer/${keyed}/ks?subscriptionType=Key_Shared&consumerName=c`);
    const d = await connect(`consumer/${keyed}/ks?subscriptionType=Key_Shared&consumerName=d`);
    const producer = await connect(`producer/${keyed}`);
    for (let i = 0; i < 60; i++) producer.send({ payload: b64(`m${i}`), key: `key-${i % 6}` });
    await producer.waitFrames(60);
    await eventuallyTrue(() => c.frames.length + d.frames.length === 60);
    const keysOf = (client: TestClient): Set<string> =>
      new Set(client.frames.map((frame) => (JSON.parse(frame) as { key: string }).key));
    for (const key of keysOf(c)) expect(keysOf(d).has(key)).toBe(false);
    // Per key, the order of publication.
    for (const client of [c, d]) {
      const byKey = new Map<string, number[]>();
      for (const frame of client.frames.map((f) => JSON.parse(f) as Record<string, unknown>)) {
        const list = byKey.get(frame.key as string) ?? [];
        list.push(Number(text(frame).slice(1)));
        byKey.set(frame.key as string, list);
      }
      for (const list of byKey.values()) expect(list).toEqual([...list].sort((x, y) => x - y));
    }
  });

  it('Failover moves to the next consumer when the active one disconnects; ack timeout redelivers', async () => {
    const topic = topicPath();
    const first = await connect(`consumer/${topic}/fo?subscriptionType=Failover&consumerName=a`);
    const second = await connect(`consumer/${topic}/fo?subscriptionType=Failover&consumerName=b`);
    const producer = await connect(`producer/${topic}`);
    await produce(producer, 5);
    await first.waitFrames(5);
    expect(second.frames).toEqual([]);
    first.close(); // nothing acked: all 5 go to b
    const moved = await second.waitFrames(5, 10_000);
    expect(moved.map(text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);

    const timed = topicPath();
    // Pulsar's smallest ack timeout (a shorter one is refused with 400, as the builder refuses it).
    expect((await refusal(`${env.base}/ws/v2/consumer/${timed}/at?ackTimeoutMillis=300`)).status).toBe(400);
    const consumer = await connect(`consumer/${timed}/at?subscriptionType=Shared&ackTimeoutMillis=1000`);
    await produce(await connect(`producer/${timed}`), 1);
    const [once] = await consumer.waitFrames(1);
    const [, again] = await consumer.waitFrames(2);
    expect(again).toMatchObject({ messageId: once!.messageId, payload: b64('m0') });
    expect(again!.redeliveryCount).toBeGreaterThanOrEqual(1);
  });

  it('pull mode: nothing before permits; acks may come from another connection of the subscription', async () => {
    const topic = topicPath();
    const puller = await connect(`consumer/${topic}/pull?subscriptionType=Shared&pullMode=true`);
    const acker = await connect(`consumer/${topic}/pull?subscriptionType=Shared&pullMode=true`);
    await produce(await connect(`producer/${topic}`), 4);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(puller.frames).toEqual([]);
    puller.send({ type: 'permit', permitMessages: 4 });
    const frames = await puller.waitFrames(4);
    expect(frames.map(text)).toEqual(['m0', 'm1', 'm2', 'm3']);
    for (const frame of frames.slice(0, 3)) acker.send({ messageId: frame.messageId });
    acker.send({ type: 'isEndOfTopic' });
    await acker.waitFrames(1);
    puller.close();
    acker.close();
    await puller.waitClose();
    await acker.waitClose();
    const next = await connect(`consumer/${topic}/pull?subscriptionType=Shared`);
    expect((await next.waitFrames(1)).map(text)).toEqual(['m3']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(next.frames).toHaveLength(1);
  });

  it('a forced topic delete ends its producer and consumer sessions with 4008', async () => {
    const topic = topicPath();
    const consumer = await connect(`consumer/${topic}/s`);
    const producer = await connect(`producer/${topic}`);
    await produce(producer, 3);
    await consumer.waitFrames(3);
    expect((await env.admin('DELETE', `${topic}?force=true`)).status).toBe(204);
    expect((await producer.waitClose()).code).toBe(4008);
    expect((await consumer.waitClose()).code).toBe(4008);
  });

  it('refuses upgrades with the status Pulsar uses', async () => {
    const topic = topicPath();
    expect((await refusal(`${env.base}/ws/v2/producer/persistent/public/no-such-ns/t`)).status).toBe(404);
    await connect(`consumer/${topic}/excl`);
    const busy = await refusal(`${env.base}/ws/v2/consumer/${topic}/excl`);
    expect(busy.status).toBe(409);
    expect((await refusal(`${env.base}/ws/v2/consumer/${topic}/s?subscriptionType=Bad`)).status).toBe(400);
  });
});
