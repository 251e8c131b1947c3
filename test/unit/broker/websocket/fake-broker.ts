/**
 * A scripted BrokerService for the WebSocket service's unit tests: topics, producers and consumers that record
 * what the WebSocket layer asks of them, with sends that resolve when the test says (the "durable" moment) and
 * a consumer that delivers only within the permits it was given, as the real dispatcher does.
 */
import { BrokerError } from '../../../../broker/service';
import type {
  BrokerService,
  ConsumerSink,
  DeliveredMessage,
  SendRequest,
  SubscribeOptions,
} from '../../../../broker/service';
import { encodeKafkaEntry } from '../../../../broker/kafka/handler';
import { encodeRecordBatch } from '../../../../broker/kafka/record';
import type { CompressionCodec } from '../../../../broker/kafka/record';
import { encodeBatchPayload, parseEntry } from '../../../../broker/pulsar';
import type { MessageId, ParsedEntry } from '../../../../broker/pulsar';

export interface PendingSend {
  request: SendRequest;
  resolve(id: MessageId): void;
  reject(error: Error): void;
}

export class FakeProducer {
  readonly sends: PendingSend[] = [];
  /** Send requests not yet resolved or rejected, in order. */
  readonly pending: PendingSend[] = [];
  autoResolve = false;
  closed = false;
  /** The broker's hook to end this producer (ProducerOptions.onClose). */
  onClose: ((reason: string) => void) | undefined;
  private nextEntryId = 0n;
  constructor(readonly producerName: string) {}

  send(request: SendRequest): Promise<{ messageId: MessageId; duplicate: boolean }> {
    return new Promise((resolve, reject) => {
      const send: PendingSend = {
        request,
        resolve: (messageId) => resolve({ messageId, duplicate: false }),
        reject,
      };
      this.sends.push(send);
      if (this.autoResolve) send.resolve(this.nextId());
      else this.pending.push(send);
    });
  }

  nextId(): MessageId {
    return { ledgerId: 7n, entryId: this.nextEntryId++, partition: -1, batchIndex: -1 };
  }

  /** Makes the oldest pending sends durable. */
  release(count = this.pending.length): void {
    for (const send of this.pending.splice(0, count)) send.resolve(this.nextId());
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

export class FakeConsumer {
  permits = 0;
  readonly flows: number[] = [];
  readonly acks: MessageId[] = [];
  readonly nacks: MessageId[] = [];
  closed = false;
  endOfTopic = false;
  /** Messages waiting for permits; delivered as soon as permits allow. */
  readonly backlog: DeliveredMessage[] = [];
  readonly subscription: { name: string; topic: { unsubscribe(name: string): Promise<void> } };

  constructor(
    readonly options: SubscribeOptions,
    readonly sink: ConsumerSink,
    topic: FakeTopic,
  ) {
    this.subscription = { name: options.subscription, topic };
  }

  flow(permits: number): void {
    this.flows.push(permits);
    this.permits += permits;
    setImmediate(() => this.dispatch());
  }

  get consumerName(): string {
    return this.options.consumerName ?? 'fake-consumer';
  }

  /** Queues messages and dispatches what the permits allow. */
  publish(...messages: DeliveredMessage[]): void {
    this.backlog.push(...messages);
    this.dispatch();
  }

  private dispatch(): void {
    const count = Math.min(this.permits, this.backlog.length);
    if (count === 0 || this.closed) return;
    this.permits -= count;
    this.sink.sendMessages(this.backlog.splice(0, count));
  }

  acknowledge(ids: MessageId[]): Promise<void> {
    this.acks.push(...ids);
    return Promise.resolve();
  }
  negativeAcknowledge(ids: MessageId[]): void {
    this.nacks.push(...ids);
  }
  isEndOfTopic(): boolean {
    return this.endOfTopic;
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

export class FakeTopic {
  readonly producers: FakeProducer[] = [];
  readonly consumers: FakeConsumer[] = [];
  readonly unsubscribed: string[] = [];
  constructor(readonly name: string) {}

  addProducer(options: {
    producerName?: string;
    initialSequenceId?: bigint;
    onClose?: (reason: string) => void;
  }): Promise<FakeProducer> {
    if (options.producerName === 'busy') {
      return Promise.reject(
        new BrokerError('ProducerBusy', `Producer with name 'busy' is already connected`),
      );
    }
    const producer = new FakeProducer(options.producerName ?? `standalone-0-${this.producers.length}`);
    producer.onClose = options.onClose;
    this.producers.push(producer);
    return Promise.resolve(producer);
  }

  subscribe(options: SubscribeOptions, sink: ConsumerSink): Promise<FakeConsumer> {
    if (options.subscription === 'busy') {
      return Promise.reject(
        new BrokerError('ConsumerBusy', `Exclusive consumer is already connected to busy`),
      );
    }
    const consumer = new FakeConsumer(options, sink, this);
    this.consumers.push(consumer);
    return Promise.resolve(consumer);
  }

  unsubscribe(name: string): Promise<void> {
    this.unsubscribed.push(name);
    return Promise.resolve();
  }
}

export class FakeBroker {
  readonly topics = new Map<string, FakeTopic>();
  /** Partitioned topics by full name: their partition count. */
  readonly partitioned = new Map<string, number>();

  getPartitionCountForClient(name: { toString(): string }): Promise<number> {
    return Promise.resolve(this.partitioned.get(name.toString()) ?? 0);
  }

  getTopic(name: { toString(): string; localName: string }): Promise<FakeTopic> {
    if (name.localName === 'missing') {
      return Promise.reject(new BrokerError('TopicNotFound', `Topic ${name.toString()} not found`));
    }
    if (name.localName === 'terminated') {
      return Promise.reject(new BrokerError('TopicTerminated', `Topic ${name.toString()} is terminated`));
    }
    let topic = this.topics.get(name.toString());
    if (topic === undefined) {
      topic = new FakeTopic(name.toString());
      this.topics.set(name.toString(), topic);
    }
    return Promise.resolve(topic);
  }

  topic(localName: string): FakeTopic {
    const topic = this.topics.get(`persistent://public/default/${localName}`);
    if (topic === undefined) throw new Error(`no topic ${localName}`);
    return topic;
  }

  asBrokerService(): BrokerService {
    return this as unknown as BrokerService;
  }
}

/** A delivered message as the dispatcher hands it over. */
export function delivered(
  entryId: number,
  payload: string,
  extra: {
    key?: string;
    eventTime?: number;
    properties?: Record<string, string>;
    redeliveryCount?: number;
  } = {},
): DeliveredMessage {
  const metadata: ParsedEntry['metadata'] = {
    producerName: 'p',
    sequenceId: BigInt(entryId),
    publishTime: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
    properties: new Map(Object.entries(extra.properties ?? {})),
  };
  if (extra.key !== undefined) metadata.partitionKey = extra.key;
  if (extra.eventTime !== undefined) metadata.eventTime = extra.eventTime;
  const data = Buffer.from(payload);
  return {
    messageId: { ledgerId: 3n, entryId: BigInt(entryId), partition: -1, batchIndex: -1 },
    position: { ledgerId: 3n, entryId: BigInt(entryId) } as unknown as DeliveredMessage['position'],
    redeliveryCount: extra.redeliveryCount ?? 0,
    entry: { metadata, payload: data, numMessages: 1, message: data } as ParsedEntry,
    data,
  };
}

/** A batch entry of `payloads` (keys `key-<i>`), as a binary-protocol producer stores one. */
export function deliveredBatch(entryId: number, payloads: string[]): DeliveredMessage {
  const message = delivered(entryId, '');
  const payload = encodeBatchPayload(
    payloads.map((text, i) => ({
      metadata: { properties: new Map([['i', `${i}`]]), partitionKey: `key-${i}` },
      payload: Buffer.from(text),
    })),
  );
  message.entry = {
    ...message.entry,
    metadata: { ...message.entry.metadata, numMessagesInBatch: payloads.length },
    payload,
    numMessages: payloads.length,
  };
  return message;
}

/** An entry holding a Kafka RecordBatch (as the Kafka listener's Produce stores one) of `values`, keys `k<i>`. */
export async function deliveredKafkaBatch(
  entryId: number,
  values: string[],
  compression: CompressionCodec = 'none',
): Promise<DeliveredMessage> {
  const message = delivered(entryId, '');
  const batch = await encodeRecordBatch(
    values.map((value, i) => ({
      timestamp: Date.UTC(2026, 0, 1) + i,
      key: Buffer.from(`k${i}`),
      value: Buffer.from(value),
      headers: [{ key: 'i', value: Buffer.from(`${i}`) }],
    })),
    { compression },
  );
  const entry = parseEntry(
    encodeKafkaEntry(batch, {
      producerName: 'kafka',
      sequenceId: BigInt(entryId),
      publishTime: message.entry.metadata.publishTime,
      recordCount: values.length,
    }),
  );
  return { ...message, entry };
}
