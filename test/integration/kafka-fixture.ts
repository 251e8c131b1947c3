/**
 * What the Kafka integration tests share: a raw Kafka client speaking our codec (broker/kafka/protocol) over TCP,
 * one request at a time, and the Kafka port a standalone process printed.
 */
import type { Socket } from 'node:net';
import { ApiKey, FrameSplitter, decodeResponse, encodeRequest } from '../../broker';
import type { RequestInput, ResponseValue, SupportedApiKey } from '../../broker';
import { rawConnection } from '../harness';
import type { BrokerProcess } from './standalone-fixture';

export const VERSIONS = {
  [ApiKey.Produce]: 3,
  [ApiKey.Fetch]: 4,
  [ApiKey.ListOffsets]: 1,
  [ApiKey.Metadata]: 4,
  [ApiKey.CreateTopics]: 3,
  [ApiKey.DeleteTopics]: 1,
} as const;
export type Served = keyof typeof VERSIONS;

/** A raw Kafka client: one request at a time (responses come in order), each decoded with our codec. */
export class RawKafka {
  private readonly frames: Buffer[] = [];
  private waiter: (() => void) | undefined;
  private correlationId = 0;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    const splitter = new FrameSplitter();
    socket.on('data', (chunk: Buffer) => {
      this.frames.push(...splitter.push(chunk));
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static async connect(port: number): Promise<RawKafka> {
    const { socket } = await rawConnection(port);
    return new RawKafka(socket);
  }

  /** Sends without waiting for an answer (acks=0). */
  send<K extends Served>(apiKey: K, body: RequestInput<K>): void {
    const header = {
      apiKey,
      apiVersion: VERSIONS[apiKey],
      correlationId: ++this.correlationId,
      clientId: 'raw',
    };
    this.socket.write(encodeRequest(header, body as RequestInput<SupportedApiKey> as never));
  }

  async request<K extends Served>(apiKey: K, body: RequestInput<K>): Promise<ResponseValue<K>> {
    this.send(apiKey, body);
    const correlationId = this.correlationId;
    const decoded = await this.receive(apiKey);
    expect(decoded.correlationId).toBe(correlationId);
    return decoded.body;
  }

  /** The correlation id of the last request sent. */
  get lastCorrelationId(): number {
    return this.correlationId;
  }

  /** The next response on the connection, decoded as `apiKey`'s (for requests sent ahead with send()). */
  async receive<K extends Served>(apiKey: K): Promise<{ correlationId: number; body: ResponseValue<K> }> {
    const decoded = decodeResponse(apiKey, VERSIONS[apiKey], await this.nextFrame());
    return { correlationId: decoded.correlationId, body: decoded.body };
  }

  private async nextFrame(): Promise<Buffer> {
    const deadline = Date.now() + 20_000;
    while (this.frames.length === 0) {
      if (this.closed) throw new Error('the connection closed');
      if (Date.now() > deadline) throw new Error('no response within 20 s');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 200);
      });
    }
    return this.frames.shift()!;
  }

  close(): void {
    this.socket.destroy();
  }
}

export function kafkaPortOf(process: BrokerProcess): number {
  const match = /kafka: 127\.0\.0\.1:(\d+)/.exec(process.stdout());
  if (match === null) throw new Error(`no Kafka listener printed:\n${process.stdout()}`);
  return Number(match[1]);
}
