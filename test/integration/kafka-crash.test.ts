/**
 * Goal: what a Kafka producer was told is what a consumer finds after a crash: SIGKILL the standalone process at
 * random moments while acks=all produces are in flight (10 times); after each restart every acknowledged batch is
 * fetched at the base offset its acknowledgement named, with its records, and group offsets committed before any
 * kill are where they were committed.
 * Method: `ledgerline standalone` with its defaults (the Kafka namespace gets Kafka's retention) as a child process
 * on one data dir, restarted after each SIGKILL; two raw Kafka
 * connections (our codec) producing one-record batches to one partition in a loop; kill times from the seeded
 * random source (LEDGERLINE_SEED); raw Fetch from offset 0 after each restart.
 */
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey, KafkaErrorCode, decodeRecordBatch, encodeRecordBatch, splitBatches } from '../../broker';
import { TempDirs, seededRandom, testSeed } from '../harness';
import { RawKafka, kafkaPortOf } from './kafka-fixture';
import { requireBuilt, startStandalone as startStandaloneProcess } from './standalone-fixture';
import type { BrokerProcess } from './standalone-fixture';

const KILLS = 10;
const TOPIC = 'crash';
const dirs = new TempDirs();
let broker: BrokerProcess | undefined;

/** Standalone with its defaults: the Kafka namespace keeps what was acknowledged (Kafka's retention). */
function startStandalone(dataDir: string): Promise<BrokerProcess> {
  return startStandaloneProcess(dataDir, []);
}

afterAll(async () => {
  await broker?.stop('SIGKILL');
  dirs.removeAll();
});

/** Produces one-record batches until the connection dies; every acknowledged base offset → its value. */
async function produceUntilKilled(
  client: RawKafka,
  prefix: string,
  acked: Map<bigint, string>,
): Promise<void> {
  for (let i = 0; ; i++) {
    const value = `${prefix}-${i}`;
    const records = await encodeRecordBatch([
      { timestamp: Date.now(), key: null, value: Buffer.from(value) },
    ]);
    let response;
    try {
      response = await client.request(ApiKey.Produce, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
      });
    } catch {
      return;
    }
    const answer = response.responses[0]!.partitionResponses[0]!;
    if (answer.errorCode !== KafkaErrorCode.NONE) return;
    acked.set(answer.baseOffset, value);
  }
}

/** Every record of the partition from offset 0, by offset. */
async function fetchAll(client: RawKafka): Promise<Map<bigint, string>> {
  const found = new Map<bigint, string>();
  let offset = 0n;
  for (;;) {
    const response = await client.request(ApiKey.Fetch, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 4 * 1024 * 1024,
      isolationLevel: 0,
      topics: [
        { topic: TOPIC, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1024 * 1024 }] },
      ],
    });
    const answer = response.responses[0]!.partitions[0]!;
    expect({ offset, errorCode: answer.errorCode }).toEqual({ offset, errorCode: KafkaErrorCode.NONE });
    const { batches } = splitBatches(answer.records ?? Buffer.alloc(0));
    if (batches.length === 0) return found;
    for (const batch of batches) {
      for (const record of (await decodeRecordBatch(batch)).records) {
        found.set(record.offset, record.value!.toString());
        offset = record.offset + 1n;
      }
    }
  }
}

describe('broker > kafka > crash (standalone process, SIGKILL)', () => {
  it(`keeps every acknowledged batch at its offset and committed group offsets across ${KILLS} kills`, async () => {
    requireBuilt();
    const random = seededRandom(testSeed());
    const dataDir = dirs.make('ledgerline-kafka-crash-');
    broker = await startStandalone(dataDir);
    let port = kafkaPortOf(broker);
    const setup = await RawKafka.connect(port);
    await setup.request(ApiKey.Metadata, { topics: [{ name: TOPIC }], allowAutoTopicCreation: true });
    setup.close();
    const admin = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.setOffsets({
      groupId: 'crash-group',
      topic: TOPIC,
      partitions: [{ partition: 0, offset: '7' }],
    });
    await admin.disconnect();

    const acked = new Map<bigint, string>();
    for (let kill = 0; kill < KILLS; kill++) {
      const producers = await Promise.all([RawKafka.connect(port), RawKafka.connect(port)]);
      const loops = producers.map((client, n) => produceUntilKilled(client, `k${kill}-p${n}`, acked));
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.floor(random() * 600)));
      await broker.stop('SIGKILL');
      await Promise.all(loops);
      for (const client of producers) client.close();

      broker = await startStandalone(dataDir);
      port = kafkaPortOf(broker);
      const reader = await RawKafka.connect(port);
      const found = await fetchAll(reader);
      reader.close();
      for (const [offset, value] of acked) expect([offset, found.get(offset)]).toEqual([offset, value]);
    }
    expect(acked.size).toBeGreaterThan(KILLS);

    const after = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING }).admin();
    await after.connect();
    const offsets = await after.fetchOffsets({ groupId: 'crash-group', topics: [TOPIC] });
    await after.disconnect();
    expect(offsets[0]!.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '7' })]);
  });
});
