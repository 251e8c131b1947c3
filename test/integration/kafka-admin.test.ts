/**
 * Goal: the admin REST API shows Kafka consumer groups and their committed offsets as an operator sees them, beside
 * Pulsar's subscriptions: the group list and a group's description (state, members with the partitions assigned to
 * them, committed offsets with log-end offset and lag), `kafkaGroups` in a topic's stats and partitioned-stats, the
 * same offsets after the members left and after a restart, and clear refusals (unknown group, bad names, no Kafka
 * listener).
 * Method: `ledgerline standalone` as a child process (standalone-fixture.ts) with its Kafka listener on a free port;
 * two kafkajs 2.2.4 consumers of one group on a 2-partition topic; the admin REST API over Node's fetch.
 */

import { Kafka, logLevel } from 'kafkajs';
import type { Consumer } from 'kafkajs';
import { TempDirs, eventually } from '../harness';
import { http, requireBuilt, startStandalone } from './standalone-fixture';
import type { BrokerProcess } from './standalone-fixture';

const dirs = new TempDirs();
let broker: BrokerProcess | undefined;
let kafkaPort = 0;
let dataDir = '';
const consumers: Consumer[] = [];

const TOPIC = 'admin-shared';
const GROUP = 'admin-pair';
const GROUPS = '/admin/v2/kafka/groups';
const TOPICS = '/admin/v2/persistent/public/default';

interface Described {
  groupId: string;
  state: string;
  protocolType: string;
  protocolName: string | null;
  generationId: number;
  members: Array<{
    memberId: string;
    clientId: string;
    clientHost: string;
    assignment: Array<{ topic: string; partitions: number[] }> | null;
  }>;
  offsets: Array<{
    topic: string;
    partition: number;
    committedOffset: number;
    metadata: string;
    commitTimestamp: number | null;
    logEndOffset: number | null;
    lag: number | null;
  }>;
}

function kafka(clientId: string): Kafka {
  return new Kafka({ brokers: [`127.0.0.1:${kafkaPort}`], clientId, logLevel: logLevel.NOTHING });
}

async function start(extraArgs: string[] = []): Promise<void> {
  broker = await startStandalone(dataDir, extraArgs);
  const match = /kafka: 127\.0\.0\.1:(\d+)/.exec(broker.stdout());
  kafkaPort = match === null ? 0 : Number(match[1]);
}

async function admin(path: string): Promise<{ status: number; json: unknown }> {
  return http('GET', `${broker!.url}${path}`);
}

async function describeGroup(groupId: string): Promise<Described> {
  const reply = await admin(`${GROUPS}/${encodeURIComponent(groupId)}`);
  expect(reply.status).toBe(200);
  return reply.json as Described;
}

/** Partition → [committedOffset, logEndOffset, lag] of the group's offsets on TOPIC. */
function offsetsOf(described: Described): Record<number, [number, number | null, number | null]> {
  const found: Record<number, [number, number | null, number | null]> = {};
  for (const o of described.offsets.filter((o) => o.topic === TOPIC))
    found[o.partition] = [o.committedOffset, o.logEndOffset, o.lag];
  return found;
}

async function produce(partition: number, count: number, from: number): Promise<void> {
  const producer = kafka('admin-producer').producer();
  await producer.connect();
  try {
    const messages = Array.from({ length: count }, (_, i) => ({
      partition,
      value: `p${partition}-${from + i}`,
    }));
    await producer.send({ topic: TOPIC, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

beforeAll(async () => {
  requireBuilt();
  dataDir = dirs.make('ledgerline-kafka-admin-');
  await start();
});

afterAll(async () => {
  for (const consumer of consumers) await consumer.disconnect().catch(() => undefined);
  await broker?.stop('SIGKILL');
  dirs.removeAll();
});

describe('broker > admin > kafka groups (standalone process, kafkajs)', () => {
  it('shows a group of two consumers with assignments, committed offsets and lag, beside the subscriptions, across leaving and a restart', async () => {
    const kafkaAdmin = kafka('admin-client').admin();
    await kafkaAdmin.connect();
    await kafkaAdmin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }] });
    await kafkaAdmin.disconnect();
    await produce(0, 10, 0);
    await produce(1, 6, 0);

    const seen: string[] = [];
    for (const clientId of ['member-a', 'member-b']) {
      const consumer = kafka(clientId).consumer({
        groupId: GROUP,
        sessionTimeout: 10000,
        heartbeatInterval: 500,
      });
      consumers.push(consumer);
      await consumer.connect();
      await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen.push(`${partition}:${message.offset}`);
        },
      });
    }

    // Stable with both members, one partition each, and every record consumed and committed (lag 0).
    const stable = await eventually(
      'the group Stable, one partition per member, everything committed',
      async () => {
        const described = await describeGroup(GROUP);
        const assigned = described.members.map((m) => JSON.stringify(m.assignment)).sort();
        const offsets = offsetsOf(described);
        return described.state === 'Stable' &&
          assigned.join() ===
            `[{"topic":"${TOPIC}","partitions":[0]}],[{"topic":"${TOPIC}","partitions":[1]}]` &&
          JSON.stringify(offsets) === JSON.stringify({ 0: [10, 10, 0], 1: [6, 6, 0] })
          ? described
          : undefined;
      },
      40_000,
    );
    expect(new Set(seen).size).toBe(16);
    expect(stable).toMatchObject({
      groupId: GROUP,
      protocolType: 'consumer',
      protocolName: expect.any(String),
    });
    expect(stable.members.map((m) => m.clientId).sort()).toEqual(['member-a', 'member-b']);
    expect(stable.members.every((m) => m.clientHost === '/127.0.0.1')).toBe(true);
    for (const offset of stable.offsets) {
      expect(offset.commitTimestamp).toBeGreaterThan(Date.now() - 120_000);
      expect(offset.commitTimestamp).toBeLessThanOrEqual(Date.now());
    }
    const listed = (await admin(GROUPS)).json as Array<Record<string, unknown>>;
    expect(listed).toContainEqual({ groupId: GROUP, state: 'Stable', protocolType: 'consumer', members: 2 });

    // The members leave; four more records on partition 0 are not consumed: lag 4 there.
    for (const consumer of consumers.splice(0)) await consumer.disconnect();
    await produce(0, 4, 10);
    const empty = await describeGroup(GROUP);
    expect(empty).toMatchObject({ state: 'Empty', members: [] });
    expect(offsetsOf(empty)).toEqual({ 0: [10, 14, 4], 1: [6, 6, 0] });
    expect((await admin(GROUPS)).json).toContainEqual({
      groupId: GROUP,
      state: 'Empty',
      protocolType: 'consumer',
      members: 0,
    });

    // Beside Pulsar's subscriptions: the partitions' positions added up, and each partition's own.
    const { status, json } = await admin(`${TOPICS}/${TOPIC}/partitioned-stats?perPartition=true`);
    expect(status).toBe(200);
    const stats = json as {
      subscriptions: Record<string, unknown>;
      kafkaGroups: Record<string, unknown>;
      partitions: Record<
        string,
        { subscriptions: Record<string, unknown>; kafkaGroups: Record<string, unknown> }
      >;
    };
    expect(stats.subscriptions).toEqual({});
    expect(stats.kafkaGroups).toEqual({ [GROUP]: { committedOffset: 16, lag: 4 } });
    expect(stats.partitions[`persistent://public/default/${TOPIC}-partition-0`]?.kafkaGroups).toEqual({
      [GROUP]: { committedOffset: 10, lag: 4 },
    });
    expect(stats.partitions[`persistent://public/default/${TOPIC}-partition-1`]?.kafkaGroups).toEqual({
      [GROUP]: { committedOffset: 6, lag: 0 },
    });
    const partition1 = (await admin(`${TOPICS}/${TOPIC}-partition-1/stats`)).json as Record<string, unknown>;
    expect(partition1).toMatchObject({
      subscriptions: {},
      kafkaGroups: { [GROUP]: { committedOffset: 6, lag: 0 } },
    });

    // Restarted without a Kafka listener: the Kafka routes refuse, the stats are Pulsar's alone.
    await broker!.stop('SIGTERM');
    await start(['--kafka-port', '-1']);
    expect(kafkaPort).toBe(0);
    for (const path of [GROUPS, `${GROUPS}/${GROUP}`]) {
      const refused = await admin(path);
      expect(refused.status).toBe(412);
      expect(refused.json).toEqual({ reason: expect.stringMatching(/Kafka is not enabled/) });
    }
    const pulsarOnly = (await admin(`${TOPICS}/${TOPIC}/partitioned-stats`)).json as Record<string, unknown>;
    expect(pulsarOnly).toHaveProperty('subscriptions');
    expect(pulsarOnly).not.toHaveProperty('kafkaGroups');

    // With the listener again: the group is loaded from its stored offsets (Empty, as Kafka loads it), the
    // offsets and lags are the same, and their commit times are not known from before the restart.
    await broker!.stop('SIGTERM');
    await start();
    const restarted = await describeGroup(GROUP);
    expect(restarted).toMatchObject({ state: 'Empty', protocolType: '', members: [] });
    expect(offsetsOf(restarted)).toEqual({ 0: [10, 14, 4], 1: [6, 6, 0] });
    expect(restarted.offsets.every((o) => o.commitTimestamp === null)).toBe(true);
    expect((await admin(GROUPS)).json).toContainEqual({
      groupId: GROUP,
      state: 'Empty',
      protocolType: '',
      members: 0,
    });
    const afterRestart = (await admin(`${TOPICS}/${TOPIC}/partitioned-stats`)).json as Record<
      string,
      unknown
    >;
    expect(afterRestart.kafkaGroups).toEqual({ [GROUP]: { committedOffset: 16, lag: 4 } });
  }, 150_000);

  it('refuses an unknown group with 404 and bad group names with a reason; groups/ is the list', async () => {
    const unknown = await admin(`${GROUPS}/no-such-group`);
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ reason: 'Kafka group not found: no-such-group' });
    // No name after groups/ is the list (the trailing slash is ignored), not a group called ''.
    const empty = await admin(`${GROUPS}/`);
    expect(empty.status).toBe(200);
    expect(empty.json).toContainEqual(expect.objectContaining({ groupId: GROUP }));
    // A group id is any string: spaces and non-ASCII are names like any other.
    expect((await admin(`${GROUPS}/${encodeURIComponent('spaced é group')}`)).status).toBe(404);
    const overLong = await admin(`${GROUPS}/${'g'.repeat(2000)}`);
    expect(overLong.status).toBe(414);
    expect(overLong.json).toEqual({ reason: expect.stringMatching(/longer than 1024 characters/) });
    const badEscape = await admin(`${GROUPS}/%E0%A4%A`);
    expect(badEscape.status).toBe(400);
    expect(badEscape.json).toEqual({ reason: expect.any(String) });
    // A topic outside the Kafka namespace that no group committed on has Pulsar's stats alone.
    expect((await http('PUT', `${broker!.url}/admin/v2/tenants/other`, {})).status).toBe(204);
    expect((await http('PUT', `${broker!.url}/admin/v2/namespaces/other/ns`)).status).toBe(204);
    expect((await http('PUT', `${broker!.url}/admin/v2/persistent/other/ns/plain`)).status).toBe(204);
    const plain = (await admin('/admin/v2/persistent/other/ns/plain/stats')).json as Record<string, unknown>;
    expect(plain).toHaveProperty('subscriptions');
    expect(plain).not.toHaveProperty('kafkaGroups');
  }, 30_000);
});
