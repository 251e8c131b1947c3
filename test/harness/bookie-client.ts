import { connect } from 'node:net';
import type { Socket } from 'node:net';
import {
  AddRequestFlag,
  FrameDecoder,
  GetBookieInfoFlag,
  OperationType,
  ProtocolVersion,
  ReadRequestFlag,
  WriteFlag,
  decodeResponse,
  encodeRequestFrame,
} from '../../protocol';
import type { BKPacketHeader, Request, Response } from '../../protocol';

/**
 * A minimal BookKeeper v3 client for tests and benchmarks: one TCP connection, requests pipelined (written in
 * batches per event-loop tick), responses matched by txnId whatever order they come back in. It returns the
 * raw Response, status included, and never retries: tests assert on exactly what the bookie answered.
 */

export type RequestBody = Omit<Request, 'header'>;

export interface AddEntryArgs {
  ledgerId: bigint;
  entryId: bigint;
  masterKey: Buffer;
  body: Buffer;
  recoveryAdd?: boolean;
  deferredSync?: boolean;
  priority?: number;
}

/** Called once with the response, or with the error that ended the connection. */
export type ResponseCallback = (error: Error | undefined, response: Response | undefined) => void;

export interface LongPollArgs {
  ledgerId: bigint;
  previousLAC: bigint;
  timeOutMs: number;
  piggyback?: boolean;
  entryId?: bigint;
}

/** Requests per socket write when many are sent in one tick. */
const WRITE_BATCH_MAX = 64;

export class BookieClient {
  /** Resolves when the connection closes, from either side. */
  readonly closed: Promise<void>;
  private readonly socket: Socket;
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<bigint, ResponseCallback>();
  private nextTxnId = 1n;
  private corked = false;
  private corkedWrites = 0;
  private isOpen = true;
  private failure: Error | undefined;

  private constructor(socket: Socket, maxFrameSizeBytes: number | undefined) {
    this.socket = socket;
    this.decoder = new FrameDecoder((payload) => this.onFrame(payload), { maxFrameSizeBytes });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk);
      } catch (error) {
        this.fail(error as Error);
      }
    });
    socket.on('error', (error) => this.fail(error));
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.isOpen = false;
        this.fail(new Error('connection closed'));
        resolve();
      });
    });
  }

  static connect(
    port: number,
    options: { host?: string; maxFrameSizeBytes?: number } = {},
  ): Promise<BookieClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: options.host ?? '127.0.0.1' });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new BookieClient(socket, options.maxFrameSizeBytes));
      });
    });
  }

  get open(): boolean {
    return this.isOpen;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends one request (header filled in: version 3, the operation, a fresh txnId) and waits for its response. */
  request(
    operation: OperationType,
    body: RequestBody,
    header: Partial<BKPacketHeader> = {},
  ): Promise<Response> {
    return new Promise((resolve, reject) => {
      this.send(operation, body, header, (error, response) => {
        if (error === undefined) resolve(response!);
        else reject(error);
      });
    });
  }

  /**
   * `request` with a callback instead of a promise: what a benchmark's pipelining loop uses, so that the
   * client's own cost per request stays small next to the bookie's on a shared machine.
   */
  send(
    operation: OperationType,
    body: RequestBody,
    header: Partial<BKPacketHeader>,
    callback: ResponseCallback,
  ): void {
    if (this.failure !== undefined) {
      const failure = this.failure;
      process.nextTick(() => callback(failure, undefined));
      return;
    }
    const txnId = header.txnId ?? this.nextTxnId++;
    const request: Request = {
      ...body,
      header: { version: ProtocolVersion.VERSION_THREE, operation, txnId, ...header },
    };
    this.pending.set(txnId, callback);
    this.write(encodeRequestFrame(request));
  }

  /** Writes bytes as they are (hostile-input tests). */
  writeRaw(bytes: Buffer): void {
    this.write(bytes);
  }

  addEntry(args: AddEntryArgs): Promise<Response> {
    return this.request(OperationType.ADD_ENTRY, addEntryBody(args), addEntryHeader(args));
  }

  /** `addEntry` with a callback (see `send`). */
  sendAddEntry(args: AddEntryArgs, callback: ResponseCallback): void {
    this.send(OperationType.ADD_ENTRY, addEntryBody(args), addEntryHeader(args), callback);
  }

  readEntry(ledgerId: bigint, entryId: bigint): Promise<Response> {
    return this.request(OperationType.READ_ENTRY, { readRequest: { ledgerId, entryId } });
  }

  /** A fencing read (recovery's first step). */
  fence(ledgerId: bigint, entryId: bigint, masterKey: Buffer): Promise<Response> {
    return this.request(OperationType.READ_ENTRY, {
      readRequest: { ledgerId, entryId, masterKey, flag: ReadRequestFlag.FENCE_LEDGER },
    });
  }

  longPoll(args: LongPollArgs): Promise<Response> {
    return this.request(OperationType.READ_ENTRY, {
      readRequest: {
        ledgerId: args.ledgerId,
        entryId: args.entryId ?? -1n,
        previousLAC: args.previousLAC,
        timeOut: BigInt(args.timeOutMs),
        flag: args.piggyback ? ReadRequestFlag.ENTRY_PIGGYBACK : undefined,
      },
    });
  }

  writeLac(ledgerId: bigint, lac: bigint, masterKey: Buffer, body: Buffer): Promise<Response> {
    return this.request(OperationType.WRITE_LAC, { writeLacRequest: { ledgerId, lac, masterKey, body } });
  }

  readLac(ledgerId: bigint): Promise<Response> {
    return this.request(OperationType.READ_LAC, { readLacRequest: { ledgerId } });
  }

  forceLedger(ledgerId: bigint): Promise<Response> {
    return this.request(OperationType.FORCE_LEDGER, { forceLedgerRequest: { ledgerId } });
  }

  getBookieInfo(
    requested = BigInt(GetBookieInfoFlag.TOTAL_DISK_CAPACITY | GetBookieInfoFlag.FREE_DISK_SPACE),
  ): Promise<Response> {
    return this.request(OperationType.GET_BOOKIE_INFO, { getBookieInfoRequest: { requested } });
  }

  getListOfEntriesOfLedger(ledgerId: bigint): Promise<Response> {
    return this.request(OperationType.GET_LIST_OF_ENTRIES_OF_LEDGER, {
      getListOfEntriesOfLedgerRequest: { ledgerId },
    });
  }

  auth(authPluginName: string, payload = Buffer.alloc(0)): Promise<Response> {
    return this.request(OperationType.AUTH, { authRequest: { authPluginName, payload } });
  }

  /** Closes the connection; requests still pending are rejected. */
  async close(): Promise<void> {
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 1000);
    await this.closed;
    clearTimeout(timer);
  }

  /**
   * Writes are corked and flushed once per tick, so pipelined requests leave in few socket writes; a long run
   * of them leaves every WRITE_BATCH_MAX requests, so the bookie starts on the first ones while the client
   * encodes the rest (streaming beat one write of the whole window by 27% in performance.md's yardstick).
   */
  private write(bytes: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.corkedWrites = 0;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(bytes);
    if (++this.corkedWrites === WRITE_BATCH_MAX) {
      this.corkedWrites = 0;
      this.socket.uncork();
      this.socket.cork();
    }
  }

  private onFrame(payload: Buffer): void {
    const response = decodeResponse(payload);
    const waiter = this.pending.get(response.header.txnId);
    if (waiter === undefined) {
      this.fail(new Error(`response for unknown txnId ${response.header.txnId}`));
      return;
    }
    this.pending.delete(response.header.txnId);
    waiter(undefined, response);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.pending.values()) waiter(this.failure, undefined);
    this.pending.clear();
    this.socket.destroy();
  }
}

function addEntryBody(args: AddEntryArgs): RequestBody {
  return {
    addRequest: {
      ledgerId: args.ledgerId,
      entryId: args.entryId,
      masterKey: args.masterKey,
      body: args.body,
      flag: args.recoveryAdd ? AddRequestFlag.RECOVERY_ADD : undefined,
      writeFlags: args.deferredSync ? WriteFlag.DEFERRED_SYNC : undefined,
    },
  };
}

function addEntryHeader(args: AddEntryArgs): Partial<BKPacketHeader> {
  return args.priority === undefined ? {} : { priority: args.priority };
}
