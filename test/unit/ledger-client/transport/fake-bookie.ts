import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import {
  FrameDecoder,
  OperationType,
  StatusCode,
  decodeRequest,
  encodeResponseFrame,
} from '../../../../protocol';
import type { Request, Response } from '../../../../protocol';

/**
 * An in-process stand-in for a bookie, for the transport's unit tests: it speaks v3 framing over real TCP on
 * 127.0.0.1, records every request and every connection, and answers as its script says. By default it
 * answers every request at once with `status`; a test replaces `onRequest` to hold, reorder or corrupt answers.
 */

export interface ReceivedRequest {
  request: Request;
  socket: Socket;
  /** Sends the usual answer for this request with `status` (EOK unless given). */
  answer(status?: StatusCode): void;
}

export class FakeBookie {
  readonly requests: ReceivedRequest[] = [];
  readonly sockets: Socket[] = [];
  /** 'data' events seen per connection, in connection order. */
  readonly chunksPerConnection: number[] = [];
  onRequest: (received: ReceivedRequest) => void = (received) => received.answer();

  private readonly server: Server = createServer((socket) => this.accept(socket));
  private listeningPort = 0;

  private constructor() {}

  get port(): number {
    return this.listeningPort;
  }

  get bookieId(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Listens on `port` (a free one when 0). */
  static async start(port = 0): Promise<FakeBookie> {
    const fake = new FakeBookie();
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = fake.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    fake.listeningPort = address.port;
    return fake;
  }

  /** Requests received with the given operation. */
  received(operation: OperationType): ReceivedRequest[] {
    return this.requests.filter((r) => r.request.header.operation === operation);
  }

  /** Stops listening and drops every connection; resolves once the server is closed. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.push(socket);
    const index = this.chunksPerConnection.push(0) - 1;
    const decoder = new FrameDecoder((payload) => {
      const request = decodeRequest(payload);
      const received: ReceivedRequest = {
        request,
        socket,
        answer: (status = StatusCode.EOK) => {
          if (!socket.destroyed) socket.write(encodeResponseFrame(answerFor(request, status)));
        },
      };
      this.requests.push(received);
      this.onRequest(received);
    });
    socket.on('data', (chunk: Buffer) => {
      this.chunksPerConnection[index]!++;
      decoder.push(chunk);
    });
    socket.on('error', () => undefined);
  }
}

/** The response a bookie sends to `request` with `status`, with the request's ids echoed. */
export function answerFor(request: Request, status: StatusCode): Response {
  const { header } = request;
  const response: Response = { header, status };
  switch (header.operation) {
    case OperationType.ADD_ENTRY: {
      const { ledgerId, entryId } = request.addRequest!;
      response.addResponse = { status, ledgerId, entryId };
      break;
    }
    case OperationType.READ_ENTRY: {
      const { ledgerId, entryId } = request.readRequest!;
      response.readResponse = { status, ledgerId, entryId };
      break;
    }
    case OperationType.READ_LAC:
      response.readLacResponse = { status, ledgerId: request.readLacRequest!.ledgerId };
      break;
    case OperationType.WRITE_LAC:
      response.writeLacResponse = { status, ledgerId: request.writeLacRequest!.ledgerId };
      break;
    case OperationType.FORCE_LEDGER:
      response.forceLedgerResponse = { status, ledgerId: request.forceLedgerRequest!.ledgerId };
      break;
    case OperationType.GET_BOOKIE_INFO:
      response.getBookieInfoResponse = { status, totalDiskCapacity: 1000n, freeDiskSpace: 400n };
      break;
  }
  return response;
}
