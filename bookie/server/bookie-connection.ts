import type { Socket } from 'node:net';
import type { Logger } from '../../common';
import {
  FrameDecoder,
  OperationType,
  StatusCode,
  decodeRequest,
  encodeResponseFrame,
  encodeResponseFrameInto,
} from '../../protocol';
import type { Request, Response } from '../../protocol';
import { errorResponse, isLongPoll } from './request-processor';
import type { RequestProcessor } from './request-processor';

/**
 * One client connection: framing in, v3 requests to the processor, responses out. Knows frames and the
 * request/response pairing, not what a request means.
 *
 * - Bad input closes this connection and nothing else: a frame length over the limit or negative, or a frame
 *   that is not a v3 Request (a v2 binary frame, whose first byte reads as field number 0, is one) is logged
 *   and the socket destroyed. Other connections never notice.
 * - Responses complete in any order. Those completed within one callback (typically a whole journal group
 *   commit's worth of acks) are written together right after it: corked, one writev.
 * - Backpressure: a request is dispatched only while this connection is under its limits — requests in flight,
 *   reads in flight (their responses carry entries), and response bytes the client has not taken yet. Over a
 *   limit, decoded requests wait in a backlog and the socket stops being read, so the backlog holds at most
 *   what one socket read delivered; both resume as responses complete and the client drains them. A client
 *   that sends much and reads nothing thus holds about `writeBufferHighBytes` plus `readsInFlightHigh`
 *   entries of memory, and only ever slows itself down. Long polls are not counted (the bookie bounds them).
 */

export interface ConnectionLimits {
  /** Requests in flight (long polls aside) at which dispatching pauses... */
  inFlightHigh: number;
  /** Reads in flight (READ_ENTRY, READ_LAC, GET_LIST_OF_ENTRIES_OF_LEDGER) at which dispatching pauses. */
  readsInFlightHigh: number;
  /** Response bytes not yet taken by the client at which dispatching pauses. */
  writeBufferHighBytes: number;
}

/** Read bodies at least this large are written from storage's buffer rather than copied into the frame. */
const ZERO_COPY_BODY_BYTES = 64 * 1024;

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  inFlightHigh: 4096,
  readsInFlightHigh: 256,
  writeBufferHighBytes: 8 * 1024 * 1024,
};

/** Requests whose responses carry entries or other large bodies. */
function isRead(request: Request): boolean {
  const operation = request.header.operation;
  return (
    operation === OperationType.READ_ENTRY ||
    operation === OperationType.READ_LAC ||
    operation === OperationType.GET_LIST_OF_ENTRIES_OF_LEDGER
  );
}

export class BookieConnection {
  readonly remote: string;
  private readonly socket: Socket;
  private readonly processor: RequestProcessor;
  private readonly logger: Logger;
  private readonly limits: ConnectionLimits;
  private readonly maxFrameSizeBytes: number;
  private readonly decoder: FrameDecoder;
  /** Aborted when the connection closes: ends its long polls. Created on the first long poll. */
  private abort: AbortController | undefined;
  private inFlight = 0;
  private readsInFlight = 0;
  /** Decoded requests waiting for the connection to be under its limits, oldest first from `backlogHead`. */
  private backlog: Request[] = [];
  private backlogHead = 0;
  private outgoing: Buffer[] = [];
  private outgoingBytes = 0;
  private flushScheduled = false;
  private reading = true;
  private readingStopped = false;
  private closed = false;
  /** Set while closing gracefully: called once nothing is in flight, waiting or unwritten. */
  private whenIdle: (() => void) | undefined;
  private readonly closeListeners: (() => void)[] = [];

  constructor(options: {
    socket: Socket;
    processor: RequestProcessor;
    logger: Logger;
    limits: ConnectionLimits;
    maxFrameSizeBytes: number;
  }) {
    this.socket = options.socket;
    this.processor = options.processor;
    this.limits = options.limits;
    this.maxFrameSizeBytes = options.maxFrameSizeBytes;
    this.remote = `${this.socket.remoteAddress}:${this.socket.remotePort}`;
    this.logger = options.logger;
    this.decoder = new FrameDecoder((payload) => this.onFrame(payload), {
      maxFrameSizeBytes: options.maxFrameSizeBytes,
    });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('drain', () => this.pump());
    this.socket.on('error', (error) =>
      this.logger.debug({ err: error, remote: this.remote }, 'connection error'),
    );
    this.socket.on('close', () => this.onClose());
  }

  /** Requests not yet answered (long polls aside). */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  onClosed(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /** Stops reading new requests for good; those already received are still answered. */
  stopReading(): void {
    this.readingStopped = true;
    this.setReading(false);
  }

  /**
   * Stops reading, lets every request received be answered and written, then ends the connection; destroys
   * it if that takes longer than `timeoutMs`. Resolves once the socket is closed.
   */
  async drainAndClose(timeoutMs: number): Promise<void> {
    this.stopReading();
    if (this.closed) return;
    const closed = new Promise<void>((resolve) => this.onClosed(resolve));
    const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
    this.whenIdle = () => {
      this.whenIdle = undefined;
      this.socket.end();
    };
    this.checkIdle();
    await closed;
    clearTimeout(timer);
  }

  private onData(chunk: Buffer): void {
    try {
      this.decoder.push(chunk);
    } catch (error) {
      this.reject('bad frame', error);
    }
  }

  private onFrame(payload: Buffer): void {
    // Frames after a fatal one in the same chunk are dropped.
    if (this.closed || this.socket.destroyed) return;
    let request: Request;
    try {
      request = decodeRequest(payload);
    } catch (error) {
      this.reject('malformed request', error);
      return;
    }
    if (this.backlogHead < this.backlog.length || !this.underLimits(request)) {
      this.backlog.push(request);
      this.setReading(false);
      return;
    }
    this.dispatch(request);
  }

  private underLimits(request: Request): boolean {
    if (this.outgoingBytes + this.socket.writableLength >= this.limits.writeBufferHighBytes) return false;
    if (isLongPoll(request)) return true;
    if (this.inFlight >= this.limits.inFlightHigh) return false;
    return !isRead(request) || this.readsInFlight < this.limits.readsInFlightHigh;
  }

  private dispatch(request: Request): void {
    const longPoll = isLongPoll(request);
    const read = !longPoll && isRead(request);
    let signal: AbortSignal | undefined;
    if (longPoll) {
      this.abort ??= new AbortController();
      signal = this.abort.signal;
    } else {
      this.inFlight++;
      if (read) this.readsInFlight++;
    }
    const respond = (response: Response): void => {
      if (!longPoll) {
        this.inFlight--;
        if (read) this.readsInFlight--;
      }
      this.onResponse(response);
    };
    try {
      this.processor.process(request, respond, signal);
    } catch (error) {
      // The processor answers its own failures; this is the last line against a bug taking the process down.
      this.logger.error({ err: error, remote: this.remote }, 'request processing threw');
      respond(errorResponse(request, StatusCode.EIO));
    }
  }

  private onResponse(response: Response): void {
    if (this.closed) return;
    let bytes: number;
    try {
      // A large entry's body is written from the buffer storage gave (its own, never changed), not copied.
      bytes = encodeResponseFrameInto(response, this.outgoing, ZERO_COPY_BODY_BYTES, this.maxFrameSizeBytes);
    } catch (error) {
      // Only a response larger than a frame can get here (an entry at the frame limit plus its envelope).
      this.logger.error({ err: error, operation: response.header.operation }, 'response cannot be encoded');
      const frame = encodeResponseFrame(errorResponse({ header: response.header }, StatusCode.EIO));
      this.outgoing.push(frame);
      bytes = frame.length;
    }
    this.outgoingBytes += bytes;
    if (!this.flushScheduled) {
      // Right after the callback that completed this response (a journal group commit completes all of its
      // adds in one): the acks leave at once, not after the next poll phase has read and handled more requests.
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  /** Writes every response completed since the last flush in one corked batch. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    const frames = this.outgoing;
    this.outgoing = [];
    this.outgoingBytes = 0;
    this.socket.cork();
    for (const frame of frames) this.socket.write(frame);
    this.socket.uncork();
    this.pump();
  }

  /** Dispatches waiting requests while under the limits, then reads again if nothing waits. */
  private pump(): void {
    if (this.closed) return;
    while (this.backlogHead < this.backlog.length) {
      const request = this.backlog[this.backlogHead]!;
      if (!this.underLimits(request)) break;
      this.backlog[this.backlogHead++] = undefined as unknown as Request;
      this.dispatch(request);
    }
    if (this.backlogHead === this.backlog.length) {
      this.backlog = [];
      this.backlogHead = 0;
      if (!this.readingStopped) this.setReading(true);
    }
    this.checkIdle();
  }

  private setReading(reading: boolean): void {
    if (reading === this.reading) return;
    this.reading = reading;
    if (reading) this.socket.resume();
    else this.socket.pause();
  }

  private checkIdle(): void {
    if (
      this.whenIdle !== undefined &&
      this.inFlight === 0 &&
      this.backlogHead === this.backlog.length &&
      this.outgoing.length === 0
    ) {
      this.whenIdle();
    }
  }

  private reject(what: string, error: unknown): void {
    this.logger.warn({ err: error, remote: this.remote }, `closing connection: ${what}`);
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.outgoing = [];
    this.outgoingBytes = 0;
    this.backlog = [];
    this.backlogHead = 0;
    this.abort?.abort();
    for (const listener of this.closeListeners) listener();
  }
}
