import type { MessageId, MessageMetadata, TopicName } from '../pulsar';
import { encodeMessage } from '../pulsar';
import { RateMeter } from './subscription';
import { BrokerError } from './errors';

/** One message as a transport hands it to a producer. */
/** How Producer.sendEntry treats the message it is given. */
export interface SendEntryOptions {
  /**
   * false when the caller built the message itself with encodeMessage (its checksum is right by construction):
   * the 1 MB CRC-32C of a Kafka batch's message is not computed twice. Default true: a message from a client is
   * checked.
   */
  verifyChecksum?: boolean;
}

export interface SendRequest {
  payload: Buffer;
  properties?: Map<string, string>;
  /** Pulsar's partition key (Key_Shared routes on it unless an ordering key is given). */
  key?: string;
  eventTime?: number;
  /** Default: the producer's next sequence id (one more than the highest it has sent). */
  sequenceId?: bigint;
  orderingKey?: Buffer;
}

/** What a send resolves with once the message is durable (or recognised as a duplicate: nothing written). */
export interface SendResult {
  messageId: MessageId;
  duplicate: boolean;
}

export interface ProducerOptions {
  /** Generated ('<cluster>-<n>-<m>', unique across restarts) when absent. */
  producerName?: string;
  /** The sequence id of the last message this producer sent before (its first send gets the next one). */
  initialSequenceId?: bigint;
  /** Called once when the broker ends this producer (topic closed, deleted or fenced); not on close(). */
  onClose?: (reason: string) => void;
  /** For stats only: where the producer connects from and its client. */
  address?: string;
  clientVersion?: string;
}

/** What a producer needs from its topic (PersistentTopic); an interface so the two files do not import each other. */
export interface ProducerTopic {
  readonly name: TopicName;
  readonly maxMessageSize: number;
  publishMessage(
    producer: Producer,
    message: Buffer,
    numMessages: number,
    sequenceId: bigint,
  ): Promise<SendResult>;
  publishEntry(
    producer: Producer,
    message: Buffer,
    numMessages: number,
    options?: SendEntryOptions,
  ): Promise<SendResult>;
  removeProducer(producer: Producer): void;
}

/** A producer in a topic's stats, with Pulsar's JSON field names (PublisherStatsImpl). */
export interface PublisherStats {
  producerId: number;
  producerName: string;
  accessMode: 'Shared';
  msgRateIn: number;
  msgThroughputIn: number;
  averageMsgSize: number;
  msgInCounter: number;
  bytesInCounter: number;
  chunkedMessageRate: number;
  supportsPartialProducer: boolean;
  address: string;
  connectedSince: string;
  clientVersion: string;
  metadata: Record<string, string>;
}

/**
 * A producer attached to a topic (Pulsar's broker-side Producer): builds each message's MessageMetadata (producer
 * name, sequence id, publish time, key, properties, event time) in Pulsar's entry format and hands it to the topic,
 * which adds the BrokerEntryMetadata (broker timestamp, running index) and writes it. A send resolves only once
 * the managed ledger has acknowledged the entry (durable on a quorum of bookies). Sends of one producer are
 * written, and resolve, in the order they were made.
 */
export class Producer {
  readonly connectedSince = new Date().toISOString();
  msgInCounter = 0;
  bytesInCounter = 0;
  private nextSequenceId: bigint;
  private closed = false;
  private readonly rates = new RateMeter();

  constructor(
    readonly topic: ProducerTopic,
    readonly producerName: string,
    readonly producerId: number,
    lastSequenceId: bigint,
    private readonly options: ProducerOptions,
  ) {
    this.nextSequenceId = lastSequenceId + 1n;
  }

  /** The highest sequence id this producer has sent (or the broker has persisted for its name); -1 for none. */
  get lastSequenceId(): bigint {
    return this.nextSequenceId - 1n;
  }

  isClosed(): boolean {
    return this.closed;
  }

  send(request: SendRequest): Promise<SendResult> {
    const refusal = this.sendRefusal(request);
    if (refusal !== undefined) return Promise.reject(refusal);
    const sequenceId = request.sequenceId ?? this.nextSequenceId;
    if (sequenceId >= this.nextSequenceId) this.nextSequenceId = sequenceId + 1n;
    const metadata: MessageMetadata = {
      producerName: this.producerName,
      sequenceId,
      publishTime: Date.now(),
      properties: request.properties ?? new Map<string, string>(),
    };
    if (request.key !== undefined) metadata.partitionKey = request.key;
    if (request.eventTime !== undefined && request.eventTime > 0) metadata.eventTime = request.eventTime;
    if (request.orderingKey !== undefined) metadata.orderingKey = request.orderingKey;
    let message: Buffer;
    try {
      message = encodeMessage(metadata, request.payload);
    } catch (error) {
      return Promise.reject(
        new BrokerError('BadRequest', `producer ${this.producerName} on ${this.topicName()}: bad message`, {
          cause: error,
        }),
      );
    }
    return this.topic.publishMessage(this, message, 1, sequenceId);
  }

  /**
   * Stores a message already in Pulsar's format (from 0x0e01 on: checksum, metadata, payload — what encodeMessage
   * returns, or what a binary or Kafka client sent), adding only the BrokerEntryMetadata. `numMessages` is the
   * number of messages in it (a batch).
   */
  sendEntry(message: Buffer, numMessages: number, options?: SendEntryOptions): Promise<SendResult> {
    if (this.closed) return Promise.reject(this.closedError());
    if (!Buffer.isBuffer(message) || !Number.isSafeInteger(numMessages) || numMessages < 1) {
      return Promise.reject(
        new BrokerError(
          'BadRequest',
          `producer ${this.producerName} on ${this.topicName()}: sendEntry needs a Buffer and numMessages >= 1`,
        ),
      );
    }
    return this.topic.publishEntry(this, message, numMessages, options);
  }

  /** Detaches from the topic; sends still in flight complete. Idempotent. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.topic.removeProducer(this);
    return Promise.resolve();
  }

  /** The broker ends this producer (topic closing, deleted, fenced): later sends fail, the transport is told. */
  disconnect(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.topic.removeProducer(this);
    this.options.onClose?.(reason);
  }

  /** Counts a persisted message (the topic calls this when the add is acknowledged). */
  recordPublished(messages: number, bytes: number): void {
    this.msgInCounter += messages;
    this.bytesInCounter += bytes;
  }

  /** Moves the next sequence id past `sequenceId` (sendEntry's messages carry their own). */
  advanceSequenceId(sequenceId: bigint): void {
    if (sequenceId >= this.nextSequenceId) this.nextSequenceId = sequenceId + 1n;
  }

  getStats(nowMs = Date.now()): PublisherStats {
    const { messagesPerSecond, bytesPerSecond } = this.rates.rates(
      nowMs,
      this.msgInCounter,
      this.bytesInCounter,
    );
    return {
      producerId: this.producerId,
      producerName: this.producerName,
      accessMode: 'Shared',
      msgRateIn: messagesPerSecond,
      msgThroughputIn: bytesPerSecond,
      averageMsgSize: messagesPerSecond > 0 ? bytesPerSecond / messagesPerSecond : 0,
      msgInCounter: this.msgInCounter,
      bytesInCounter: this.bytesInCounter,
      chunkedMessageRate: 0,
      supportsPartialProducer: false,
      address: this.options.address ?? '',
      connectedSince: this.connectedSince,
      clientVersion: this.options.clientVersion ?? '',
      metadata: {},
    };
  }

  private sendRefusal(request: SendRequest): BrokerError | undefined {
    if (this.closed) return this.closedError();
    if (request === null || typeof request !== 'object' || !Buffer.isBuffer(request.payload)) {
      return new BrokerError(
        'BadRequest',
        `producer ${this.producerName} on ${this.topicName()}: payload must be a Buffer`,
      );
    }
    const maxMessageSize = this.topic.maxMessageSize;
    if (request.payload.length > maxMessageSize) {
      return new BrokerError(
        'MessageTooLarge',
        `producer ${this.producerName} on ${this.topicName()}: message of ${request.payload.length} bytes exceeds maxMessageSize ${maxMessageSize}`,
      );
    }
    if (
      request.sequenceId !== undefined &&
      (typeof request.sequenceId !== 'bigint' || request.sequenceId < 0n)
    ) {
      return new BrokerError(
        'BadRequest',
        `producer ${this.producerName} on ${this.topicName()}: sequenceId must be a non-negative integer`,
      );
    }
    return undefined;
  }

  private closedError(): BrokerError {
    return new BrokerError(
      'ServiceNotReady',
      `producer ${this.producerName} on ${this.topicName()} is closed`,
    );
  }

  private topicName(): string {
    return this.topic.name.toString();
  }
}
