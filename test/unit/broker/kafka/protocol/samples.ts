import { ApiKey } from '../../../../../broker/kafka/protocol';
import type { RequestInput, ResponseBody, SupportedApiKey } from '../../../../../broker/kafka/protocol';

/**
 * One request and one response per API with every field we declare set to a value other than its default, so a
 * round trip at the highest version shows each field was written and read back, and one at a lower version shows
 * which fields it drops.
 */
export type Sample<K extends SupportedApiKey> = { request: RequestInput<K>; response: ResponseBody<K> };

const bytes = (text: string): Buffer => Buffer.from(text);

export const SAMPLES: { [K in SupportedApiKey]: Sample<K> } = {
  [ApiKey.Produce]: {
    request: {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [
        {
          name: 'orders',
          partitionData: [
            { index: 0, records: bytes('batch-0') },
            { index: 2, records: null },
          ],
        },
        { name: 'empty', partitionData: [] },
      ],
    },
    response: {
      responses: [
        {
          name: 'orders',
          partitionResponses: [
            { index: 0, errorCode: 0, baseOffset: 41n, logAppendTimeMs: -1n },
            { index: 2, errorCode: 87, baseOffset: -1n, logAppendTimeMs: 1700000000000n },
          ],
        },
      ],
      throttleTimeMs: 5,
    },
  },
  [ApiKey.Fetch]: {
    request: {
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 52428800,
      isolationLevel: 1,
      topics: [
        {
          topic: 'orders',
          partitions: [{ partition: 3, fetchOffset: 9007199254740993n, partitionMaxBytes: 1048576 }],
        },
      ],
    },
    response: {
      throttleTimeMs: 1,
      responses: [
        {
          topic: 'orders',
          partitions: [
            {
              partitionIndex: 3,
              errorCode: 0,
              highWatermark: 100n,
              lastStableOffset: 100n,
              abortedTransactions: [{ producerId: 7n, firstOffset: 12n }],
              records: Buffer.alloc(3000, 0xab),
            },
            {
              partitionIndex: 4,
              errorCode: 1,
              highWatermark: -1n,
              lastStableOffset: -1n,
              abortedTransactions: null,
              records: null,
            },
          ],
        },
      ],
    },
  },
  [ApiKey.ListOffsets]: {
    request: {
      replicaId: -1,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, timestamp: -2n }] }],
    },
    response: {
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0, timestamp: -1n, offset: 17n }] },
      ],
    },
  },
  [ApiKey.Metadata]: {
    request: { topics: [{ name: 'orders' }, { name: 'audit' }], allowAutoTopicCreation: false },
    response: {
      throttleTimeMs: 2,
      brokers: [{ nodeId: 1, host: 'broker-1.local', port: 9092, rack: 'rack-a' }],
      clusterId: 'ledgerline',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 'orders',
          isInternal: true,
          partitions: [{ errorCode: 5, partitionIndex: 0, leaderId: 1, replicaNodes: [1, 2], isrNodes: [1] }],
        },
      ],
    },
  },
  [ApiKey.OffsetCommit]: {
    request: {
      groupId: 'g',
      generationId: 3,
      memberId: 'rdkafka-1',
      retentionTimeMs: 86400000n,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, committedOffset: 42n, committedMetadata: 'm' },
            { partitionIndex: 1, committedOffset: 7n, committedMetadata: null },
          ],
        },
      ],
    },
    response: { topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 22 }] }] },
  },
  [ApiKey.OffsetFetch]: {
    request: { groupId: 'g', topics: [{ name: 'orders', partitionIndexes: [0, 1, 2] }] },
    response: {
      throttleTimeMs: 3,
      topics: [
        {
          name: 'orders',
          partitions: [{ partitionIndex: 0, committedOffset: 42n, metadata: 'meta', errorCode: 0 }],
        },
      ],
      errorCode: 14,
    },
  },
  [ApiKey.FindCoordinator]: {
    request: { key: 'group-1' },
    response: { errorCode: 15, nodeId: 1, host: 'broker-1.local', port: 9092 },
  },
  [ApiKey.JoinGroup]: {
    request: {
      groupId: 'g',
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: 60000,
      memberId: '',
      protocolType: 'consumer',
      protocols: [
        { name: 'range', metadata: bytes('range-meta') },
        { name: 'roundrobin', metadata: Buffer.alloc(0) },
      ],
    },
    response: {
      throttleTimeMs: 4,
      errorCode: 0,
      generationId: 1,
      protocolName: 'range',
      leader: 'm-1',
      memberId: 'm-1',
      members: [{ memberId: 'm-1', metadata: bytes('range-meta') }],
    },
  },
  [ApiKey.Heartbeat]: {
    request: { groupId: 'g', generationId: 1, memberId: 'm-1' },
    response: { throttleTimeMs: 6, errorCode: 27 },
  },
  [ApiKey.LeaveGroup]: {
    request: { groupId: 'g', memberId: 'm-1' },
    response: { throttleTimeMs: 7, errorCode: 25 },
  },
  [ApiKey.SyncGroup]: {
    request: {
      groupId: 'g',
      generationId: 1,
      memberId: 'm-1',
      assignments: [{ memberId: 'm-1', assignment: bytes('assignment') }],
    },
    response: { throttleTimeMs: 8, errorCode: 0, assignment: bytes('assignment') },
  },
  [ApiKey.DescribeGroups]: {
    request: { groups: ['g', 'h'] },
    response: {
      throttleTimeMs: 9,
      groups: [
        {
          errorCode: 0,
          groupId: 'g',
          groupState: 'Stable',
          protocolType: 'consumer',
          protocolData: 'range',
          members: [
            {
              memberId: 'm-1',
              clientId: 'kafkajs',
              clientHost: '/127.0.0.1',
              memberMetadata: bytes('meta'),
              memberAssignment: bytes('assign'),
            },
          ],
        },
      ],
    },
  },
  [ApiKey.ListGroups]: {
    request: {},
    response: { throttleTimeMs: 10, errorCode: 0, groups: [{ groupId: 'g', protocolType: 'consumer' }] },
  },
  [ApiKey.ApiVersions]: {
    request: { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' },
    response: { errorCode: 0, apiKeys: [{ apiKey: 3, minVersion: 0, maxVersion: 4 }], throttleTimeMs: 11 },
  },
  [ApiKey.CreateTopics]: {
    request: {
      topics: [
        {
          name: 'orders',
          numPartitions: 3,
          replicationFactor: 1,
          assignments: [{ partitionIndex: 0, brokerIds: [1] }],
          configs: [
            { name: 'retention.ms', value: '1000' },
            { name: 'cleanup.policy', value: null },
          ],
        },
      ],
      timeoutMs: 5000,
      validateOnly: true,
    },
    response: { throttleTimeMs: 12, topics: [{ name: 'orders', errorCode: 36, errorMessage: 'exists' }] },
  },
  [ApiKey.DeleteTopics]: {
    request: { topicNames: ['orders', 'audit'], timeoutMs: 5000 },
    response: { throttleTimeMs: 13, responses: [{ name: 'orders', errorCode: 3 }] },
  },
};
