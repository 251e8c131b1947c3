/**
 * Goal: one topic, both protocols (issue 7). Records that Kafka clients produce — kafkajs uncompressed and with
 * gzip, snappy, lz4 and zstd (codecs registered as its users do), and kcat — reach WebSocket consumers and readers
 * one message per record, with the key, headers (as properties) and timestamp (as eventTime) of the record and
 * batch message ids that ack like a Pulsar batch's (on a 2-partition topic too, each id naming its partition);
 * and a WebSocket producer's message is read by kcat as a record.
 * Method: `ledgerline standalone` as a child process (standalone-fixture.ts) with its Kafka listener on a free
 * port; kafkajs in the test, Debian's kcat as a child process, WebSocket clients (ws) on the standalone's HTTP
 * port, the admin REST stats for the subscriptions' backlog.
 */
import { execFileSync } from 'node:child_process';
import { compress as zstdCompress } from '@mongodb-js/zstd';
import { CompressionCodecs, CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { compressFrame as lz4CompressFrame } from 'lz4-napi';
import { compress as snappyCompress } from 'snappy';
import { decodeRecordBatch, messageIdFromBase64 } from '../../broker';
import { TempDirs, eventually } from '../harness';
import { TestClient, UpgradeRefused } from '../unit/broker/websocket/ws-client';
import { kafkaPortOf } from './kafka-fixture';
import { http, requireBuilt, startStandalone } from './standalone-fixture';
import type { BrokerProcess } from './standalone-fixture';

const TOPIC = 'kafka-to-websocket';
const SUBSCRIPTIONS = { exclusive: 'Exclusive', shared: 'Shared' } as const;

const dirs = new TempDirs();
let broker: BrokerProcess | undefined;
let bootstrap = '';
let wsBase = '';
let adminBase = '';
const clients: TestClient[] = [];

/** A record as a WebSocket client should see it. */
interface Expected {
  key: string | undefined;
  value: string;
  properties: Record<string, string>;
  /** Exact for kafkajs (the test sets it); kcat's records carry the time they were produced. */
  eventTime: number | undefined;
}

/** A pushed frame, decoded. */
interface Received {
  messageId: string;
  ledgerId: bigint;
  entryId: bigint;
  batchIndex: number;
  batchSize: number | undefined;
  key: string | undefined;
  value: string;
  properties: Record<string, string>;
  eventTime: number | undefined;
  publishTime: number;
}

const expected: Expected[] = [];
let producedFrom = 0;
let producedUntil = 0;

function kcat(args: string[], input = ''): string {
  return execFileSync('kcat', ['-b', bootstrap, ...args], { input, timeout: 60_000, encoding: 'utf8' });
}

/** A WebSocket session; an Exclusive subscription whose previous consumer is still closing is retried. */
async function open(path: string): Promise<TestClient> {
  const client = await eventually(`a WebSocket session on ${path}`, async () => {
    try {
      return await TestClient.connect(`${wsBase}${path}`);
    } catch (error) {
      if (error instanceof UpgradeRefused && error.status === 409) return undefined;
      throw error;
    }
  });
  clients.push(client);
  return client;
}

function consumerPath(subscription: keyof typeof SUBSCRIPTIONS): string {
  return `/ws/v2/consumer/persistent/public/default/${TOPIC}/${subscription}?subscriptionType=${SUBSCRIPTIONS[subscription]}`;
}

async function closed(client: TestClient): Promise<void> {
  client.close();
  await client.waitClose();
}

function decode(frame: Record<string, unknown>): Received {
  const id = messageIdFromBase64(frame.messageId as string);
  return {
    messageId: frame.messageId as string,
    ledgerId: id.ledgerId,
    entryId: id.entryId,
    batchIndex: id.batchIndex,
    batchSize: id.batchSize,
    key: frame.key as string | undefined,
    value: Buffer.from(frame.payload as string, 'base64').toString(),
    properties: frame.properties as Record<string, string>,
    eventTime: frame.eventTime === undefined ? undefined : Date.parse(frame.eventTime as string),
    publishTime: Date.parse(frame.publishTime as string),
  };
}

async function receive(client: TestClient, count: number): Promise<Received[]> {
  return (await client.waitFrames(count, 20_000)).map(decode);
}

/** Nothing more arrives on `client` within `ms`. */
async function quiet(client: TestClient, count: number, ms = 1500): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  expect(client.frames).toHaveLength(count);
  expect(client.closed).toBeUndefined();
}

/** A subscription's backlog in the admin stats (`partitioned-stats` for a partitioned topic's name). */
async function backlog(subscription: string, topic = TOPIC, stats = 'stats'): Promise<number> {
  const reply = (await http('GET', `${adminBase}/${topic}/${stats}`)).json as {
    subscriptions: Record<string, { msgBacklog: number }>;
  };
  return reply.subscriptions[subscription]!.msgBacklog;
}

function matchesExpected(got: Received[]): void {
  expect(got.map(({ key, value, properties }) => ({ key, value, properties }))).toEqual(
    expected.map(({ key, value, properties }) => ({ key, value, properties })),
  );
  got.forEach((message, i) => {
    const time = expected[i]!.eventTime;
    if (time !== undefined) expect(message.eventTime).toBe(time);
    else expect(message.eventTime).toBeGreaterThanOrEqual(producedFrom - 1000);
    expect(message.eventTime).toBeLessThanOrEqual(producedUntil + 1000);
    expect(message.publishTime).toBeGreaterThanOrEqual(producedFrom - 1000);
    expect(message.publishTime).toBeLessThanOrEqual(producedUntil + 1000);
    expect(message.batchIndex).toBeGreaterThanOrEqual(0);
    expect(message.batchIndex).toBeLessThan(message.batchSize!);
  });
  expect(new Set(got.map((m) => m.messageId)).size).toBe(got.length);
}

function kafka(): Kafka {
  return new Kafka({ brokers: [bootstrap], clientId: 'kafka-websocket-test', logLevel: logLevel.NOTHING });
}

/**
 * kafkajs's codecs for snappy, lz4 and zstd, registered as its users do (kafkajs ships gzip only): a raw snappy
 * block (as librdkafka writes), one LZ4 frame, a zstd frame. The test only produces with them.
 */
function registerKafkajsCodecs(): void {
  const codec = (compress: (data: Buffer) => Promise<Buffer>) => () => ({
    compress: (encoder: { buffer: Buffer }) => compress(encoder.buffer),
    decompress: () => Promise.reject(new Error('this test only produces')),
  });
  CompressionCodecs[CompressionTypes.Snappy] = codec((data) => snappyCompress(data));
  CompressionCodecs[CompressionTypes.LZ4] = codec((data) => lz4CompressFrame(data));
  CompressionCodecs[CompressionTypes.ZSTD] = codec((data) => zstdCompress(data, 3));
}

/**
 * The kafkajs records, one send (one batch) each: uncompressed, gzip (a key that is not UTF-8, a tombstone),
 * snappy, lz4, zstd; timestamps set by the test.
 */
async function produceWithKafkajs(): Promise<void> {
  registerKafkajsCodecs();
  const producer = kafka().producer();
  await producer.connect();
  const base = Date.now() - 60_000;
  const plain = [0, 1, 2].map((i) => ({
    key: `js-${i}`,
    value: `plain-${i}`,
    headers: { src: 'kafkajs', n: `${i}` },
    timestamp: String(base + i),
  }));
  await producer.send({ topic: TOPIC, messages: plain });
  for (const m of plain) {
    expected.push({ key: m.key, value: m.value, properties: m.headers, eventTime: Number(m.timestamp) });
  }
  await producer.send({
    topic: TOPIC,
    compression: CompressionTypes.GZIP,
    messages: [
      { key: 'gz-0', value: 'gzip-0', headers: { src: 'kafkajs-gzip' }, timestamp: String(base + 10) },
      { key: Buffer.from([0xff, 0x00, 0x80]), value: 'gzip-1', timestamp: String(base + 11) },
      { key: 'gz-2', value: null, headers: { tombstone: 'yes' }, timestamp: String(base + 12) },
    ],
  });
  expected.push(
    { key: 'gz-0', value: 'gzip-0', properties: { src: 'kafkajs-gzip' }, eventTime: base + 10 },
    { key: '/wCA', value: 'gzip-1', properties: {}, eventTime: base + 11 },
    { key: 'gz-2', value: '', properties: { tombstone: 'yes' }, eventTime: base + 12 },
  );
  const codecs = [
    ['snappy', CompressionTypes.Snappy],
    ['lz4', CompressionTypes.LZ4],
    ['zstd', CompressionTypes.ZSTD],
  ] as const;
  for (const [n, [name, compression]] of codecs.entries()) {
    const messages = [0, 1].map((i) => ({
      key: `${name}-key-${i}`,
      value: `${name}-${i} ${'compressible '.repeat(20)}`,
      headers: { codec: name },
      timestamp: String(base + 20 + 10 * n + i),
    }));
    await producer.send({ topic: TOPIC, compression, messages });
    for (const m of messages) {
      expected.push({ key: m.key, value: m.value, properties: m.headers, eventTime: Number(m.timestamp) });
    }
  }
  await producer.disconnect();
}

/**
 * kcat's records (librdkafka's batches). Uncompressed: librdkafka 2.0 compresses only for a broker whose Produce
 * versions start at 0 (its compression check asks for Produce v0, zstd v7), and ours serves exactly v3, so with
 * `-z` it sends the batch uncompressed ("Broker does not support compression type").
 */
function produceWithKcat(): void {
  const lines = [0, 1].map((i) => `kcat-key-${i}:kcat-${i}`).join('\n');
  kcat(['-P', '-t', TOPIC, '-K:', '-H', 'tool=kcat', '-H', 'empty='], lines);
  for (const i of [0, 1]) {
    expected.push({
      key: `kcat-key-${i}`,
      value: `kcat-${i}`,
      properties: { tool: 'kcat', empty: '' },
      eventTime: undefined,
    });
  }
}

beforeAll(async () => {
  requireBuilt();
  broker = await startStandalone(dirs.make('ledgerline-kafka-websocket-'));
  bootstrap = `127.0.0.1:${kafkaPortOf(broker)}`;
  wsBase = broker.url.replace(/^http/, 'ws');
  adminBase = `${broker.url}/admin/v2/persistent/public/default`;
  // The subscriptions exist before the records (a new one starts at the latest message, as in Pulsar); the
  // first consumer also creates the topic, non-partitioned: Kafka's partition 0.
  for (const subscription of ['exclusive', 'shared'] as const)
    await closed(await open(consumerPath(subscription)));
  producedFrom = Date.now();
  await produceWithKafkajs();
  produceWithKcat();
  producedUntil = Date.now();
}, 120_000);

afterEach(() => {
  for (const client of clients.splice(0)) client.ws.terminate();
});

afterAll(async () => {
  await broker?.stop('SIGKILL');
  dirs.removeAll();
});

describe('broker > kafka > WebSocket (Kafka records to WebSocket consumers, and back)', () => {
  it('an Exclusive consumer gets each record once as its own message, acks by batch id, and nothing comes back', async () => {
    const client = await open(consumerPath('exclusive'));
    const got = await receive(client, expected.length);
    matchesExpected(got);
    // kafkajs's two sends are two entries of three records each.
    expect(got.slice(0, 6).map((m) => [m.batchIndex, m.batchSize])).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
      [0, 3],
      [1, 3],
      [2, 3],
    ]);
    expect(new Set(got.slice(0, 3).map((m) => `${m.ledgerId}:${m.entryId}`)).size).toBe(1);
    expect(got[3]!.entryId).not.toBe(got[0]!.entryId);
    await quiet(client, expected.length, 500);
    // The entries are the batches as the clients compressed them (the admin peek gives each one as stored).
    const codecs: string[] = [];
    for (let position = 1; ; position++) {
      const peeked = await fetch(`${adminBase}/${TOPIC}/subscription/exclusive/position/${position}`);
      if (peeked.status === 404) break;
      codecs.push((await decodeRecordBatch(Buffer.from(await peeked.arrayBuffer()))).header.compression);
    }
    expect([...new Set(codecs)]).toEqual(['none', 'gzip', 'snappy', 'lz4', 'zstd']);
    for (const message of got) client.send({ messageId: message.messageId });
    await eventually('the backlog drained', async () =>
      (await backlog('exclusive')) === 0 ? true : undefined,
    );
    await closed(client);

    const again = await open(consumerPath('exclusive'));
    await quiet(again, 0);
    expect(await backlog('exclusive')).toBe(0);
  });

  it('a Shared consumer: an unacked record of a partly acked batch comes again after a reconnect, then nothing', async () => {
    const client = await open(consumerPath('shared'));
    const got = await receive(client, expected.length);
    matchesExpected(got);
    const unacked = got.find((m) => m.value === 'gzip-1')!;
    for (const message of got) if (message !== unacked) client.send({ messageId: message.messageId });
    // Every entry but the gzip batch's is acked; that one waits for its last record.
    await eventually('the other entries acked', async () => {
      const left = await backlog('shared');
      return left > 0 && left <= 3 ? left : undefined;
    });
    // The admin peek shows the waiting entry: the gzip batch as kafkajs sent it, decoded as Kafka records.
    const peeked = await fetch(`${adminBase}/${TOPIC}/subscription/shared/position/1`);
    expect(peeked.status).toBe(200);
    expect(peeked.headers.get('X-Pulsar-PROPERTY-__kafka_entry_format')).toBe('kafka');
    const { header, records } = await decodeRecordBatch(Buffer.from(await peeked.arrayBuffer()));
    expect(header.compression).toBe('gzip');
    expect(records.map((r) => r.value?.toString() ?? null)).toEqual(['gzip-0', 'gzip-1', null]);
    await closed(client);

    const again = await open(consumerPath('shared'));
    const redelivered = await receive(again, 3);
    // The whole batch comes again (the broker acks entries), the unacked record among it, at its batch index.
    expect(redelivered.map((m) => m.value)).toEqual(['gzip-0', 'gzip-1', '']);
    expect(redelivered[1]).toMatchObject({
      entryId: unacked.entryId,
      batchIndex: unacked.batchIndex,
      key: '/wCA',
    });
    await quiet(again, 3, 500);
    for (const message of redelivered) again.send({ messageId: message.messageId });
    await eventually('the backlog drained', async () => ((await backlog('shared')) === 0 ? true : undefined));
    await closed(again);

    const last = await open(consumerPath('shared'));
    await quiet(last, 0);
    expect(await backlog('shared')).toBe(0);
  });

  it("a consumer on a 2-partition topic that kafkajs created gets both partitions' records and acks them there", async () => {
    const topic = 'kafka-partitioned';
    const admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await admin.disconnect();
    const path = `/ws/v2/consumer/persistent/public/default/${topic}/both?subscriptionType=Shared`;
    await closed(await open(path)); // the subscription, on every partition, before the records
    const producer = kafka().producer();
    await producer.connect();
    await producer.send({
      topic,
      compression: CompressionTypes.GZIP,
      messages: [
        { partition: 0, key: 'a', value: 'p0-a' },
        { partition: 0, key: 'b', value: 'p0-b' },
        { partition: 1, key: 'c', value: 'p1-c' },
        { partition: 1, key: 'd', value: 'p1-d' },
      ],
    });
    await producer.disconnect();

    const client = await open(path);
    const got = await receive(client, 4);
    const partitionOf = (m: Received): number => messageIdFromBase64(m.messageId).partition;
    expect(got.map((m) => [m.value, m.key, partitionOf(m), m.batchIndex, m.batchSize]).sort()).toEqual([
      ['p0-a', 'a', 0, 0, 2],
      ['p0-b', 'b', 0, 1, 2],
      ['p1-c', 'c', 1, 0, 2],
      ['p1-d', 'd', 1, 1, 2],
    ]);
    for (const message of got) client.send({ messageId: message.messageId });
    await eventually('both partitions acked', async () =>
      (await backlog('both', topic, 'partitioned-stats')) === 0 ? true : undefined,
    );
    await closed(client);
    const again = await open(path);
    await quiet(again, 0);
  });

  it('a reader from earliest sees every record in order', async () => {
    const reader = await open(`/ws/v2/reader/persistent/public/default/${TOPIC}?messageId=earliest`);
    const got = await receive(reader, expected.length);
    matchesExpected(got);
    await quiet(reader, expected.length, 500);
  });

  it('a WebSocket producer sends key, properties and eventTime; kcat reads them as a record', async () => {
    const topic = 'websocket-to-kcat';
    const producer = await open(`/ws/v2/producer/persistent/public/default/${topic}`);
    const eventTime = Date.UTC(2026, 5, 1, 12, 0, 0, 123);
    producer.send({
      payload: Buffer.from('from websocket').toString('base64'),
      key: 'ws-key',
      properties: { origin: 'ws', n: '7' },
      eventTime: new Date(eventTime).toISOString(),
      context: 'one',
    });
    expect((await producer.waitFrames(1))[0]).toMatchObject({ result: 'ok', context: 'one' });
    const out = kcat(['-C', '-t', topic, '-e', '-q', '-f', '%k|%s|%h|%T\\n']);
    const [key, value, headers, timestamp] = out.trim().split('|');
    expect([key, value, Number(timestamp)]).toEqual(['ws-key', 'from websocket', eventTime]);
    expect(headers!.split(',').sort()).toEqual(['n=7', 'origin=ws']);
  });
});
