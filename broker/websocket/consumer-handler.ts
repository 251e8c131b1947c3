import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Logger } from '../../common';
import { formatMessageId, messageIdFromBase64 } from '../pulsar';
import type { MessageId } from '../pulsar';
import type { Consumer, ConsumerSink, DeliveredMessage } from '../service';
import { DeliveryCounts } from './delivery-counts';
import { decodeConsumerCommand, encodeConsumerMessages, encodeEndOfTopic } from './frames';
import type { ConsumerCommand, ConsumerFrame } from './frames';
import { errorMessage, frameText } from './producer-handler';
import { closeCodeOf, closeWebSocket, WebSocketError } from './websocket-error';

/**
 * Permits handed to the broker-side consumer and not yet used, at most (whatever the client's credit): 1000, or
 * fewer for large messages — as many as fit SOCKET_BUFFERED_BYTES_HIGH at the average frame size seen so far — so
 * that one window of deliveries is a bounded number of bytes too.
 */
export const GRANTED_PERMITS_MAX = 1000;
/** Over this many bytes queued on the socket, no more permits are granted until it drains below the low mark. */
export const SOCKET_BUFFERED_BYTES_HIGH = 8 * 1024 * 1024;
export const SOCKET_BUFFERED_BYTES_LOW = 1024 * 1024;

/** "L:E": the entry a message id belongs to. */
function entryKey(id: MessageId): string {
  return `${id.ledgerId}:${id.entryId}`;
}

/** A delivered message's frames, or the reason it cannot be sent. */
type EncodedMessage =
  { message: DeliveredMessage; frames: ConsumerFrame[] } | { message: DeliveredMessage; error: unknown };

/**
 * What a session asks of its broker consumer: one Consumer (sessionConsumer), or the consumers of every partition
 * of a partitioned topic seen as one (PartitionedConsumer).
 */
export interface SessionConsumer {
  flow(permits: number): void;
  acknowledge(ids: MessageId[]): Promise<void>;
  negativeAcknowledge(ids: MessageId[]): void;
  isEndOfTopic(): boolean;
  close(): Promise<void>;
  /** Removes the subscription (the consumer is closed first). */
  unsubscribe(): Promise<void>;
}

/** One broker Consumer as a session's consumer. */
export function sessionConsumer(consumer: Consumer): SessionConsumer {
  return {
    flow: (permits) => consumer.flow(permits),
    acknowledge: (ids) => consumer.acknowledge(ids),
    negativeAcknowledge: (ids) => consumer.negativeAcknowledge(ids),
    isEndOfTopic: () => consumer.isEndOfTopic(),
    close: () => consumer.close(),
    unsubscribe: () => consumer.subscription.topic.unsubscribe(consumer.subscription.name),
  };
}

export interface ConsumerHandlerOptions {
  /** 'reader' sessions ack nothing on the broker: an ack frame only frees a slot (Pulsar's ReaderHandler). */
  mode: 'consumer' | 'reader';
  /** Push mode: at most this many delivered messages neither acked nor nacked. */
  maxPendingMessages: number;
  /** Pull mode: nothing is sent until the client sends `{"type":"permit","permitMessages":N}`. */
  pullMode: boolean;
  /** A compressed payload inflating past this is refused (maxMessageSize). */
  payloadBytesMax: number;
  /** Consumers with a dead-letter policy: where messages redelivered too often go instead of to the client. */
  deadLetter?: DeadLetterTarget;
  logger: Logger;
}

/** A consumer session's dead-letter topic (Pulsar's DeadLetterPolicy, applied as its client applies it). */
export interface DeadLetterTarget {
  /** A message whose redeliveryCount is above this is not delivered: it goes to the dead-letter topic. */
  readonly maxRedeliverCount: number;
  /** Publishes one message to the dead-letter topic; resolves once it is durable there. */
  publish(message: DeadLetterMessage): Promise<void>;
  /** The session ended: its producer on the dead-letter topic (if one was made) is closed. */
  close(): Promise<void>;
}

/** One message bound for the dead-letter topic: what the client would have received, and where it came from. */
export interface DeadLetterMessage {
  payload: Buffer;
  properties: Map<string, string>;
  key?: string;
  eventTime?: number;
  /** Pulsar's ORIGIN_MESSAGE_ID property: the message id as Pulsar's MessageId.toString writes it. */
  originMessageId: string;
}

/**
 * One consumer or reader connection: the ConsumerSink of a broker Consumer, writing each delivered message as
 * one JSON text frame and turning the client's frames into acks, negative acks, permits, unsubscribe and
 * isEndOfTopic.
 *
 * Flow control is in messages and bytes. `credit` is what the client may still receive: in push mode
 * maxPendingMessages less the messages delivered and not yet acked or nacked (Pulsar's pendingMessages); in pull
 * mode the permits the client sent. Credit becomes broker permits (Consumer.flow) at most GRANTED_PERMITS_MAX
 * at a time and only while the socket's send buffer is under SOCKET_BUFFERED_BYTES_HIGH, so a client that
 * reads slowly stops dispatch instead of making us buffer without bound.
 */
export class ConsumerHandler implements ConsumerSink {
  private ws: WebSocket | undefined;
  private socket: Duplex | undefined;
  private consumer: SessionConsumer | undefined;
  private credit: number;
  /** Permits given to the broker and not yet used by a delivery. */
  private granted = 0;
  /**
   * Batch entries delivered on this connection ("L:E"): the batch indexes the client has not acked yet. The entry
   * is acknowledged on the broker when the last one is (the broker acks whole entries); acking an index twice
   * counts once.
   */
  private readonly batches = new Map<string, Set<number>>();
  /**
   * Batch entries delivered elsewhere whose messages this connection acks (pull mode allows acks from any
   * connection): the indexes acked so far, out of the id's batchSize. As Pulsar's client does for a batch id it
   * did not receive, the entry is acknowledged only once every index has been.
   */
  private readonly foreignBatches = new Map<string, { size: number; acked: Set<number> }>();
  /** Push mode and readers: deliveries not yet acked or nacked, by message id, with their count. */
  private readonly pending = new DeliveryCounts();
  private socketFull = false;
  /**
   * Acks received and not yet passed to the broker consumer: the acks that arrive in one turn of the event loop
   * (typically one socket read of many frames) go as one acknowledge call at its end, as Pulsar's client groups
   * acks before they reach the broker. Flushed before anything that must see them (a nack, unsubscribe, close).
   */
  private acksQueued: MessageId[] = [];
  /** The end of the turn in which frames arrived: queued acks go to the broker, freed credit becomes permits. */
  private turnEnd: NodeJS.Immediate | undefined;
  /** Running average of the frames' size in bytes (weights 1/16 the newest). */
  private frameBytesAverage = 1024;
  private closing: Promise<void> | undefined;
  /** The last delivery waiting for a Kafka entry to be decoded; undefined when none is. */
  private delivering: Promise<void> | undefined;
  private endedByBroker: string | undefined;
  private readonly onWritten = (): void => {
    const ws = this.ws;
    if (this.socketFull && ws !== undefined && ws.bufferedAmount <= SOCKET_BUFFERED_BYTES_LOW) {
      this.socketFull = false;
      this.grant();
    }
  };

  constructor(private readonly options: ConsumerHandlerOptions) {
    this.credit = options.pullMode ? 0 : options.maxPendingMessages;
  }

  /** The broker consumer this handler is the sink of (known once subscribe resolves, before the upgrade). */
  bind(consumer: SessionConsumer): void {
    this.consumer = consumer;
  }

  /**
   * Takes over the upgraded socket and starts the flow of messages. `socket` (the connection under `ws`, when
   * known) is corked while a delivery's frames are queued, so that they go out in one write.
   */
  attach(ws: WebSocket, socket?: Duplex): void {
    this.ws = ws;
    this.socket = socket;
    ws.on('message', (data) => {
      try {
        this.onFrame(frameText(data));
      } catch (error) {
        // A frame must never take the broker down: this session ends, the others go on.
        this.options.logger.error({ err: error }, 'WebSocket consumer frame failed');
        void this.end(closeCodeOf(WebSocketError.UnknownError), `Frame failed: ${errorMessage(error)}`);
      }
    });
    ws.on('close', () => void this.detach());
    ws.on('error', (error) =>
      this.options.logger.warn({ err: error }, 'WebSocket consumer connection error'),
    );
    if (this.endedByBroker !== undefined) {
      this.closeSocket(closeCodeOf(WebSocketError.UnknownError), this.endedByBroker);
      return;
    }
    this.grant();
  }

  // ConsumerSink

  sendMessages(messages: DeliveredMessage[]): void {
    const ws = this.ws;
    let permitsUsed = 0;
    for (const message of messages) permitsUsed += message.entry.numMessages;
    this.granted = Math.max(0, this.granted - permitsUsed);
    if (ws === undefined || ws.readyState !== ws.OPEN) return; // the consumer's close redelivers them
    const encoded = messages.map((message) => this.encode(message));
    if (this.delivering === undefined && !encoded.some((e) => e instanceof Promise)) {
      this.deliver(encoded as EncodedMessage[]);
      return;
    }
    // A Kafka entry's records are decoded asynchronously: this delivery, and every one after it until the chain
    // is empty again, waits for the ones before it, so frames leave in the order the broker dispatched them.
    const delivery = (this.delivering ?? Promise.resolve())
      .then(async () => this.deliver(await Promise.all(encoded)))
      .catch((error: unknown) => {
        // Nothing of it is acknowledged: ending the session gives it back to the broker for redelivery.
        this.options.logger.error({ err: error }, 'WebSocket delivery failed');
        void this.end(closeCodeOf(WebSocketError.UnknownError), `Delivery failed: ${errorMessage(error)}`);
      })
      .finally(() => {
        if (this.delivering === delivery) this.delivering = undefined;
      });
    this.delivering = delivery;
  }

  /** A message's frames, or why it cannot be sent; a promise for an entry decoded asynchronously (never rejected). */
  private encode(message: DeliveredMessage): EncodedMessage | Promise<EncodedMessage> {
    try {
      const frames = encodeConsumerMessages(message, this.options.payloadBytesMax);
      if (Array.isArray(frames)) return { message, frames };
      return frames.then(
        (decoded) => ({ message, frames: decoded }),
        (error: unknown) => ({ message, error }),
      );
    } catch (error) {
      return { message, error };
    }
  }

  /** Writes one delivery's frames (the socket corked meanwhile), then grants what the window allows. */
  private deliver(all: EncodedMessage[]): void {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== ws.OPEN) return; // the consumer's close redelivers them
    const encoded = this.divertDeadLetters(all);
    const socket = this.socket;
    socket?.cork();
    try {
      if (!this.sendFrames(ws, encoded)) return;
    } finally {
      socket?.uncork();
    }
    if (ws.bufferedAmount > SOCKET_BUFFERED_BYTES_HIGH) this.socketFull = true;
    this.grant();
  }

  /** One frame per message; false when a message cannot be sent (the session ends). */
  private sendFrames(ws: WebSocket, encoded: EncodedMessage[]): boolean {
    const track = !this.options.pullMode || this.options.mode === 'reader';
    let last: string | undefined;
    for (const item of encoded) {
      const { message } = item;
      if ('error' in item) {
        // The message stays stored and unacknowledged; the client is told which one it cannot be given.
        if (last !== undefined) ws.send(last, this.onWritten);
        const id = formatMessageId(message.messageId);
        this.options.logger.error(
          { err: item.error, messageId: id },
          'cannot deliver a message over WebSocket',
        );
        void this.end(
          closeCodeOf(WebSocketError.FailedToSerializeToJSON),
          `Cannot deliver message ${id}: ${errorMessage(item.error)}`,
        );
        return false;
      }
      const { frames } = item;
      if (frames.some((f) => f.messageId.batchIndex >= 0)) {
        this.batches.set(entryKey(message.messageId), new Set(frames.map((f) => f.messageId.batchIndex)));
      }
      for (const { messageId, frame } of frames) {
        if (track) this.pending.add(messageId);
        this.frameBytesAverage += (frame.length - this.frameBytesAverage) / 16;
        // Only the last frame of the delivery carries the write callback: it runs once all of them are written.
        if (last !== undefined) ws.send(last);
        last = frame;
      }
    }
    if (last !== undefined) ws.send(last, this.onWritten);
    return true;
  }

  /**
   * With a dead-letter policy, as Pulsar's client: messages redelivered more than maxRedeliverCount times are
   * published to the dead-letter topic and then acknowledged, never shown to the client (whose window gets their
   * slots back). If publishing fails, the entry is negatively acknowledged and comes back later to try again.
   * Returns the rest, to deliver.
   */
  private divertDeadLetters(encoded: EncodedMessage[]): EncodedMessage[] {
    const deadLetter = this.options.deadLetter;
    if (deadLetter === undefined) return encoded;
    const deliver: EncodedMessage[] = [];
    for (const item of encoded) {
      if (!('frames' in item) || item.message.redeliveryCount <= deadLetter.maxRedeliverCount) {
        deliver.push(item);
        continue;
      }
      this.credit += item.frames.length;
      void this.sendToDeadLetter(deadLetter, item.message, item.frames);
    }
    return deliver;
  }

  private async sendToDeadLetter(
    deadLetter: DeadLetterTarget,
    message: DeliveredMessage,
    frames: ConsumerFrame[],
  ): Promise<void> {
    const entryId = { ...message.messageId, batchIndex: -1 };
    try {
      for (const { messageId, frame } of frames)
        await deadLetter.publish(deadLetterMessage(messageId, frame));
    } catch (error) {
      this.options.logger.warn(
        { err: error, messageId: formatMessageId(message.messageId) },
        'publishing to the dead-letter topic failed; the message comes back later',
      );
      this.consumer?.negativeAcknowledge([entryId]);
      return;
    }
    if (this.consumer === undefined || this.closing !== undefined) return; // redelivered, and diverted again
    this.acksQueued.push(entryId);
    this.scheduleTurnEnd();
  }

  /** The broker ended this consumer (unsubscribed, topic deleted, broker closing): the session ends with the reason. */
  close(reason: string): void {
    this.endedByBroker = reason;
    this.closeSocket(closeCodeOf(WebSocketError.UnknownError), reason);
  }

  /** The connection went away: the broker consumer is closed and its unacked messages go back for redelivery. */
  detach(): Promise<void> {
    this.closing ??= (async () => {
      // Acks the client sent before it went away count: only what is still unacked comes back.
      this.flushAcks();
      if (this.endedByBroker === undefined) {
        await this.consumer?.close().catch((error: unknown) => {
          this.options.logger.warn({ err: error }, 'closing a WebSocket consumer failed');
        });
      }
      await this.options.deadLetter?.close().catch((error: unknown) => {
        this.options.logger.warn({ err: error }, 'closing the dead-letter producer failed');
      });
    })();
    return this.closing;
  }

  reachedEndOfTopic(): void {
    this.options.logger.debug('end of topic reached');
  }

  /** Ends the session with a close code and closes the broker consumer. */
  end(code: number, reason: string): Promise<void> {
    this.closeSocket(code, reason);
    return this.detach();
  }

  private closeSocket(code: number, reason: string): void {
    if (this.ws !== undefined) closeWebSocket(this.ws, code, reason);
  }

  /** Turns credit into broker permits while the window and the socket allow. */
  private grant(): void {
    const consumer = this.consumer;
    if (consumer === undefined || this.ws === undefined || this.socketFull || this.closing !== undefined)
      return;
    const window = Math.max(
      1,
      Math.min(GRANTED_PERMITS_MAX, Math.floor(SOCKET_BUFFERED_BYTES_HIGH / this.frameBytesAverage)),
    );
    const permits = Math.min(this.credit, window - this.granted);
    if (permits <= 0) return;
    this.credit -= permits;
    this.granted += permits;
    consumer.flow(permits);
  }

  /** A delivery is settled (acked or nacked): in push mode and for readers, its slots come back as credit. */
  private settle(messageId: MessageId): void {
    if (this.options.pullMode && this.options.mode === 'consumer') return;
    const count = this.pending.take(messageId);
    if (count === 0) return;
    this.credit += count;
    this.scheduleTurnEnd();
  }

  private onFrame(text: string): void {
    const consumer = this.consumer;
    if (consumer === undefined || this.closing !== undefined) return;
    const command = decodeConsumerCommand(text);
    if (typeof command === 'string') {
      void this.end(closeCodeOf(WebSocketError.FailedToDeserializeFromJSON), command);
      return;
    }
    this.handleCommand(consumer, command);
  }

  private handleCommand(consumer: SessionConsumer, command: ConsumerCommand): void {
    switch (command.type) {
      case 'ack':
      case 'negativeAcknowledge': {
        let messageId: MessageId;
        try {
          messageId = messageIdFromBase64(command.messageId);
        } catch (error) {
          void this.end(
            closeCodeOf(WebSocketError.FailedToDeserializeFromJSON),
            `Invalid messageId ${command.messageId}: ${errorMessage(error)}`,
          );
          return;
        }
        if (this.options.mode === 'consumer') {
          if (command.type === 'ack') this.acknowledge(messageId);
          else {
            this.flushAcks();
            this.batches.delete(entryKey(messageId)); // the whole batch comes again
            this.foreignBatches.delete(entryKey(messageId));
            consumer.negativeAcknowledge([messageId]);
          }
        }
        this.settle(messageId);
        return;
      }
      case 'permit':
        if (!this.options.pullMode) return; // Pulsar ignores permits outside pull mode
        this.credit = Math.min(this.credit + command.permitMessages, Number.MAX_SAFE_INTEGER);
        this.grant();
        return;
      case 'isEndOfTopic':
        this.ws?.send(encodeEndOfTopic(consumer.isEndOfTopic()));
        return;
      case 'unsubscribe':
        this.flushAcks();
        void this.unsubscribe(consumer);
        return;
    }
  }

  private acknowledge(messageId: MessageId): void {
    if (messageId.batchIndex >= 0 && !this.completesEntry(messageId)) return;
    this.acksQueued.push(messageId);
    this.scheduleTurnEnd();
  }

  /** Whether acking this message of a batch leaves none of its entry unacked (see batches, foreignBatches). */
  private completesEntry(messageId: MessageId): boolean {
    const key = entryKey(messageId);
    const unacked = this.batches.get(key);
    if (unacked !== undefined) {
      unacked.delete(messageId.batchIndex);
      if (unacked.size > 0) return false;
      this.batches.delete(key);
      return true;
    }
    const size = messageId.batchSize ?? 0;
    if (size <= 1 || messageId.batchIndex >= size) return true;
    let foreign = this.foreignBatches.get(key);
    if (foreign === undefined) {
      foreign = { size, acked: new Set() };
      this.foreignBatches.set(key, foreign);
    }
    foreign.acked.add(messageId.batchIndex);
    if (foreign.acked.size < foreign.size) return false;
    this.foreignBatches.delete(key);
    return true;
  }

  private scheduleTurnEnd(): void {
    this.turnEnd ??= setImmediate(() => {
      this.turnEnd = undefined;
      this.flushAcks();
      this.grant();
    });
  }

  /** Passes the queued acks to the broker consumer in one call. */
  private flushAcks(): void {
    const ids = this.acksQueued;
    const consumer = this.consumer;
    if (ids.length === 0 || consumer === undefined) return;
    this.acksQueued = [];
    consumer.acknowledge(ids).catch((error: unknown) => {
      if (ids.length === 1) {
        this.options.logger.warn({ err: error, messageId: formatMessageId(ids[0]!) }, 'ack failed');
        return;
      }
      // One id the broker refuses (no such entry, say) refuses the whole call: each one again on its own, so
      // that only the bad ones fail, as when every ack went alone.
      for (const id of ids) {
        consumer.acknowledge([id]).catch((single: unknown) => {
          this.options.logger.warn({ err: single, messageId: formatMessageId(id) }, 'ack failed');
        });
      }
    });
  }

  private async unsubscribe(consumer: SessionConsumer): Promise<void> {
    if (this.options.mode === 'reader') return;
    await this.detach();
    try {
      await consumer.unsubscribe();
      this.closeSocket(1000, 'Unsubscribed');
    } catch (error) {
      this.options.logger.warn({ err: error }, 'unsubscribe failed');
      this.closeSocket(
        closeCodeOf(WebSocketError.UnknownError),
        `Unsubscribe failed: ${errorMessage(error)}`,
      );
    }
  }
}

/** The dead-letter copy of one message, from the frame the client would have got (Pulsar's client copies it so). */
function deadLetterMessage(messageId: MessageId, frame: string): DeadLetterMessage {
  const parsed = JSON.parse(frame) as {
    payload: string;
    properties: Record<string, string>;
    key?: string;
    eventTime?: string;
  };
  // As Java's MessageId.toString: ledger:entry:partition, then :batchIndex for a batch message.
  const { ledgerId, entryId, partition, batchIndex } = messageId;
  const message: DeadLetterMessage = {
    payload: Buffer.from(parsed.payload, 'base64'),
    properties: new Map(Object.entries(parsed.properties)),
    originMessageId: `${ledgerId}:${entryId}:${partition}${batchIndex >= 0 ? `:${batchIndex}` : ''}`,
  };
  if (parsed.key !== undefined) message.key = parsed.key;
  const eventTime = parsed.eventTime === undefined ? Number.NaN : Date.parse(parsed.eventTime);
  if (Number.isFinite(eventTime)) message.eventTime = eventTime;
  return message;
}
