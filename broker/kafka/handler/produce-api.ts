import type { Logger } from '../../../common';
import type { PersistentTopic, Producer } from '../../service';
import { KafkaErrorCode } from '../protocol';
import type { ApiKey, RequestBody, ResponseBody } from '../protocol';
import { splitBatches, validateProducedBatch } from '../record';
import { encodeKafkaEntry } from './entry-batches';
import { answerError } from './errors';
import type { KafkaTopics } from './kafka-topics';

type ProduceRequest = RequestBody<typeof ApiKey.Produce>;
type ProduceResponse = ResponseBody<typeof ApiKey.Produce>;
type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];

/**
 * Produce v3: each partition's records must be exactly one RecordBatch v2 that `validateProducedBatch` accepts
 * (CRC-32C, magic, offsets; decompressed within the cap); it is stored as received as one entry (Pulsar's entry
 * format, MessageMetadata marked `__kafka_entry_format=kafka` with numMessagesInBatch = the record count), so the
 * running index advances by the record count and the base offset answered is index - (count - 1). The batch is
 * stored with that base offset already written (the index is assigned synchronously with the send), so a fetch
 * hands it back as is. The answer comes once every entry is durable (acks -1 and 1 alike: one write quorum).
 */
export class ProduceApi {
  /** One broker-side producer per topic for every Kafka client (its name is the entries' producerName). */
  private readonly producers = new WeakMap<PersistentTopic, Promise<Producer>>();

  constructor(
    private readonly topics: KafkaTopics,
    private readonly logger: Logger,
  ) {}

  /**
   * Produces every partition's batch; calls `ordered` once each batch has been handed to its partition's log (or
   * refused), before they are durable: a request after this one may then start, and its batches land after these.
   */
  async handle(request: ProduceRequest, ordered?: () => void): Promise<ProduceResponse> {
    let unordered = request.topicData.reduce((sum, topicData) => sum + topicData.partitionData.length, 0);
    if (unordered === 0) ordered?.();
    /** A partition's hand-over: counted once, however often it is called. */
    const handOver = (): (() => void) => {
      let done = false;
      return () => {
        if (done) return;
        done = true;
        if (--unordered === 0) ordered?.();
      };
    };
    const responses = await Promise.all(
      request.topicData.map(async (topicData) => ({
        name: topicData.name,
        partitionResponses: await Promise.all(
          topicData.partitionData.map((partition) => {
            const handedOver = handOver();
            return this.producePartition(
              topicData.name,
              partition.index,
              partition.records,
              request.acks,
              handedOver,
            ).finally(handedOver);
          }),
        ),
      })),
    );
    return { responses, throttleTimeMs: 0 };
  }

  /** One partition's batch; `handedOver` is called once it is handed to the log (a refusal is counted by the caller). */
  private async producePartition(
    topicName: string,
    index: number,
    records: Buffer | null,
    acks: number,
    handedOver: () => void,
  ): Promise<PartitionResponse> {
    const refuse = (errorCode: number): PartitionResponse => ({ index, errorCode, baseOffset: -1n });
    if (acks !== 0 && acks !== 1 && acks !== -1) return refuse(KafkaErrorCode.INVALID_REQUIRED_ACKS);
    if (records === null || records.length === 0) return refuse(KafkaErrorCode.INVALID_RECORD);
    try {
      const topic = await this.topics.partition(this.topics.topicName(topicName), index);
      if (topic === undefined) return refuse(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      // Exactly one batch (Kafka's INVALID_RECORD for more on Produce v3+), whole and valid.
      if (splitBatches(records).batches.length > 1) return refuse(KafkaErrorCode.INVALID_RECORD);
      const header = await validateProducedBatch(records);
      const producer = await this.producerOf(topic);
      // From here to sendEntry nothing awaits: the index the topic assigns is the one read here.
      const baseOffset = topic.getLastIndex() + 1n;
      records.writeBigInt64BE(baseOffset, 0);
      const message = encodeKafkaEntry(records, {
        producerName: producer.producerName,
        sequenceId: producer.lastSequenceId + 1n,
        publishTime: Date.now(),
        recordCount: header.recordCount,
      });
      // The batch's CRC-32C was checked above and encodeKafkaEntry computed the message's: no third pass over it.
      const sending = producer.sendEntry(message, header.recordCount, { verifyChecksum: false });
      handedOver();
      const result = await sending;
      if (result.duplicate) return { index, errorCode: KafkaErrorCode.NONE, baseOffset: -1n };
      return { index, errorCode: KafkaErrorCode.NONE, baseOffset };
    } catch (error) {
      return refuse(
        answerError(this.logger, error, { topic: topicName, partition: index }, 'kafka produce refused'),
      );
    }
  }

  private producerOf(topic: PersistentTopic): Promise<Producer> {
    let pending = this.producers.get(topic);
    if (pending === undefined) {
      pending = topic.addProducer({
        onClose: () => {
          if (this.producers.get(topic) === pending) this.producers.delete(topic);
        },
        clientVersion: 'kafka',
      });
      pending.catch(() => {
        if (this.producers.get(topic) === pending) this.producers.delete(topic);
      });
      this.producers.set(topic, pending);
      return pending;
    }
    return pending.then((producer) => {
      if (!producer.isClosed()) return producer;
      this.producers.delete(topic);
      return this.producerOf(topic);
    });
  }
}
