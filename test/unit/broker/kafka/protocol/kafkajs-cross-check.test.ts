/**
 * Our codec against kafkajs 2.2.4's own protocol encoders and decoders (node_modules/kafkajs/src/protocol), the
 * independent implementation the broker will face: every request kafkajs builds at the versions we serve decodes
 * with our codec and re-encodes to kafkajs's exact bytes, and kafkajs decodes the responses we encode.
 */
import { createRequire } from 'node:module';
import {
  ApiKey,
  apiVersionsBody,
  decodeRequest,
  encodeRequest,
  encodeResponse,
} from '../../../../../broker/kafka/protocol';
import type { KafkaRequest, SupportedApiKey } from '../../../../../broker/kafka/protocol';
import { SAMPLES } from './samples';

const load = createRequire(__filename);
type KafkajsRequest = { apiKey: number; apiVersion: number };
type KafkajsResponse = { decode: (payload: Buffer) => Promise<Record<string, unknown>> };
const createRequest = load('kafkajs/src/protocol/request') as (args: {
  correlationId: number;
  clientId: string;
  request: KafkajsRequest;
}) => Promise<{ buffer: Buffer }>;
const kafkajsRequest = (api: string, version: number, args: object): KafkajsRequest =>
  (load(`kafkajs/src/protocol/requests/${api}/v${version}/request`) as (a: object) => KafkajsRequest)(args);
const kafkajsResponse = (api: string, version: number): KafkajsResponse =>
  load(`kafkajs/src/protocol/requests/${api}/v${version}/response`) as KafkajsResponse;

/** kafkajs's bytes for a request, what our decoder makes of them, and our re-encoding of that. */
async function viaKafkajs(api: string, version: number, args: object): Promise<KafkaRequest> {
  const { buffer } = await createRequest({
    correlationId: 5,
    clientId: 'kafkajs',
    request: kafkajsRequest(api, version, args),
  });
  const decoded = decodeRequest(buffer.subarray(4));
  expect(decoded).toMatchObject({ apiVersion: version, correlationId: 5, clientId: 'kafkajs' });
  const again = (encodeRequest as (h: object, b: unknown) => Buffer)(decoded, decoded.body);
  expect(again.toString('hex')).toBe(buffer.toString('hex'));
  return decoded;
}

/** What kafkajs decodes from a response body we encoded (kafkajs is handed the bytes after the correlation id). */
async function decodedByKafkajs<K extends SupportedApiKey>(
  apiKey: K,
  api: string,
  version: number,
  body: Parameters<typeof encodeResponse<K>>[3],
): Promise<Record<string, unknown>> {
  const bytes = encodeResponse(apiKey, version, 5, body);
  expect(bytes.readInt32BE(4)).toBe(5);
  return kafkajsResponse(api, version).decode(bytes.subarray(8));
}

const groupProtocols = [{ name: 'RoundRobinAssigner', metadata: Buffer.from('meta') }];

describe('broker > kafka > protocol > kafkajs cross-check', () => {
  it('Produce v3: a kafkajs request with a real record batch', async () => {
    const request = await viaKafkajs('produce', 3, {
      acks: -1,
      timeout: 30000,
      topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v' }] }] }],
    });
    if (request.apiKey !== ApiKey.Produce) throw new Error('not Produce');
    expect(request.body).toMatchObject({ transactionalId: null, acks: -1, timeoutMs: 30000 });
    const records = request.body.topicData[0]!.partitionData[0]!.records!;
    expect(records.readInt8(16)).toBe(2); // magic 2

    const response = await decodedByKafkajs(ApiKey.Produce, 'produce', 3, {
      responses: [{ name: 't', partitionResponses: [{ index: 0, baseOffset: 41n }] }],
      throttleTimeMs: 3,
    });
    expect(response).toEqual({
      topics: [
        {
          topicName: 't',
          partitions: [{ partition: 0, errorCode: 0, baseOffset: '41', logAppendTime: '-1' }],
        },
      ],
      throttleTime: 3,
    });

    // The batch kafkajs produced, served back in a Fetch v4 response, is read by kafkajs as the same message.
    const fetched = await decodedByKafkajs(ApiKey.Fetch, 'fetch', 4, {
      responses: [
        {
          topic: 't',
          partitions: [
            { partitionIndex: 0, highWatermark: 1n, lastStableOffset: 1n, abortedTransactions: [], records },
          ],
        },
      ],
    });
    const partition = (fetched.responses as { partitions: Record<string, unknown>[] }[])[0]!.partitions[0]!;
    expect(partition).toMatchObject({
      partition: 0,
      errorCode: 0,
      highWatermark: '1',
      lastStableOffset: '1',
    });
    const messages = partition.messages as { key: Buffer; value: Buffer; offset: string }[];
    expect(messages.map((m) => [String(m.key), String(m.value), m.offset])).toEqual([['k', 'v', '0']]);
  });

  it('Fetch v4 request', async () => {
    const request = await viaKafkajs('fetch', 4, {
      replicaId: -1,
      maxWaitTime: 5000,
      minBytes: 1,
      maxBytes: 10485760,
      topics: [{ topic: 't', partitions: [{ partition: 2, fetchOffset: '12345678901', maxBytes: 1048576 }] }],
    });
    expect(request.body).toEqual({
      replicaId: -1,
      maxWaitMs: 5000,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      topics: [
        { topic: 't', partitions: [{ partition: 2, fetchOffset: 12345678901n, partitionMaxBytes: 1048576 }] },
      ],
    });
  });

  it.each([0, 1, 2, 3, 4])('Metadata v%i request and response', async (version) => {
    const request = await viaKafkajs('metadata', version, {
      topics: ['a', 'b'],
      allowAutoTopicCreation: false,
    });
    expect(request.body).toMatchObject({ topics: [{ name: 'a' }, { name: 'b' }] });
    const response = await decodedByKafkajs(
      ApiKey.Metadata,
      'metadata',
      version,
      SAMPLES[ApiKey.Metadata].response,
    );
    expect(response.brokers).toEqual([
      { nodeId: 1, host: 'broker-1.local', port: 9092, ...(version >= 1 ? { rack: 'rack-a' } : {}) },
    ]);
    expect((response.topicMetadata as object[])[0]).toMatchObject({
      topic: 'orders',
      partitionMetadata: [{ partitionErrorCode: 5, partitionId: 0, leader: 1, replicas: [1, 2], isr: [1] }],
    });
    if (version >= 1) expect(response.controllerId).toBe(1);
    if (version >= 2) expect(response.clusterId).toBe('ledgerline');
    if (version >= 3) expect(response.throttleTime).toBe(2);
  });

  it.each([0, 1, 2])('ApiVersions v%i request and response', async (version) => {
    await viaKafkajs('apiVersions', version, {});
    const response = await decodedByKafkajs(ApiKey.ApiVersions, 'apiVersions', version, apiVersionsBody());
    expect(response.errorCode).toBe(0);
    expect((response.apiVersions as object[]).length).toBe(16);
    expect(response.apiVersions).toContainEqual({ apiKey: 3, minVersion: 0, maxVersion: 4 });
  });

  it('ListOffsets v1', async () => {
    const request = await viaKafkajs('listOffsets', 1, {
      replicaId: -1,
      topics: [{ topic: 't', partitions: [{ partition: 0, timestamp: -2 }] }],
    });
    expect(request.body).toEqual({
      replicaId: -1,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp: -2n }] }],
    });
    const response = await decodedByKafkajs(ApiKey.ListOffsets, 'listOffsets', 1, {
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp: -1n, offset: 17n }] }],
    });
    expect(response).toEqual({
      responses: [
        { topic: 't', partitions: [{ partition: 0, errorCode: 0, timestamp: '-1', offset: '17' }] },
      ],
    });
  });

  it('OffsetCommit v2 and OffsetFetch v1, v3', async () => {
    const commit = await viaKafkajs('offsetCommit', 2, {
      groupId: 'g',
      groupGenerationId: 3,
      memberId: 'm',
      retentionTime: -1,
      topics: [{ topic: 't', partitions: [{ partition: 0, offset: '42' }] }],
    });
    expect(commit.body).toEqual({
      groupId: 'g',
      generationId: 3,
      memberId: 'm',
      retentionTimeMs: -1n,
      topics: [
        { name: 't', partitions: [{ partitionIndex: 0, committedOffset: 42n, committedMetadata: null }] },
      ],
    });
    expect(
      await decodedByKafkajs(ApiKey.OffsetCommit, 'offsetCommit', 2, {
        topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }],
      }),
    ).toEqual({ responses: [{ topic: 't', partitions: [{ partition: 0, errorCode: 0 }] }] });

    for (const version of [1, 3]) {
      const fetch = await viaKafkajs('offsetFetch', version, {
        groupId: 'g',
        topics: [{ topic: 't', partitions: [{ partition: 0 }, { partition: 1 }] }],
      });
      expect(fetch.body).toEqual({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1] }] });
      const response = await decodedByKafkajs(ApiKey.OffsetFetch, 'offsetFetch', version, {
        throttleTimeMs: 4,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 42n, metadata: '' }] }],
      });
      expect(response).toMatchObject({
        responses: [{ topic: 't', partitions: [{ partition: 0, offset: '42', metadata: '', errorCode: 0 }] }],
      });
      if (version === 3) expect(response).toMatchObject({ throttleTime: 4, errorCode: 0 });
    }
  });

  it('FindCoordinator v0, JoinGroup v0-2, SyncGroup v0-1, Heartbeat v0-1, LeaveGroup v0-1', async () => {
    expect((await viaKafkajs('findCoordinator', 0, { groupId: 'g' })).body).toEqual({ key: 'g' });
    expect(
      await decodedByKafkajs(ApiKey.FindCoordinator, 'findCoordinator', 0, {
        nodeId: 1,
        host: 'h',
        port: 9092,
      }),
    ).toEqual({ errorCode: 0, coordinator: { nodeId: 1, host: 'h', port: 9092 } });

    for (const version of [0, 1, 2]) {
      const join = await viaKafkajs('joinGroup', version, {
        groupId: 'g',
        sessionTimeout: 30000,
        rebalanceTimeout: 60000,
        memberId: '',
        protocolType: 'consumer',
        groupProtocols,
      });
      expect(join.body).toEqual({
        groupId: 'g',
        sessionTimeoutMs: 30000,
        rebalanceTimeoutMs: version >= 1 ? 60000 : -1,
        memberId: '',
        protocolType: 'consumer',
        protocols: groupProtocols,
      });
      const response = await decodedByKafkajs(
        ApiKey.JoinGroup,
        'joinGroup',
        version,
        SAMPLES[ApiKey.JoinGroup].response,
      );
      expect(response).toMatchObject({
        errorCode: 0,
        generationId: 1,
        groupProtocol: 'range',
        leaderId: 'm-1',
        memberId: 'm-1',
        members: [{ memberId: 'm-1', memberMetadata: Buffer.from('range-meta') }],
      });
    }
    for (const version of [0, 1]) {
      const sync = await viaKafkajs('syncGroup', version, {
        groupId: 'g',
        generationId: 1,
        memberId: 'm-1',
        groupAssignment: [{ memberId: 'm-1', memberAssignment: Buffer.from('a') }],
      });
      expect(sync.body).toEqual({
        groupId: 'g',
        generationId: 1,
        memberId: 'm-1',
        assignments: [{ memberId: 'm-1', assignment: Buffer.from('a') }],
      });
      expect(
        await decodedByKafkajs(ApiKey.SyncGroup, 'syncGroup', version, { assignment: Buffer.from('a') }),
      ).toMatchObject({ errorCode: 0, memberAssignment: Buffer.from('a') });
      const heartbeat = await viaKafkajs('heartbeat', version, {
        groupId: 'g',
        groupGenerationId: 1,
        memberId: 'm-1',
      });
      expect(heartbeat.body).toEqual({ groupId: 'g', generationId: 1, memberId: 'm-1' });
      expect(await decodedByKafkajs(ApiKey.Heartbeat, 'heartbeat', version, {})).toMatchObject({
        errorCode: 0,
      });
      const leave = await viaKafkajs('leaveGroup', version, { groupId: 'g', memberId: 'm-1' });
      expect(leave.body).toEqual({ groupId: 'g', memberId: 'm-1' });
      expect(await decodedByKafkajs(ApiKey.LeaveGroup, 'leaveGroup', version, {})).toMatchObject({
        errorCode: 0,
      });
    }
  });

  it('CreateTopics v0-3, DeleteTopics v0-1, DescribeGroups v0-2, ListGroups v0-2', async () => {
    for (const version of [0, 1, 2, 3]) {
      const create = await viaKafkajs('createTopics', version, {
        topics: [{ topic: 't', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '1000' }] }],
        timeout: 5000,
      });
      expect(create.body).toEqual({
        topics: [
          {
            name: 't',
            numPartitions: 3,
            replicationFactor: -1,
            assignments: [],
            configs: [{ name: 'retention.ms', value: '1000' }],
          },
        ],
        timeoutMs: 5000,
        validateOnly: false,
      });
      expect(
        await decodedByKafkajs(ApiKey.CreateTopics, 'createTopics', version, {
          topics: [{ name: 't', errorCode: 0 }],
        }),
      ).toMatchObject({ topicErrors: [{ topic: 't', errorCode: 0 }] });
    }
    for (const version of [0, 1]) {
      const del = await viaKafkajs('deleteTopics', version, { topics: ['t', 'u'], timeout: 5000 });
      expect(del.body).toEqual({ topicNames: ['t', 'u'], timeoutMs: 5000 });
      expect(
        await decodedByKafkajs(ApiKey.DeleteTopics, 'deleteTopics', version, { responses: [{ name: 't' }] }),
      ).toMatchObject({ topicErrors: [{ topic: 't', errorCode: 0 }] });
    }
    for (const version of [0, 1, 2]) {
      const describe = await viaKafkajs('describeGroups', version, { groupIds: ['g', 'h'] });
      expect(describe.body).toEqual({ groups: ['g', 'h'] });
      const described = await decodedByKafkajs(
        ApiKey.DescribeGroups,
        'describeGroups',
        version,
        SAMPLES[ApiKey.DescribeGroups].response,
      );
      expect(described).toMatchObject({
        groups: [
          {
            errorCode: 0,
            groupId: 'g',
            state: 'Stable',
            protocolType: 'consumer',
            protocol: 'range',
            members: [
              {
                memberId: 'm-1',
                clientId: 'kafkajs',
                clientHost: '/127.0.0.1',
                memberMetadata: Buffer.from('meta'),
                memberAssignment: Buffer.from('assign'),
              },
            ],
          },
        ],
      });
      expect((await viaKafkajs('listGroups', version, {})).body).toEqual({});
      expect(
        await decodedByKafkajs(ApiKey.ListGroups, 'listGroups', version, SAMPLES[ApiKey.ListGroups].response),
      ).toMatchObject({ errorCode: 0, groups: [{ groupId: 'g', protocolType: 'consumer' }] });
    }
  });
});
