/**
 * Goal: partitioned topics as a Pulsar user sees them — created, read, grown and deleted through the admin REST
 * API with Pulsar's statuses; each partition an ordinary topic listed on its own; WebSocket producers on the
 * partitioned name routing keyed messages to hash(key) mod N and the others round robin, consumers on the
 * partitioned name receiving every partition's messages and acking them on the right partition.
 * Method: one real `ledgerline standalone` process (built command, one in-process bookie, embedded RocksDB
 * metadata, loopback, free ports) for the file; requests with Node's fetch, messages through real WebSocket
 * producers and consumers (Pulsar's v2 API, the `ws` package).
 */
import { javaStringHash, messageIdFromBase64 } from '../../broker';
import { TempDirs, eventually } from '../harness';
import { TestClient, refusal } from '../unit/broker/websocket/ws-client';
import { wsBroker } from './broker-websocket-fixture';
import type { WsBroker } from './broker-websocket-fixture';
import { http, produce, requireBuilt, startStandalone } from './standalone-fixture';
import type { BrokerProcess } from './standalone-fixture';

const temp = new TempDirs();
let broker: BrokerProcess;
let topics: string;

beforeAll(async () => {
  requireBuilt();
  broker = await startStandalone(temp.make('ledgerline-partitioned-'));
  topics = `${broker.url}/admin/v2/persistent/public/default`;
});

afterAll(async () => {
  await broker?.stop('SIGTERM');
  temp.removeAll();
});

let seq = 0;
function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${++seq}`;
}

describe('broker > partitioned topics > admin REST', () => {
  it('creates a partitioned topic whose partitions are topics listed one by one, grows it, deletes it', async () => {
    const name = uniqueName('orders');
    const full = `persistent://public/default/${name}`;
    expect((await http('GET', `${topics}/${name}/partitions`)).json).toEqual({ partitions: 0 });
    expect((await http('PUT', `${topics}/${name}/partitions`, 3)).status).toBe(204);
    expect((await http('GET', `${topics}/${name}/partitions`)).json).toEqual({ partitions: 3 });
    expect((await http('GET', `${topics}/partitioned`)).json).toContain(full);
    const listed = (await http('GET', topics)).json as string[];
    expect(listed.filter((t) => t.startsWith(`${full}-partition-`))).toEqual([
      `${full}-partition-0`,
      `${full}-partition-1`,
      `${full}-partition-2`,
    ]);
    expect(listed).not.toContain(full);
    expect((await http('GET', `${topics}/${name}-partition-1/stats`)).status).toBe(200);

    expect((await http('POST', `${topics}/${name}/partitions`, 5)).status).toBe(204);
    expect((await http('GET', `${topics}/${name}/partitions`)).json).toEqual({ partitions: 5 });
    expect((await http('GET', `${topics}/${name}-partition-4/stats`)).status).toBe(200);

    expect((await http('DELETE', `${topics}/${name}/partitions`)).status).toBe(204);
    expect((await http('GET', `${topics}/${name}/partitions`)).json).toEqual({ partitions: 0 });
    expect((await http('GET', `${topics}/partitioned`)).json).not.toContain(full);
    const after = (await http('GET', topics)).json as string[];
    expect(after.filter((t) => t.startsWith(full))).toEqual([]);
  });

  it("answers Pulsar's statuses with a reason for refused requests", async () => {
    const name = uniqueName('refused');
    const expectRefusal = async (
      method: string,
      url: string,
      body: unknown,
      status: number,
    ): Promise<void> => {
      const reply = await http(method, url, body);
      expect({ method, url, status: reply.status }).toEqual({ method, url, status });
      expect(reply.json).toEqual({ reason: expect.any(String) });
    };
    await expectRefusal('PUT', `${topics}/${name}/partitions`, 0, 406);
    await expectRefusal('PUT', `${topics}/${name}/partitions`, -2, 406);
    await expectRefusal('PUT', `${topics}/${name}/partitions`, 'three', 400);
    await expectRefusal('PUT', `${topics}/${name}/partitions`, 1.5, 400);
    await expectRefusal('PUT', `${topics}/${name}-partition-0/partitions`, 2, 412);
    await expectRefusal('PUT', `${broker.url}/admin/v2/persistent/public/nope/${name}/partitions`, 2, 404);
    await expectRefusal('POST', `${topics}/${name}/partitions`, 2, 404);
    await expectRefusal('DELETE', `${topics}/${name}/partitions`, undefined, 404);
    await expectRefusal('GET', `${topics}/${name}/partitioned-stats`, undefined, 404);

    expect((await http('PUT', `${topics}/${name}/partitions`, 2)).status).toBe(204);
    await expectRefusal('PUT', `${topics}/${name}/partitions`, 2, 409);
    await expectRefusal('POST', `${topics}/${name}/partitions`, 2, 409);
    await expectRefusal('POST', `${topics}/${name}/partitions`, 1, 409);
    await expectRefusal('POST', `${topics}/${name}/partitions`, 0, 406);
    // The partitioned name is taken: no non-partitioned topic of that name.
    await expectRefusal('PUT', `${topics}/${name}`, undefined, 409);

    const plain = uniqueName('plain');
    expect((await http('PUT', `${topics}/${plain}`)).status).toBe(204);
    await expectRefusal('PUT', `${topics}/${plain}/partitions`, 2, 409);
    expect((await http('GET', `${topics}/${plain}/partitions`)).json).toEqual({ partitions: 0 });
  });

  it('manages a subscription on every partition: create, list, clear, reset by time, delete; peek and skip are 405', async () => {
    const name = uniqueName('subs');
    expect((await http('PUT', `${topics}/${name}/partitions`, 2)).status).toBe(204);
    expect((await http('PUT', `${topics}/${name}/subscription/s1`)).status).toBe(204);
    expect((await http('GET', `${topics}/${name}/subscriptions`)).json).toEqual(['s1']);
    for (const i of [0, 1]) {
      expect((await http('GET', `${topics}/${name}-partition-${i}/subscriptions`)).json).toEqual(['s1']);
    }
    expect((await http('PUT', `${topics}/${name}/subscription/s1`)).status).toBe(409);
    expect((await http('GET', `${topics}/${name}/subscription/s1/position/1`)).status).toBe(405);
    // Clear backlog and reset by time act on every partition; skip and reset to a position are 405, as Pulsar.
    await produce(broker.url, `public/default/${name}`, [
      { payload: 'a' },
      { payload: 'b' },
      { payload: 'c' },
    ]);
    const backlog = async (): Promise<unknown> =>
      (
        (await http('GET', `${topics}/${name}/partitioned-stats`)).json as {
          subscriptions: Record<string, { msgBacklog: number }>;
        }
      ).subscriptions.s1?.msgBacklog;
    expect(await backlog()).toBe(3);
    expect((await http('POST', `${topics}/${name}/subscription/s1/skip_all`)).status).toBe(204);
    expect(await backlog()).toBe(0);
    expect((await http('POST', `${topics}/${name}/subscription/s1/resetcursor/0`)).status).toBe(204);
    expect(await backlog()).toBe(3);
    expect((await http('POST', `${topics}/${name}/subscription/s1/skip/1`)).status).toBe(405);
    const position = { ledgerId: 1, entryId: 0 };
    expect((await http('POST', `${topics}/${name}/subscription/s1/resetcursor`, position)).status).toBe(405);
    expect((await http('POST', `${topics}/${name}/subscription/nope/skip_all`)).status).toBe(404);

    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(
      `${broker.url.replace('http', 'ws')}/ws/v2/consumer/persistent/public/default/${name}-partition-1/s1`,
    );
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    expect((await http('DELETE', `${topics}/${name}/subscription/s1`)).status).toBe(412);
    expect((await http('GET', `${topics}/${name}-partition-0/subscriptions`)).json).toEqual(['s1']);
    expect((await http('DELETE', `${topics}/${name}/subscription/s1?force=true`)).status).toBe(204);
    ws.terminate();
    expect((await http('GET', `${topics}/${name}/subscriptions`)).json).toEqual([]);
    expect((await http('DELETE', `${topics}/${name}/subscription/s1`)).status).toBe(404);
  });

  it('refuses to delete a partitioned topic with a producer unless forced; sums the stats of its partitions', async () => {
    const name = uniqueName('busy');
    expect((await http('PUT', `${topics}/${name}/partitions`, 2)).status).toBe(204);
    await produce(broker.url, `public/default/${name}-partition-0`, [{ payload: 'a' }, { payload: 'b' }]);
    await produce(broker.url, `public/default/${name}-partition-1`, [{ payload: 'c' }]);
    const stats = (await http('GET', `${topics}/${name}/partitioned-stats`)).json as Record<string, unknown>;
    expect(stats).toMatchObject({ msgInCounter: 3, metadata: { partitions: 2 }, partitions: {} });
    const perPartition = (await http('GET', `${topics}/${name}/partitioned-stats?perPartition=true`))
      .json as { partitions: Record<string, { msgInCounter: number }> };
    expect(perPartition.partitions[`persistent://public/default/${name}-partition-0`]?.msgInCounter).toBe(2);
    expect(perPartition.partitions[`persistent://public/default/${name}-partition-1`]?.msgInCounter).toBe(1);

    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(
      `${broker.url.replace('http', 'ws')}/ws/v2/producer/persistent/public/default/${name}-partition-1`,
    );
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const busy = await http('DELETE', `${topics}/${name}/partitions`);
    expect(busy.status).toBe(412);
    expect((await http('GET', `${topics}/${name}/partitions`)).json).toEqual({ partitions: 2 });
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    expect((await http('DELETE', `${topics}/${name}/partitions?force=true`)).status).toBe(204);
    expect(await closed).toBeGreaterThanOrEqual(4000);
    expect((await http('GET', `${topics}/${name}/partitions`)).json).toEqual({ partitions: 0 });
  });
});

describe('broker > partitioned topics > WebSocket', () => {
  const clients: TestClient[] = [];
  async function connect(path: string): Promise<TestClient> {
    const client = await TestClient.connect(`${broker.url.replace('http', 'ws')}/ws/v2/${path}`);
    clients.push(client);
    return client;
  }
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  /** Sends each message and waits for every reply; returns the partition of each message, in send order. */
  async function send(
    producer: TestClient,
    messages: Array<{ payload: string; key?: string }>,
  ): Promise<number[]> {
    const before = producer.frames.length;
    messages.forEach((message, i) =>
      producer.send({
        payload: Buffer.from(message.payload).toString('base64'),
        key: message.key,
        context: `${i}`,
      }),
    );
    const replies = (await producer.waitFrames(before + messages.length, 10_000)).slice(before);
    expect(replies.map((r) => r.result)).toEqual(messages.map(() => 'ok'));
    // Partitions are separate managed ledgers: replies come in the order each add completed, matched by context.
    const partitions = new Array<number>(messages.length);
    for (const reply of replies) {
      partitions[Number(reply.context)] = messageIdFromBase64(reply.messageId as string).partition;
    }
    return partitions;
  }

  async function subscriptionBacklog(name: string): Promise<number | undefined> {
    const stats = (await http('GET', `${topics}/${name}/partitioned-stats`)).json as {
      subscriptions: Record<string, { msgBacklog: number }>;
    };
    return stats.subscriptions.sub?.msgBacklog;
  }

  it('routes keyed messages by key hash and spreads the rest; a consumer gets and acks them all', async () => {
    const name = uniqueName('ws-orders');
    expect((await http('PUT', `${topics}/${name}/partitions`, 3)).status).toBe(204);
    const consumer = await connect(`consumer/persistent/public/default/${name}/sub?subscriptionType=Shared`);
    const producer = await connect(`producer/persistent/public/default/${name}`);

    const keyed = Array.from({ length: 30 }, (_, i) => ({ payload: `keyed-${i}`, key: `key-${i % 5}` }));
    const keyedPartitions = await send(producer, keyed);
    keyed.forEach((message, i) => {
      // The Java client's default: JavaStringHash, String.hashCode & Integer.MAX_VALUE, mod N.
      expect(keyedPartitions[i]).toBe((javaStringHash(message.key) & 0x7fffffff) % 3);
    });
    const plain = Array.from({ length: 30 }, (_, i) => ({ payload: `plain-${i}` }));
    const plainPartitions = await send(producer, plain);
    expect([0, 1, 2].map((p) => plainPartitions.filter((x) => x === p).length)).toEqual([10, 10, 10]);
    const stats = (await http('GET', `${topics}/${name}/partitioned-stats?perPartition=true`)).json as {
      msgInCounter: number;
      partitions: Record<string, { msgInCounter: number }>;
    };
    expect(stats.msgInCounter).toBe(60);
    expect(Object.keys(stats.partitions)).toHaveLength(3);

    const frames = await consumer.waitFrames(60, 10_000);
    const payloads = frames.map((f) => Buffer.from(f.payload as string, 'base64').toString());
    expect(payloads.sort()).toEqual([...keyed, ...plain].map((m) => m.payload).sort());
    for (const frame of frames) {
      const id = messageIdFromBase64(frame.messageId as string);
      expect(id.partition).toBeGreaterThanOrEqual(0);
      expect(id.partition).toBeLessThan(3);
      if (frame.key !== undefined) {
        expect(id.partition).toBe((javaStringHash(frame.key as string) & 0x7fffffff) % 3);
      }
    }
    expect(await subscriptionBacklog(name)).toBe(60);
    for (const frame of frames) consumer.send({ messageId: frame.messageId });
    await eventually('every partition acked', async () =>
      (await subscriptionBacklog(name)) === 0 ? true : undefined,
    );

    // Murmur3_32Hash on request; SinglePartition keeps unkeyed messages on one partition.
    const murmur = await connect(
      `producer/persistent/public/default/${name}?hashingScheme=Murmur3_32Hash&messageRoutingMode=SinglePartition`,
    );
    const single = await send(
      murmur,
      Array.from({ length: 6 }, (_, i) => ({ payload: `single-${i}` })),
    );
    expect(new Set(single).size).toBe(1);
  });

  it('serves a pull-mode consumer permit by permit across partitions; a second Exclusive consumer is 409', async () => {
    const name = uniqueName('ws-pull');
    expect((await http('PUT', `${topics}/${name}/partitions`, 3)).status).toBe(204);
    const path = `consumer/persistent/public/default/${name}/sub`;
    const consumer = await connect(`${path}?pullMode=true&receiverQueueSize=2`);
    expect((await refusal(`${broker.url.replace('http', 'ws')}/ws/v2/${path}`)).status).toBe(409);
    const producer = await connect(`producer/persistent/public/default/${name}`);
    await send(
      producer,
      Array.from({ length: 6 }, (_, i) => ({ payload: `p${i}` })),
    );
    consumer.send({ type: 'permit', permitMessages: 1 });
    await consumer.waitFrames(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(consumer.frames).toHaveLength(1);
    consumer.send({ type: 'permit', permitMessages: 5 });
    const frames = await consumer.waitFrames(6);
    expect(frames.map((f) => Buffer.from(f.payload as string, 'base64').toString()).sort()).toEqual(
      Array.from({ length: 6 }, (_, i) => `p${i}`),
    );
  });

  it('grows: new producers and consumers use the new partitions; delete ends their sessions', async () => {
    const name = uniqueName('ws-grow');
    expect((await http('PUT', `${topics}/${name}/partitions`, 2)).status).toBe(204);
    const first = await connect(`producer/persistent/public/default/${name}`);
    expect(new Set(await send(first, [{ payload: 'a' }, { payload: 'b' }]))).toEqual(new Set([0, 1]));
    expect((await http('POST', `${topics}/${name}/partitions`, 4)).status).toBe(204);

    const consumer = await connect(`consumer/persistent/public/default/${name}/sub`);
    const producer = await connect(`producer/persistent/public/default/${name}`);
    const partitions = await send(
      producer,
      Array.from({ length: 8 }, (_, i) => ({ payload: `m${i}` })),
    );
    expect([0, 1, 2, 3].map((p) => partitions.filter((x) => x === p).length)).toEqual([2, 2, 2, 2]);
    const frames = await consumer.waitFrames(8, 10_000);
    expect(new Set(frames.map((f) => messageIdFromBase64(f.messageId as string).partition))).toEqual(
      new Set([0, 1, 2, 3]),
    );

    expect((await http('DELETE', `${topics}/${name}/partitions`)).status).toBe(412);
    expect((await http('DELETE', `${topics}/${name}/partitions?force=true`)).status).toBe(204);
    for (const client of [first, producer, consumer]) {
      expect((await client.waitClose()).code).toBeGreaterThanOrEqual(4000);
    }
  });

  it('refuses a partition past the count and a reader from a message id; a reader from earliest reads every partition', async () => {
    const name = uniqueName('ws-refused');
    expect((await http('PUT', `${topics}/${name}/partitions`, 2)).status).toBe(204);
    const ws = `${broker.url.replace('http', 'ws')}/ws/v2`;
    expect((await refusal(`${ws}/producer/persistent/public/default/${name}-partition-2`)).status).toBe(404);
    // A partition by its own name is an ordinary topic; its ids carry its index, as Pulsar's do.
    const direct = await connect(`producer/persistent/public/default/${name}-partition-1`);
    expect(await send(direct, [{ payload: 'x' }])).toEqual([1]);
    expect((await refusal(`${ws}/reader/persistent/public/default/${name}?messageId=CAEQAA==`)).status).toBe(
      400,
    );
    const producer = await connect(`producer/persistent/public/default/${name}`);
    await send(producer, [{ payload: 'y' }, { payload: 'z' }]);
    const reader = await connect(`reader/persistent/public/default/${name}?messageId=earliest`);
    const frames = await reader.waitFrames(3);
    expect(frames.map((f) => Buffer.from(f.payload as string, 'base64').toString()).sort()).toEqual([
      'x',
      'y',
      'z',
    ]);
    expect(frames.map((f) => messageIdFromBase64(f.messageId as string).partition).sort()).toEqual([0, 1, 1]);
  });
});

describe('broker > partitioned topics > auto-creation (allowAutoTopicCreationType=partitioned)', () => {
  let env!: WsBroker;
  wsBroker((started) => (env = started), {
    allowAutoTopicCreationType: 'partitioned',
    defaultNumPartitions: 3,
  });

  it('creates a partitioned topic with defaultNumPartitions for a client on a new name; a partition name stays plain', async () => {
    const name = uniqueName('auto');
    const producer = await TestClient.connect(`${env.base}/ws/v2/producer/persistent/public/default/${name}`);
    try {
      expect(await env.service.getPartitionCount(`public/default/${name}`)).toBe(3);
      expect(await env.service.listPartitionedTopics('public/default')).toContain(
        `persistent://public/default/${name}`,
      );
      const before = producer.frames.length;
      for (let i = 0; i < 6; i++)
        producer.send({ payload: Buffer.from(`m${i}`).toString('base64'), context: `${i}` });
      const replies = (await producer.waitFrames(before + 6)).slice(before);
      const partitions = replies.map((r) => messageIdFromBase64(r.messageId as string).partition);
      expect([0, 1, 2].map((p) => partitions.filter((x) => x === p).length)).toEqual([2, 2, 2]);
    } finally {
      producer.close();
    }
    // An existing non-partitioned topic stays one; so does a new partition-style name.
    const plain = uniqueName('plain');
    await env.service.getTopic(`public/default/${plain}`, { createIfMissing: true });
    const consumer = await TestClient.connect(
      `${env.base}/ws/v2/consumer/persistent/public/default/${plain}/s`,
    );
    consumer.close();
    expect(await env.service.getPartitionCount(`public/default/${plain}`)).toBe(0);
    const partitionName = `${uniqueName('x')}-partition-0`;
    const direct = await TestClient.connect(
      `${env.base}/ws/v2/producer/persistent/public/default/${partitionName}`,
    );
    direct.close();
    expect(await env.service.getPartitionCount(`public/default/${partitionName}`)).toBe(0);
  });
});
