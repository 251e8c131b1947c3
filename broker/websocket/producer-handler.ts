import type { Duplex } from 'node:stream';
import type { WebSocket, RawData } from 'ws';
import type { Logger } from '../../common';
import type { Producer, SendRequest } from '../service';
import type { MessageId } from '../pulsar';
import { decodeProducerMessage, encodeProducerAck, encodeProducerError } from './frames';
import type { ProducerMessage } from './frames';
import { WebSocketError, closeCodeOf, closeWebSocket } from './websocket-error';
import type { PartitionRouter } from './partition-router';
import type { ProducerParams } from './query-params';

/**
 * One producer connection (`/ws/v2/producer/...`): each text frame is one message, stored through the broker's
 * Producer; the reply `{"result":"ok","messageId",...}` is sent only after Producer.send resolves, i.e. after
 * the managed ledger acknowledged the add (the durability contract). A frame that cannot be decoded gets a
 * `send-error` reply and stores nothing.
 *
 * Flow control: at most `maxPendingMessages` sends are in flight. Beyond that the socket is paused, so the client's
 * frames wait in TCP buffers (its own send buffer fills) instead of in our memory; the few frames ws had already
 * parsed when the pause took effect wait in `waiting`, bounded by one socket read.
 */
export class ProducerHandler {
  private ws: WebSocket | undefined;
  private socket: Duplex | undefined;
  /** The socket is corked until the next tick: the replies of the sends completing together go out in one write. */
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket?.uncork();
  };
  private inFlight = 0;
  private readonly waiting: RawData[] = [];
  private paused = false;
  private closed = false;
  private closedProducer: Promise<void> | undefined;
  private readonly onDrained: Array<() => void> = [];
  /** One broker producer, or one per partition of a partitioned topic (index = partition). */
  private producers: Producer[] = [];
  private router: PartitionRouter | undefined;
  private endedByBroker: string | undefined;

  constructor(
    private readonly params: ProducerParams,
    private logger: Logger,
  ) {}

  /**
   * The broker producer this handler feeds (known once addProducer resolves, before the upgrade); on a partitioned
   * topic one per partition, with the router that picks each message's partition (its index in the reply's id).
   */
  bind(producers: Producer | Producer[], router?: PartitionRouter): void {
    this.producers = Array.isArray(producers) ? producers : [producers];
    this.router = router;
    const first = this.producers[0];
    if (first !== undefined) this.logger = this.logger.child({ producerName: first.producerName });
  }

  /** Takes over the upgraded socket (`socket`, the connection under `ws` when known, is corked around replies). */
  attach(ws: WebSocket, socket?: Duplex): void {
    this.ws = ws;
    this.socket = socket;
    ws.on('message', (data) => {
      try {
        this.onFrame(data);
      } catch (error) {
        // A frame must never take the broker down: this session ends, the others go on.
        this.logger.error({ err: error }, 'WebSocket producer frame failed');
        closeWebSocket(ws, closeCodeOf(WebSocketError.UnknownError), `Frame failed: ${errorMessage(error)}`);
      }
    });
    ws.on('close', () => void this.close());
    ws.on('error', (error) => this.logger.warn({ err: error }, 'WebSocket producer connection error'));
    if (this.endedByBroker !== undefined) this.whenDrained(() => this.closeEnded());
  }

  /**
   * The broker ended the producer (topic deleted, closed or fenced): no more frames are read; once the sends in
   * flight have their replies, the session closes with 4008 and the reason.
   */
  brokerClosed(reason: string): void {
    if (this.endedByBroker !== undefined) return;
    this.endedByBroker = reason;
    this.closed = true;
    this.waiting.length = 0;
    this.logger.info({ reason }, 'WebSocket producer ended by the broker');
    this.whenDrained(() => this.closeEnded());
  }

  private closeEnded(): void {
    if (this.ws !== undefined) {
      closeWebSocket(
        this.ws,
        closeCodeOf(WebSocketError.UnknownError),
        this.endedByBroker ?? 'Producer closed',
      );
    }
  }

  private whenDrained(action: () => void): void {
    if (this.inFlight === 0) action();
    else this.onDrained.push(action);
  }

  private onFrame(data: RawData): void {
    if (this.closed) return;
    if (this.inFlight >= this.params.maxPendingMessages) {
      this.waiting.push(data);
      if (!this.paused) {
        this.paused = true;
        this.ws?.pause();
      }
      return;
    }
    this.handleFrame(data);
  }

  private handleFrame(data: RawData): void {
    const decoded = decodeProducerMessage(frameText(data));
    if ('error' in decoded) {
      this.logger.debug({ errorMsg: decoded.errorMsg }, 'WebSocket send frame refused');
      this.reply(encodeProducerError(decoded.error, decoded.errorMsg, decoded.context));
      return;
    }
    const partition = this.router?.choose(decoded.key) ?? -1;
    const producer = this.producers[Math.max(partition, 0)];
    if (producer === undefined) return;
    this.inFlight++;
    const context = decoded.context;
    producer.send(toSendRequest(decoded)).then(
      ({ messageId }: { messageId: MessageId }) =>
        this.onSendDone(encodeProducerAck(partition < 0 ? messageId : { ...messageId, partition }, context)),
      (error: unknown) => {
        this.logger.warn({ err: error }, 'WebSocket send failed');
        this.onSendDone(encodeProducerError(WebSocketError.UnknownError, errorMessage(error), context));
      },
    );
  }

  private onSendDone(reply: string): void {
    this.inFlight--;
    this.reply(reply);
    if (this.closed) {
      if (this.inFlight === 0) for (const action of this.onDrained.splice(0)) action();
      return;
    }
    while (this.waiting.length > 0 && this.inFlight < this.params.maxPendingMessages) {
      this.handleFrame(this.waiting.shift()!);
    }
    if (this.paused && this.waiting.length === 0) {
      this.paused = false;
      this.ws?.resume();
    }
  }

  private reply(text: string): void {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== ws.OPEN) return;
    if (!this.corked && this.socket !== undefined) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    ws.send(text);
  }

  /** Ends the connection (if open) with a close code, then closes the producer once its sends have settled. */
  end(code: number, reason: string): Promise<void> {
    if (this.ws !== undefined) closeWebSocket(this.ws, code, reason);
    return this.close();
  }

  /**
   * Frames parsed but not yet sent are dropped: the client got no reply for them. Sends in flight complete (their
   * entries are being written) before the producer closes.
   */
  close(): Promise<void> {
    this.closedProducer ??= (async () => {
      this.closed = true;
      this.waiting.length = 0;
      await new Promise<void>((resolve) => this.whenDrained(resolve));
      await Promise.all(
        this.producers.map((producer) =>
          producer.close().catch((error: unknown) => {
            this.logger.warn({ err: error }, 'closing a WebSocket producer failed');
          }),
        ),
      );
    })();
    return this.closedProducer;
  }
}

function toSendRequest(message: ProducerMessage): SendRequest {
  const request: SendRequest = { payload: message.payload };
  if (message.properties !== undefined) request.properties = message.properties;
  if (message.key !== undefined) request.key = message.key;
  if (message.eventTime !== undefined) request.eventTime = message.eventTime;
  if (message.sequenceId !== undefined) request.sequenceId = message.sequenceId;
  return request;
}

/** A frame's text: ws hands over a Buffer (or fragments, or an ArrayBuffer for other binaryTypes). */
export function frameText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString();
  return Array.isArray(data) ? Buffer.concat(data).toString() : Buffer.from(data).toString();
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
