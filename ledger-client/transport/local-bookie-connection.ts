import { ChurnMap } from '../../common';
import type { Logger } from '../../common';
import { FRAME_LENGTH_BYTES, decodeRequest, localBookies } from '../../protocol';
import type { Request, Response } from '../../protocol';
import type { BookieChannel, ConnectionSettings, OutgoingFrame, PendingRequest } from './bookie-connection';
import type { BookieTransportError } from './transport-error';

/**
 * The channel to a bookie that serves this process through the local transport (protocol/local-bookies.ts,
 * BookKeeper's LocalBookiesRegistry): the pool's Request object is handed to the bookie's request handler (an
 * add, which the pool encodes for every channel, is decoded first), and its Response object comes back with no
 * socket, framing or encoding between.
 *
 * What a request sees is what it sees over TCP: an answer with the bookie's status, or a transport failure —
 * 'timeout' at its deadline (the pool's sweep calls expire), 'too-many-in-flight' past maxPendingRequests,
 * 'connect-failed' once the bookie has stopped serving here, 'client-closed' after close. Answers never complete
 * inside send. A read's body is copied out, as a socket read would have, so that an
 * entry the client keeps does not pin the bookie's cache block it was read from.
 */
export class LocalBookieConnection implements BookieChannel {
  private readonly pending = new ChurnMap<number, PendingRequest>();
  /** Aborts the long polls this client has waiting at the bookie when it closes. */
  private readonly abort = new AbortController();
  private closed = false;

  constructor(
    readonly bookieId: string,
    private readonly settings: ConnectionSettings,
    private readonly logger: Logger,
    private readonly onFailure: (error: BookieTransportError) => void,
  ) {}

  send(request: PendingRequest, frame: OutgoingFrame, now: number): void {
    const bytes = Buffer.isBuffer(frame) ? frame : Buffer.concat(frame);
    // The pool encoded it: a frame that does not decode is our own bug, reported as the socket would (no answer).
    let decoded;
    try {
      decoded = decodeRequest(bytes.subarray(FRAME_LENGTH_BYTES));
    } catch (error) {
      this.failSoon(request, request.error('connection-lost', 'the request did not decode', error));
      return;
    }
    this.sendMessage(request, decoded, now);
  }

  /**
   * Hands the message to the bookie as it is. The bookie keeps no part of it past its answer but what a decoded
   * frame would give it too (a fence's master key), so the caller's buffers are as safe as over a socket.
   */
  sendMessage(request: PendingRequest, message: Request, _now: number): void {
    if (this.closed) {
      this.failSoon(request, request.error('client-closed', 'the client is closed'));
      return;
    }
    if (this.pending.size >= this.settings.maxPendingRequests) {
      const why = `${this.pending.size} requests already outstanding (maxPendingRequestsPerBookie)`;
      this.failSoon(request, request.error('too-many-in-flight', why));
      return;
    }
    const endpoint = localBookies.get(this.bookieId);
    if (endpoint === undefined) {
      const error = request.error(
        'connect-failed',
        'the bookie no longer serves this process (local transport)',
      );
      this.failSoon(request, error);
      this.onFailure(error);
      return;
    }
    this.pending.set(request.txnId, request);
    let sending = true;
    endpoint.process(
      message,
      (response) => {
        // An answer given while send still runs waits for a microtask: callers never see a re-entrant completion.
        if (sending) queueMicrotask(() => this.answer(request, response));
        else this.answer(request, response);
      },
      this.abort.signal,
    );
    sending = false;
  }

  /** Fails every request past its deadline with 'timeout'; a late answer is then dropped. */
  expire(now: number): void {
    if (this.pending.size === 0) return;
    for (const request of this.pending.values()) {
      // Settling one may settle others (a completion that closes the client): each is failed once.
      if (now < request.deadline || !this.pending.delete(request.txnId)) continue;
      request.failLogged(request.error('timeout', `no answer within ${request.timeoutMs} ms`), this.logger);
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.abort.abort();
    const outstanding = this.pending.valuesByKey();
    this.pending.clear();
    for (const request of outstanding)
      request.failLogged(request.error('client-closed', 'the client is closed'), this.logger);
    return Promise.resolve();
  }

  private answer(request: PendingRequest, response: Response): void {
    if (this.pending.get(request.txnId) !== request) return; // timed out or closed meanwhile
    this.pending.delete(request.txnId);
    const read = response.readResponse;
    if (read?.body !== undefined) read.body = Buffer.from(read.body);
    request.completeLogged(response, this.logger);
  }

  private failSoon(request: PendingRequest, error: BookieTransportError): void {
    process.nextTick(() => request.failLogged(error, this.logger));
  }
}
