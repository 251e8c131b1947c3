import type { Socket } from 'node:net';
import type { Logger } from '../../../common';
import {
  ApiKey,
  FrameSplitter,
  KafkaProtocolError,
  UnsupportedApiError,
  apiName,
  decodeRequest,
  encodeApiVersionsUnsupported,
  encodeResponseChunks,
} from '../protocol';
import type { KafkaRequest, ResponseBody, SupportedApiKey } from '../protocol';

/**
 * What answers the requests of a connection: a response body for the request's api and version, or undefined for
 * a request that gets no response (a Produce with acks=0). Throwing closes the connection: use an error code in
 * the body for anything the client should see.
 *
 * `ordered`, when the handler calls it, says that what the request does is now in order with what later requests
 * will do (a Produce: every batch handed to its partition's log), so the connection may start the next request
 * while this one waits (for durability). A handler that never calls it has the next request wait for its answer.
 */
export interface KafkaRequestHandler {
  handle(
    request: KafkaRequest,
    connection: KafkaConnectionInfo,
    ordered?: () => void,
  ): Promise<ResponseBody<SupportedApiKey> | undefined>;
}

export interface KafkaConnectionInfo {
  readonly id: number;
  /** The client's address as the socket sees it (DescribeGroups' client_host). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The port the client connected to (which listener). */
  readonly localPort: number;
}

export interface KafkaConnectionOptions {
  /** Frames larger than this close the connection before anything is allocated (socket.request.max.bytes). */
  frameSizeBytesMax?: number;
  /** Decoded requests waiting for their turn at which the socket stops being read, until the queue drains. */
  queuedRequestsMax?: number;
}

const QUEUED_REQUESTS_MAX_DEFAULT = 64;
/** Requests handled at once on one connection: started once the one before is ordered, answered in turn. */
const REQUESTS_IN_FLIGHT_MAX = 16;

/**
 * One client connection of the Kafka listener. Frames are cut from the stream by their size prefix (capped before
 * allocation), decoded, and handled in arrival order; responses leave in request order, which kafka-python and the
 * Java client insist on (kafka.md §1, §7). A request starts once the one before it is answered or, for a Produce,
 * once its batches are handed to their logs in order (KoP pipelines requests the same way): a producer with many
 * requests in flight has them durable together, in one journal sync, instead of one sync each. A long-polling
 * Fetch holds the requests behind it, as it does in Kafka. While `queuedRequestsMax` requests wait, the socket is
 * paused (what Kafka's muting does for one). An unknown api key, an unsupported version (except ApiVersions,
 * answered with error 35 and the full table), a malformed frame or a handler that throws closes the connection,
 * and only it.
 */
export class KafkaConnection {
  private readonly splitter: FrameSplitter;
  private readonly queue: (KafkaRequest | UnsupportedApiVersions)[] = [];
  private readonly queuedRequestsMax: number;
  private processing = false;
  private closed = false;
  /** Requests started and not yet answered, oldest first: each resolves once its response is written. */
  private readonly inFlight: Promise<void>[] = [];
  private readonly info: KafkaConnectionInfo;

  constructor(
    private readonly socket: Socket,
    id: number,
    private readonly handler: KafkaRequestHandler,
    private readonly logger: Logger,
    options: KafkaConnectionOptions = {},
  ) {
    this.splitter = new FrameSplitter({ frameSizeBytesMax: options.frameSizeBytesMax });
    this.queuedRequestsMax = options.queuedRequestsMax ?? QUEUED_REQUESTS_MAX_DEFAULT;
    this.info = {
      id,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localPort: socket.localPort ?? 0,
    };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.logger.debug({ err, connection: id }, 'kafka connection error'));
    socket.on('close', () => {
      this.closed = true;
      this.queue.length = 0;
    });
  }

  get id(): number {
    return this.info.id;
  }

  /** Closes the connection at once; requests not answered yet are dropped (the client retries them). */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Buffer[];
    try {
      frames = this.splitter.push(chunk);
    } catch (err) {
      this.refuse(err);
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      let request: KafkaRequest;
      try {
        request = decodeRequest(frame);
      } catch (err) {
        if (err instanceof UnsupportedApiError && err.apiKey === ApiKey.ApiVersions) {
          // Answered in turn, so it cannot overtake a response still owed for an earlier request.
          this.queue.push(new UnsupportedApiVersions(err.correlationId));
          continue;
        }
        this.refuse(err);
        return;
      }
      this.queue.push(request);
    }
    if (this.queue.length >= this.queuedRequestsMax) this.socket.pause();
    void this.drain();
  }

  /**
   * Starts queued requests in order, each once the one before is ordered (or answered), at most
   * REQUESTS_IN_FLIGHT_MAX at a time; their responses are written in the same order.
   */
  private async drain(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (!this.closed) {
        const request = this.queue.shift();
        if (request === undefined) break;
        if (this.queue.length < this.queuedRequestsMax && this.socket.isPaused()) this.socket.resume();
        if (this.inFlight.length >= REQUESTS_IN_FLIGHT_MAX) await this.inFlight[0];
        await this.start(request);
      }
    } finally {
      this.processing = false;
    }
  }

  /**
   * Starts handling `request`; resolves once the next request may start: when the handler says the request is
   * ordered, or when it is answered. Its response is written after the one of the request before.
   */
  private start(request: KafkaRequest | UnsupportedApiVersions): Promise<void> {
    let ordered!: () => void;
    const mayContinue = new Promise<void>((resolve) => (ordered = resolve));
    const body = request instanceof UnsupportedApiVersions ? undefined : this.handle(request, ordered);
    const previous = this.inFlight[this.inFlight.length - 1];
    // Never rejects (handle() turns a failure into a closed connection), so the next response's wait cannot either.
    const written = (async () => {
      if (previous !== undefined) await previous;
      if (request instanceof UnsupportedApiVersions) {
        if (!this.closed) this.socket.write(encodeApiVersionsUnsupported(request.correlationId));
      } else {
        this.write(request, await body);
      }
    })();
    this.inFlight.push(written);
    void written.finally(() => {
      this.inFlight.splice(this.inFlight.indexOf(written), 1);
      ordered();
    });
    return mayContinue;
  }

  /** The handler's answer; undefined (and the connection closed) when it throws. */
  private async handle(
    request: KafkaRequest,
    ordered: () => void,
  ): Promise<ResponseBody<SupportedApiKey> | undefined> {
    try {
      return await this.handler.handle(request, this.info, ordered);
    } catch (err) {
      this.logger.warn(
        { err, connection: this.info.id, api: apiName(request.apiKey), version: request.apiVersion },
        'kafka request failed; closing the connection',
      );
      this.close();
      return undefined;
    }
  }

  private write(request: KafkaRequest, body: ResponseBody<SupportedApiKey> | undefined): void {
    if (body === undefined || this.closed) return;
    let chunks: Buffer[];
    try {
      chunks = encodeResponseChunks(request.apiKey, request.apiVersion, request.correlationId, body as never);
    } catch (err) {
      this.logger.error(
        { err, connection: this.info.id, api: apiName(request.apiKey), version: request.apiVersion },
        'kafka response cannot be encoded; closing the connection',
      );
      this.close();
      return;
    }
    this.socket.cork();
    for (const chunk of chunks) this.socket.write(chunk);
    this.socket.uncork();
  }

  /** A frame we cannot or will not read: close this connection, and only it. */
  private refuse(err: unknown): void {
    const reason = err instanceof KafkaProtocolError ? err.message : String(err);
    this.logger.info({ connection: this.info.id, reason }, 'closing kafka connection on a bad request');
    this.close();
  }
}

/** An ApiVersions request of a version above ours, queued to be answered in its turn. */
class UnsupportedApiVersions {
  constructor(readonly correlationId: number) {}
}
