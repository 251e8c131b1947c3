import type { CounterCell, HistogramCell, HotCounter, HotHistogram, Logger } from '../../common';
import {
  AddRequestFlag,
  GetBookieInfoFlag,
  OperationType,
  ProtocolVersion,
  ReadRequestFlag,
  StatusCode,
  WriteFlag,
} from '../../protocol';
import type { AddRequest, BKPacketHeader, ReadRequest, Request, Response } from '../../protocol';
import type { Bookie } from '../bookie';
import type { ReadEntryResult } from '../bookie-requests';
import type { BookieMetrics } from '../bookie-metrics';

/**
 * Turns one decoded v3 Request into calls on the Bookie and one Response, BookKeeper's *ProcessorV3 classes
 * in one table. Knows the meaning of messages, not sockets: the connection hands it a request and a function
 * to answer with, exactly once. Every response copies the request's header (the client matches on txnId) and
 * mirrors the inner status in the top-level one.
 */

export type Respond = (response: Response) => void;

/** The plugin name both sides use when authentication is off. */
export const AUTH_DISABLED_PLUGIN = 'AuthDisabledPlugin';

const OPERATION_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(OperationType)
    .filter(([, value]) => typeof value === 'number')
    .map(([name, value]) => [value, name]),
);
const STATUS_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(StatusCode)
    .filter(([, value]) => typeof value === 'number')
    .map(([name, value]) => [value, name]),
);

/** Is this request a long poll (it may wait for a LAC, so it does not count as ordinary work in flight)? */
export function isLongPoll(request: Request): boolean {
  const read = request.readRequest;
  return (
    request.header.operation === OperationType.READ_ENTRY &&
    read !== undefined &&
    read.flag !== ReadRequestFlag.FENCE_LEDGER &&
    read.previousLAC !== undefined
  );
}

export class RequestProcessor {
  private readonly bookie: Bookie;
  private readonly logger: Logger;
  private readonly requests: HotCounter<'operation' | 'status'>;
  private readonly latency: HotHistogram<'operation'>;
  /** Metric cells by operation and status, so the per-request cost is a map lookup and an addition. */
  private readonly counters = new Map<number, CounterCell>();
  private readonly timers = new Map<number, HistogramCell>();

  constructor(options: { bookie: Bookie; metrics: BookieMetrics; logger: Logger }) {
    this.bookie = options.bookie;
    this.logger = options.logger;
    this.requests = options.metrics.requests;
    this.latency = options.metrics.requestLatency;
  }

  /** Handles one request; `respond` is called exactly once, possibly later and out of order with others. */
  process(request: Request, respond: Respond, signal: AbortSignal | undefined): void {
    const { header } = request;
    const started = performance.now();
    let answered = false;
    const answer: Respond = (response) => {
      if (answered) return;
      answered = true;
      this.record(header.operation, response.status, started);
      respond(response);
    };
    try {
      if (header.version !== ProtocolVersion.VERSION_THREE) {
        answer(errorResponse(request, StatusCode.EBADVERSION));
        return;
      }
      this.dispatch(request, answer, signal);
    } catch (error) {
      this.logger.error({ err: error, operation: header.operation }, 'request handler failed');
      answer(errorResponse(request, StatusCode.EIO));
    }
  }

  private dispatch(request: Request, answer: Respond, signal: AbortSignal | undefined): void {
    const { header } = request;
    if (header.operation === OperationType.ADD_ENTRY) {
      // The hot path, kept apart so that it allocates nothing for the other operations' error handling.
      if (request.addRequest !== undefined) {
        this.addEntry(request.addRequest, header, answer);
        return;
      }
      answer(errorResponse(request, StatusCode.EBADREQ));
      return;
    }
    const failed = (error: unknown): void => {
      this.logger.error({ err: error, operation: header.operation }, 'request handler failed');
      answer(errorResponse(request, StatusCode.EIO));
    };
    switch (header.operation) {
      case OperationType.READ_ENTRY: {
        const read = request.readRequest;
        if (read === undefined) break;
        const reading = this.read(read, signal);
        if (reading === undefined) break;
        reading.then((result) => answer(readResponse(request, read, result)), failed);
        return;
      }
      case OperationType.AUTH: {
        const auth = request.authRequest;
        if (auth === undefined) break;
        // Authentication is off: the client's "AuthDisabledPlugin" handshake is echoed; any other plugin is refused.
        const status = auth.authPluginName === AUTH_DISABLED_PLUGIN ? StatusCode.EOK : StatusCode.EUA;
        answer({
          header,
          status,
          authResponse: { authPluginName: AUTH_DISABLED_PLUGIN, payload: auth.payload },
        });
        return;
      }
      case OperationType.WRITE_LAC: {
        const writeLac = request.writeLacRequest;
        if (writeLac === undefined) break;
        const { ledgerId } = writeLac;
        this.bookie
          .writeLac(ledgerId, writeLac.masterKey, writeLac.body)
          .then((status) => answer({ header, status, writeLacResponse: { status, ledgerId } }), failed);
        return;
      }
      case OperationType.READ_LAC: {
        const readLac = request.readLacRequest;
        if (readLac === undefined) break;
        const { ledgerId } = readLac;
        this.bookie.readLac(ledgerId).then(
          (result) =>
            answer({
              header,
              status: result.status,
              readLacResponse: {
                status: result.status,
                ledgerId,
                lacBody: result.lacBody,
                lastEntryBody: result.lastEntryBody,
              },
            }),
          failed,
        );
        return;
      }
      case OperationType.GET_BOOKIE_INFO: {
        const requested = request.getBookieInfoRequest?.requested ?? 0n;
        this.bookie.getBookieInfo().then((result) => {
          const { status } = result;
          answer({
            header,
            status,
            getBookieInfoResponse: {
              status,
              totalDiskCapacity:
                (requested & BigInt(GetBookieInfoFlag.TOTAL_DISK_CAPACITY)) !== 0n
                  ? result.totalDiskCapacity
                  : undefined,
              freeDiskSpace:
                (requested & BigInt(GetBookieInfoFlag.FREE_DISK_SPACE)) !== 0n
                  ? result.freeDiskSpace
                  : undefined,
            },
          });
        }, failed);
        return;
      }
      case OperationType.FORCE_LEDGER: {
        const force = request.forceLedgerRequest;
        if (force === undefined) break;
        const { ledgerId } = force;
        this.bookie
          .forceLedger(ledgerId)
          .then((status) => answer({ header, status, forceLedgerResponse: { status, ledgerId } }), failed);
        return;
      }
      case OperationType.GET_LIST_OF_ENTRIES_OF_LEDGER: {
        const list = request.getListOfEntriesOfLedgerRequest;
        if (list === undefined) break;
        const { ledgerId } = list;
        this.bookie.getListOfEntriesOfLedger(ledgerId).then(
          (result) =>
            answer({
              header,
              status: result.status,
              getListOfEntriesOfLedgerResponse: {
                status: result.status,
                ledgerId,
                availabilityOfEntriesOfLedger: result.availability,
              },
            }),
          failed,
        );
        return;
      }
      // START_TLS: TLS is not supported yet. RANGE_*, BATCH_READ_ENTRY (v2 only) and unknown operations: EBADREQ.
    }
    answer(errorResponse(request, StatusCode.EBADREQ));
  }

  private addEntry(add: AddRequest, header: BKPacketHeader, answer: Respond): void {
    const { ledgerId, entryId } = add;
    this.bookie.addEntry(
      {
        ledgerId,
        entryId,
        masterKey: add.masterKey,
        body: add.body,
        recoveryAdd: add.flag === AddRequestFlag.RECOVERY_ADD,
        ackBeforeSync: ((add.writeFlags ?? 0) & WriteFlag.DEFERRED_SYNC) !== 0,
        highPriority: (header.priority ?? 0) > 0,
      },
      (status) => answer({ header, status, addResponse: { status, ledgerId, entryId } }),
    );
  }

  /** Classifies a read as BookKeeper does: fence, else long poll (previousLAC set), else plain. */
  private read(read: ReadRequest, signal: AbortSignal | undefined): Promise<ReadEntryResult> | undefined {
    const { ledgerId, entryId } = read;
    if (read.flag === ReadRequestFlag.FENCE_LEDGER) {
      if (read.masterKey === undefined) return undefined;
      return this.bookie.fenceAndRead(ledgerId, entryId, read.masterKey);
    }
    if (read.previousLAC !== undefined) {
      return this.bookie.readLongPoll({
        ledgerId,
        entryId,
        previousLAC: read.previousLAC,
        timeOutMs: Number(read.timeOut ?? 0n),
        piggyback: read.flag === ReadRequestFlag.ENTRY_PIGGYBACK,
        signal,
      });
    }
    if (read.flag === ReadRequestFlag.ENTRY_PIGGYBACK) return undefined;
    return this.bookie.readEntry(ledgerId, entryId);
  }

  private record(operation: number, status: number, started: number): void {
    const key = operation * 1024 + (status % 1024);
    let counter = this.counters.get(key);
    if (counter === undefined) {
      counter = this.requests.cell({
        operation: OPERATION_NAMES[operation] ?? 'UNKNOWN',
        status: STATUS_NAMES[status] ?? String(status),
      });
      this.counters.set(key, counter);
    }
    counter.inc();
    let timer = this.timers.get(operation);
    if (timer === undefined) {
      timer = this.latency.cell({ operation: OPERATION_NAMES[operation] ?? 'UNKNOWN' });
      this.timers.set(operation, timer);
    }
    timer.observe((performance.now() - started) / 1000);
  }
}

function readResponse(request: Request, read: ReadRequest, result: ReadEntryResult): Response {
  return {
    header: request.header,
    status: result.status,
    readResponse: {
      status: result.status,
      ledgerId: read.ledgerId,
      entryId: result.entryId ?? read.entryId,
      body: result.body,
      maxLAC: result.maxLAC,
      lacUpdateTimestamp: result.lacUpdateTimestamp,
    },
  };
}

/**
 * A refusal (EBADREQ, EBADVERSION, EIO) carrying the operation's own response message with the ids the client
 * sent, when the request had them, so a client waiting on that ledger/entry sees its status.
 */
export function errorResponse(request: Request, status: StatusCode): Response {
  const response: Response = { header: request.header, status };
  switch (request.header.operation) {
    case OperationType.ADD_ENTRY:
      if (request.addRequest !== undefined) {
        const { ledgerId, entryId } = request.addRequest;
        response.addResponse = { status, ledgerId, entryId };
      }
      break;
    case OperationType.READ_ENTRY:
      if (request.readRequest !== undefined) {
        const { ledgerId, entryId } = request.readRequest;
        response.readResponse = { status, ledgerId, entryId };
      }
      break;
    case OperationType.WRITE_LAC:
      if (request.writeLacRequest !== undefined) {
        response.writeLacResponse = { status, ledgerId: request.writeLacRequest.ledgerId };
      }
      break;
    case OperationType.READ_LAC:
      if (request.readLacRequest !== undefined) {
        response.readLacResponse = { status, ledgerId: request.readLacRequest.ledgerId };
      }
      break;
    case OperationType.FORCE_LEDGER:
      if (request.forceLedgerRequest !== undefined) {
        response.forceLedgerResponse = { status, ledgerId: request.forceLedgerRequest.ledgerId };
      }
      break;
    case OperationType.GET_LIST_OF_ENTRIES_OF_LEDGER:
      if (request.getListOfEntriesOfLedgerRequest !== undefined) {
        response.getListOfEntriesOfLedgerResponse = {
          status,
          ledgerId: request.getListOfEntriesOfLedgerRequest.ledgerId,
        };
      }
      break;
    case OperationType.GET_BOOKIE_INFO:
      response.getBookieInfoResponse = { status };
      break;
  }
  return response;
}
