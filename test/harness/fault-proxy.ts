import { performance } from 'node:perf_hooks';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { FrameDecoder, decodeRequest, decodeResponse, encodeFrameHeader } from '../../protocol';
import type { BKPacketHeader, OperationType, Request, Response, StatusCode } from '../../protocol';

/**
 * A fault-injecting TCP proxy between a client and one bookie, in the test's own process, that understands v3
 * framing: each frame is decoded (FrameDecoder, decodeRequest / decodeResponse) so that rules can pick exact
 * messages to drop, delay or hold (reliability.md §2, scenarios S1–S6), and forwarded as the bytes it came as.
 *
 * Addressing: a client connects to the proxy's `address` (127.0.0.1:<port>) as if it were the bookie. A ledger
 * client connects to the bookie ids its metadata names, so the bookie must be *registered* under the proxy's
 * address, or the ensembles it is placed in name the real bookie and the proxy is bypassed. BookieCluster
 * does this with `{ proxied: true }`: each bookie gets `bookieId=<proxy address>` in its bookie.conf (it still
 * listens on its own port, where the proxy forwards), so its registration, its cookie and every ensemble name
 * the proxy.
 *
 * Rules (`rule(match, action, times)`) are tried in the order they were added; the first active one whose
 * match accepts the message decides it, and counts one use; a rule used `times` times retires. A message no
 * rule takes passes. Actions:
 *   'pass'          forward now;
 *   'drop'          never forward (the bookie never sees the request / the client never sees the response);
 *   { delayMs }     forward after delayMs; messages behind it on the connection do not wait (so a long delay
 *                   reorders, as a lost-and-retransmitted packet would);
 *   'hold'          keep it until the test calls `release()`; messages behind it go on.
 * `block()` stops delivery in both directions on every connection, like a stalled link: what would have been
 * forwarded waits, in order, until `unblock()`. `disconnect()` resets every connection (both sides get
 * ECONNRESET) and forgets what waited on them. A message whose connection is gone when its turn comes is dropped.
 *
 * Connections: each client connection gets its own connection to the bookie; when either side closes, so does
 * the other. A client connecting while the bookie is down is accepted, then reset once the bookie refuses the
 * proxy (a direct connection would be refused outright). A frame that cannot be framed (negative length)
 * closes that connection, as the bookie would; a frame that does not decode is still forwarded as it is, with
 * `operation` undefined.
 */

export type Direction = 'request' | 'response';

/** A message the proxy saw, decoded, with the fields rules usually match on. */
export interface ProxiedMessage {
  direction: Direction;
  /** The client connection it came on, numbered from 1 in the order the proxy accepted them. */
  connection: number;
  /** undefined when the frame does not decode as a v3 message. */
  operation: OperationType | undefined;
  txnId: bigint | undefined;
  ledgerId: bigint | undefined;
  entryId: bigint | undefined;
  /** Request: ReadRequest.flag (FENCE_LEDGER, ENTRY_PIGGYBACK) or AddRequest.flag (RECOVERY_ADD). */
  flag: number | undefined;
  /** Response: the operation's status (e.g. addResponse.status), else the response's own. */
  status: StatusCode | undefined;
  request: Request | undefined;
  response: Response | undefined;
  /** Frame payload size. */
  bytes: number;
}

/** Fields that must all be equal; a field left out (or undefined) matches anything. */
export type MessageMatch = Partial<
  Pick<
    ProxiedMessage,
    'direction' | 'connection' | 'operation' | 'txnId' | 'ledgerId' | 'entryId' | 'flag' | 'status'
  >
>;
export type MessageFilter = MessageMatch | ((message: ProxiedMessage) => boolean);

export type FaultAction = 'pass' | 'drop' | 'hold' | { delayMs: number };

export interface FaultRule {
  readonly action: FaultAction;
  /** Messages this rule decided so far. */
  readonly hits: number;
  /** Stops the rule deciding further messages. */
  remove(): void;
}

/** What became of a message: the decoded fields (not the message bodies), the rule's action, and when. */
export interface LoggedMessage extends Omit<ProxiedMessage, 'request' | 'response'> {
  fate: 'passed' | 'dropped';
  /** The action that decided it ('pass' when no rule did); 'delay' for { delayMs }. */
  action: 'pass' | 'drop' | 'hold' | 'delay';
  /** performance.now() when it was forwarded or dropped. */
  atMs: number;
}

/** A MessageMatch that may also name what became of the message. */
export type LogMatch = MessageMatch & Partial<Pick<LoggedMessage, 'fate' | 'action'>>;

export interface FaultProxyOptions {
  /** The bookie's port (on targetHost). */
  targetPort: number;
  targetHost?: string;
  /** Port to listen on, on 127.0.0.1; 0 (default) lets the kernel pick. */
  port?: number;
  /** The log keeps at least the latest logMax messages (default 100,000). */
  logMax?: number;
}

/** Frames are passed on whatever their size: the bookie (or client) behind the proxy enforces its own limit. */
const FRAME_BYTES_MAX = 0x7fff_ffff;
const LOG_MAX_DEFAULT = 100_000;

interface Link {
  readonly id: number;
  readonly client: Socket;
  readonly upstream: Socket;
  open: boolean;
}

interface InFlight {
  link: Link;
  message: ProxiedMessage;
  payload: Buffer;
  action: LoggedMessage['action'];
}

interface ActiveRule extends FaultRule {
  filter: MessageFilter;
  timesLeft: number;
  hits: number;
}

export class FaultProxy {
  /** Messages forwarded or dropped, oldest first (bounded by logMax). */
  readonly log: LoggedMessage[] = [];
  private readonly links = new Set<Link>();
  private readonly rules: ActiveRule[] = [];
  private readonly holding: InFlight[] = [];
  private readonly blockedQueue: InFlight[] = [];
  private readonly delays = new Set<NodeJS.Timeout>();
  private readonly corked = new Set<Socket>();
  private linkCount = 0;
  private blocked = false;
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly options: Required<Omit<FaultProxyOptions, 'port'>>,
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, {
      targetPort: options.targetPort,
      targetHost: options.targetHost ?? '127.0.0.1',
      logMax: options.logMax ?? LOG_MAX_DEFAULT,
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('the fault proxy is not listening');
    return address.port;
  }

  /** `127.0.0.1:<port>`: what the client is given as the bookie id. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get targetPort(): number {
    return this.options.targetPort;
  }

  /** Client connections currently open. */
  get connections(): number {
    return this.links.size;
  }

  /** Messages held by 'hold' rules, in arrival order, awaiting `release()`. */
  get held(): ProxiedMessage[] {
    return this.holding.map((h) => h.message);
  }

  /** Adds a rule after the existing ones: messages `match` accepts get `action`, at most `times` of them. */
  rule(match: MessageFilter, action: FaultAction, times = Infinity): FaultRule {
    if (typeof action === 'object' && !(action.delayMs >= 0)) {
      throw new Error(`a delay must be a non-negative number of ms, got ${action.delayMs}`);
    }
    if (!(times >= 1)) throw new Error(`a rule applies at least once, got times=${times}`);
    const rules = this.rules;
    const rule: ActiveRule = {
      action,
      filter: match,
      timesLeft: times,
      hits: 0,
      remove() {
        const at = rules.indexOf(rule);
        if (at >= 0) rules.splice(at, 1);
      },
    };
    rules.push(rule);
    return rule;
  }

  /** Removes every rule; held and delayed messages stay where they are. */
  clearRules(): void {
    this.rules.length = 0;
  }

  /** Forwards the held messages `filter` accepts (all by default), in the order they arrived; how many. */
  release(filter: MessageFilter = {}): number {
    const released: InFlight[] = [];
    for (let i = 0; i < this.holding.length;) {
      const held = this.holding[i]!;
      if (matches(filter, held.message)) {
        released.push(held);
        this.holding.splice(i, 1);
      } else {
        i++;
      }
    }
    for (const held of released) this.deliver(held);
    return released.length;
  }

  /** Stops all delivery, both directions, every connection; what would be forwarded waits for `unblock()`. */
  block(): void {
    this.blocked = true;
  }

  /** Forwards, in order, what waited while blocked, and lets traffic flow again. */
  unblock(): void {
    this.blocked = false;
    for (const waiting of this.blockedQueue.splice(0)) this.forward(waiting);
  }

  /** Resets every open connection; messages held, delayed or blocked on them are dropped. */
  disconnect(): void {
    for (const link of [...this.links]) this.closeLink(link, true);
  }

  /** Log entries `filter` accepts. */
  seen(filter: LogMatch | ((entry: LoggedMessage) => boolean) = {}): LoggedMessage[] {
    return this.log.filter((entry) => matches(filter, entry));
  }

  /** Stops listening, resets every connection, drops everything waiting. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.delays) clearTimeout(timer);
    this.delays.clear();
    this.disconnect();
    this.dropAll(this.holding.splice(0));
    this.dropAll(this.blockedQueue.splice(0));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.closed) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: this.options.targetHost, port: this.options.targetPort });
    const link: Link = { id: ++this.linkCount, client, upstream, open: true };
    this.links.add(link);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.pipe(link, client, 'request');
    this.pipe(link, upstream, 'response');
  }

  private pipe(link: Link, from: Socket, direction: Direction): void {
    const decoder = new FrameDecoder((payload) => this.onFrame(link, direction, payload), {
      maxFrameSizeBytes: FRAME_BYTES_MAX,
    });
    from.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch {
        // Not framed: nothing after this can be trusted to be aligned on frames; the bookie would close too.
        this.closeLink(link, true);
      }
    });
    // A reset (or a refused connection to the bookie) resets the other side; an orderly close closes it.
    from.on('error', () => this.closeLink(link, true));
    from.on('close', () => this.closeLink(link, false));
  }

  private onFrame(link: Link, direction: Direction, payload: Buffer): void {
    const message = describe(link.id, direction, payload);
    const rule = this.rules.find((r) => matches(r.filter, message));
    let action: FaultAction = 'pass';
    if (rule !== undefined) {
      rule.hits += 1;
      if (--rule.timesLeft === 0) rule.remove();
      action = rule.action;
    }
    const inFlight: InFlight = {
      link,
      message,
      payload,
      action: typeof action === 'object' ? 'delay' : action,
    };
    if (action === 'pass') this.deliver(inFlight);
    else if (action === 'drop') this.record(inFlight, 'dropped');
    else if (action === 'hold') this.holding.push(inFlight);
    else {
      const timer = setTimeout(() => {
        this.delays.delete(timer);
        this.deliver(inFlight);
      }, action.delayMs);
      this.delays.add(timer);
    }
  }

  private deliver(inFlight: InFlight): void {
    if (this.blocked) this.blockedQueue.push(inFlight);
    else this.forward(inFlight);
  }

  /** Writes the frame as it came (length prefix and payload) to the other side, corked until the tick ends. */
  private forward(inFlight: InFlight): void {
    const { link, message, payload } = inFlight;
    if (!link.open) {
      this.record(inFlight, 'dropped');
      return;
    }
    const to = message.direction === 'request' ? link.upstream : link.client;
    if (!this.corked.has(to)) {
      this.corked.add(to);
      to.cork();
      process.nextTick(() => {
        this.corked.delete(to);
        to.uncork();
      });
    }
    to.write(encodeFrameHeader(payload.length, FRAME_BYTES_MAX));
    to.write(payload);
    this.record(inFlight, 'passed');
  }

  private record(inFlight: InFlight, fate: LoggedMessage['fate']): void {
    const { request: _request, response: _response, ...fields } = inFlight.message;
    this.log.push({ ...fields, fate, action: inFlight.action, atMs: performance.now() });
    // Amortized trimming: at twice the bound, the older half goes.
    if (this.log.length >= 2 * this.options.logMax) this.log.splice(0, this.log.length - this.options.logMax);
  }

  private closeLink(link: Link, reset: boolean): void {
    if (!link.open) return;
    link.open = false;
    this.links.delete(link);
    for (const socket of [link.client, link.upstream]) {
      if (reset && !socket.destroyed && !socket.connecting) socket.resetAndDestroy();
      else socket.destroy();
    }
    const onLink = (waiting: InFlight) => waiting.link === link;
    this.dropAll(takeWhere(this.holding, onLink));
    this.dropAll(takeWhere(this.blockedQueue, onLink));
  }

  private dropAll(inFlight: InFlight[]): void {
    for (const waiting of inFlight) this.record(waiting, 'dropped');
  }
}

/** Removes and returns the items `test` accepts, keeping the others in order. */
function takeWhere<T>(items: T[], test: (item: T) => boolean): T[] {
  const taken = items.filter(test);
  if (taken.length > 0) items.splice(0, items.length, ...items.filter((item) => !test(item)));
  return taken;
}

function matches<M extends MessageMatch, T extends M>(
  filter: M | ((message: T) => boolean),
  message: T,
): boolean {
  if (typeof filter === 'function') return filter(message);
  for (const key of Object.keys(filter) as Array<keyof M>) {
    const wanted = filter[key];
    if (wanted !== undefined && message[key] !== wanted) return false;
  }
  return true;
}

function describe(connection: number, direction: Direction, payload: Buffer): ProxiedMessage {
  const message: ProxiedMessage = {
    direction,
    connection,
    operation: undefined,
    txnId: undefined,
    ledgerId: undefined,
    entryId: undefined,
    flag: undefined,
    status: undefined,
    request: undefined,
    response: undefined,
    bytes: payload.length,
  };
  try {
    if (direction === 'request') {
      const request = decodeRequest(payload);
      message.request = request;
      message.flag = request.addRequest?.flag ?? request.readRequest?.flag;
      identify(
        message,
        request.header,
        request.addRequest ??
          request.readRequest ??
          request.writeLacRequest ??
          request.readLacRequest ??
          request.forceLedgerRequest ??
          request.getListOfEntriesOfLedgerRequest,
      );
    } else {
      const response = decodeResponse(payload);
      const body =
        response.addResponse ??
        response.readResponse ??
        response.writeLacResponse ??
        response.readLacResponse ??
        response.forceLedgerResponse ??
        response.getListOfEntriesOfLedgerResponse;
      message.response = response;
      message.status = body?.status ?? response.status;
      identify(message, response.header, body);
    }
  } catch {
    // Not a v3 message: forwarded all the same, with nothing to match on but direction and connection.
  }
  return message;
}

/** The header's operation and txnId, and the ledger (and entry) the operation's body names. */
function identify(
  message: ProxiedMessage,
  header: BKPacketHeader,
  body: { ledgerId: bigint; entryId?: bigint } | undefined,
): void {
  message.operation = header.operation;
  message.txnId = header.txnId;
  message.ledgerId = body?.ledgerId;
  message.entryId = body?.entryId;
}
