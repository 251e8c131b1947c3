import type { Logger } from '../../common';
import {
  AddRequestFlag,
  GetBookieInfoFlag,
  HIGH_PRIORITY,
  OperationType,
  ProtocolVersion,
  ReadRequestFlag,
  WriteFlag,
  encodeAddRequestFrameParts,
  encodeRequestFrame,
  localBookies,
} from '../../protocol';
import type { AddRequest, BKPacketHeader, ReadRequest, Request, Response, StatusCode } from '../../protocol';
import type { ClientConfig } from '../client-config';
import { BKError } from '../errors';
import type {
  AddEntryCallback,
  AddEntryRequest,
  BookieClient,
  BookieInfo,
  Outcome,
  ReadEntryRequest,
  ReadEntryResult,
  ReadLacResult,
  TransportError,
} from './bookie-client';
import { BookieConnection, PendingRequest } from './bookie-connection';
import type { BookieChannel, ConnectionSettings, OutgoingFrame } from './bookie-connection';
import { LocalBookieConnection } from './local-bookie-connection';
import type { BookieTransportError } from './transport-error';

/**
 * BookieClient over pooled v3 connections: one BookieConnection per bookie id, opened on its first request;
 * one sweeping timer for every request's timeout. See README.md for the flows.
 */

export interface BookieClientPoolOptions {
  config: Pick<
    ClientConfig,
    | 'addEntryTimeoutSec'
    | 'readEntryTimeoutSec'
    | 'maxPendingRequestsPerBookie'
    | 'reconnectBackoffMs'
    | 'reconnectBackoffMaxMs'
    | 'nettyMaxFrameSizeBytes'
  >;
  logger: Logger;
  /** How often overdue requests are failed with 'timeout'; the timeout's granularity. Default 100 ms. */
  timeoutSweepIntervalMs?: number;
  /** A connect attempt that has not succeeded after this long fails (BookKeeper's clientConnectTimeoutMillis). */
  connectTimeoutMs?: number;
}

type BookieFailureListener = (bookieId: string, error: TransportError) => void;

const DEFAULT_SWEEP_INTERVAL_MS = 100;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const EMPTY = Buffer.alloc(0);
const BOOKIE_INFO_REQUESTED = BigInt(
  GetBookieInfoFlag.TOTAL_DISK_CAPACITY | GetBookieInfoFlag.FREE_DISK_SPACE,
);

/** An add: the caller's callback is all it keeps. */
class PendingAdd extends PendingRequest {
  constructor(
    txnId: number,
    bookieId: string,
    ledgerId: bigint,
    entryId: bigint,
    timeoutMs: number,
    deadline: number,
    private readonly callback: AddEntryCallback,
  ) {
    super(txnId, OperationType.ADD_ENTRY, bookieId, ledgerId, entryId, timeoutMs, deadline);
  }

  complete(response: Response): void {
    this.callback(response.addResponse?.status ?? response.status, undefined, this.bookieId);
  }

  override get takesStatus(): boolean {
    return true;
  }

  override completeWithStatus(status: number): void {
    this.callback(status as StatusCode, undefined, this.bookieId);
  }

  fail(error: BookieTransportError): void {
    this.callback(undefined, error, this.bookieId);
  }
}

/** Any other request: resolves a promise with the response turned into its result. */
class PendingCall<T> extends PendingRequest {
  constructor(
    txnId: number,
    operation: OperationType,
    bookieId: string,
    ledgerId: bigint | undefined,
    entryId: bigint | undefined,
    timeoutMs: number,
    deadline: number,
    private readonly resolve: (outcome: Outcome<T>) => void,
    private readonly result: (response: Response, request: PendingRequest) => T,
  ) {
    super(txnId, operation, bookieId, ledgerId, entryId, timeoutMs, deadline);
  }

  complete(response: Response): void {
    this.resolve({ ok: true, value: this.result(response, this) });
  }

  fail(error: BookieTransportError): void {
    this.resolve({ ok: false, error });
  }
}

const NO_HEADER: BKPacketHeader = {
  version: ProtocolVersion.VERSION_THREE,
  operation: OperationType.READ_ENTRY,
  txnId: 0n,
  priority: undefined,
};

/**
 * A Request with every field present (undefined but for the one the caller sets), in one order, so that every
 * request the pool sends has one shape. The codec's generated sizer reads each of a message's fields: with a shape
 * per request kind (as object spreads make) its property loads went megamorphic, and encoding a read request cost
 * 1.2-4.5 us against 0.26-0.36 us with one shape (ad-hoc microbenchmark); on the standalone, before the local
 * transport skipped encoding, ~10% of the broker's main thread during a backlog consume.
 */
function newRequest(): Request {
  return {
    header: NO_HEADER,
    readRequest: undefined,
    addRequest: undefined,
    authRequest: undefined,
    writeLacRequest: undefined,
    readLacRequest: undefined,
    getBookieInfoRequest: undefined,
    startTLSRequest: undefined,
    forceLedgerRequest: undefined,
    getListOfEntriesOfLedgerRequest: undefined,
    requestContext: undefined,
  };
}

/** An ADD_ENTRY Request, its header and add body always present. */
interface AddMessage extends Request {
  header: BKPacketHeader;
  addRequest: AddRequest;
}

function newAddMessage(): AddMessage {
  return {
    header: {
      version: ProtocolVersion.VERSION_THREE,
      operation: OperationType.ADD_ENTRY,
      txnId: 0n,
      priority: undefined,
    },
    addRequest: {
      ledgerId: 0n,
      entryId: 0n,
      masterKey: EMPTY,
      body: EMPTY,
      flag: undefined,
      writeFlags: undefined,
    },
  };
}

/** Sets `message` to the add of `request` with `txnId`; returns it. */
function fillAdd(message: AddMessage, request: AddEntryRequest, txnId: number): AddMessage {
  const { header, addRequest: add } = message;
  header.txnId = BigInt(txnId);
  // BookKeeper sends recovery adds at high priority (PendingAddOp: FLAG_RECOVERY_ADD | FLAG_HIGH_PRIORITY).
  header.priority = request.recoveryAdd ? HIGH_PRIORITY : undefined;
  add.ledgerId = request.ledgerId;
  add.entryId = request.entryId;
  add.masterKey = request.masterKey;
  add.body = request.body;
  add.flag = request.recoveryAdd ? AddRequestFlag.RECOVERY_ADD : undefined;
  add.writeFlags = request.deferredSync ? WriteFlag.DEFERRED_SYNC : undefined;
  return message;
}

/** An encoded add and what it was encoded from (see BookieClientPool.lastAdd). */
interface LastAdd {
  readonly request: AddEntryRequest;
  readonly ledgerId: bigint;
  readonly entryId: bigint;
  readonly masterKey: Buffer;
  readonly body: Buffer;
  readonly payload: Buffer | undefined;
  readonly recoveryAdd: boolean | undefined;
  readonly deferredSync: boolean | undefined;
  readonly txnId: number;
  readonly frame: OutgoingFrame;
  /** The bookies it went to: a bookie never gets one txnId twice. */
  readonly bookieIds: string[];
}

/** True when `request` would encode to the same frame as `last` (every field the frame carries is the same). */
function sameAdd(last: LastAdd, request: AddEntryRequest): boolean {
  return (
    last.request === request &&
    last.ledgerId === request.ledgerId &&
    last.entryId === request.entryId &&
    last.masterKey === request.masterKey &&
    last.body === request.body &&
    last.payload === request.payload &&
    last.recoveryAdd === request.recoveryAdd &&
    last.deferredSync === request.deferredSync
  );
}

export class BookieClientPool implements BookieClient {
  private readonly logger: Logger;
  private readonly settings: ConnectionSettings;
  private readonly addTimeoutMs: number;
  private readonly readTimeoutMs: number;
  private readonly connections = new Map<string, BookieChannel>();
  private readonly listeners = new Set<BookieFailureListener>();
  private readonly sweeper: NodeJS.Timeout;
  private nextTxnId = 1;
  private closing: Promise<void> | undefined;
  /** One Request reused for every encoded add: encoding is synchronous, so an add allocates no message objects. */
  private readonly addMessage = newAddMessage();
  /**
   * The last add encoded, kept for the next bookie of its write set: a writer sends the same request to each
   * bookie of the write set one after another, and one frame (with one txnId, unique across connections) serves
   * them all, so an entry is encoded (its body copied) once, not Qw times. Reused only for the identical request
   * (same object, same fields) and never twice on one bookie; dropped when anything else is encoded and at the
   * end of the turn (so that it keeps no entry alive).
   */
  private lastAdd: LastAdd | undefined;
  private readonly forgetLastAdd = (): void => {
    this.lastAdd = undefined;
  };

  constructor(options: BookieClientPoolOptions) {
    const { config } = options;
    this.logger = options.logger;
    this.addTimeoutMs = config.addEntryTimeoutSec * 1000;
    this.readTimeoutMs = config.readEntryTimeoutSec * 1000;
    this.settings = {
      maxPendingRequests: config.maxPendingRequestsPerBookie,
      maxFrameSizeBytes: config.nettyMaxFrameSizeBytes,
      reconnectBackoffMs: config.reconnectBackoffMs,
      reconnectBackoffMaxMs: Math.max(config.reconnectBackoffMs, config.reconnectBackoffMaxMs),
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    };
    this.sweeper = setInterval(
      () => this.sweep(),
      options.timeoutSweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
    );
    this.sweeper.unref();
  }

  addEntry(bookieId: string, request: AddEntryRequest, callback: AddEntryCallback): void {
    const { ledgerId, entryId } = request;
    const channel = this.connection(bookieId);
    if (channel.sendMessage !== undefined && request.payload === undefined) {
      this.sendAddMessage(channel, bookieId, request, callback);
      return;
    }
    const last = this.lastAdd;
    let txnId: number;
    let frame: OutgoingFrame;
    if (last !== undefined && sameAdd(last, request) && !last.bookieIds.includes(bookieId)) {
      txnId = last.txnId;
      frame = last.frame;
      last.bookieIds.push(bookieId);
    } else {
      if (last === undefined) queueMicrotask(this.forgetLastAdd);
      this.lastAdd = undefined;
      txnId = this.nextTxnId++;
      frame = this.encodeAdd(bookieId, request, txnId);
      this.lastAdd = {
        request,
        ledgerId,
        entryId,
        masterKey: request.masterKey,
        body: request.body,
        payload: request.payload,
        recoveryAdd: request.recoveryAdd,
        deferredSync: request.deferredSync,
        txnId,
        frame,
        bookieIds: [bookieId],
      };
    }
    const timeoutMs = request.timeoutMs ?? this.addTimeoutMs;
    const now = performance.now();
    const pending = new PendingAdd(txnId, bookieId, ledgerId, entryId, timeoutMs, now + timeoutMs, callback);
    channel.send(pending, frame, now);
  }

  /**
   * An add to a channel that takes messages (the local transport): the request goes as an object, its packed
   * entry not copied into a frame. The bookie copies what it keeps (journal, write cache), as it would a frame's.
   */
  private sendAddMessage(
    channel: BookieChannel,
    bookieId: string,
    request: AddEntryRequest,
    callback: AddEntryCallback,
  ): void {
    const { ledgerId, entryId } = request;
    const txnId = this.nextTxnId++;
    const message = fillAdd(newAddMessage(), request, txnId);
    const timeoutMs = request.timeoutMs ?? this.addTimeoutMs;
    const now = performance.now();
    const pending = new PendingAdd(txnId, bookieId, ledgerId, entryId, timeoutMs, now + timeoutMs, callback);
    channel.sendMessage?.(pending, message, now);
  }

  /** The ADD_ENTRY frame of `request` with `txnId`; throws what unsendable() makes of an encoding failure. */
  private encodeAdd(bookieId: string, request: AddEntryRequest, txnId: number): OutgoingFrame {
    const { ledgerId, entryId } = request;
    const { header, addRequest: add } = fillAdd(this.addMessage, request, txnId);
    try {
      const max = this.settings.maxFrameSizeBytes;
      // In parts, the packed entry not copied into a frame: the connection copies the parts into the batch it
      // writes, so a small add costs no frame buffer (which was half of what a client allocated per add).
      return request.payload === undefined
        ? encodeAddRequestFrameParts(header, add, EMPTY, request.body, max)
        : encodeAddRequestFrameParts(header, add, request.body, request.payload, max);
    } catch (error) {
      throw this.unsendable(
        `add of entry ${entryId} of ledger ${ledgerId}`,
        bookieId,
        error,
        ledgerId,
        entryId,
      );
    } finally {
      // The scratch message must not keep the caller's buffers alive.
      add.masterKey = EMPTY;
      add.body = EMPTY;
    }
  }

  readEntry(bookieId: string, request: ReadEntryRequest): Promise<Outcome<ReadEntryResult>> {
    const { ledgerId, entryId, fence } = request;
    const longPoll = request.previousLAC !== undefined;
    if (fence && (request.masterKey === undefined || longPoll)) {
      return Promise.reject(
        new BKError(
          'IncorrectParameterException',
          `fencing read of entry ${entryId} of ledger ${ledgerId} from bookie ${bookieId} needs a masterKey and no previousLAC`,
          { ledgerId, entryId, bookieId },
        ),
      );
    }
    const longPollTimeoutMs = longPoll ? (request.longPollTimeoutMs ?? 0) : 0;
    // Every field present, in one order, as in newRequest.
    const readRequest: ReadRequest = {
      flag: undefined,
      ledgerId,
      entryId,
      masterKey: undefined,
      previousLAC: undefined,
      timeOut: undefined,
    };
    if (fence) {
      readRequest.flag = ReadRequestFlag.FENCE_LEDGER;
      readRequest.masterKey = request.masterKey;
    } else if (longPoll) {
      readRequest.previousLAC = request.previousLAC;
      readRequest.timeOut = BigInt(longPollTimeoutMs);
      if (request.piggyback) readRequest.flag = ReadRequestFlag.ENTRY_PIGGYBACK;
    }
    const message = newRequest();
    message.readRequest = readRequest;
    return this.call(
      bookieId,
      OperationType.READ_ENTRY,
      message,
      request.highPriority ? HIGH_PRIORITY : undefined,
      ledgerId,
      entryId,
      (request.timeoutMs ?? this.readTimeoutMs) + longPollTimeoutMs,
      readEntryResult,
    );
  }

  readLac(bookieId: string, ledgerId: bigint, timeoutMs?: number): Promise<Outcome<ReadLacResult>> {
    const message = newRequest();
    message.readLacRequest = { ledgerId };
    return this.call(
      bookieId,
      OperationType.READ_LAC,
      message,
      undefined,
      ledgerId,
      undefined,
      timeoutMs ?? this.readTimeoutMs,
      readLacResult,
    );
  }

  writeLac(
    bookieId: string,
    request: { ledgerId: bigint; lac: bigint; masterKey: Buffer; body: Buffer },
  ): Promise<Outcome<StatusCode>> {
    const { ledgerId, lac, masterKey, body } = request;
    const message = newRequest();
    message.writeLacRequest = { ledgerId, lac, masterKey, body };
    return this.call(
      bookieId,
      OperationType.WRITE_LAC,
      message,
      undefined,
      ledgerId,
      undefined,
      this.readTimeoutMs,
      writeLacStatus,
    );
  }

  forceLedger(bookieId: string, ledgerId: bigint): Promise<Outcome<StatusCode>> {
    const message = newRequest();
    message.forceLedgerRequest = { ledgerId };
    return this.call(
      bookieId,
      OperationType.FORCE_LEDGER,
      message,
      undefined,
      ledgerId,
      undefined,
      this.readTimeoutMs,
      forceLedgerStatus,
    );
  }

  getBookieInfo(bookieId: string): Promise<Outcome<BookieInfo>> {
    const message = newRequest();
    message.getBookieInfoRequest = { requested: BOOKIE_INFO_REQUESTED };
    return this.call(
      bookieId,
      OperationType.GET_BOOKIE_INFO,
      message,
      undefined,
      undefined,
      undefined,
      this.readTimeoutMs,
      bookieInfo,
    );
  }

  onBookieFailure(listener: BookieFailureListener): () => void {
    // A wrapper per subscription, so one listener subscribed twice is two subscriptions.
    const subscription: BookieFailureListener = (bookieId, error) => listener(bookieId, error);
    this.listeners.add(subscription);
    return () => this.listeners.delete(subscription);
  }

  close(): Promise<void> {
    if (this.closing === undefined) {
      clearInterval(this.sweeper);
      this.closing = Promise.all(Array.from(this.connections.values(), (c) => c.close())).then(() => {
        this.logger.debug('bookie client pool closed');
      });
    }
    return this.closing;
  }

  /** Sends `request` (from newRequest, its header set here). */
  private call<T>(
    bookieId: string,
    operation: OperationType,
    request: Request,
    priority: number | undefined,
    ledgerId: bigint | undefined,
    entryId: bigint | undefined,
    timeoutMs: number,
    result: (response: Response, request: PendingRequest) => T,
  ): Promise<Outcome<T>> {
    const txnId = this.nextTxnId++;
    request.header = { version: ProtocolVersion.VERSION_THREE, operation, txnId: BigInt(txnId), priority };
    return new Promise((resolve, reject) => {
      const now = performance.now();
      const pending = new PendingCall(
        txnId,
        operation,
        bookieId,
        ledgerId,
        entryId,
        timeoutMs,
        now + timeoutMs,
        resolve,
        result,
      );
      const channel = this.connection(bookieId);
      if (channel.sendMessage !== undefined) {
        channel.sendMessage(pending, request, now);
        return;
      }
      let frame: Buffer;
      try {
        frame = encodeRequestFrame(request, this.settings.maxFrameSizeBytes);
      } catch (error) {
        reject(this.unsendable(pending.describe(), bookieId, error, ledgerId, entryId));
        return;
      }
      channel.send(pending, frame, now);
    });
  }

  /** The caller's mistake, not the network's: a request that does not fit in a frame. */
  private unsendable(
    what: string,
    bookieId: string,
    cause: unknown,
    ledgerId: bigint | undefined,
    entryId: bigint | undefined,
  ): BKError {
    return new BKError(
      'IncorrectParameterException',
      `${what} to bookie ${bookieId} cannot be sent: ${(cause as Error).message}`,
      { ledgerId, entryId, bookieId, cause },
    );
  }

  /**
   * The channel to a bookie, made on its first request: the local transport when the bookie serves this process
   * through it (protocol/local-bookies.ts), else a TCP connection.
   */
  private connection(bookieId: string): BookieChannel {
    let connection = this.connections.get(bookieId);
    if (connection === undefined) {
      const logger = this.logger.child({ bookieId });
      const onFailure = (error: BookieTransportError): void => this.notifyFailure(bookieId, error);
      connection =
        localBookies.get(bookieId) !== undefined
          ? new LocalBookieConnection(bookieId, this.settings, logger, onFailure)
          : new BookieConnection({ bookieId, settings: this.settings, logger, onFailure });
      // A pool closed before this bookie's first request: the connection starts closed.
      if (this.closing !== undefined) void connection.close();
      this.connections.set(bookieId, connection);
    }
    return connection;
  }

  private notifyFailure(bookieId: string, error: TransportError): void {
    for (const listener of this.listeners) {
      try {
        listener(bookieId, error);
      } catch (thrown) {
        this.logger.error({ err: thrown, bookieId }, 'bookie failure listener threw');
      }
    }
  }

  private sweep(): void {
    const now = performance.now();
    for (const connection of this.connections.values()) connection.expire(now);
  }
}

function readEntryResult(response: Response, request: PendingRequest): ReadEntryResult {
  const read = response.readResponse;
  return {
    status: read?.status ?? response.status,
    ledgerId: read?.ledgerId ?? request.ledgerId!,
    entryId: read?.entryId ?? request.entryId!,
    body: read?.body,
    maxLAC: read?.maxLAC,
  };
}

function readLacResult(response: Response): ReadLacResult {
  const lac = response.readLacResponse;
  return {
    status: lac?.status ?? response.status,
    lacBody: lac?.lacBody,
    lastEntryBody: lac?.lastEntryBody,
  };
}

function writeLacStatus(response: Response): StatusCode {
  return response.writeLacResponse?.status ?? response.status;
}

function forceLedgerStatus(response: Response): StatusCode {
  return response.forceLedgerResponse?.status ?? response.status;
}

function bookieInfo(response: Response): BookieInfo {
  const info = response.getBookieInfoResponse;
  return {
    status: info?.status ?? response.status,
    totalDiskCapacity: info?.totalDiskCapacity,
    freeDiskSpace: info?.freeDiskSpace,
  };
}
