import { GroupCoordinator, InMemoryOffsetStore } from '../../../../../broker/kafka/group';
import { KafkaGroupApis, clientHost } from '../../../../../broker/kafka/handler/group-apis';
import {
  ApiKey,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../../../../broker/kafka/protocol';
import type { RequestInput, SupportedApiKey } from '../../../../../broker/kafka/protocol';
import type { KafkaConnectionInfo } from '../../../../../broker/kafka/server';

/**
 * KafkaGroupApis between the codec and the coordinator: requests encoded as a client would, decoded as the
 * connection does, handled, and the answer encoded and decoded at the request's version.
 */

const CONNECTION: KafkaConnectionInfo = {
  id: 1,
  remoteAddress: '::ffff:10.1.2.3',
  remotePort: 50000,
  localPort: 9092,
};

/** A coordinator on Node's timers (the rebalance of a lone member completes after its 0 ms initial delay). */
function setup(): { apis: KafkaGroupApis; coordinator: GroupCoordinator } {
  const coordinator = new GroupCoordinator({
    config: { groupInitialRebalanceDelayMs: 0 },
    offsetStore: new InMemoryOffsetStore(),
  });
  const apis = new KafkaGroupApis({
    coordinator,
    advertised: { nodeId: 0, host: 'broker.example', port: 19092 },
  });
  return { apis, coordinator };
}

let correlationId = 0;

/** One request over the codec both ways; the answer as the client decodes it. */
async function roundTrip<K extends SupportedApiKey>(
  apis: KafkaGroupApis,
  apiKey: K,
  apiVersion: number,
  body: RequestInput<K>,
  clientId: string | null = 'client-a',
): Promise<Record<string, unknown>> {
  const frame = encodeRequest({ apiKey, apiVersion, correlationId: ++correlationId, clientId }, body);
  const request = decodeRequest(frame.subarray(4));
  expect(apis.handles(request.apiKey)).toBe(true);
  const response = await apis.handle(request, CONNECTION);
  const encoded = encodeResponse(apiKey, apiVersion, correlationId, response as never);
  return decodeResponse(apiKey, apiVersion, encoded.subarray(4)).body as Record<string, unknown>;
}

describe('broker > kafka > handler > group apis', () => {
  it('handles exactly the group api keys', () => {
    const { apis } = setup();
    const mine: number[] = [
      ApiKey.FindCoordinator,
      ApiKey.JoinGroup,
      ApiKey.SyncGroup,
      ApiKey.Heartbeat,
      ApiKey.LeaveGroup,
      ApiKey.OffsetCommit,
      ApiKey.OffsetFetch,
      ApiKey.DescribeGroups,
      ApiKey.ListGroups,
    ];
    for (const key of Object.values(ApiKey)) expect(apis.handles(key)).toBe(mine.includes(key));
    expect(apis.handles(999)).toBe(false);
  });

  it('answers FindCoordinator v0 with this broker as advertised', async () => {
    const { apis } = setup();
    expect(await roundTrip(apis, ApiKey.FindCoordinator, 0, { key: 'any-group' })).toEqual({
      errorCode: 0,
      nodeId: 0,
      host: 'broker.example',
      port: 19092,
    });
  });

  it('runs a member through join, sync, heartbeat, commit, fetch, describe, list and leave', async () => {
    const { apis, coordinator } = setup();
    const joined = await roundTrip(apis, ApiKey.JoinGroup, 2, {
      groupId: 'g',
      sessionTimeoutMs: 10000,
      rebalanceTimeoutMs: 30000,
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from('sub') }],
    });
    const memberId = joined.memberId as string;
    expect(memberId).toMatch(/^client-a-/);
    expect(joined).toMatchObject({ errorCode: 0, generationId: 1, protocolName: 'range', leader: memberId });
    // The header's client id and the connection's address reach the member.
    const member = coordinator.groupSnapshot('g')?.members[0];
    expect(member).toMatchObject({ clientId: 'client-a', clientHost: '/10.1.2.3' });

    expect(
      await roundTrip(apis, ApiKey.SyncGroup, 1, {
        groupId: 'g',
        generationId: 1,
        memberId,
        assignments: [{ memberId, assignment: Buffer.from('p0') }],
      }),
    ).toEqual({ throttleTimeMs: 0, errorCode: 0, assignment: Buffer.from('p0') });
    expect(await roundTrip(apis, ApiKey.Heartbeat, 1, { groupId: 'g', generationId: 1, memberId })).toEqual({
      throttleTimeMs: 0,
      errorCode: 0,
    });
    expect(await roundTrip(apis, ApiKey.Heartbeat, 0, { groupId: 'g', generationId: 7, memberId })).toEqual({
      throttleTimeMs: 0, // v0 has none: decoded as the default
      errorCode: 22,
    });

    expect(
      await roundTrip(apis, ApiKey.OffsetCommit, 2, {
        groupId: 'g',
        generationId: 1,
        memberId,
        retentionTimeMs: -1n,
        topics: [
          {
            name: 't',
            partitions: [
              { partitionIndex: 0, committedOffset: 42n, committedMetadata: 'm' },
              { partitionIndex: 1, committedOffset: 7n, committedMetadata: null },
            ],
          },
        ],
      }),
    ).toEqual({
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, errorCode: 0 },
            { partitionIndex: 1, errorCode: 0 },
          ],
        },
      ],
    });
    expect(
      await roundTrip(apis, ApiKey.OffsetFetch, 1, {
        groupId: 'g',
        topics: [{ name: 't', partitionIndexes: [0, 2] }],
      }),
    ).toEqual({
      throttleTimeMs: 0, // neither is in v1: decoded as the defaults
      errorCode: 0,
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, committedOffset: 42n, metadata: 'm', errorCode: 0 },
            { partitionIndex: 2, committedOffset: -1n, metadata: '', errorCode: 0 },
          ],
        },
      ],
    });
    expect(await roundTrip(apis, ApiKey.OffsetFetch, 3, { groupId: 'g', topics: null })).toEqual({
      throttleTimeMs: 0,
      errorCode: 0,
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, committedOffset: 42n, metadata: 'm', errorCode: 0 },
            { partitionIndex: 1, committedOffset: 7n, metadata: '', errorCode: 0 },
          ],
        },
      ],
    });

    const described = await roundTrip(apis, ApiKey.DescribeGroups, 2, { groups: ['g', 'nobody'] });
    expect(described).toMatchObject({
      groups: [
        {
          errorCode: 0,
          groupId: 'g',
          groupState: 'Stable',
          protocolType: 'consumer',
          protocolData: 'range',
          members: [
            {
              memberId,
              clientId: 'client-a',
              clientHost: '/10.1.2.3',
              memberMetadata: Buffer.from('sub'),
              memberAssignment: Buffer.from('p0'),
            },
          ],
        },
        { errorCode: 0, groupId: 'nobody', groupState: 'Dead' },
      ],
    });
    expect(await roundTrip(apis, ApiKey.ListGroups, 0, {})).toEqual({
      throttleTimeMs: 0,
      errorCode: 0,
      groups: [{ groupId: 'g', protocolType: 'consumer' }],
    });

    expect(await roundTrip(apis, ApiKey.LeaveGroup, 1, { groupId: 'g', memberId })).toEqual({
      throttleTimeMs: 0,
      errorCode: 0,
    });
    expect(coordinator.groupSnapshot('g')?.state).toBe('Empty');
    coordinator.close();
  });

  it('gives a member of a client with a null client id an id of its own', async () => {
    const { apis, coordinator } = setup();
    const joined = await roundTrip(
      apis,
      ApiKey.JoinGroup,
      0,
      {
        groupId: 'g',
        sessionTimeoutMs: 10000,
        memberId: '',
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      },
      null,
    );
    expect(joined).toMatchObject({ errorCode: 0, generationId: 1 });
    expect(joined.memberId).toMatch(/^-[0-9a-f-]{36}$/);
    expect(coordinator.groupSnapshot('g')?.members[0]?.clientId).toBe('');
    coordinator.close();
  });

  it('answers error codes from the coordinator (bad session timeout, unknown member, closed)', async () => {
    const { apis, coordinator } = setup();
    expect(
      await roundTrip(apis, ApiKey.JoinGroup, 1, {
        groupId: 'g',
        sessionTimeoutMs: 1,
        rebalanceTimeoutMs: 30000,
        memberId: '',
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      }),
    ).toMatchObject({ errorCode: 26 });
    expect(
      await roundTrip(apis, ApiKey.SyncGroup, 0, {
        groupId: 'g',
        generationId: 1,
        memberId: 'x',
        assignments: [],
      }),
    ).toMatchObject({ errorCode: 25 });
    coordinator.close();
    expect(
      await roundTrip(apis, ApiKey.Heartbeat, 1, { groupId: 'g', generationId: 1, memberId: 'x' }),
    ).toEqual({
      throttleTimeMs: 0,
      errorCode: 15,
    });
  });

  it('refuses an api key it does not answer by throwing (the connection closes)', async () => {
    const { apis } = setup();
    const frame = encodeRequest(
      { apiKey: ApiKey.ListOffsets, apiVersion: 1, correlationId: 1, clientId: 'c' },
      {
        replicaId: -1,
        topics: [],
      },
    );
    await expect(apis.handle(decodeRequest(frame.subarray(4)), CONNECTION)).rejects.toThrow(/api key 2/);
  });

  it('shows the client address as Kafka does', () => {
    expect(clientHost('127.0.0.1')).toBe('/127.0.0.1');
    expect(clientHost('::ffff:192.168.0.9')).toBe('/192.168.0.9');
    expect(clientHost('::1')).toBe('/::1');
  });
});
