import { silentLogger } from '../../../../common';
import { checkedGroupId, registerKafkaGroupRoutes } from '../../../../broker/admin/kafka-group-routes';
import { partitionedStats } from '../../../../broker/admin/partitioned-stats';
import type { TopicStatsWithKafka } from '../../../../broker/admin/partitioned-stats';
import { BrokerHttpServer } from '../../../../broker/http';
import { TopicName } from '../../../../broker/pulsar';
import type { KafkaGroupDescription, KafkaGroupsView, TopicStats } from '../../../../broker/service';

/*
 * The admin side of the Kafka groups: the routes over a KafkaGroupsView (a fake one here; the real view over a
 * standalone process is test/integration/kafka-admin.test.ts), the group id check, and partitioned-stats adding up
 * the partitions' kafkaGroups.
 */

const DESCRIBED: KafkaGroupDescription = {
  groupId: 'g',
  state: 'Stable',
  protocolType: 'consumer',
  protocolName: 'RoundRobinAssigner',
  generationId: 3,
  leaderId: 'm-1',
  members: [
    {
      memberId: 'm-1',
      clientId: 'app',
      clientHost: '/127.0.0.1',
      assignment: [{ topic: 't', partitions: [0, 1] }],
    },
  ],
  offsets: [
    {
      topic: 't',
      partition: 0,
      committedOffset: 9007199254740993n,
      metadata: '',
      commitTimestamp: 1700000000000,
      logEndOffset: 9007199254740995n,
      lag: 2n,
    },
  ],
};

const fakeView: KafkaGroupsView = {
  listGroups: () => [{ groupId: 'g', state: 'Stable', protocolType: 'consumer', members: 1 }],
  describeGroup: (groupId) => Promise.resolve(groupId === 'g' ? DESCRIBED : undefined),
  topicGroups: () => Promise.resolve(undefined),
};

describe('broker > admin > kafka groups', () => {
  let server: BrokerHttpServer;
  let view: KafkaGroupsView | undefined;
  const get = async (path: string): Promise<{ status: number; text: string }> => {
    const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
    return { status: response.status, text: await response.text() };
  };

  beforeAll(async () => {
    server = new BrokerHttpServer({ logger: silentLogger() });
    registerKafkaGroupRoutes(server, () => view);
    await server.listen(0, '127.0.0.1');
  });
  afterAll(() => server.close());

  it('lists and describes groups, 64-bit offsets exact', async () => {
    view = fakeView;
    expect(JSON.parse((await get('/admin/v2/kafka/groups')).text)).toEqual([
      { groupId: 'g', state: 'Stable', protocolType: 'consumer', members: 1 },
    ]);
    const described = await get('/admin/v2/kafka/groups/g');
    expect(described.status).toBe(200);
    expect(described.text).toContain('"committedOffset":9007199254740993');
    expect(described.text).toContain('"logEndOffset":9007199254740995');
    expect(described.text).toContain('"lag":2');
    expect(JSON.parse(described.text)).toMatchObject({
      groupId: 'g',
      generationId: 3,
      members: [{ memberId: 'm-1' }],
    });
  });

  it('answers 404 for an unknown group and 412 without a Kafka listener', async () => {
    view = fakeView;
    expect(await get('/admin/v2/kafka/groups/other')).toEqual({
      status: 404,
      text: JSON.stringify({ reason: 'Kafka group not found: other' }),
    });
    view = undefined;
    for (const path of ['/admin/v2/kafka/groups', '/admin/v2/kafka/groups/g']) {
      expect(await get(path)).toEqual({
        status: 412,
        text: JSON.stringify({ reason: 'Kafka is not enabled on this broker: kafkaListeners is empty' }),
      });
    }
  });

  it('refuses an empty group id', () => {
    expect(checkedGroupId('a group é')).toBe('a group é');
    expect(() => checkedGroupId('')).toThrow('Invalid Kafka group id: empty');
    expect(() => checkedGroupId(undefined)).toThrow('Invalid Kafka group id: empty');
  });
});

describe('broker > admin > partitioned-stats > kafkaGroups', () => {
  const stats = (kafkaGroups?: TopicStatsWithKafka['kafkaGroups']): TopicStatsWithKafka => {
    const base = {
      msgInCounter: 1,
      publishers: [],
      subscriptions: {},
      averageMsgSize: 0,
    } as unknown as TopicStats;
    return kafkaGroups === undefined ? base : { ...base, kafkaGroups };
  };
  const name = TopicName.parse('persistent://public/default/t');

  it("adds up the partitions' committed offsets and lags, a lag unknown on one partition being unknown", () => {
    const total = partitionedStats(
      name,
      [
        stats({ a: { committedOffset: 10n, lag: 4n }, b: { committedOffset: 1n, lag: 0n } }),
        stats({ a: { committedOffset: 6n, lag: 0n }, b: { committedOffset: 2n, lag: null } }),
        stats({}),
      ],
      true,
    );
    expect(total.kafkaGroups).toEqual({
      a: { committedOffset: 16n, lag: 4n },
      b: { committedOffset: 3n, lag: null },
    });
    expect(total.partitions['persistent://public/default/t-partition-0']?.kafkaGroups).toEqual({
      a: { committedOffset: 10n, lag: 4n },
      b: { committedOffset: 1n, lag: 0n },
    });
  });

  it('has no kafkaGroups when no partition has any (not a Kafka topic, or no Kafka listener)', () => {
    expect(partitionedStats(name, [stats(), stats()], false)).not.toHaveProperty('kafkaGroups');
  });
});
