/**
 * broker > websocket > service: Pulsar's WebSocket API v2 over a scripted broker (fake-broker.ts), through real
 * WebSocket connections on 127.0.0.1. Checks what a client observes: HTTP statuses before the upgrade, JSON
 * frames, replies only after the broker's send resolves, close codes, and flow control in messages and bytes.
 */
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { silentLogger } from '../../../../common';
import { messageIdFromBase64, messageIdToBase64 } from '../../../../broker/pulsar';
import { WebSocketService } from '../../../../broker/websocket';
import { FakeBroker, delivered, deliveredBatch, deliveredKafkaBatch } from './fake-broker';
import type { FakeConsumer } from './fake-broker';
import { TestClient, eventuallyTrue, refusal, startUpgradeServer } from './ws-client';

const FRAME_MAX = 64 * 1024;

describe('broker > websocket > service', () => {
  let broker: FakeBroker;
  let service: WebSocketService;
  let server: Server;
  let base: string;
  const clients: TestClient[] = [];
  /** The broker's maxPendingPublishRequestsPerConnection for the service the next test gets. */
  let pendingPublishMax = 1000;

  async function open(path: string): Promise<TestClient> {
    const client = await TestClient.connect(`${base}${path}`);
    clients.push(client);
    return client;
  }

  beforeEach(async () => {
    broker = new FakeBroker();
    service = new WebSocketService({
      broker: broker.asBrokerService(),
      config: {
        webSocketMaxTextFrameSize: FRAME_MAX,
        maxMessageSize: 1024 * 1024,
        maxPendingPublishRequestsPerConnection: pendingPublishMax,
      },
      logger: silentLogger(),
    });
    ({ server, base } = await startUpgradeServer((req, socket, head) =>
      service.handleUpgrade(req, socket, head),
    ));
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.ws.terminate();
    await service.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  describe('upgrade', () => {
    it('answers HTTP statuses before the upgrade, as Pulsar does', async () => {
      expect((await refusal(`${base}/ws/v2/nothing/persistent/public/default/t`)).status).toBe(404);
      const badParam = await refusal(
        `${base}/ws/v2/consumer/persistent/public/default/t/s?subscriptionType=Nope`,
      );
      expect(badParam.status).toBe(400);
      expect(badParam.body).toContain('Invalid query params: subscriptionType=Nope');
      expect(
        (await refusal(`${base}/ws/v2/producer/persistent/public/default/t?maxPendingMessages=x`)).status,
      ).toBe(400);
      const missing = await refusal(`${base}/ws/v2/producer/persistent/public/default/missing`);
      expect(missing.status).toBe(404);
      expect(missing.body).toContain('persistent://public/default/missing');
      expect(
        (await refusal(`${base}/ws/v2/producer/persistent/public/default/t?producerName=busy`)).status,
      ).toBe(409);
      expect((await refusal(`${base}/ws/v2/consumer/persistent/public/default/t/busy`)).status).toBe(409);
      expect((await refusal(`${base}/ws/v2/producer/persistent/public/default/terminated`)).status).toBe(503);
      expect((await refusal(`${base}/ws/v2/producer/persistent/public/default/a/b`)).status).toBe(400);
      expect((await refusal(`${base}/ws/v2/reader/persistent/public/default/t?messageId=!!`)).status).toBe(
        400,
      );
    });

    it('refuses a bad handshake with 400 before creating anything', async () => {
      const port = Number(new URL(base).port);
      const response = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () =>
          socket.write(
            'GET /ws/v2/producer/persistent/public/default/t HTTP/1.1\r\nHost: x\r\n' +
              'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n',
          ),
        );
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(response).toMatch(/^HTTP\/1\.1 400 /);
      expect(response).toContain('Sec-WebSocket-Key');
      expect(broker.topics.size).toBe(0);
    });

    it('URL-decodes the topic and the subscription and passes the query parameters on', async () => {
      await open(
        '/ws/v2/consumer/persistent/public/default/my%20topic/sub%2F1?subscriptionType=Key_Shared' +
          '&receiverQueueSize=5000&consumerName=c1&priorityLevel=2&ackTimeoutMillis=1500&negativeAckRedeliveryDelay=30',
      );
      const consumer = broker.topic('my topic').consumers[0]!;
      expect(consumer.options).toEqual({
        subscription: 'sub/1',
        subscriptionType: 'Key_Shared',
        durable: true,
        receiverQueueSize: 1000,
        consumerName: 'c1',
        priorityLevel: 2,
        ackTimeoutMillis: 1500,
        negativeAckRedeliveryDelayMillis: 30,
        address: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      });
    });
  });

  describe('producer', () => {
    it('replies ok with the message id and context only once the send is durable', async () => {
      const client = await open(
        '/ws/v2/producer/persistent/public/default/t?producerName=p1&initialSequenceId=9',
      );
      const producer = broker.topic('t').producers[0]!;
      expect(producer.producerName).toBe('p1');
      client.send({
        payload: Buffer.from('hello').toString('base64'),
        properties: { a: '1' },
        key: 'k',
        context: 'c-1',
        sequenceId: 12,
        eventTime: '2026-01-02T03:04:05.006Z',
      });
      await eventuallyTrue(() => producer.pending.length === 1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(client.frames).toEqual([]); // not durable yet: no reply
      const request = producer.pending[0]!.request;
      expect(request.payload.toString()).toBe('hello');
      expect(request.properties).toEqual(new Map([['a', '1']]));
      expect(request.key).toBe('k');
      expect(request.sequenceId).toBe(12n);
      expect(request.eventTime).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 6));
      producer.release();
      const [reply] = await client.waitFrames(1);
      expect(reply).toEqual({ result: 'ok', messageId: expect.any(String), context: 'c-1' });
      expect(messageIdFromBase64(reply!.messageId as string)).toMatchObject({ ledgerId: 7n, entryId: 0n });
    });

    it('answers a bad frame with send-error and keeps the connection', async () => {
      const client = await open('/ws/v2/producer/persistent/public/default/t');
      const producer = broker.topic('t').producers[0]!;
      producer.autoResolve = true;
      client.send('{not json');
      client.send({ context: 'no-payload' });
      client.send({ payload: 'not base64!', context: 'bad-b64' });
      client.send({ payload: 'aGk=', eventTime: 'yesterday', context: 'bad-time' });
      client.send({ payload: 'aGk=', context: 'good' });
      const replies = await client.waitFrames(5);
      expect(replies.map((r) => [r.result, r.context])).toEqual([
        ['send-error:3', undefined],
        ['send-error:7', 'no-payload'],
        ['send-error:7', 'bad-b64'],
        ['send-error:7', 'bad-time'],
        ['ok', 'good'],
      ]);
      expect(replies[0]!.errorMsg).toEqual(expect.any(String));
      expect(producer.sends.map((s) => s.request.payload.toString())).toEqual(['hi']);
    });

    it('reports a failed send as send-error:8 with the broker message', async () => {
      const client = await open('/ws/v2/producer/persistent/public/default/t');
      const producer = broker.topic('t').producers[0]!;
      client.send({ payload: 'aGk=', context: 'x' });
      await eventuallyTrue(() => producer.pending.length === 1);
      producer.pending.shift()!.reject(new Error('Topic persistent://public/default/t is terminated'));
      const [reply] = await client.waitFrames(1);
      expect(reply).toEqual({
        result: 'send-error:8',
        errorMsg: 'Topic persistent://public/default/t is terminated',
        context: 'x',
      });
    });

    it('when the broker ends the producer, answers the sends in flight, then closes with 4008', async () => {
      const client = await open('/ws/v2/producer/persistent/public/default/t');
      const producer = broker.topic('t').producers[0]!;
      client.send({ payload: 'aGk=', context: 'in-flight' });
      await eventuallyTrue(() => producer.pending.length === 1);
      producer.onClose!('Topic persistent://public/default/t was deleted');
      client.send({ payload: 'aGk=', context: 'after' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(client.closed).toBeUndefined();
      producer.release();
      expect((await client.waitFrames(1))[0]).toMatchObject({ result: 'ok', context: 'in-flight' });
      expect(await client.waitClose()).toEqual({
        code: 4008,
        reason: 'Topic persistent://public/default/t was deleted',
      });
      expect(producer.sends).toHaveLength(1);
    });

    /** Sends `count` messages on `path`; checks that at most `limit` are ever in flight and replies come in order. */
    async function expectInFlightAtMost(path: string, count: number, limit: number): Promise<void> {
      const client = await open(path);
      const producer = broker.topic('t').producers[0]!;
      for (let i = 0; i < count; i++)
        client.send({ payload: Buffer.from(`m${i}`).toString('base64'), context: `${i}` });
      await eventuallyTrue(() => producer.pending.length === limit);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(producer.sends).toHaveLength(limit);
      while (producer.sends.length < count || producer.pending.length > 0) {
        producer.release(1);
        await new Promise((resolve) => setTimeout(resolve, 2));
        expect(producer.pending.length).toBeLessThanOrEqual(limit);
      }
      const replies = await client.waitFrames(count);
      expect(replies.map((r) => r.context)).toEqual(Array.from({ length: count }, (_, i) => `${i}`));
      expect(producer.sends.map((s) => s.request.payload.toString())).toEqual(
        Array.from({ length: count }, (_, i) => `m${i}`),
      );
    }

    it('keeps at most maxPendingMessages sends in flight and replies in order', async () => {
      await expectInFlightAtMost('/ws/v2/producer/persistent/public/default/t?maxPendingMessages=3', 10, 3);
    });

    describe('with maxPendingPublishRequestsPerConnection=2', () => {
      beforeAll(() => void (pendingPublishMax = 2));
      afterAll(() => void (pendingPublishMax = 1000));

      it('keeps no more sends in flight than the broker setting, whatever maxPendingMessages asks', async () => {
        await expectInFlightAtMost('/ws/v2/producer/persistent/public/default/t?maxPendingMessages=50', 6, 2);
      });
    });

    it('closes the connection on an oversized frame (1009) and the service goes on', async () => {
      const client = await open('/ws/v2/producer/persistent/public/default/t');
      client.send({ payload: Buffer.alloc(FRAME_MAX).toString('base64') });
      expect((await client.waitClose()).code).toBe(1009);
      const next = await open('/ws/v2/producer/persistent/public/default/t');
      broker.topic('t').producers[1]!.autoResolve = true;
      next.send({ payload: 'aGk=' });
      expect((await next.waitFrames(1))[0]!.result).toBe('ok');
      await eventuallyTrue(() => broker.topic('t').producers[0]!.closed);
    });
  });

  describe('consumer', () => {
    it('pushes messages with Pulsar fields, at most receiverQueueSize unacked', async () => {
      const client = await open('/ws/v2/consumer/persistent/public/default/t/s?receiverQueueSize=2');
      const consumer = broker.topic('t').consumers[0]!;
      await eventuallyTrue(() => consumer.flows.length === 1);
      expect(consumer.flows).toEqual([2]);
      consumer.publish(
        delivered(0, 'zero', { key: 'k0', properties: { a: 'b' }, eventTime: Date.UTC(2025, 5, 6) }),
        delivered(1, 'one', { redeliveryCount: 2 }),
        delivered(2, 'two'),
      );
      const frames = await client.waitFrames(2);
      expect(frames[0]).toEqual({
        messageId: messageIdToBase64({ ledgerId: 3n, entryId: 0n, partition: -1, batchIndex: -1 }),
        payload: Buffer.from('zero').toString('base64'),
        properties: { a: 'b' },
        publishTime: '2026-01-02T03:04:05.678Z',
        redeliveryCount: 0,
        eventTime: '2025-06-06T00:00:00.000Z',
        key: 'k0',
      });
      expect(frames[1]).toEqual({
        messageId: messageIdToBase64({ ledgerId: 3n, entryId: 1n, partition: -1, batchIndex: -1 }),
        payload: Buffer.from('one').toString('base64'),
        properties: {},
        publishTime: '2026-01-02T03:04:05.678Z',
        redeliveryCount: 2,
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(client.frames).toHaveLength(2); // the third waits for an ack
      client.send({ messageId: frames[0]!.messageId });
      await client.waitFrames(3);
      expect(consumer.acks).toEqual([{ ledgerId: 3n, entryId: 0n, partition: -1, batchIndex: -1 }]);
      expect(consumer.flows).toEqual([2, 1]);
      client.send({ type: 'negativeAcknowledge', messageId: frames[1]!.messageId });
      await eventuallyTrue(() => consumer.nacks.length === 1 && consumer.flows.length === 3);
      expect(consumer.nacks[0]).toMatchObject({ entryId: 1n });
    });

    it('pushes the messages of a batch entry one by one and acks the entry once all are acked', async () => {
      const client = await open('/ws/v2/consumer/persistent/public/default/t/s?receiverQueueSize=10');
      const consumer = broker.topic('t').consumers[0]!;
      await eventuallyTrue(() => consumer.flows.length === 1);
      consumer.publish(deliveredBatch(8, ['a', 'b', 'c']), delivered(9, 'single'));
      const frames = await client.waitFrames(4);
      expect(frames.map((f) => Buffer.from(f.payload as string, 'base64').toString())).toEqual([
        'a',
        'b',
        'c',
        'single',
      ]);
      expect(frames.map((f) => f.key)).toEqual(['key-0', 'key-1', 'key-2', undefined]);
      expect(frames[1]!.properties).toEqual({ i: '1' });
      expect(messageIdFromBase64(frames[2]!.messageId as string)).toMatchObject({
        entryId: 8n,
        batchIndex: 2,
        batchSize: 3,
      });
      client.send({ messageId: frames[0]!.messageId });
      client.send({ messageId: frames[2]!.messageId });
      client.send({ messageId: frames[3]!.messageId });
      await eventuallyTrue(() => consumer.acks.length === 1);
      expect(consumer.acks[0]).toMatchObject({ entryId: 9n });
      client.send({ messageId: frames[1]!.messageId });
      await eventuallyTrue(() => consumer.acks.length === 2);
      expect(consumer.acks[1]).toMatchObject({ entryId: 8n });
    });

    it('a batch message acked twice counts once: the entry is acked only when every message is', async () => {
      const client = await open('/ws/v2/consumer/persistent/public/default/t/s?receiverQueueSize=10');
      const consumer = broker.topic('t').consumers[0]!;
      await eventuallyTrue(() => consumer.flows.length === 1);
      consumer.publish(deliveredBatch(4, ['a', 'b', 'c']));
      const frames = await client.waitFrames(3);
      client.send({ messageId: frames[0]!.messageId });
      client.send({ messageId: frames[0]!.messageId });
      client.send({ messageId: frames[1]!.messageId });
      client.send({ messageId: frames[1]!.messageId });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(consumer.acks).toEqual([]);
      client.send({ messageId: frames[2]!.messageId });
      await eventuallyTrue(() => consumer.acks.length === 1);
      expect(consumer.acks[0]).toMatchObject({ entryId: 4n });
    });

    it('acks of a batch delivered on another connection ack the entry only once every message is acked', async () => {
      const receiver = await open('/ws/v2/consumer/persistent/public/default/t/s?pullMode=true');
      const acker = await open('/ws/v2/consumer/persistent/public/default/t/s?pullMode=true');
      const [first, second] = broker.topic('t').consumers as [FakeConsumer, FakeConsumer];
      receiver.send({ type: 'permit', permitMessages: 3 });
      await eventuallyTrue(() => first.flows.length > 0);
      first.publish(deliveredBatch(6, ['x', 'y', 'z']));
      const frames = await receiver.waitFrames(3);
      for (const frame of frames.slice(0, 2)) acker.send({ messageId: frame.messageId });
      acker.send({ messageId: frames[1]!.messageId });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(second.acks).toEqual([]);
      acker.send({ messageId: frames[2]!.messageId });
      await eventuallyTrue(() => second.acks.length === 1);
      expect(second.acks[0]).toMatchObject({ entryId: 6n });
    });

    it('pushes each record of a Kafka entry as a message, in dispatch order, and acks the entry once all are', async () => {
      const client = await open('/ws/v2/consumer/persistent/public/default/t/s?receiverQueueSize=20');
      const consumer = broker.topic('t').consumers[0]!;
      await eventuallyTrue(() => consumer.flows.length === 1);
      const zstd = await deliveredKafkaBatch(5, ['z0', 'z1'], 'zstd');
      const plain = await deliveredKafkaBatch(7, ['p0']);
      // One delivery holding a compressed Kafka entry (decoded asynchronously), then one that could go at once.
      consumer.publish(delivered(4, 'before'), zstd);
      consumer.publish(delivered(6, 'between'), plain);
      const frames = await client.waitFrames(5);
      expect(frames.map((f) => Buffer.from(f.payload as string, 'base64').toString())).toEqual([
        'before',
        'z0',
        'z1',
        'between',
        'p0',
      ]);
      expect(frames.slice(1, 3).map((f) => [f.key, f.properties, f.eventTime])).toEqual([
        ['k0', { i: '0' }, '2026-01-01T00:00:00.000Z'],
        ['k1', { i: '1' }, '2026-01-01T00:00:00.001Z'],
      ]);
      expect(messageIdFromBase64(frames[2]!.messageId as string)).toMatchObject({
        entryId: 5n,
        batchIndex: 1,
        batchSize: 2,
      });
      client.send({ messageId: frames[2]!.messageId });
      client.send({ messageId: frames[4]!.messageId });
      await eventuallyTrue(() => consumer.acks.length === 1);
      expect(consumer.acks[0]).toMatchObject({ entryId: 7n });
      client.send({ messageId: frames[1]!.messageId });
      await eventuallyTrue(() => consumer.acks.length === 2);
      expect(consumer.acks[1]).toMatchObject({ entryId: 5n });
    });

    it('closes with 4004 naming a Kafka entry whose batch does not decode, after the messages before it', async () => {
      const client = await open('/ws/v2/consumer/persistent/public/default/t/s');
      const consumer = broker.topic('t').consumers[0]!;
      await eventuallyTrue(() => consumer.flows.length === 1);
      const broken = await deliveredKafkaBatch(9, ['x', 'y'], 'gzip');
      broken.entry.payload[broken.entry.payload.length - 4]! ^= 0x10;
      consumer.publish(delivered(8, 'fine'), broken, delivered(10, 'never'));
      const closed = await client.waitClose();
      expect(closed.code).toBe(4004);
      expect(closed.reason).toContain('3:9');
      expect(closed.reason).toContain('CRC-32C');
      expect(
        client.frames.map((f) => Buffer.from(JSON.parse(f).payload as string, 'base64').toString()),
      ).toEqual(['fine']);
      expect(consumer.acks).toEqual([]);
      await eventuallyTrue(() => consumer.closed);
    });

    it('closes with 4004 naming a message it cannot unpack, leaving it unacknowledged', async () => {
      const client = await open('/ws/v2/consumer/persistent/public/default/t/s');
      const consumer = broker.topic('t').consumers[0]!;
      await eventuallyTrue(() => consumer.flows.length === 1);
      const lz4 = delivered(4, 'compressed?');
      lz4.entry.metadata.compression = 'LZ4';
      consumer.publish(lz4);
      const closed = await client.waitClose();
      expect(closed.code).toBe(4004);
      expect(closed.reason).toContain('3:4');
      expect(consumer.acks).toEqual([]);
      await eventuallyTrue(() => consumer.closed);
    });

    it('receiverQueueSize=0 allows one message in flight', async () => {
      await open('/ws/v2/consumer/persistent/public/default/t/s?receiverQueueSize=0');
      const consumer = broker.topic('t').consumers[0]!;
      await eventuallyTrue(() => consumer.flows.length === 1);
      expect(consumer.flows).toEqual([1]);
      expect(consumer.options.receiverQueueSize).toBe(0);
    });

    it('in pull mode sends nothing until permits, then exactly the permits', async () => {
      const client = await open('/ws/v2/consumer/persistent/public/default/t/s?pullMode=true');
      const consumer = broker.topic('t').consumers[0]!;
      consumer.publish(...Array.from({ length: 5 }, (_, i) => delivered(i, `m${i}`)));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(client.frames).toEqual([]);
      client.send({ type: 'permit', permitMessages: 3 });
      await client.waitFrames(3);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(client.frames).toHaveLength(3);
      client.send({ messageId: JSON.parse(client.frames[0]!).messageId });
      await eventuallyTrue(() => consumer.acks.length === 1);
      expect(client.frames).toHaveLength(3); // an ack gives no permit in pull mode
      client.send({ type: 'permit' });
      const closed = await client.waitClose();
      expect(closed.code).toBe(4003);
      expect(closed.reason).toContain('permitMessages');
      await eventuallyTrue(() => consumer.closed);
    });

    it('answers isEndOfTopic, unsubscribes, and closes with 4003 on a bad command', async () => {
      const client = await open('/ws/v2/consumer/persistent/public/default/t/s');
      const consumer = broker.topic('t').consumers[0]!;
      client.send({ type: 'isEndOfTopic' });
      expect(await client.waitFrames(1)).toEqual([{ endOfTopic: false }]);
      consumer.endOfTopic = true;
      client.send({ type: 'isEndOfTopic' });
      expect((await client.waitFrames(2))[1]).toEqual({ endOfTopic: true });
      client.send({ type: 'unsubscribe' });
      expect(await client.waitClose()).toEqual({ code: 1000, reason: 'Unsubscribed' });
      expect(broker.topic('t').unsubscribed).toEqual(['s']);
      expect(consumer.closed).toBe(true);

      const other = await open('/ws/v2/consumer/persistent/public/default/t/s2');
      other.send({ messageId: 'junk!' });
      expect((await other.waitClose()).code).toBe(4003);
      const third = await open('/ws/v2/consumer/persistent/public/default/t/s3');
      third.send('[1,2');
      expect((await third.waitClose()).code).toBe(4003);
    });

    it('closes with the reason when the broker ends the consumer', async () => {
      const client = await open('/ws/v2/consumer/persistent/public/default/t/s');
      broker.topic('t').consumers[0]!.sink.close('Topic persistent://public/default/t was deleted');
      expect(await client.waitClose()).toEqual({
        code: 4008,
        reason: 'Topic persistent://public/default/t was deleted',
      });
    });

    it('stops granting permits while the client does not read, and resumes when it does', async () => {
      const client = await open('/ws/v2/consumer/persistent/public/default/t/s?pullMode=true');
      const consumer = broker.topic('t').consumers[0]!;
      client.ws.pause(); // the client stops reading its socket
      const big = 'x'.repeat(16 * 1024);
      let next = 0;
      const refill = (): void => {
        while (consumer.backlog.length < 100) consumer.backlog.push(delivered(next++, big));
      };
      refill();
      client.send({ type: 'permit', permitMessages: 100000 });
      for (let i = 0; i < 30; i++) {
        refill();
        consumer.publish();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // Dispatch stops: the permits granted stop growing while the client does not read, far below its credit
      // (the socket's buffers hold what went out, not the broker's memory).
      const total = (): number => consumer.flows.reduce((a, b) => a + b, 0);
      const grantedWhilePaused = total();
      for (let i = 0; i < 20; i++) {
        refill();
        consumer.publish();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(total()).toBe(grantedWhilePaused);
      expect(grantedWhilePaused).toBeLessThan(5000);
      client.ws.resume();
      for (let i = 0; i < 300 && client.frames.length < grantedWhilePaused + 1000; i++) {
        refill();
        consumer.publish();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(client.frames.length).toBeGreaterThanOrEqual(grantedWhilePaused + 1000);
    });
  });

  describe('reader', () => {
    it('reads from a message id, non-durable, and frees slots on ack without acking', async () => {
      const start = messageIdToBase64({ ledgerId: 3n, entryId: 4n, partition: -1, batchIndex: -1 });
      const client = await open(
        `/ws/v2/reader/persistent/public/default/t?messageId=${encodeURIComponent(start)}&receiverQueueSize=1&readerName=r`,
      );
      const consumer = broker.topic('t').consumers[0]!;
      expect(consumer.options).toMatchObject({
        subscriptionType: 'Exclusive',
        durable: false,
        consumerName: 'r',
        startMessageId: { ledgerId: 3n, entryId: 4n },
      });
      expect(consumer.options.subscription).toMatch(/^reader-[0-9a-f]{10}$/);
      consumer.publish(delivered(5, 'five'), delivered(6, 'six'));
      const [first] = await client.waitFrames(1);
      client.send({ messageId: first!.messageId });
      await client.waitFrames(2);
      expect(consumer.acks).toEqual([]);
      await open('/ws/v2/reader/persistent/public/default/t?messageId=earliest');
      expect(broker.topic('t').consumers[1]!.options.initialPosition).toBe('earliest');
      await open('/ws/v2/reader/persistent/public/default/t');
      expect(broker.topic('t').consumers[2]!.options.initialPosition).toBe('latest');
    });
  });

  it('close() ends every session with 1001 and closes producers and consumers', async () => {
    const producerClient = await open('/ws/v2/producer/persistent/public/default/t');
    const consumerClient = await open('/ws/v2/consumer/persistent/public/default/t/s');
    await service.close();
    expect((await producerClient.waitClose()).code).toBe(1001);
    expect((await consumerClient.waitClose()).code).toBe(1001);
    expect(broker.topic('t').producers[0]!.closed).toBe(true);
    expect(broker.topic('t').consumers[0]!.closed).toBe(true);
    expect((await refusal(`${base}/ws/v2/producer/persistent/public/default/t`)).status).toBe(503);
  });
});
