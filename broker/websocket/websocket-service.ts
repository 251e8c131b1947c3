import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { Logger } from '../../common';
import { BrokerError, httpStatusOf, isBrokerError } from '../service';
import { TopicName } from '../pulsar';
import type {
  BrokerMetrics,
  BrokerService,
  Consumer,
  Producer,
  ProducerOptions,
  SendRequest,
  SubscribeOptions,
} from '../service';
import { ConsumerHandler, sessionConsumer } from './consumer-handler';
import type { ConsumerHandlerOptions, DeadLetterTarget, SessionConsumer } from './consumer-handler';
import { PartitionedConsumer } from './partitioned-consumer';
import { PartitionRouter } from './partition-router';
import { ProducerHandler, errorMessage } from './producer-handler';
import { parseConsumerParams, parseProducerParams, parseReaderParams } from './query-params';
import { parseWebSocketPath } from './websocket-path';
import type { WebSocketTarget } from './websocket-path';

/** The broker settings the WebSocket service reads (a BrokerConfig has them all). */
export interface WebSocketServiceConfig {
  /** Frames larger than this close the connection with 1009 (Message Too Big). */
  webSocketMaxTextFrameSize: number;
  /** A compressed message inflating past this is not delivered. */
  maxMessageSize: number;
  /** A producer session keeps at most this many sends in flight, whatever its maxPendingMessages asks. */
  maxPendingPublishRequestsPerConnection: number;
}

export interface WebSocketServiceOptions {
  broker: BrokerService;
  config: WebSocketServiceConfig;
  logger: Logger;
  metrics?: BrokerMetrics;
}

/** A session: a producer or a consumer/reader handler, closed with the service. */
interface Session {
  /** `socket` is the upgraded connection under `ws`: corked around a burst of frames to write them at once. */
  attach(ws: WebSocket, socket: Duplex): void;
  end(code: number, reason: string): Promise<void>;
}

/**
 * Pulsar's WebSocket API v2 over the BrokerService (pulsar.md §4). The HTTP server hands every upgrade request to
 * handleUpgrade; the producer, consumer or reader is created on the broker *before* the upgrade, so that a refusal
 * is an HTTP status as in Pulsar (400 bad parameters, 404 no such topic, 409 busy, 429, 503 terminated or over
 * the backlog quota, 500),
 * and only a session that works is upgraded. After the upgrade, errors close the session with 4000 + Pulsar's
 * WebSocketError code and the reason.
 */
export class WebSocketService {
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<Session>();
  private readonly opening = new Set<Promise<void>>();
  private closed: Promise<void> | undefined;

  constructor(private readonly options: WebSocketServiceOptions) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.config.webSocketMaxTextFrameSize,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A client that resets the connection while its session is being created must not raise an unhandled error.
    socket.on('error', (error) =>
      this.options.logger.debug({ err: error }, 'WebSocket upgrade socket error'),
    );
    if (this.closed !== undefined) {
      refuseUpgrade(socket, 503, 'The broker is shutting down');
      return;
    }
    let target: WebSocketTarget | undefined;
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://localhost');
      target = parseWebSocketPath(url.pathname);
    } catch (error) {
      refuseUpgrade(socket, statusOf(error), errorMessage(error));
      return;
    }
    if (target === undefined) {
      refuseUpgrade(socket, 404, `No WebSocket endpoint at ${url.pathname}`);
      return;
    }
    const handshakeProblem = checkHandshake(request);
    if (handshakeProblem !== undefined) {
      refuseUpgrade(socket, 400, handshakeProblem);
      return;
    }
    const address = `${request.socket.remoteAddress ?? ''}:${request.socket.remotePort ?? ''}`;
    const opening = this.openSession(target, url.searchParams, address).then(
      (session) => {
        if (socket.destroyed || this.closed !== undefined) {
          void session.end(1001, 'Connection closed before the upgrade');
          return;
        }
        // ws answers a bad handshake itself (400) without calling back: the session is ended when the socket
        // closes without having been attached.
        let attached = false;
        socket.once('close', () => {
          if (!attached) void session.end(1001, 'Handshake failed');
        });
        try {
          this.wss.handleUpgrade(request, socket, head, (ws) => {
            attached = true;
            this.sessions.add(session);
            ws.on('close', () => this.sessions.delete(session));
            session.attach(ws, socket);
          });
        } catch (error) {
          this.options.logger.error({ err: error, url: request.url }, 'WebSocket upgrade failed');
          socket.destroy();
        }
      },
      (error: unknown) => {
        const status = statusOf(error);
        const level = status >= 500 ? 'warn' : 'debug';
        this.options.logger[level]({ err: error, url: request.url, status }, 'WebSocket upgrade refused');
        refuseUpgrade(socket, status, errorMessage(error));
      },
    );
    this.opening.add(opening);
    void opening.finally(() => this.opening.delete(opening));
  }

  private async openSession(
    target: WebSocketTarget,
    query: URLSearchParams,
    address: string,
  ): Promise<Session> {
    const { broker } = this.options;
    const topicName = target.topic.toString();
    switch (target.kind) {
      case 'producer': {
        const params = parseProducerParams(query);
        params.maxPendingMessages = Math.min(
          params.maxPendingMessages,
          this.options.config.maxPendingPublishRequestsPerConnection,
        );
        const handler = new ProducerHandler(params, this.options.logger.child({ topic: topicName }));
        const options: ProducerOptions = { address, onClose: (reason) => handler.brokerClosed(reason) };
        if (params.producerName !== undefined) options.producerName = params.producerName;
        if (params.initialSequenceId !== undefined) options.initialSequenceId = params.initialSequenceId;
        const partitions = await this.partitionsOf(target.topic);
        if (partitions === 0) {
          handler.bind(await (await broker.getTopic(target.topic)).addProducer(options));
        } else {
          const router = new PartitionRouter(partitions, params.messageRoutingMode, params.hashingScheme);
          handler.bind(await this.addPartitionProducers(target.topic, partitions, options), router);
        }
        this.options.logger.info({ topic: topicName, partitions }, 'WebSocket producer connected');
        return handler;
      }
      case 'consumer': {
        const params = parseConsumerParams(query);
        const subscription = target.subscription!;
        const logger = this.options.logger.child({ topic: topicName, subscription });
        const options: ConsumerHandlerOptions = {
          mode: 'consumer',
          maxPendingMessages: params.maxPendingMessages,
          pullMode: params.pullMode,
          payloadBytesMax: this.options.config.maxMessageSize,
          logger,
        };
        if (params.deadLetter !== undefined) {
          // Pulsar's default dead-letter topic: <topic>-<subscription>-DLQ.
          const name = params.deadLetter.topic ?? `${topicName}-${subscription}-DLQ`;
          options.deadLetter = this.deadLetterTarget(
            name,
            params.deadLetter.maxRedeliverCount,
            topicName,
            address,
          );
        }
        const handler = new ConsumerHandler(options);
        const subscribe: SubscribeOptions = {
          subscription,
          subscriptionType: params.subscriptionType,
          durable: params.durable,
          receiverQueueSize: params.receiverQueueSize,
          ackTimeoutMillis: params.ackTimeoutMillis,
          negativeAckRedeliveryDelayMillis: params.negativeAckRedeliveryDelayMillis,
          address,
        };
        if (params.consumerName !== undefined) subscribe.consumerName = params.consumerName;
        if (params.priorityLevel !== undefined) subscribe.priorityLevel = params.priorityLevel;
        if (params.initialPosition !== undefined) subscribe.initialPosition = params.initialPosition;
        handler.bind(await this.subscribeSession(target.topic, subscribe, handler, logger));
        logger.info({ subscriptionType: params.subscriptionType }, 'WebSocket consumer connected');
        return handler;
      }
      case 'reader': {
        const params = parseReaderParams(query);
        // Pulsar's reader subscriptions are non-durable and named 'reader-<random>'.
        const subscription = `reader-${randomBytes(5).toString('hex')}`;
        const logger = this.options.logger.child({ topic: topicName, subscription });
        const handler = new ConsumerHandler({
          mode: 'reader',
          maxPendingMessages: params.maxPendingMessages,
          pullMode: false,
          payloadBytesMax: this.options.config.maxMessageSize,
          logger,
        });
        const subscribe: SubscribeOptions = {
          subscription,
          subscriptionType: 'Exclusive',
          durable: false,
          receiverQueueSize: params.receiverQueueSize,
          address,
        };
        if (params.readerName !== undefined) subscribe.consumerName = params.readerName;
        if (typeof params.start === 'string') subscribe.initialPosition = params.start;
        else subscribe.startMessageId = params.start;
        handler.bind(await this.subscribeSession(target.topic, subscribe, handler, logger));
        logger.info('WebSocket reader connected');
        return handler;
      }
    }
  }

  /**
   * A consumer session's dead-letter topic: a producer on it is made on the first message that goes there, with
   * Pulsar's REAL_TOPIC and ORIGIN_MESSAGE_ID properties on each copy.
   */
  private deadLetterTarget(
    name: string,
    maxRedeliverCount: number,
    realTopic: string,
    address: string | undefined,
  ): DeadLetterTarget {
    let topic: TopicName;
    try {
      topic = TopicName.parse(name);
    } catch (error) {
      throw new BrokerError(
        'BadRequest',
        `Invalid query params: deadLetterTopic=${name}: ${errorMessage(error)}`,
      );
    }
    const { broker } = this.options;
    let producer: Promise<Producer> | undefined;
    /** Closes a producer that was made (one whose making failed has nothing to close). */
    const closeMade = async (made: Promise<Producer> | undefined): Promise<void> =>
      (await made?.catch(() => undefined))?.close();
    return {
      maxRedeliverCount,
      publish: async (message) => {
        producer ??= broker
          .getTopic(topic)
          .then((t) => t.addProducer(address === undefined ? {} : { address }));
        const properties = new Map(message.properties);
        properties.set('REAL_TOPIC', realTopic);
        properties.set('ORIGIN_MESSAGE_ID', message.originMessageId);
        const request: SendRequest = { payload: message.payload, properties };
        if (message.key !== undefined) request.key = message.key;
        if (message.eventTime !== undefined) request.eventTime = message.eventTime;
        const used = producer;
        try {
          await (await used).send(request);
        } catch (error) {
          // A later message tries with a new producer; this one is closed so that it does not stay registered
          // on the dead-letter topic (a leaked producer would also hold that topic open).
          if (producer === used) producer = undefined;
          await closeMade(used).catch(() => undefined);
          throw error;
        }
      },
      close: () => {
        const made = producer;
        producer = undefined;
        return closeMade(made);
      },
    };
  }

  /**
   * The session's consumer: on a partitioned topic one consumer per partition (same subscription name and
   * options) merged by a PartitionedConsumer, each partition's share of the receiver queue at least 1.
   */
  private async subscribeSession(
    topic: TopicName,
    subscribe: SubscribeOptions,
    handler: ConsumerHandler,
    logger: Logger,
  ): Promise<SessionConsumer> {
    const { broker } = this.options;
    const partitions = await this.partitionsOf(topic);
    if (partitions === 0)
      return sessionConsumer(await (await broker.getTopic(topic)).subscribe(subscribe, handler));
    if (subscribe.startMessageId !== undefined) {
      throw new BrokerError(
        'BadRequest',
        'Invalid query params: a reader on a partitioned topic starts at earliest or latest',
      );
    }
    const permitsPerPartition = Math.max(1, Math.ceil((subscribe.receiverQueueSize ?? 1000) / partitions));
    const merged = new PartitionedConsumer(handler, partitions, permitsPerPartition, logger);
    const consumers: Consumer[] = [];
    try {
      for (let i = 0; i < partitions; i++) {
        const partition = await broker.getTopic(topic.partition(i), { createIfMissing: true });
        consumers.push(await partition.subscribe(subscribe, merged.sinkOf(i)));
      }
    } catch (error) {
      await Promise.allSettled(consumers.map((consumer) => consumer.close()));
      throw error;
    }
    merged.bind(consumers);
    return merged;
  }

  /**
   * The partition count of a partitioned topic's name (created first when auto-creation makes partitioned
   * topics); 0 for any other topic (a partition's name included).
   */
  private async partitionsOf(topic: TopicName): Promise<number> {
    if (topic.partitionIndex >= 0) return 0;
    return this.options.broker.getPartitionCountForClient(topic);
  }

  /**
   * One producer per partition, all with one name as Pulsar's PartitionedProducerImpl (the first partition's
   * when the client gave none); if one cannot be added, those added are closed and the error stands.
   */
  private async addPartitionProducers(
    topic: TopicName,
    partitions: number,
    options: ProducerOptions,
  ): Promise<Producer[]> {
    const producers: Producer[] = [];
    try {
      for (let i = 0; i < partitions; i++) {
        const partition = await this.options.broker.getTopic(topic.partition(i), { createIfMissing: true });
        const producer = await partition.addProducer(options);
        options = { ...options, producerName: producer.producerName };
        producers.push(producer);
      }
    } catch (error) {
      await Promise.allSettled(producers.map((producer) => producer.close()));
      throw error;
    }
    return producers;
  }

  /** Refuses new upgrades, ends every session (1001 Going Away) and closes their producers and consumers. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      await Promise.allSettled([...this.opening]);
      await Promise.allSettled(
        [...this.sessions].map((session) => session.end(1001, 'The broker is shutting down')),
      );
      this.sessions.clear();
      await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    })();
    return this.closed;
  }
}

/**
 * The HTTP status of a refused upgrade: the broker's REST status, except where Pulsar's WebSocket servlet answers
 * differently — 503 for a terminated topic or an exceeded backlog quota, 409 for a fenced topic.
 */
function statusOf(error: unknown): number {
  if (isBrokerError(error, 'TopicTerminated')) return 503;
  if (isBrokerError(error, 'ProducerBlockedQuotaExceededError')) return 503;
  if (isBrokerError(error, 'TopicFenced')) return 409;
  const status = httpStatusOf(error);
  return status === 412 && !(error instanceof BrokerError) ? 503 : status;
}

/** What ws would refuse in the handshake, checked before a producer or consumer is created for it. */
function checkHandshake(request: IncomingMessage): string | undefined {
  if (request.method !== 'GET') return 'A WebSocket upgrade is a GET';
  if (request.headers.upgrade?.toLowerCase() !== 'websocket') return 'Upgrade: websocket expected';
  const key = request.headers['sec-websocket-key'];
  if (key === undefined || !/^[+/0-9A-Za-z]{22}==$/.test(key)) return 'Missing or invalid Sec-WebSocket-Key';
  const version = request.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') return 'Unsupported Sec-WebSocket-Version';
  return undefined;
}

/** Answers an upgrade request with an HTTP error, as Pulsar's servlet does before the WebSocket handshake. */
function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = message.replace(/[\r\n]+/g, ' ');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
