import type { Logger } from '../../../common';
import type { BrokerService, PersistentTopic } from '../../service';
import { ApiKey, KafkaErrorCode, apiVersionsBody } from '../protocol';
import type { KafkaRequest, RequestBody, ResponseBody, SupportedApiKey } from '../protocol';
import type { KafkaConnectionInfo, KafkaRequestHandler as ConnectionRequestHandler } from '../server';
import { answerError } from './errors';
import { FetchApi } from './fetch-api';
import { KafkaTopics } from './kafka-topics';
import type { TopicName } from '../../pulsar';
import type { KafkaAdvertisedBroker } from './listeners';
import { ProduceApi } from './produce-api';

type MetadataResponse = ResponseBody<typeof ApiKey.Metadata>;
type MetadataTopic = MetadataResponse['topics'][number];

/**
 * The group APIs' side of the seam (broker/kafka/handler/group-apis.ts, KafkaGroupApis): FindCoordinator (this
 * broker), JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups.
 */
export interface KafkaGroupApiHandler {
  handles(apiKey: number): boolean;
  handle(request: KafkaRequest, connection: KafkaConnectionInfo): Promise<ResponseBody<SupportedApiKey>>;
}

export interface KafkaRequestHandlerOptions {
  broker: BrokerService;
  /** This broker as clients see it (its node id is Metadata's broker, leader and controller). */
  advertised: KafkaAdvertisedBroker;
  /** The group APIs; without them a group request closes its connection. */
  groupApis?: KafkaGroupApiHandler;
  logger: Logger;
}

/**
 * The Kafka listener's request handler (KoP's KafkaRequestHandler): ApiVersions, Metadata, Produce, Fetch,
 * ListOffsets, CreateTopics and DeleteTopics over the BrokerService's topics (kafka-topics.ts maps the names),
 * and every group API passed on to the group APIs. Errors the client should see are error codes in the body;
 * it throws (closing the connection) only for a request it has nobody to answer.
 */
export class KafkaRequestHandler implements ConnectionRequestHandler {
  readonly topics: KafkaTopics;
  private readonly produceApi: ProduceApi;
  private readonly fetchApi: FetchApi;
  private readonly advertised: KafkaAdvertisedBroker;
  private readonly groupApis: KafkaGroupApiHandler | undefined;
  private readonly broker: BrokerService;
  private readonly logger: Logger;

  constructor(options: KafkaRequestHandlerOptions) {
    this.broker = options.broker;
    this.advertised = options.advertised;
    this.groupApis = options.groupApis;
    this.logger = options.logger.child({ component: 'kafka-handler' });
    const config = options.broker.config;
    this.topics = new KafkaTopics(options.broker, config.kafkaTenant, config.kafkaNamespace);
    this.produceApi = new ProduceApi(this.topics, this.logger);
    this.fetchApi = new FetchApi(this.topics, this.logger);
  }

  /** A Kafka partition's log-end offset (its high watermark), read as Fetch and ListOffsets read it. */
  logEndOffset(partition: PersistentTopic): Promise<bigint> {
    return this.fetchApi.logOf(partition).highWatermark();
  }

  /** Ends waiting Fetches (the broker is closing). */
  close(): void {
    this.fetchApi.close();
  }

  async handle(
    request: KafkaRequest,
    connection: KafkaConnectionInfo,
    ordered?: () => void,
  ): Promise<ResponseBody<SupportedApiKey> | undefined> {
    switch (request.apiKey) {
      case ApiKey.ApiVersions:
        return apiVersionsBody();
      case ApiKey.Metadata:
        return this.metadata(request.body, request.apiVersion);
      case ApiKey.Produce: {
        const response = await this.produceApi.handle(request.body, ordered);
        return request.body.acks === 0 ? undefined : response;
      }
      case ApiKey.Fetch:
        return this.fetchApi.fetch(request.body);
      case ApiKey.ListOffsets:
        return this.fetchApi.listOffsets(request.body);
      case ApiKey.CreateTopics:
        return this.createTopics(request.body);
      case ApiKey.DeleteTopics:
        return this.deleteTopics(request.body);
      default:
        if (this.groupApis?.handles(request.apiKey) === true)
          return this.groupApis.handle(request, connection);
        throw new Error(`no handler for ${request.apiKey} v${request.apiVersion}`);
    }
  }

  // ---- Metadata ----

  private async metadata(
    body: RequestBody<typeof ApiKey.Metadata>,
    version: number,
  ): Promise<MetadataResponse> {
    const { nodeId, host, port } = this.advertised;
    const response: MetadataResponse = {
      throttleTimeMs: 0,
      brokers: [{ nodeId, host, port, rack: null }],
      clusterId: this.broker.config.clusterName,
      controllerId: nodeId,
      topics: [],
    };
    // v0: an empty list is every topic; v1+: null is every topic, an empty list none.
    const all = body.topics === null || (version === 0 && body.topics.length === 0);
    if (all) {
      try {
        for (const { name, partitions } of await this.topics.listAll()) {
          response.topics.push(this.topicMetadata(name, partitions));
        }
      } catch (error) {
        this.logger.warn({ err: error }, 'kafka metadata: cannot list the topics');
      }
      return response;
    }
    const autoCreate = this.broker.config.allowAutoTopicCreation && body.allowAutoTopicCreation;
    response.topics = await Promise.all(
      (body.topics ?? []).map(({ name }) => this.requestedTopic(name, autoCreate)),
    );
    return response;
  }

  private async requestedTopic(name: string, autoCreate: boolean): Promise<MetadataTopic> {
    let topic: TopicName;
    try {
      topic = this.topics.topicName(name);
      let partitions = await this.topics.partitionCount(topic);
      if (partitions === 0 && autoCreate) partitions = await this.topics.autoCreate(topic);
      if (partitions === 0) return this.topicError(name, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      return this.topicMetadata(name, partitions);
    } catch (error) {
      const errorCode = answerError(this.logger, error, { topic: name }, 'kafka metadata failed');
      return this.topicError(
        name,
        errorCode === KafkaErrorCode.UNKNOWN_SERVER_ERROR ? KafkaErrorCode.LEADER_NOT_AVAILABLE : errorCode,
      );
    }
  }

  private topicMetadata(name: string, partitions: number): MetadataTopic {
    const nodeId = this.advertised.nodeId;
    return {
      errorCode: KafkaErrorCode.NONE,
      name,
      isInternal: false,
      partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({
        errorCode: KafkaErrorCode.NONE,
        partitionIndex,
        leaderId: nodeId,
        replicaNodes: [nodeId],
        isrNodes: [nodeId],
      })),
    };
  }

  private topicError(name: string, errorCode: number): MetadataTopic {
    return { errorCode, name, isInternal: false, partitions: [] };
  }

  // ---- CreateTopics / DeleteTopics ----

  private async createTopics(
    body: RequestBody<typeof ApiKey.CreateTopics>,
  ): Promise<ResponseBody<typeof ApiKey.CreateTopics>> {
    const counts = new Map<string, number>();
    for (const { name } of body.topics) counts.set(name, (counts.get(name) ?? 0) + 1);
    const topics = await Promise.all(
      body.topics.map(async (request) => {
        const answer = (errorCode: number, errorMessage: string | null = null) => ({
          name: request.name,
          errorCode,
          errorMessage,
        });
        if ((counts.get(request.name) ?? 0) > 1) {
          return answer(KafkaErrorCode.INVALID_REQUEST, 'the topic is named more than once in the request');
        }
        let partitions = request.numPartitions;
        if (partitions === -1 && request.assignments.length === 0)
          partitions = this.broker.config.defaultNumPartitions;
        if (request.assignments.length > 0) partitions = request.assignments.length;
        if (!(partitions >= 1)) {
          return answer(
            KafkaErrorCode.INVALID_PARTITIONS,
            `number of partitions must be at least 1, got ${partitions}`,
          );
        }
        if (request.replicationFactor === 0 || request.replicationFactor < -1) {
          return answer(KafkaErrorCode.INVALID_REPLICATION_FACTOR, 'replication factor must be at least 1');
        }
        try {
          const topic = this.topics.topicName(request.name);
          if (body.validateOnly) {
            if ((await this.topics.partitionCount(topic)) > 0) {
              return answer(KafkaErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${request.name}' already exists.`);
            }
            return answer(KafkaErrorCode.NONE);
          }
          await this.topics.createPartitioned(topic, partitions);
          return answer(KafkaErrorCode.NONE);
        } catch (error) {
          const errorCode = answerError(
            this.logger,
            error,
            { topic: request.name },
            'kafka create topic failed',
          );
          const message =
            errorCode === KafkaErrorCode.TOPIC_ALREADY_EXISTS
              ? `Topic '${request.name}' already exists.`
              : (error as Error).message;
          return answer(errorCode, message);
        }
      }),
    );
    return { throttleTimeMs: 0, topics };
  }

  private async deleteTopics(
    body: RequestBody<typeof ApiKey.DeleteTopics>,
  ): Promise<ResponseBody<typeof ApiKey.DeleteTopics>> {
    const responses = await Promise.all(
      body.topicNames.map(async (name) => {
        try {
          const topic = this.topics.topicName(name);
          if ((await this.topics.partitionCount(topic)) === 0) {
            return { name, errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
          }
          await this.topics.delete(topic);
          return { name, errorCode: KafkaErrorCode.NONE };
        } catch (error) {
          const errorCode = answerError(this.logger, error, { topic: name }, 'kafka delete topic failed');
          return { name, errorCode };
        }
      }),
    );
    return { throttleTimeMs: 0, responses };
  }
}
