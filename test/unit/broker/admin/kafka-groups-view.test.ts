import { GroupCoordinator, InMemoryOffsetStore } from '../../../../broker/kafka/group';
import type { JoinGroupRequest, Scheduler } from '../../../../broker/kafka/group';
import { KafkaGroupsAdminView, KafkaTopicError } from '../../../../broker/kafka/handler';
import type { KafkaRequestHandler } from '../../../../broker/kafka/handler';
import { TopicName } from '../../../../broker/pulsar';
import { BrokerError } from '../../../../broker/service';
import type { PersistentTopic } from '../../../../broker/service';

/*
 * The admin view over a real (in-memory) group coordinator and a stand-in for the listener's handler (its topic
 * mapping and log-end offsets): assignments decoded, refused with a reason when they are garbage, left out for
 * other protocol types; lag from the log-end offset, unknown for a partition that does not exist; the groups on one
 * broker topic for its stats. The same view over a standalone process: test/integration/kafka-admin.test.ts.
 */

/** Only the initial delay (0 here) runs, on the next turn; session and sync timers never fire in these tests. */
const zeroDelayOnly: Scheduler = {
  schedule: (delayMs, task) => {
    if (delayMs > 0) return { cancel: () => undefined };
    const immediate = setImmediate(task);
    return { cancel: () => clearImmediate(immediate) };
  },
};

/** Kafka topic `t` (2 partitions, log-end offsets 14 and 6) and `solo` (not partitioned, 3); `gone` and anything outside public/default have none. */
const LOG_END: Record<string, bigint> = {
  'persistent://public/default/t-partition-0': 14n,
  'persistent://public/default/t-partition-1': 6n,
  'persistent://public/default/solo': 3n,
};

const handler = {
  topics: {
    topicName: (name: string): TopicName => {
      if (name.includes('!')) throw new KafkaTopicError(17, `'${name}' is not a legal topic name`);
      if (name.includes('/')) return TopicName.parse(name);
      return TopicName.get('persistent', 'public', 'default', name);
    },
    partition: (topic: TopicName, partition: number): Promise<PersistentTopic | undefined> => {
      if (topic.namespace !== 'public/default') {
        return Promise.reject(new BrokerError('NamespaceNotFound', `Namespace ${topic.namespace} not found`));
      }
      const name = topic.localName === 'solo' ? topic : topic.partition(partition);
      if (topic.localName === 'solo' && partition !== 0) return Promise.resolve(undefined);
      return Promise.resolve(
        LOG_END[name.toString()] === undefined ? undefined : ({ name } as unknown as PersistentTopic),
      );
    },
  },
  logEndOffset: (topic: PersistentTopic): Promise<bigint> => Promise.resolve(LOG_END[topic.name.toString()]!),
} as unknown as KafkaRequestHandler;

function join(groupId: string, protocolType: string, clientId: string): JoinGroupRequest {
  return {
    groupId,
    sessionTimeoutMs: 10000,
    rebalanceTimeoutMs: 10000,
    memberId: '',
    protocolType,
    protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    clientId,
    clientHost: '/127.0.0.1',
  };
}

/** One member joins `groupId` and, as leader, assigns itself `assignment`: the group is Stable. */
async function stableGroup(
  coordinator: GroupCoordinator,
  groupId: string,
  protocolType: string,
  assignment: Buffer,
): Promise<string> {
  const joined = await coordinator.joinGroup(join(groupId, protocolType, 'app'));
  const { memberId, generationId } = joined;
  await coordinator.syncGroup({ groupId, generationId, memberId, assignments: [{ memberId, assignment }] });
  return memberId;
}

async function commit(
  coordinator: GroupCoordinator,
  groupId: string,
  topic: string,
  partition: number,
  offset: bigint,
) {
  const response = await coordinator.offsetCommit({
    groupId,
    generationId: -1,
    memberId: '',
    retentionTimeMs: -1n,
    topics: [
      {
        name: topic,
        partitions: [{ partitionIndex: partition, committedOffset: offset, committedMetadata: 'md' }],
      },
    ],
  });
  expect(response.topics[0]?.partitions[0]?.errorCode).toBe(0);
}

/** kafkajs's MemberAssignment.encode({ version: 0, assignment: { t: [1, 0] } }). */
const ASSIGNED_T = Buffer.from('00000000000100017400000002000000010000000000000000', 'hex');

describe('broker > admin > kafka groups view', () => {
  let coordinator: GroupCoordinator;
  let view: KafkaGroupsAdminView;

  beforeEach(() => {
    coordinator = new GroupCoordinator({
      scheduler: zeroDelayOnly,
      offsetStore: new InMemoryOffsetStore(),
      config: { groupInitialRebalanceDelayMs: 0 },
      now: () => 1234,
    });
    view = new KafkaGroupsAdminView({ coordinator, handler, namespace: 'public/default' });
  });
  afterEach(() => coordinator.close());

  it('decodes a consumer group member assignment; garbage gets a reason; other protocol types none', async () => {
    const memberId = await stableGroup(coordinator, 'consumers', 'consumer', ASSIGNED_T);
    await stableGroup(coordinator, 'garbled', 'consumer', Buffer.from('not an assignment'));
    await stableGroup(coordinator, 'connect', 'connect', ASSIGNED_T);
    expect(await view.describeGroup('consumers')).toMatchObject({
      state: 'Stable',
      protocolType: 'consumer',
      protocolName: 'range',
      generationId: 1,
      leaderId: memberId,
      members: [
        {
          memberId,
          clientId: 'app',
          clientHost: '/127.0.0.1',
          assignment: [{ topic: 't', partitions: [0, 1] }],
        },
      ],
    });
    const garbled = await view.describeGroup('garbled');
    expect(garbled?.members[0]?.assignment).toBeNull();
    expect(garbled?.members[0]?.assignmentError).toMatch(/^not a consumer assignment: /);
    const connect = await view.describeGroup('connect');
    expect(connect?.members[0]).toEqual({
      memberId: expect.any(String),
      clientId: 'app',
      clientHost: '/127.0.0.1',
      assignment: null,
    });
    expect(view.listGroups()).toEqual([
      { groupId: 'connect', state: 'Stable', protocolType: 'connect', members: 1 },
      { groupId: 'consumers', state: 'Stable', protocolType: 'consumer', members: 1 },
      { groupId: 'garbled', state: 'Stable', protocolType: 'consumer', members: 1 },
    ]);
    expect(await view.describeGroup('unknown')).toBeUndefined();
  });

  it('shows committed offsets with log-end offset and lag, unknown where the partition or offset is', async () => {
    await commit(coordinator, 'g', 't', 1, 2n);
    await commit(coordinator, 'g', 't', 0, 10n);
    await commit(coordinator, 'g', 'gone', 0, 5n);
    await commit(coordinator, 'g', 'bad!name', 0, 1n);
    await commit(coordinator, 'g', 'solo', 0, -1n);
    await commit(coordinator, 'g', 'nowhere/ns/t', 0, 7n);
    const described = await view.describeGroup('g');
    expect(described).toMatchObject({ state: 'Empty', protocolType: '', protocolName: null, members: [] });
    expect(described?.offsets).toEqual([
      {
        topic: 'bad!name',
        partition: 0,
        committedOffset: 1n,
        metadata: 'md',
        commitTimestamp: 1234,
        logEndOffset: null,
        lag: null,
      },
      {
        topic: 'gone',
        partition: 0,
        committedOffset: 5n,
        metadata: 'md',
        commitTimestamp: 1234,
        logEndOffset: null,
        lag: null,
      },
      {
        topic: 'nowhere/ns/t',
        partition: 0,
        committedOffset: 7n,
        metadata: 'md',
        commitTimestamp: 1234,
        logEndOffset: null,
        lag: null,
      },
      {
        topic: 'solo',
        partition: 0,
        committedOffset: -1n,
        metadata: 'md',
        commitTimestamp: 1234,
        logEndOffset: 3n,
        lag: null,
      },
      {
        topic: 't',
        partition: 0,
        committedOffset: 10n,
        metadata: 'md',
        commitTimestamp: 1234,
        logEndOffset: 14n,
        lag: 4n,
      },
      {
        topic: 't',
        partition: 1,
        committedOffset: 2n,
        metadata: 'md',
        commitTimestamp: 1234,
        logEndOffset: 6n,
        lag: 4n,
      },
    ]);
  });

  it("gives a topic's stats the groups on that Kafka partition, none outside the Kafka namespace", async () => {
    await commit(coordinator, 'a', 't', 0, 10n);
    await commit(coordinator, 'b', 't', 0, 14n);
    await commit(coordinator, 'b', 't', 1, 1n);
    await commit(coordinator, 'c', 'solo', 0, 2n);
    const topic = (name: string): TopicName => TopicName.parse(name);
    expect(await view.topicGroups(topic('persistent://public/default/t-partition-0'))).toEqual({
      a: { committedOffset: 10n, lag: 4n },
      b: { committedOffset: 14n, lag: 0n },
    });
    expect(await view.topicGroups(topic('persistent://public/default/t-partition-1'))).toEqual({
      b: { committedOffset: 1n, lag: 5n },
    });
    expect(await view.topicGroups(topic('persistent://public/default/solo'))).toEqual({
      c: { committedOffset: 2n, lag: 1n },
    });
    expect(await view.topicGroups(topic('persistent://public/default/quiet'))).toEqual({});
    expect(await view.topicGroups(topic('persistent://other/ns/t-partition-0'))).toBeUndefined();
  });
});
