import type { Logger } from '../../../common';
import type { PersistentTopic } from '../../service';
import { KafkaErrorCode } from '../protocol';
import type { ApiKey, RequestBody, ResponseBody } from '../protocol';
import { answerError } from './errors';
import type { KafkaTopics } from './kafka-topics';
import { PartitionLog } from './partition-log';

type FetchRequest = RequestBody<typeof ApiKey.Fetch>;
type FetchResponse = ResponseBody<typeof ApiKey.Fetch>;
type FetchPartition = FetchResponse['responses'][number]['partitions'][number];
type ListOffsetsRequest = RequestBody<typeof ApiKey.ListOffsets>;
type ListOffsetsResponse = ResponseBody<typeof ApiKey.ListOffsets>;
type ListOffsetsPartition = ListOffsetsResponse['topics'][number]['partitions'][number];

/** The longest a Fetch waits for data, whatever max_wait_ms says (Kafka's clients ask 500 ms to 5 s). */
const MAX_WAIT_MS_CAP = 30_000;
const EMPTY = Buffer.alloc(0);

/**
 * Fetch v4 and ListOffsets v1 over the partitions' managed ledgers (PartitionLog). Fetch answers at once when
 * any partition has data or an error; otherwise it waits up to max_wait_ms for an add to any partition asked
 * for, and reads again (so an answer may be empty).
 */
export class FetchApi {
  private readonly logs = new WeakMap<PersistentTopic, PartitionLog>();
  private readonly waits = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly topics: KafkaTopics,
    private readonly logger: Logger,
  ) {}

  /** Ends every waiting Fetch now (the broker is closing). */
  close(): void {
    this.closed = true;
    for (const wake of [...this.waits]) wake();
  }

  logOf(topic: PersistentTopic): PartitionLog {
    let log = this.logs.get(topic);
    if (log === undefined) {
      log = new PartitionLog(topic);
      this.logs.set(topic, log);
    }
    return log;
  }

  async fetch(request: FetchRequest): Promise<FetchResponse> {
    const maxWaitMs = Math.min(Math.max(request.maxWaitMs, 0), MAX_WAIT_MS_CAP);
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const logs: PartitionLog[] = [];
      const response = await this.readOnce(request, logs);
      const remaining = deadline - Date.now();
      if (response.ready || remaining <= 0 || this.closed || logs.length === 0) return response.body;
      await this.waitForAdd(logs, remaining);
    }
  }

  private async readOnce(
    request: FetchRequest,
    logs: PartitionLog[],
  ): Promise<{ body: FetchResponse; ready: boolean }> {
    let budget = request.maxBytes > 0 ? request.maxBytes : 0;
    let bytes = 0;
    let errors = false;
    const responses: FetchResponse['responses'] = [];
    // Partitions in request order, one after another: the byte budget is shared in that order (as Kafka's).
    for (const topicData of request.topics) {
      const partitions: FetchPartition[] = [];
      for (const p of topicData.partitions) {
        const answer = await this.fetchPartition(topicData.topic, p, budget, bytes === 0, logs);
        partitions.push(answer.partition);
        bytes += answer.bytes;
        budget = Math.max(0, budget - answer.bytes);
        if (answer.partition.errorCode !== KafkaErrorCode.NONE) errors = true;
      }
      responses.push({ topic: topicData.topic, partitions });
    }
    const ready = errors || bytes >= Math.max(request.minBytes, 1);
    return { body: { throttleTimeMs: 0, responses }, ready };
  }

  private async fetchPartition(
    topicName: string,
    p: FetchRequest['topics'][number]['partitions'][number],
    budget: number,
    firstWithData: boolean,
    logs: PartitionLog[],
  ): Promise<{ partition: FetchPartition; bytes: number }> {
    const answer = (errorCode: number, highWatermark = -1n): FetchPartition => ({
      partitionIndex: p.partition,
      errorCode,
      highWatermark,
      lastStableOffset: highWatermark,
      abortedTransactions: null,
      records: EMPTY,
    });
    try {
      const topic = await this.topics.partition(this.topics.topicName(topicName), p.partition);
      if (topic === undefined)
        return { partition: answer(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION), bytes: 0 };
      const log = this.logOf(topic);
      logs.push(log);
      const highWatermark = await log.highWatermark();
      const logStart = await log.logStartOffset();
      if (p.fetchOffset > highWatermark || p.fetchOffset < logStart) {
        return { partition: answer(KafkaErrorCode.OFFSET_OUT_OF_RANGE, highWatermark), bytes: 0 };
      }
      if (p.fetchOffset === highWatermark)
        return { partition: answer(KafkaErrorCode.NONE, highWatermark), bytes: 0 };
      const limit = Math.min(Math.max(p.partitionMaxBytes, 0), budget);
      const read = await log.read(p.fetchOffset, limit, firstWithData);
      const records = read.batches.length === 1 ? read.batches[0]! : Buffer.concat(read.batches, read.bytes);
      return { partition: { ...answer(KafkaErrorCode.NONE, highWatermark), records }, bytes: read.bytes };
    } catch (error) {
      const fields = { topic: topicName, partition: p.partition };
      return { partition: answer(answerError(this.logger, error, fields, 'kafka fetch failed')), bytes: 0 };
    }
  }

  /** Resolves at the first add to any of `logs`, after `timeoutMs`, or when closed. */
  private waitForAdd(logs: PartitionLog[], timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const cancels: Array<() => void> = [];
      const wake = (): void => {
        clearTimeout(timer);
        this.waits.delete(wake);
        for (const cancel of cancels) cancel();
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      timer.unref();
      this.waits.add(wake);
      for (const log of logs) cancels.push(log.onNextAdd(wake));
    });
  }

  async listOffsets(request: ListOffsetsRequest): Promise<ListOffsetsResponse> {
    const topics: ListOffsetsResponse['topics'] = [];
    for (const topicData of request.topics) {
      const partitions: ListOffsetsPartition[] = [];
      for (const p of topicData.partitions) {
        partitions.push(await this.listOffset(topicData.name, p.partitionIndex, p.timestamp));
      }
      topics.push({ name: topicData.name, partitions });
    }
    return { topics };
  }

  /** -1 latest (the high watermark), -2 earliest (the log start), else the first entry published at or after it. */
  private async listOffset(
    topicName: string,
    index: number,
    timestamp: bigint,
  ): Promise<ListOffsetsPartition> {
    const answer = (errorCode: number, offset = -1n, at = -1n): ListOffsetsPartition => ({
      partitionIndex: index,
      errorCode,
      timestamp: at,
      offset,
    });
    try {
      const topic = await this.topics.partition(this.topics.topicName(topicName), index);
      if (topic === undefined) return answer(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      const log = this.logOf(topic);
      if (timestamp === -1n) return answer(KafkaErrorCode.NONE, await log.highWatermark());
      if (timestamp === -2n) return answer(KafkaErrorCode.NONE, await log.logStartOffset());
      if (timestamp < 0n) return answer(KafkaErrorCode.INVALID_REQUEST);
      const ms = timestamp > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(timestamp);
      const found = await log.offsetForTimestamp(ms);
      if (found === undefined) return answer(KafkaErrorCode.NONE);
      return answer(KafkaErrorCode.NONE, found.baseOffset, BigInt(found.publishTime));
    } catch (error) {
      const fields = { topic: topicName, partition: index };
      return answer(answerError(this.logger, error, fields, 'kafka list offsets failed'));
    }
  }
}
