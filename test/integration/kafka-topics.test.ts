/**
 * Goal: Kafka's topic APIs on the real broker, as a Kafka client sees them: topics created by kafkajs's admin as
 * partitioned topics, keyed messages with headers produced by kafkajs and read back with consecutive offsets per
 * partition (by a kafkajs consumer and by raw Fetch), a message published over WebSocket fetched as a Kafka record
 * on the same topic, a corrupt batch refused with CORRUPT_MESSAGE and nothing stored, OFFSET_OUT_OF_RANGE,
 * ListOffsets earliest/latest/by time, long-polling Fetch, acks=0, Metadata's auto-creation switch, CreateTopics'
 * and DeleteTopics' errors, and offsets that survive a restart.
 * Method: `ledgerline standalone` as a child process (standalone-fixture.ts: real bookie, embedded metadata) with its
 * Kafka listener on a free port; kafkajs 2.2.4 and a raw client speaking our codec (broker/kafka/protocol) over TCP.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { Admin } from 'kafkajs';
import { ApiKey, KafkaErrorCode, decodeRecordBatch, encodeRecordBatch, splitBatches } from '../../broker';
import type { KafkaRecord } from '../../broker';
import { TempDirs, rawConnection } from '../harness';
import { RawKafka, kafkaPortOf } from './kafka-fixture';
import { TestClient } from '../unit/broker/websocket/ws-client';
import { requireBuilt, startStandalone } from './standalone-fixture';
import type { BrokerProcess } from './standalone-fixture';

const dirs = new TempDirs();
let broker: BrokerProcess | undefined;
let kafkaPort = 0;
let dataDir = '';
const raws: RawKafka[] = [];

async function start(): Promise<void> {
  // The defaults: the restart test reads what came before it because the Kafka namespace gets Kafka's retention
  // (handler/README.md, Retention), not Pulsar's 0, under which the ledgers a restart closes may be trimmed.
  broker = await startStandalone(dataDir, []);
  kafkaPort = kafkaPortOf(broker);
}

async function raw(): Promise<RawKafka> {
  const client = await RawKafka.connect(kafkaPort);
  raws.push(client);
  return client;
}

function kafka(): Kafka {
  return new Kafka({
    brokers: [`127.0.0.1:${kafkaPort}`],
    clientId: 'kafka-topics-test',
    logLevel: logLevel.NOTHING,
  });
}

async function withAdmin<T>(run: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    return await run(admin);
  } finally {
    await admin.disconnect();
  }
}

async function fetchRecords(
  client: RawKafka,
  topic: string,
  partition: number,
  fetchOffset: bigint,
  options: { maxWaitMs?: number; partitionMaxBytes?: number } = {},
): Promise<{ errorCode: number; highWatermark: bigint; records: KafkaRecord[]; batches: number }> {
  const response = await client.request(ApiKey.Fetch, {
    replicaId: -1,
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: 1,
    maxBytes: 10 * 1024 * 1024,
    isolationLevel: 0,
    topics: [
      {
        topic,
        partitions: [{ partition, fetchOffset, partitionMaxBytes: options.partitionMaxBytes ?? 1024 * 1024 }],
      },
    ],
  });
  const answer = response.responses[0]!.partitions[0]!;
  const { batches } = splitBatches(answer.records ?? Buffer.alloc(0));
  const records: KafkaRecord[] = [];
  for (const batch of batches) records.push(...(await decodeRecordBatch(batch)).records);
  return {
    errorCode: answer.errorCode,
    highWatermark: answer.highWatermark,
    records,
    batches: batches.length,
  };
}

async function listOffset(
  client: RawKafka,
  topic: string,
  partition: number,
  timestamp: bigint,
): Promise<bigint> {
  const response = await client.request(ApiKey.ListOffsets, {
    replicaId: -1,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp }] }],
  });
  const answer = response.topics[0]!.partitions[0]!;
  expect(answer.errorCode).toBe(KafkaErrorCode.NONE);
  return answer.offset;
}

async function produceRaw(client: RawKafka, topic: string, partition: number, records: Buffer, acks = -1) {
  const response = await client.request(ApiKey.Produce, {
    transactionalId: null,
    acks,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
  return response.responses[0]!.partitionResponses[0]!;
}

function values(records: KafkaRecord[]): string[] {
  return records.map((record) => record.value?.toString() ?? '<null>');
}

beforeAll(async () => {
  requireBuilt();
  dataDir = dirs.make('ledgerline-kafka-topics-');
  await start();
});

afterEach(() => {
  for (const client of raws.splice(0)) client.close();
});

afterAll(async () => {
  await broker?.stop('SIGKILL');
  dirs.removeAll();
});

describe('broker > kafka > topics (standalone process)', () => {
  it('kafkajs: created topic has 3 partitions; keyed messages with headers read back at consecutive offsets', async () => {
    const topic = 'orders';
    await withAdmin(async (admin) => {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })).toBe(true);
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(metadata.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
    });
    const producer = kafka().producer();
    await producer.connect();
    const sent = new Map<number, string[]>();
    for (let round = 0; round < 3; round++) {
      const messages = Array.from({ length: 10 }, (_, i) => ({
        key: `key-${i}`,
        value: `v-${round}-${i}`,
        headers: { round: `${round}`, i: `${i}` },
      }));
      const results = await producer.send({ topic, messages });
      for (const result of results) expect(result.errorCode).toBe(0);
    }
    await producer.disconnect();

    // Read everything back with raw Fetch: offsets 0, 1, 2, ... in each partition, every message once.
    const client = await raw();
    const seen: string[] = [];
    for (let partition = 0; partition < 3; partition++) {
      const { records, highWatermark, errorCode } = await fetchRecords(client, topic, partition, 0n);
      expect(errorCode).toBe(KafkaErrorCode.NONE);
      expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => BigInt(i)));
      expect(highWatermark).toBe(BigInt(records.length));
      for (const record of records) {
        const [, round, i] = record.value!.toString().split('-');
        expect(record.key!.toString()).toBe(`key-${i}`);
        expect(record.headers.map((h) => [h.key, h.value!.toString()])).toEqual([
          ['round', round],
          ['i', i],
        ]);
        seen.push(record.value!.toString());
        sent.set(partition, [...(sent.get(partition) ?? []), record.value!.toString()]);
      }
    }
    expect(seen.sort()).toEqual(
      Array.from({ length: 30 }, (_, n) => `v-${Math.floor(n / 10)}-${n % 10}`).sort(),
    );
    // One key always lands in one partition.
    for (const [partition, list] of sent) {
      for (const other of sent.keys()) {
        if (other === partition) continue;
        const keys = new Set(list.map((v) => v.split('-')[2]));
        for (const v of sent.get(other)!) expect(keys.has(v.split('-')[2])).toBe(false);
      }
    }

    // And with a kafkajs consumer group: every message, in offset order per partition.
    const consumer = kafka().consumer({ groupId: 'orders-readers' });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const consumed = new Map<number, bigint[]>();
    let total = 0;
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          consumed.set(partition, [...(consumed.get(partition) ?? []), BigInt(message.offset)]);
          if (++total === 30) resolve();
        },
      });
    });
    await consumer.disconnect();
    for (const [partition, offsets] of consumed) {
      expect(offsets).toEqual(offsets.map((_, i) => BigInt(i)));
      expect(offsets.length).toBe(sent.get(partition)!.length);
    }
  });

  it('a message published over WebSocket is fetched as a Kafka record, between Kafka batches', async () => {
    const topic = 'mixed';
    const client = await raw();
    const first = await produceRaw(
      client,
      topic,
      0,
      await encodeRecordBatch([
        { timestamp: Date.now(), key: Buffer.from('a'), value: Buffer.from('kafka-0') },
        { timestamp: Date.now(), key: null, value: Buffer.from('kafka-1') },
      ]),
    );
    // Produce does not create topics: Metadata does (kafkajs always asks it first).
    expect(first.errorCode).toBe(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const metadata = await client.request(ApiKey.Metadata, {
      topics: [{ name: topic }],
      allowAutoTopicCreation: true,
    });
    expect(metadata.topics[0]).toMatchObject({ name: topic, errorCode: 0 });
    expect(metadata.topics[0]!.partitions).toHaveLength(1);
    expect(metadata.brokers).toHaveLength(1);
    expect(metadata.topics[0]!.partitions[0]!.leaderId).toBe(metadata.brokers[0]!.nodeId);
    expect(metadata.controllerId).toBe(metadata.brokers[0]!.nodeId);
    const batch = await encodeRecordBatch([
      { timestamp: Date.now(), key: Buffer.from('a'), value: Buffer.from('kafka-0') },
      { timestamp: Date.now(), key: null, value: Buffer.from('kafka-1') },
    ]);
    expect(await produceRaw(client, topic, 0, batch)).toMatchObject({ errorCode: 0, baseOffset: 0n });

    const ws = await TestClient.connect(
      `${broker!.url.replace('http://', 'ws://')}/ws/v2/producer/persistent/public/default/${topic}`,
    );
    const eventTime = Date.now() - 60_000;
    ws.send({
      payload: Buffer.from('from-websocket').toString('base64'),
      key: 'ws-key',
      properties: { origin: 'ws', n: '1' },
      eventTime: String(eventTime),
    });
    expect((await ws.waitFrames(1))[0]).toMatchObject({ result: 'ok' });
    ws.close();
    expect(
      await produceRaw(
        client,
        topic,
        0,
        await encodeRecordBatch([{ timestamp: Date.now(), key: null, value: Buffer.from('kafka-3') }]),
      ),
    ).toMatchObject({ errorCode: 0, baseOffset: 3n });

    const { records, highWatermark } = await fetchRecords(client, topic, 0, 0n);
    expect(highWatermark).toBe(4n);
    expect(values(records)).toEqual(['kafka-0', 'kafka-1', 'from-websocket', 'kafka-3']);
    expect(records.map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n]);
    const fromWs = records[2]!;
    expect(fromWs.key!.toString()).toBe('ws-key');
    expect(fromWs.timestamp).toBe(eventTime);
    expect(fromWs.headers.map((h) => [h.key, h.value!.toString()]).sort()).toEqual([
      ['n', '1'],
      ['origin', 'ws'],
    ]);
    // A fetch from the middle of a batch returns the whole batch (the client drops what is before its offset).
    expect(values((await fetchRecords(client, topic, 0, 1n)).records)).toEqual([
      'kafka-0',
      'kafka-1',
      'from-websocket',
      'kafka-3',
    ]);
    expect(values((await fetchRecords(client, topic, 0, 2n)).records)).toEqual(['from-websocket', 'kafka-3']);
  });

  it('a consumer of large batches gets each batch once per fetch, in order, also after jumping back or into a batch', async () => {
    // 24 batches of 8 records of 24 KiB (~192 KiB each) and a 256 KiB partition limit: one batch per fetch, so
    // the broker reads as much as fits and, while the consumer handles it, the next batch ahead.
    const client = await raw();
    const topic = 'large-batches';
    await client.request(ApiKey.Metadata, { topics: [{ name: topic }], allowAutoTopicCreation: true });
    const value = (b: number, r: number): Buffer => Buffer.alloc(24 * 1024, `${b}.${r}|`);
    for (let b = 0; b < 24; b++) {
      const batch = await encodeRecordBatch(
        Array.from({ length: 8 }, (_, r) => ({ timestamp: Date.now(), key: null, value: value(b, r) })),
      );
      expect((await produceRaw(client, topic, 0, batch)).errorCode).toBe(KafkaErrorCode.NONE);
    }
    const limits = { partitionMaxBytes: 256 * 1024 };
    const readFrom = async (offset: bigint) => {
      const got = await fetchRecords(client, topic, 0, offset, limits);
      expect(got.errorCode).toBe(KafkaErrorCode.NONE);
      expect(got.batches).toBe(1);
      return got.records;
    };
    let offset = 0n;
    for (let b = 0; b < 24; b++) {
      const records = await readFrom(offset);
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 8 }, (_, r) => offset + BigInt(r)));
      records.forEach((record, r) => expect(record.value!.equals(value(b, r))).toBe(true));
      offset += 8n;
      // Jumps the read ahead did not expect: back to an earlier batch, and into the middle of one.
      if (b === 10) expect((await readFrom(0n))[0]!.value!.equals(value(0, 0))).toBe(true);
      if (b === 15) expect((await readFrom(8n * 3n + 5n))[0]!.offset).toBe(24n);
    }
    const end = await fetchRecords(client, topic, 0, offset, limits);
    expect(end).toMatchObject({ errorCode: KafkaErrorCode.NONE, highWatermark: 192n, batches: 0 });
  });

  it('a corrupt batch gets CORRUPT_MESSAGE and nothing is stored; offsets out of range; ListOffsets', async () => {
    const topic = 'strict';
    const client = await raw();
    await client.request(ApiKey.Metadata, { topics: [{ name: topic }], allowAutoTopicCreation: true });
    const good = await encodeRecordBatch([
      { timestamp: 1_000, key: null, value: Buffer.from('one') },
      { timestamp: 1_000, key: null, value: Buffer.from('two') },
    ]);
    const corrupt = Buffer.from(good);
    corrupt[corrupt.length - 2]! ^= 0x01;
    expect(await produceRaw(client, topic, 0, corrupt)).toMatchObject({
      errorCode: KafkaErrorCode.CORRUPT_MESSAGE,
      baseOffset: -1n,
    });
    expect(await listOffset(client, topic, 0, -1n)).toBe(0n);
    expect((await produceRaw(client, topic, 0, Buffer.concat([good, good]))).errorCode).toBe(
      KafkaErrorCode.INVALID_RECORD,
    );
    const truncated = good.subarray(0, good.length - 5);
    expect((await produceRaw(client, topic, 0, truncated)).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    expect((await produceRaw(client, topic, 0, good, 2)).errorCode).toBe(
      KafkaErrorCode.INVALID_REQUIRED_ACKS,
    );
    expect((await produceRaw(client, topic, 5, good)).errorCode).toBe(
      KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    expect(await listOffset(client, topic, 0, -1n)).toBe(0n);

    const before = Date.now();
    expect(await produceRaw(client, topic, 0, good)).toMatchObject({ errorCode: 0, baseOffset: 0n });
    expect(await produceRaw(client, topic, 0, good)).toMatchObject({ errorCode: 0, baseOffset: 2n });
    expect(await listOffset(client, topic, 0, -2n)).toBe(0n);
    expect(await listOffset(client, topic, 0, -1n)).toBe(4n);
    expect(await listOffset(client, topic, 0, BigInt(before - 60_000))).toBe(0n);
    expect(await listOffset(client, topic, 0, BigInt(Date.now() + 60_000))).toBe(-1n);

    expect((await fetchRecords(client, topic, 0, 5n)).errorCode).toBe(KafkaErrorCode.OFFSET_OUT_OF_RANGE);
    expect((await fetchRecords(client, topic, 0, -1n)).errorCode).toBe(KafkaErrorCode.OFFSET_OUT_OF_RANGE);
    expect((await fetchRecords(client, topic, 0, 0n, { partitionMaxBytes: 1 })).batches).toBe(1);
    expect((await fetchRecords(client, topic, 0, 3n)).records.map((r) => r.offset)).toEqual([2n, 3n]);
    expect((await fetchRecords(client, topic, 7, 0n)).errorCode).toBe(
      KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );

    // At the high watermark: an empty answer after max_wait_ms, or the data as soon as it comes.
    const waitStart = Date.now();
    const empty = await fetchRecords(client, topic, 0, 4n, { maxWaitMs: 300 });
    expect(empty).toMatchObject({ errorCode: 0, highWatermark: 4n, records: [] });
    expect(Date.now() - waitStart).toBeGreaterThanOrEqual(250);
    const other = await raw();
    const waiting = fetchRecords(client, topic, 0, 4n, { maxWaitMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const addedAt = Date.now();
    expect((await produceRaw(other, topic, 0, good)).errorCode).toBe(0);
    const woken = await waiting;
    expect(woken.records.map((r) => r.offset)).toEqual([4n, 5n]);
    expect(Date.now() - addedAt).toBeLessThan(5_000);

    // acks=0: no response; the next request on the connection is answered.
    other.send(ApiKey.Produce, {
      transactionalId: null,
      acks: 0,
      timeoutMs: 1000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: good }] }],
    });
    expect(await listOffset(other, topic, 0, -1n)).toBe(8n);
  });

  it('garbage, a 0x7fffffff size prefix and truncated frames close their connection; the broker serves on', async () => {
    for (const bytes of [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]),
      Buffer.from([0, 0, 0, 6, 0, 3, 0, 4, 0, 0]),
    ]) {
      const { socket, closed } = await rawConnection(kafkaPort);
      socket.write(bytes);
      if (bytes.length === 10) socket.end();
      await closed;
    }
    const client = await raw();
    const metadata = await client.request(ApiKey.Metadata, {
      topics: [{ name: 'orders' }],
      allowAutoTopicCreation: false,
    });
    expect(metadata.topics[0]!.partitions).toHaveLength(3);
  });

  it('produce requests pipelined on one connection land in request order, with contiguous offsets, answered in order', async () => {
    const topic = 'pipelined';
    const client = await raw();
    await client.request(ApiKey.Metadata, { topics: [{ name: topic }], allowAutoTopicCreation: true });
    const sent = Array.from({ length: 40 }, (_, i) =>
      Array.from({ length: 1 + (i % 3) }, (_, r) => `${i}-${r}`),
    );
    const batches = await Promise.all(
      sent.map((batch) =>
        encodeRecordBatch(batch.map((value) => ({ timestamp: 1_000, key: null, value: Buffer.from(value) }))),
      ),
    );
    const firstId = client.lastCorrelationId + 1;
    for (const records of batches) {
      client.send(ApiKey.Produce, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
      });
    }
    const answers = [];
    for (let i = 0; i < batches.length; i++) answers.push(await client.receive(ApiKey.Produce));
    expect(answers.map((answer) => answer.correlationId)).toEqual(sent.map((_, i) => firstId + i));
    let next = 0n;
    for (const [i, answer] of answers.entries()) {
      expect(answer.body.responses[0]!.partitionResponses[0]).toMatchObject({
        errorCode: 0,
        baseOffset: next,
      });
      next += BigInt(sent[i]!.length);
    }
    const fetched = await fetchRecords(client, topic, 0, 0n);
    expect(values(fetched.records)).toEqual(sent.flat());
    expect(fetched.records.map((record) => record.offset)).toEqual(sent.flat().map((_, i) => BigInt(i)));
  });

  it('Metadata auto-creation follows the request; CreateTopics and DeleteTopics answer Kafka errors', async () => {
    const client = await raw();
    const refused = await client.request(ApiKey.Metadata, {
      topics: [{ name: 'not-created' }],
      allowAutoTopicCreation: false,
    });
    expect(refused.topics[0]).toMatchObject({
      errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      partitions: [],
    });
    const invalid = await client.request(ApiKey.Metadata, {
      topics: [{ name: 'bad name!' }],
      allowAutoTopicCreation: true,
    });
    expect(invalid.topics[0]!.errorCode).toBe(KafkaErrorCode.INVALID_TOPIC_EXCEPTION);

    const create = (name: string, numPartitions: number) => ({
      name,
      numPartitions,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    });
    const created = await client.request(ApiKey.CreateTopics, {
      topics: [create('made', 2), create('orders', 2), create('zero', 0)],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(created.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['made', KafkaErrorCode.NONE],
      ['orders', KafkaErrorCode.TOPIC_ALREADY_EXISTS],
      ['zero', KafkaErrorCode.INVALID_PARTITIONS],
    ]);
    const all = await client.request(ApiKey.Metadata, { topics: null, allowAutoTopicCreation: false });
    const names = new Map(all.topics.map((t) => [t.name, t.partitions.length]));
    expect(names.get('made')).toBe(2);
    expect(names.get('orders')).toBe(3);
    expect(names.has('not-created')).toBe(false);
    expect([...names.keys()].some((name) => name.includes('-partition-'))).toBe(false);

    const deleted = await client.request(ApiKey.DeleteTopics, {
      topicNames: ['made', 'never-was'],
      timeoutMs: 5000,
    });
    expect(deleted.responses.map((r) => [r.name, r.errorCode])).toEqual([
      ['made', KafkaErrorCode.NONE],
      ['never-was', KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    const after = await client.request(ApiKey.Metadata, {
      topics: [{ name: 'made' }],
      allowAutoTopicCreation: false,
    });
    expect(after.topics[0]!.errorCode).toBe(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('a restart keeps every offset: the high watermark, the records at their offsets, the next base offset, group offsets', async () => {
    const client = await raw();
    const before = await fetchRecords(client, 'strict', 0, 0n);
    expect(before.highWatermark).toBe(8n);
    // Group offsets committed before the restart (OffsetCommit with generation -1, as an admin or kcat commits).
    const committed = [
      { partition: 0, offset: '2' },
      { partition: 1, offset: '1' },
      { partition: 2, offset: '3' },
    ];
    await withAdmin((admin) => admin.setOffsets({ groupId: 'kept', topic: 'orders', partitions: committed }));
    await broker!.stop('SIGTERM');
    await start();
    const again = await raw();
    expect(await listOffset(again, 'strict', 0, -1n)).toBe(8n);
    const after = await fetchRecords(again, 'strict', 0, 0n);
    expect(after.records.map((r) => [r.offset, r.value!.toString()])).toEqual(
      before.records.map((r) => [r.offset, r.value!.toString()]),
    );
    const next = await produceRaw(
      again,
      'strict',
      0,
      await encodeRecordBatch([{ timestamp: Date.now(), key: null, value: Buffer.from('after') }]),
    );
    expect(next).toMatchObject({ errorCode: 0, baseOffset: 8n });
    expect(values((await fetchRecords(again, 'strict', 0, 8n)).records)).toEqual(['after']);
    const fetched = await withAdmin((admin) => admin.fetchOffsets({ groupId: 'kept', topics: ['orders'] }));
    expect(
      fetched[0]!.partitions
        .map(({ partition, offset }) => ({ partition, offset }))
        .sort((a, b) => a.partition - b.partition),
    ).toEqual(committed);
  });
});
