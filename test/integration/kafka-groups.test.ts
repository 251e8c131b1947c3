/**
 * Goal: Kafka consumer groups end to end as an unmodified client sees them: two kafkajs consumers of one group on a
 * 2-partition topic are each assigned one partition, between them consume every record, DescribeGroups shows the
 * Stable group with both members, the offsets they committed are what OffsetFetch returns, and a later consumer of
 * the group starts after them (commits honoured), also after the broker was SIGKILLed and restarted.
 * Method: `ledgerline standalone` as a child process (standalone-fixture.ts) with its Kafka listener on a free port;
 * kafkajs 2.2.4 producer, consumers and admin; kcat 1.7 (librdkafka's balanced consumer, -G).
 */

const run = promisify(execFile);
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import type { Consumer } from 'kafkajs';
import { TempDirs, eventually } from '../harness';
import { requireBuilt, startStandalone } from './standalone-fixture';
import type { BrokerProcess } from './standalone-fixture';

const dirs = new TempDirs();
let broker: BrokerProcess | undefined;
let kafkaPort = 0;
let dataDir = '';
const consumers: Consumer[] = [];

function kafka(clientId: string): Kafka {
  return new Kafka({ brokers: [`127.0.0.1:${kafkaPort}`], clientId, logLevel: logLevel.NOTHING });
}

async function start(): Promise<void> {
  broker = await startStandalone(dataDir);
  const match = /kafka: 127\.0\.0\.1:(\d+)/.exec(broker.stdout());
  if (match === null) throw new Error(`no Kafka listener printed:\n${broker.stdout()}`);
  kafkaPort = Number(match[1]);
}

beforeAll(async () => {
  requireBuilt();
  dataDir = dirs.make('ledgerline-kafka-groups-');
  await start();
});

afterAll(async () => {
  for (const consumer of consumers) await consumer.disconnect().catch(() => undefined);
  await broker?.stop('SIGKILL');
  dirs.removeAll();
});

/** A consumer of `groupId` on `topic` from the beginning, recording what it reads and its latest assignment. */
async function startConsumer(
  clientId: string,
  groupId: string,
  topic: string,
): Promise<{ consumer: Consumer; seen: string[]; assignment: () => number[] }> {
  const consumer = kafka(clientId).consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500 });
  consumers.push(consumer);
  const seen: string[] = [];
  let assigned: number[] = [];
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    assigned = [...(event.payload.memberAssignment[topic] ?? [])].sort();
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen.push(`${partition}:${message.offset}:${message.value?.toString() ?? ''}`);
    },
  });
  return { consumer, seen, assignment: () => assigned };
}

describe('broker > kafka > groups (standalone process, kafkajs)', () => {
  it('two members share a 2-partition topic, commit, and a later member resumes after their commits', async () => {
    const topic = 'shared';
    const groupId = 'pair';
    const admin = kafka('groups-admin').admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      const producer = kafka('groups-producer').producer();
      await producer.connect();
      const send = async (from: number, count: number): Promise<void> => {
        for (const partition of [0, 1]) {
          await producer.send({
            topic,
            acks: -1,
            messages: Array.from({ length: count }, (_, i) => ({
              partition,
              value: `p${partition}-m${from + i}`,
            })),
          });
        }
      };
      await send(0, 20);

      const a = await startConsumer('member-a', groupId, topic);
      const b = await startConsumer('member-b', groupId, topic);
      // After the rebalances settle each member holds one partition.
      await eventually(
        'each member assigned one partition',
        () => {
          const both = [...a.assignment(), ...b.assignment()].sort();
          return a.assignment().length === 1 && b.assignment().length === 1 && both.join() === '0,1'
            ? true
            : undefined;
        },
        30_000,
      );
      const expected = [0, 1].flatMap((p) => Array.from({ length: 20 }, (_, i) => `${p}:${i}:p${p}-m${i}`));
      await eventually(
        'every record consumed by the group',
        () => {
          const seen = new Set([...a.seen, ...b.seen]);
          return expected.every((r) => seen.has(r)) ? true : undefined;
        },
        30_000,
      );
      const described = await admin.describeGroups([groupId]);
      expect(described.groups[0]).toMatchObject({ groupId, state: 'Stable', protocolType: 'consumer' });
      expect(described.groups[0]!.members.map((m) => m.clientId).sort()).toEqual(['member-a', 'member-b']);
      expect(described.groups[0]!.members.every((m) => m.clientHost === '/127.0.0.1')).toBe(true);
      const listed = await admin.listGroups();
      expect(listed.groups).toContainEqual({ groupId, protocolType: 'consumer' });

      // Leaving commits what was consumed; OffsetFetch returns it.
      await a.consumer.disconnect();
      await b.consumer.disconnect();
      await eventually(
        'the committed offsets',
        async () => {
          const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
          const partitions = offsets[0]!.partitions.map((p) => `${p.partition}:${p.offset}`).sort();
          return partitions.join() === '0:20,1:20' ? true : undefined;
        },
        20_000,
      );

      // A later member of the group starts after the commits: only the new records.
      await send(20, 3);
      const c = await startConsumer('member-c', groupId, topic);
      const later = [0, 1].flatMap((p) => [20, 21, 22].map((i) => `${p}:${i}:p${p}-m${i}`));
      await eventually(
        'the new records',
        () => (later.every((r) => c.seen.includes(r)) ? true : undefined),
        30_000,
      );
      expect(c.seen.filter((r) => !later.includes(r))).toEqual([]);
      await c.consumer.disconnect();
      await producer.disconnect();
      await admin.disconnect();

      // SIGKILL and restart: the group's committed offsets are read back from BookKeeper.
      await broker!.stop('SIGKILL');
      await start();
      const afterRestart = kafka('groups-admin-2').admin();
      await afterRestart.connect();
      try {
        const offsets = await afterRestart.fetchOffsets({ groupId, topics: [topic] });
        expect(offsets[0]!.partitions.map((p) => `${p.partition}:${p.offset}`).sort()).toEqual([
          '0:23',
          '1:23',
        ]);
        // The coordinator knows the group from its stored offsets (Empty, as Kafka loads it).
        expect((await afterRestart.listGroups()).groups).toContainEqual({ groupId, protocolType: '' });
      } finally {
        await afterRestart.disconnect();
      }
      const producer2 = kafka('groups-producer-2').producer();
      await producer2.connect();
      for (const partition of [0, 1]) {
        await producer2.send({ topic, acks: -1, messages: [{ partition, value: `p${partition}-m23` }] });
      }
      await producer2.disconnect();
      const d = await startConsumer('member-d', groupId, topic);
      const newest = ['0:23:p0-m23', '1:23:p1-m23'];
      await eventually(
        'the records after the restart',
        () => (newest.every((r) => d.seen.includes(r)) ? true : undefined),
        30_000,
      );
      expect(d.seen.filter((r) => !newest.includes(r))).toEqual([]);
      await d.consumer.disconnect();
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }, 120_000);

  it('kcat as a group member (librdkafka -G): reads everything once, commits, and a second run reads only newer records', async () => {
    const topic = 'kcat-group';
    const groupId = 'kcat';
    const admin = kafka('kcat-admin').admin();
    await admin.connect();
    const producer = kafka('kcat-producer').producer();
    await producer.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      const send = async (from: number, count: number): Promise<void> => {
        for (const partition of [0, 1]) {
          const messages = Array.from({ length: count }, (_, i) => ({
            partition,
            value: `k${partition}-${from + i}`,
          }));
          await producer.send({ topic, acks: -1, messages });
        }
      };
      const consume = async (): Promise<string[]> => {
        const { stdout } = await run(
          'kcat', // Debian's kcat, installed by .ci/run
          [
            '-b',
            `127.0.0.1:${kafkaPort}`,
            '-G',
            groupId,
            '-X',
            'auto.offset.reset=earliest',
            '-e',
            '-q',
            '-f',
            '%p:%o:%s\n',
            topic,
          ],
          { timeout: 60_000 },
        );
        return stdout
          .split('\n')
          .filter((l) => l !== '')
          .sort();
      };
      await send(0, 5);
      const first = await consume();
      expect(first).toEqual([0, 1].flatMap((p) => [0, 1, 2, 3, 4].map((i) => `${p}:${i}:k${p}-${i}`)).sort());
      await eventually(
        "kcat's committed offsets",
        async () => {
          const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
          return offsets[0]!.partitions
            .map((p) => `${p.partition}:${p.offset}`)
            .sort()
            .join() === '0:5,1:5'
            ? true
            : undefined;
        },
        20_000,
      );
      await send(5, 2);
      expect(await consume()).toEqual(
        [0, 1].flatMap((p) => [5, 6].map((i) => `${p}:${i}:k${p}-${i}`)).sort(),
      );
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  }, 150_000);
});
