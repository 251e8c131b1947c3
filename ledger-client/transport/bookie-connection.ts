import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { ChurnMap } from '../../common';
import type { Logger } from '../../common';
import { FrameDecoder, OperationType, decodeResponse, readAddResponse } from '../../protocol';
import type { AddResponseSummary, Request, Response } from '../../protocol';
import { BookieTransportError } from './transport-error';

/**
 * The connection to one bookie: framing, txn ids, connecting, backoff and timeouts. It knows nothing of what a
 * request means: the pool encodes each request into a frame and hands it over with a PendingRequest, which
 * the connection completes exactly once, with the bookie's Response or with a BookieTransportError.
 *
 * States:
 *
 *   IDLE ──send──▶ CONNECTING ──connected──▶ CONNECTED ──closed / bad frame──▶ IDLE  (outstanding: connection-lost)
 *                      │
 *                      └──refused / closed / connect timeout──▶ BACKOFF  (queued: connect-failed)
 *   BACKOFF ──send before retryAt──▶ fail fast (connect-failed);  ──send after retryAt──▶ CONNECTING
 *   any ──close()──▶ CLOSED  (outstanding: client-closed; later sends fail fast)
 *
 * Requests sent while CONNECTING wait (already counted against maxPendingRequests) and are written on
 * connect. Each failed connect doubles the backoff up to its maximum; a successful one resets it. A lost
 * connection is not a failed connect: the next request reconnects at once.
 */

/** A request's encoded frame: one buffer, or a large add's parts to write in order (encodeAddRequestFrameParts). */
export type OutgoingFrame = Buffer | readonly Buffer[];

/** One request sent (or about to be sent) on a connection; the pool's request kinds extend it. */
export abstract class PendingRequest {
  /** The encoded frame, held only while the request waits for the connection to open. */
  frame: OutgoingFrame | undefined = undefined;

  constructor(
    readonly txnId: number,
    readonly operation: OperationType,
    readonly bookieId: string,
    readonly ledgerId: bigint | undefined,
    readonly entryId: bigint | undefined,
    readonly timeoutMs: number,
    /** performance.now() after which the request fails with 'timeout'. */
    readonly deadline: number,
  ) {}

  /** The bookie answered (any status). */
  abstract complete(response: Response): void;

  /**
   * Whether completeWithStatus() will do: an answer read without decoding it (readAddResponse) gives a status
   * only; a request that needs the whole response has it decoded for complete().
   */
  get takesStatus(): boolean {
    return false;
  }

  /** The bookie answered with `status` (only called when takesStatus). */
  completeWithStatus(_status: number): void {
    throw new Error('this request needs the whole response');
  }
  /** The bookie did not answer. */
  abstract fail(error: BookieTransportError): void;

  /** complete(), a callback that throws logged rather than thrown into the channel answering. */
  completeLogged(response: Response, logger: Logger): void {
    try {
      this.complete(response);
    } catch (thrown) {
      logger.error({ err: thrown, txnId: this.txnId }, 'request completion threw');
    }
  }

  /** completeWithStatus(), a callback that throws logged rather than thrown into the channel answering. */
  completeWithStatusLogged(status: number, logger: Logger): void {
    try {
      this.completeWithStatus(status);
    } catch (thrown) {
      logger.error({ err: thrown, txnId: this.txnId }, 'request completion threw');
    }
  }

  /** fail(), a callback that throws logged rather than thrown into the channel failing it. */
  failLogged(error: BookieTransportError, logger: Logger): void {
    try {
      this.fail(error);
    } catch (thrown) {
      logger.error({ err: thrown, txnId: this.txnId }, 'request completion threw');
    }
  }

  /** What the request is, for error messages: `add of entry 5 of ledger 3`. */
  describe(): string {
    let text = OPERATION_LABELS[this.operation] ?? `operation ${this.operation}`;
    if (this.entryId !== undefined) text += ` of entry ${this.entryId}`;
    if (this.ledgerId !== undefined) text += ` of ledger ${this.ledgerId}`;
    return text;
  }

  /** A transport error about this request: `<what> to bookie <id>: <why>`. */
  error(failure: BookieTransportError['failure'], why: string, cause?: unknown): BookieTransportError {
    return new BookieTransportError(
      failure,
      this.bookieId,
      `${this.describe()} to bookie ${this.bookieId}: ${why}`,
      {
        ledgerId: this.ledgerId,
        entryId: this.entryId,
        cause,
      },
    );
  }
}

const OPERATION_LABELS: Partial<Record<OperationType, string>> = {
  [OperationType.ADD_ENTRY]: 'add',
  [OperationType.READ_ENTRY]: 'read',
  [OperationType.WRITE_LAC]: 'write LAC',
  [OperationType.READ_LAC]: 'read LAC',
  [OperationType.FORCE_LEDGER]: 'force',
  [OperationType.GET_BOOKIE_INFO]: 'get bookie info',
};

/** What the pool needs of the channel to one bookie: a TCP BookieConnection, or a LocalBookieConnection. */
export interface BookieChannel {
  /** Sends one request; never throws (a request that cannot be sent fails on a later tick with its reason). */
  send(request: PendingRequest, frame: OutgoingFrame, now: number): void;
  /**
   * Sends one request as the message itself, unencoded: only a channel that hands messages over in memory (the
   * local transport) has it, and the pool then skips encoding. Never throws, as send.
   */
  sendMessage?(request: PendingRequest, message: Request, now: number): void;
  /** Fails every request past its deadline with 'timeout'. */
  expire(now: number): void;
  /** Fails what is outstanding with 'client-closed'; later sends fail the same way. */
  close(): Promise<void>;
}

export interface ConnectionSettings {
  /** Requests queued or in flight at which new ones fail fast with 'too-many-in-flight'. */
  maxPendingRequests: number;
  maxFrameSizeBytes: number;
  reconnectBackoffMs: number;
  reconnectBackoffMaxMs: number;
  /** A connect attempt that has not succeeded after this long counts as failed. */
  connectTimeoutMs: number;
}

function partsLength(parts: readonly Buffer[]): number {
  let bytes = 0;
  for (const part of parts) bytes += part.length;
  return bytes;
}

/** Frames per socket write when many requests leave in one tick (performance.md: streaming beats one write). */
const WRITE_BATCH_FRAMES_MAX = 64;
/** Bytes per socket write when batching; a frame this large is written alone. */
const WRITE_BATCH_BYTES_MAX = 256 * 1024;

/**
 * Batch buffers the socket has finished writing, shared by every connection of the process and reused: a fresh
 * buffer per batch (Buffer.concat) meant new memory, and its first touch, per 256 KiB of adds of large entries
 * (a load client written that way spent ~130 us of CPU per 64 KiB add on it, bench/add-load-client). A batch
 * holds less than two WRITE_BATCH_BYTES_MAX (a frame that large is written alone). At most BATCH_BUFFERS_KEPT
 * are made; when all are out (the sockets hold them, queued behind a bookie that reads slowly) a batch is
 * concatenated into a buffer of its own size instead.
 */
const batchBuffers: Buffer[] = [];
const BATCH_BUFFER_BYTES = 2 * WRITE_BATCH_BYTES_MAX;
const BATCH_BUFFERS_KEPT = 8;
let batchBuffersMade = 0;

function takeBatchBuffer(): Buffer | undefined {
  const kept = batchBuffers.pop();
  if (kept !== undefined || batchBuffersMade === BATCH_BUFFERS_KEPT) return kept;
  batchBuffersMade++;
  return Buffer.allocUnsafeSlow(BATCH_BUFFER_BYTES);
}

/**
 * Writes `bytes` of the pool's `buffer` to `socket` and gives the buffer back once the socket is done with it: at
 * once when the kernel took the whole write (nothing left queued in the socket), else when the write callback
 * runs (written, or failed with the socket). Giving it back at once lets the next batch of the same tick use it:
 * a client issuing thousands of adds in one go (an open-loop load catching up) otherwise took a new 512 KiB
 * buffer for each of ~470 batches, and spent more time faulting their pages in and collecting them than adding.
 */
function writeBatchBuffer(socket: Socket, buffer: Buffer, bytes: number): void {
  let given = false;
  const giveBack = (): void => {
    if (given) return;
    given = true;
    batchBuffers.push(buffer);
  };
  socket.write(buffer.subarray(0, bytes), giveBack);
  if (socket.writableLength === 0) giveBack();
}

/** The size of each connection's reused read buffer. */
const READ_BUFFER_BYTES = 256 * 1024;

const STATE_IDLE = 0;
const STATE_CONNECTING = 1;
const STATE_CONNECTED = 2;
const STATE_BACKOFF = 3;
const STATE_CLOSED = 4;

export class BookieConnection implements BookieChannel {
  readonly bookieId: string;
  private readonly host: string | undefined;
  private readonly port: number;
  private readonly settings: ConnectionSettings;
  private readonly logger: Logger;
  private readonly onFailure: (error: BookieTransportError) => void;
  private state = STATE_IDLE;
  /** The socket of the current attempt or connection; events from any other socket are ignored. */
  private socket: Socket | undefined;
  /** Every request not yet completed, queued or in flight, by txnId (oldest first: txnIds only grow). */
  private readonly pending = new ChurnMap<number, PendingRequest>();
  /** Filled by readAddResponse for each add answer, reused. */
  private readonly addSummary: AddResponseSummary = { txnId: 0, operation: 0, status: 0 };
  /** Requests sent while CONNECTING, in order, to be written on connect. */
  private waiting: PendingRequest[] = [];
  private connectDeadline = 0;
  private retryAt = 0;
  private backoffMs: number;
  private lastConnectError: Error | undefined;
  /** Frames (or their parts) written this tick and not yet handed to the socket, and the socket they are for. */
  private batch: Buffer[] = [];
  private batchFrames = 0;
  private batchBytes = 0;
  private batchSocket: Socket | undefined;
  private flushScheduled = false;

  constructor(options: {
    bookieId: string;
    settings: ConnectionSettings;
    logger: Logger;
    /** Told about every failed connect and every lost connection (not about close()). */
    onFailure: (error: BookieTransportError) => void;
  }) {
    this.bookieId = options.bookieId;
    this.settings = options.settings;
    this.logger = options.logger;
    this.onFailure = options.onFailure;
    this.backoffMs = options.settings.reconnectBackoffMs;
    const address = parseBookieId(options.bookieId);
    this.host = address?.host;
    this.port = address?.port ?? 0;
  }

  /** Requests queued or in flight. */
  get outstanding(): number {
    return this.pending.size;
  }

  /**
   * Sends one request, connecting first if needed. Never throws: a request that cannot be sent fails on the
   * next tick with its reason.
   */
  send(request: PendingRequest, frame: OutgoingFrame, now: number): void {
    if (this.state === STATE_CLOSED) {
      this.failSoon(request, request.error('client-closed', 'the client is closed'));
      return;
    }
    if (this.pending.size >= this.settings.maxPendingRequests) {
      this.failSoon(
        request,
        request.error(
          'too-many-in-flight',
          `${this.pending.size} requests already outstanding (maxPendingRequestsPerBookie)`,
        ),
      );
      return;
    }
    if (this.state === STATE_BACKOFF) {
      if (now < this.retryAt) {
        const waitMs = Math.ceil(this.retryAt - now);
        this.failSoon(
          request,
          request.error(
            'connect-failed',
            `not connecting for another ${waitMs} ms after a failed connect (${this.lastConnectError?.message})`,
            this.lastConnectError,
          ),
        );
        return;
      }
      this.connect(now);
    } else if (this.state === STATE_IDLE) {
      this.connect(now);
    }
    this.pending.set(request.txnId, request);
    if (this.state === STATE_CONNECTED) {
      this.write(this.socket!, frame);
    } else {
      request.frame = frame;
      this.waiting.push(request);
    }
  }

  /** Fails every request past its deadline with 'timeout', and a connect attempt past its own. */
  expire(now: number): void {
    if (this.state === STATE_CONNECTING && now >= this.connectDeadline) {
      this.connectFailed(new Error(`no connection within ${this.settings.connectTimeoutMs} ms`));
    }
    if (this.pending.size === 0) return;
    for (const request of this.pending.values()) {
      // Settling one may settle others (a completion that closes the client): each is failed once.
      if (now < request.deadline || !this.pending.delete(request.txnId)) continue;
      request.frame = undefined;
      this.settle(request, request.error('timeout', `no answer within ${request.timeoutMs} ms`));
    }
  }

  /** Fails everything outstanding with 'client-closed' and closes the socket; resolves once it is closed. */
  close(): Promise<void> {
    if (this.state === STATE_CLOSED) return Promise.resolve();
    this.state = STATE_CLOSED;
    const socket = this.socket;
    this.socket = undefined;
    for (const request of this.takeOutstanding()) {
      this.settle(request, request.error('client-closed', 'the client is closed'));
    }
    if (socket === undefined || socket.closed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }

  private connect(now: number): void {
    this.state = STATE_CONNECTING;
    this.connectDeadline = now + this.settings.connectTimeoutMs;
    if (this.host === undefined) {
      // Fails on the next tick like a refused connect would, so send() completes nothing synchronously.
      process.nextTick(() => {
        if (this.state === STATE_CONNECTING && this.socket === undefined) {
          this.connectFailed(new Error(`bookie id ${JSON.stringify(this.bookieId)} is not host:port`));
        }
      });
      return;
    }
    const decoder = new FrameDecoder((payload) => this.onFrame(socket, payload), {
      maxFrameSizeBytes: this.settings.maxFrameSizeBytes,
    });
    // Reads land in one buffer per connection, reused: a read entry of a megabyte is gathered straight into its
    // own buffer instead of into a fresh buffer per read and then a copy joining them (half the garbage).
    const socket = connect({
      host: this.host,
      port: this.port,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
        callback: (bytes: number, buffer: Uint8Array) => {
          this.onData(socket, decoder, (buffer as Buffer).subarray(0, bytes));
          return true;
        },
      },
    });
    this.socket = socket;
    socket.setNoDelay(true);
    let socketError: Error | undefined;
    socket.on('connect', () => this.onConnect(socket));
    socket.on('error', (error) => (socketError = error));
    socket.on('close', () => this.onSocketClose(socket, socketError));
  }

  private onConnect(socket: Socket): void {
    if (socket !== this.socket) return;
    this.state = STATE_CONNECTED;
    this.backoffMs = this.settings.reconnectBackoffMs;
    this.lastConnectError = undefined;
    const waiting = this.waiting;
    this.waiting = [];
    this.logger.debug({ queued: waiting.length }, 'connected to bookie');
    for (const request of waiting) {
      const frame = request.frame;
      request.frame = undefined;
      // Requests that timed out while connecting are not sent.
      if (frame !== undefined && this.pending.get(request.txnId) === request) this.write(socket, frame);
    }
  }

  private onData(socket: Socket, decoder: FrameDecoder, chunk: Buffer): void {
    if (socket !== this.socket) return;
    try {
      decoder.pushBorrowed(chunk);
    } catch (error) {
      // Only the decoder throws here (completions catch their own): the stream is no longer aligned on frames.
      if (socket === this.socket) this.lose('malformed frame from the bookie', error);
    }
  }

  private onFrame(socket: Socket, payload: Buffer): void {
    // Frames after a fatal one in the same chunk are dropped.
    if (socket !== this.socket) return;
    // An add's answer (most of the traffic) is read in place; anything else is decoded whole.
    const summary = this.addSummary;
    let response: Response | undefined;
    let txnId: number;
    let operation: number;
    if (readAddResponse(payload, summary)) {
      txnId = summary.txnId;
      operation = summary.operation;
    } else {
      response = this.decodeOrLose(payload);
      if (response === undefined) return;
      txnId = Number(response.header.txnId);
      operation = response.header.operation;
    }
    const request = this.pending.get(txnId);
    if (request === undefined) {
      // The request timed out (or never existed): a late answer is dropped.
      this.logger.debug({ txnId, operation }, 'response for no waiting request');
      return;
    }
    if (operation !== request.operation) {
      this.lose(
        `response to txnId ${txnId} is operation ${operation}, the request was ${request.operation}`,
        undefined,
      );
      return;
    }
    if (response === undefined && !request.takesStatus) {
      response = this.decodeOrLose(payload);
      if (response === undefined) return;
    }
    this.pending.delete(txnId);
    if (response === undefined) request.completeWithStatusLogged(summary.status, this.logger);
    else request.completeLogged(response, this.logger);
  }

  /** The whole response; undefined after losing the connection to a frame that does not decode. */
  private decodeOrLose(payload: Buffer): Response | undefined {
    try {
      return decodeResponse(payload);
    } catch (error) {
      this.lose('undecodable response from the bookie', error);
      return undefined;
    }
  }

  private onSocketClose(socket: Socket, error: Error | undefined): void {
    if (socket !== this.socket) return;
    if (this.state === STATE_CONNECTING) {
      this.connectFailed(error ?? new Error('connection closed before it was established'));
    } else {
      this.lose(error === undefined ? 'closed by the bookie' : error.message, error);
    }
  }

  /** The connection broke: fail what was on it; the next request reconnects. */
  private lose(reason: string, cause: unknown): void {
    const socket = this.socket;
    this.socket = undefined;
    this.state = STATE_IDLE;
    socket?.destroy();
    const outstanding = this.takeOutstanding();
    this.logger.warn({ err: cause, reason, outstanding: outstanding.length }, 'connection to bookie lost');
    for (const request of outstanding) {
      this.settle(request, request.error('connection-lost', `connection lost (${reason})`, cause));
    }
    this.notifyFailure(
      new BookieTransportError(
        'connection-lost',
        this.bookieId,
        `connection to bookie ${this.bookieId} lost (${reason})`,
        { cause },
      ),
    );
  }

  /** A connect attempt failed: fail what waited for it and back off before the next attempt. */
  private connectFailed(error: Error): void {
    const socket = this.socket;
    this.socket = undefined;
    this.state = STATE_BACKOFF;
    this.lastConnectError = error;
    this.retryAt = performance.now() + this.backoffMs;
    const retryInMs = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.settings.reconnectBackoffMaxMs);
    socket?.destroy();
    const outstanding = this.takeOutstanding();
    this.logger.warn({ err: error, retryInMs, failed: outstanding.length }, 'cannot connect to bookie');
    for (const request of outstanding) {
      this.settle(request, request.error('connect-failed', `cannot connect (${error.message})`, error));
    }
    this.notifyFailure(
      new BookieTransportError(
        'connect-failed',
        this.bookieId,
        `cannot connect to bookie ${this.bookieId} (${error.message})`,
        { cause: error },
      ),
    );
  }

  /** Empties the table of outstanding requests (so a completion that re-enters sees it empty). */
  private takeOutstanding(): PendingRequest[] {
    const outstanding = this.pending.valuesByKey();
    this.pending.clear();
    this.waiting = [];
    for (const request of outstanding) request.frame = undefined;
    return outstanding;
  }

  private notifyFailure(error: BookieTransportError): void {
    try {
      this.onFailure(error);
    } catch (thrown) {
      this.logger.error({ err: thrown }, 'bookie failure listener threw');
    }
  }

  private settle(request: PendingRequest, error: BookieTransportError): void {
    request.failLogged(error, this.logger);
  }

  /** Completes a request refused before it was sent, on the next tick (callers never see a re-entrant failure). */
  private failSoon(request: PendingRequest, error: BookieTransportError): void {
    process.nextTick(BookieConnection.settleRefused, this, request, error);
  }

  /**
   * Frames written in one tick leave together, as one buffer: a socket write per frame cost more in stream
   * bookkeeping (write requests, callbacks, writev arrays) than copying the frame does. The batch goes out on
   * the next tick, and every WRITE_BATCH_FRAMES_MAX frames or WRITE_BATCH_BYTES_MAX bytes in a long run so the
   * bookie starts on the first while the rest are encoded. A frame in parts (an add's head and its packed entry)
   * is copied into the batch part by part, so that a small add needs no frame buffer of its own; a large frame
   * is written as it is.
   */
  private write(socket: Socket, frame: OutgoingFrame): void {
    if (socket !== this.batchSocket) {
      this.flush();
      this.batchSocket = socket;
    }
    const single = Buffer.isBuffer(frame);
    const bytes = single ? frame.length : partsLength(frame);
    if (bytes >= WRITE_BATCH_BYTES_MAX) {
      // After the batch before it, written as it is (a large entry's parts: its payload not copied).
      this.flush();
      if (single) {
        socket.write(frame);
      } else {
        socket.cork();
        for (const part of frame) socket.write(part);
        socket.uncork();
      }
      return;
    }
    if (single) this.batch.push(frame);
    else for (const part of frame) this.batch.push(part);
    this.batchFrames++;
    this.batchBytes += bytes;
    if (this.batchFrames === WRITE_BATCH_FRAMES_MAX || this.batchBytes >= WRITE_BATCH_BYTES_MAX) {
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(BookieConnection.endBatch, this);
    }
  }

  private flush(): void {
    const batch = this.batch;
    if (batch.length === 0) return;
    const bytes = this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    this.batchFrames = 0;
    const socket = this.batchSocket!;
    // A socket lost meanwhile is destroyed: writing to it is a no-op, its requests already failed.
    if (socket.destroyed) return;
    if (batch.length === 1) {
      socket.write(batch[0]!);
      return;
    }
    const buffer = bytes > BATCH_BUFFER_BYTES ? undefined : takeBatchBuffer();
    if (buffer === undefined) {
      socket.write(Buffer.concat(batch, bytes));
      return;
    }
    let at = 0;
    for (const frame of batch) at += frame.copy(buffer, at);
    writeBatchBuffer(socket, buffer, bytes);
  }

  // process.nextTick takes these with arguments, so a batch or a refusal costs no closure.
  private static endBatch(connection: BookieConnection): void {
    connection.flushScheduled = false;
    connection.flush();
  }

  private static settleRefused(
    connection: BookieConnection,
    request: PendingRequest,
    error: BookieTransportError,
  ): void {
    connection.settle(request, error);
  }
}

/** `host:port` (or `[v6]:port`); undefined when it is not one. */
export function parseBookieId(bookieId: string): { host: string; port: number } | undefined {
  const colon = bookieId.lastIndexOf(':');
  if (colon <= 0) return undefined;
  let host = bookieId.slice(0, colon);
  const portText = bookieId.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port };
}
