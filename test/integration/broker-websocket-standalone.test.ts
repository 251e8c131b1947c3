/**
 * Goal: the WebSocket API of the real standalone process, as a user meets it after `npm start`: produce and
 * consume on public/default, then a SIGKILL in the middle — every message that got "ok" is delivered after the
 * restart to the durable subscription, in publish order (acks given before the kill may be replayed only if not yet persisted).
 * Method: `ledgerline standalone` as a child process (standalone-fixture.ts) on a temp data dir, loopback only,
 * real `ws` clients.
 */
import { EARLIEST_MESSAGE_ID, LATEST_MESSAGE_ID, messageIdToBase64 } from '../../broker';
import { TempDirs } from '../harness';
import { TestClient } from '../unit/broker/websocket/ws-client';
import { requireBuilt, startStandalone } from './standalone-fixture';
import type { BrokerProcess } from './standalone-fixture';

const dirs = new TempDirs();
let broker: BrokerProcess | undefined;

afterAll(async () => {
  await broker?.stop('SIGKILL');
  dirs.removeAll();
});

function wsBase(process: BrokerProcess): string {
  return process.url.replace('http://', 'ws://');
}

describe('broker > websocket > standalone process', () => {
  it('delivers every "ok" message after a SIGKILL and restart, in publish order', async () => {
    requireBuilt();
    const dataDir = dirs.make('ledgerline-ws-standalone-');
    broker = await startStandalone(dataDir);
    const topic = 'persistent/public/default/ws-standalone';
    const consumer = await TestClient.connect(`${wsBase(broker)}/ws/v2/consumer/${topic}/durable`);
    const producer = await TestClient.connect(`${wsBase(broker)}/ws/v2/producer/${topic}`);
    for (let i = 0; i < 40; i++)
      producer.send({ payload: Buffer.from(`m${i}`).toString('base64'), context: `${i}` });
    const replies = await producer.waitFrames(40);
    expect(replies.every((reply) => reply.result === 'ok')).toBe(true);
    const frames = await consumer.waitFrames(40);
    // Ack the first 15, wait until the broker has taken them (an isEndOfTopic reply comes after the acks).
    for (const frame of frames.slice(0, 15)) consumer.send({ messageId: frame.messageId });
    consumer.send({ type: 'isEndOfTopic' });
    await consumer.waitFrames(41);
    // More sends in flight while the process is killed: only those answered "ok" must survive.
    for (let i = 40; i < 60; i++)
      producer.send({ payload: Buffer.from(`m${i}`).toString('base64'), context: `${i}` });
    await producer.waitFrames(45);
    await broker.stop('SIGKILL');
    const okCount = producer.frames.filter((frame) => JSON.parse(frame).result === 'ok').length;
    expect(okCount).toBeGreaterThanOrEqual(45);

    broker = await startStandalone(dataDir);
    const again = await TestClient.connect(`${wsBase(broker)}/ws/v2/consumer/${topic}/durable`);
    const expected = Array.from({ length: okCount - 15 }, (_, i) => `m${i + 15}`);
    const last = `m${okCount - 1}`;
    let redelivered: string[] = [];
    for (let n = expected.length; !redelivered.includes(last); n++) {
      redelivered = (await again.waitFrames(n, 20_000)).map((frame) =>
        Buffer.from(frame.payload as string, 'base64').toString(),
      );
    }
    // An acked message may come again if its ack was not persisted yet (Pulsar persists mark-deletes lazily), so
    // check every "ok" message from the first unacked one on, in publish order.
    const fromFirstUnacked = redelivered.slice(redelivered.indexOf('m15'));
    expect(fromFirstUnacked.slice(0, expected.length)).toEqual(expected);
    again.close();
  });

  it('frames that name no message or make no sense end at most their own session, never the process', async () => {
    requireBuilt();
    await broker?.stop('SIGKILL');
    broker = await startStandalone(dirs.make('ledgerline-ws-bad-frames-'));
    const topic = 'persistent/public/default/ws-bad-frames';
    const producer = await TestClient.connect(`${wsBase(broker)}/ws/v2/producer/${topic}`);
    const consumer = await TestClient.connect(`${wsBase(broker)}/ws/v2/consumer/${topic}/sub`);
    producer.send({ payload: Buffer.from('before').toString('base64'), context: 'before' });
    expect((await producer.waitFrames(1))[0]).toMatchObject({ result: 'ok', context: 'before' });
    const [delivered] = await consumer.waitFrames(1);
    // Negative acks of ids that name no entry (earliest and latest are -1:-1 and Long.MAX:Long.MAX), then junk.
    for (const id of [EARLIEST_MESSAGE_ID, LATEST_MESSAGE_ID]) {
      consumer.send({ type: 'negativeAcknowledge', messageId: messageIdToBase64(id) });
      consumer.send({ messageId: messageIdToBase64(id) });
    }
    consumer.send({ type: 'permit', permitMessages: -5 });
    consumer.send({ type: 'negativeAcknowledge', messageId: 42 });
    producer.send({ payload: 17, context: 'bad payload' });
    producer.send('{"payload":');
    // The process still serves: a new producer and consumer on another topic work end to end.
    const other = 'persistent/public/default/ws-bad-frames-after';
    const consumer2 = await TestClient.connect(`${wsBase(broker)}/ws/v2/consumer/${other}/sub`);
    const producer2 = await TestClient.connect(`${wsBase(broker)}/ws/v2/producer/${other}`);
    producer2.send({ payload: Buffer.from('after').toString('base64'), context: 'after' });
    expect((await producer2.waitFrames(1))[0]).toMatchObject({ result: 'ok', context: 'after' });
    const [afterFrame] = await consumer2.waitFrames(1);
    expect(Buffer.from(afterFrame!.payload as string, 'base64').toString()).toBe('after');
    expect(broker.child.exitCode).toBeNull();
    expect(Buffer.from(delivered!.payload as string, 'base64').toString()).toBe('before');
    // The bad sends were answered with an error, or ended that producer's session.
    const answers = await producer.waitFrames(2);
    if (producer.closed === undefined) expect(answers[1]!.result).toMatch(/^send-error/);
    for (const client of [producer, consumer, producer2, consumer2]) client.close();
  });
});
