import {
  ApiKey,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../../../../broker/kafka/protocol';
import type { KafkaRequest, RequestInput, SupportedApiKey } from '../../../../../broker/kafka/protocol';
import { newCoordinator } from './group-test-kit';

/**
 * The coordinator's requests and responses are the codec's bodies (broker/kafka/protocol): a request decoded from
 * bytes goes in as it is (plus the header's client id and the connection's host), and what comes out encodes at
 * every version we serve. The compiler checks the field names and types; these tests check the bytes round-trip.
 */

let correlationId = 0;

/** A request as a client would send it, decoded as the broker would. */
function overTheWire<K extends SupportedApiKey>(
  apiKey: K,
  apiVersion: number,
  body: RequestInput<K>,
): KafkaRequest {
  const frame = encodeRequest(
    { apiKey, apiVersion, correlationId: ++correlationId, clientId: 'kafkajs' },
    body,
  );
  return decodeRequest(frame.subarray(4));
}

/** A response body encoded at `apiVersion` and decoded again, as the client reads it. */
function backToClient<K extends SupportedApiKey>(
  apiKey: K,
  apiVersion: number,
  body: Parameters<typeof encodeResponse<K>>[3],
): unknown {
  const frame = encodeResponse(apiKey, apiVersion, 7, body);
  return decodeResponse(apiKey, apiVersion, frame.subarray(4)).body;
}

describe('broker > kafka > group > codec fit', () => {
  it.each([0, 1, 2])(
    'serves JoinGroup v%i, SyncGroup, Heartbeat and LeaveGroup through the codec',
    async (joinVersion) => {
      const { coordinator, scheduler } = newCoordinator({ config: { groupInitialRebalanceDelayMs: 0 } });
      const version01 = Math.min(joinVersion, 1);
      const join = overTheWire(ApiKey.JoinGroup, joinVersion, {
        groupId: 'g',
        sessionTimeoutMs: 10000,
        rebalanceTimeoutMs: 30000,
        memberId: '',
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.from('sub') }],
      });
      if (join.apiKey !== ApiKey.JoinGroup) throw new Error('JoinGroup expected');
      const joining = coordinator.joinGroup({
        ...join.body,
        clientId: join.clientId ?? '',
        clientHost: '/127.0.0.1',
      });
      scheduler.advance(0);
      const joined = await joining;
      expect(backToClient(ApiKey.JoinGroup, joinVersion, joined)).toEqual({
        throttleTimeMs: 0,
        errorCode: 0,
        generationId: 1,
        protocolName: 'range',
        leader: joined.memberId,
        memberId: joined.memberId,
        members: [{ memberId: joined.memberId, metadata: Buffer.from('sub') }],
      });
      expect(joined.memberId).toMatch(/^kafkajs-/);

      const sync = overTheWire(ApiKey.SyncGroup, version01, {
        groupId: 'g',
        generationId: 1,
        memberId: joined.memberId,
        assignments: [{ memberId: joined.memberId, assignment: Buffer.from('p0') }],
      });
      if (sync.apiKey !== ApiKey.SyncGroup) throw new Error('SyncGroup expected');
      const synced = await coordinator.syncGroup(sync.body);
      expect(backToClient(ApiKey.SyncGroup, version01, synced)).toEqual({
        throttleTimeMs: 0,
        errorCode: 0,
        assignment: Buffer.from('p0'),
      });

      const heartbeat = overTheWire(ApiKey.Heartbeat, version01, {
        groupId: 'g',
        generationId: 1,
        memberId: joined.memberId,
      });
      if (heartbeat.apiKey !== ApiKey.Heartbeat) throw new Error('Heartbeat expected');
      expect(backToClient(ApiKey.Heartbeat, version01, await coordinator.heartbeat(heartbeat.body))).toEqual({
        throttleTimeMs: 0,
        errorCode: 0,
      });

      const leave = overTheWire(ApiKey.LeaveGroup, version01, { groupId: 'g', memberId: joined.memberId });
      if (leave.apiKey !== ApiKey.LeaveGroup) throw new Error('LeaveGroup expected');
      expect(backToClient(ApiKey.LeaveGroup, version01, await coordinator.leaveGroup(leave.body))).toEqual({
        throttleTimeMs: 0,
        errorCode: 0,
      });
      expect(coordinator.groupSnapshot('g')?.state).toBe('Empty');
    },
  );

  it('serves JoinGroup v0 with the session timeout as its rebalance timeout (the codec decodes -1)', () => {
    const join = overTheWire(ApiKey.JoinGroup, 0, {
      groupId: 'g',
      sessionTimeoutMs: 10000,
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    });
    if (join.apiKey !== ApiKey.JoinGroup) throw new Error('JoinGroup expected');
    expect(join.body.rebalanceTimeoutMs).toBe(-1);
    const { coordinator, scheduler } = newCoordinator();
    void coordinator.joinGroup({ ...join.body, clientId: 'kafkajs', clientHost: 'h' });
    scheduler.advance(3000);
    expect(coordinator.groupSnapshot('g')?.state).toBe('CompletingRebalance');
    // The leader has not synced: the group waits the rebalance timeout, which is the 10 s session timeout.
    scheduler.advance(9999);
    expect(coordinator.groupSnapshot('g')?.state).toBe('CompletingRebalance');
    scheduler.advance(1);
    expect(coordinator.groupSnapshot('g')?.members).toEqual([]);
  });

  it.each([1, 2, 3])('serves OffsetCommit v2 and OffsetFetch v%i through the codec', async (fetchVersion) => {
    const { coordinator } = newCoordinator();
    const commit = overTheWire(ApiKey.OffsetCommit, 2, {
      groupId: 'g',
      generationId: -1,
      memberId: '',
      retentionTimeMs: -1n,
      topics: [
        { name: 't', partitions: [{ partitionIndex: 0, committedOffset: 42n, committedMetadata: null }] },
      ],
    });
    if (commit.apiKey !== ApiKey.OffsetCommit) throw new Error('OffsetCommit expected');
    expect(backToClient(ApiKey.OffsetCommit, 2, await coordinator.offsetCommit(commit.body))).toEqual({
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0 }] }],
    });
    const fetch = overTheWire(ApiKey.OffsetFetch, fetchVersion, {
      groupId: 'g',
      topics: fetchVersion >= 2 ? null : [{ name: 't', partitionIndexes: [0, 1] }],
    });
    if (fetch.apiKey !== ApiKey.OffsetFetch) throw new Error('OffsetFetch expected');
    const partitions = [{ partitionIndex: 0, committedOffset: 42n, metadata: '', errorCode: 0 }];
    if (fetchVersion === 1)
      partitions.push({ partitionIndex: 1, committedOffset: -1n, metadata: '', errorCode: 0 });
    expect(backToClient(ApiKey.OffsetFetch, fetchVersion, await coordinator.offsetFetch(fetch.body))).toEqual(
      {
        throttleTimeMs: 0,
        topics: [{ name: 't', partitions }],
        errorCode: 0,
      },
    );
  });

  it.each([0, 1, 2])('serves DescribeGroups and ListGroups v%i through the codec', async (version) => {
    const { coordinator } = newCoordinator();
    const partitions = [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }];
    const topics = [{ name: 't', partitions }];
    await coordinator.offsetCommit({
      groupId: 'g',
      generationId: -1,
      memberId: '',
      retentionTimeMs: -1n,
      topics,
    });
    const describe = overTheWire(ApiKey.DescribeGroups, version, { groups: ['g'] });
    if (describe.apiKey !== ApiKey.DescribeGroups) throw new Error('DescribeGroups expected');
    expect(
      backToClient(ApiKey.DescribeGroups, version, await coordinator.describeGroups(describe.body)),
    ).toEqual({
      throttleTimeMs: 0,
      groups: [
        { errorCode: 0, groupId: 'g', groupState: 'Empty', protocolType: '', protocolData: '', members: [] },
      ],
    });
    expect(backToClient(ApiKey.ListGroups, version, await coordinator.listGroups())).toEqual({
      throttleTimeMs: 0,
      errorCode: 0,
      groups: [{ groupId: 'g', protocolType: '' }],
    });
  });
});
