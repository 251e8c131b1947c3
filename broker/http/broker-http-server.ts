import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import Router from 'find-my-way';
import type { HTTPMethod } from 'find-my-way';
import { LedgerlineError } from '../../common';
import type { Logger } from '../../common';
import { HttpError, sendReason } from './http-exchange';

/** Topic, subscription, tenant and namespace names longer than this are refused (414) before routing. */
const PATH_PARAM_CHARS_MAX = 1024;

/** What a route handler gets: the request, the response, the decoded path parameters and the query. */
export interface HttpExchange {
  req: IncomingMessage;
  res: ServerResponse;
  params: Readonly<Record<string, string | undefined>>;
  query: URLSearchParams;
}

export type RouteHandler = (exchange: HttpExchange) => Promise<void> | void;

export interface BrokerHttpServerOptions {
  logger: Logger;
  /** The HTTP status for an error a handler threw (HttpError carries its own); 500 when this says undefined. */
  errorStatus?: (error: unknown) => number | undefined;
  /** 'upgrade' requests (WebSocket) go here; without it they are refused with 404. */
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** How long close() lets requests in flight finish before it cuts their connections. */
  closeGraceMs?: number;
}

/**
 * The broker's one HTTP server (webServicePort): routes registered by the admin REST API and the broker
 * (find-my-way, a radix-tree router), and WebSocket upgrades handed to the WebSocket service. Every handler
 * error becomes Pulsar's `{"reason": ...}` with a status; an error never escapes to crash the process.
 */
export class BrokerHttpServer {
  private readonly router = Router({
    ignoreTrailingSlash: true,
    ignoreDuplicateSlashes: true,
    maxParamLength: PATH_PARAM_CHARS_MAX,
    defaultRoute: (_req, res) => sendReason(res, 404, 'Not found'),
    onBadUrl: (_path, _req, res) => sendReason(res, 400, 'Bad URL'),
    onMaxParamLength: (_path, _req, res) =>
      sendReason(res, 414, `a path segment is longer than ${PATH_PARAM_CHARS_MAX} characters`),
  });
  private readonly server: Server;
  private readonly logger: Logger;
  private readonly closeGraceMs: number;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: BrokerHttpServerOptions) {
    this.logger = options.logger.child({ component: 'broker-http' });
    this.closeGraceMs = options.closeGraceMs ?? 2000;
    this.server = createServer({ requestTimeout: 60_000, headersTimeout: 20_000 }, (req, res) =>
      this.router.lookup(req, res),
    );
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.options.onUpgrade === undefined || this.closing !== undefined) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      try {
        this.options.onUpgrade(req, socket, head);
      } catch (error) {
        this.logger.error({ err: error, url: req.url }, 'WebSocket upgrade failed');
        socket.destroy();
      }
    });
    this.server.on('clientError', (_error, socket) => {
      if (socket.writable)
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Registers `handler` for `method path` (find-my-way syntax: `/admin/v2/tenants/:tenant`). */
  route(method: HTTPMethod, path: string, handler: RouteHandler): void {
    this.router.on(method, path, (req, res, params, _store, searchParams) => {
      const query = new URLSearchParams(searchParams as Record<string, string>);
      let outcome: Promise<void> | void;
      try {
        outcome = handler({ req, res, params, query });
      } catch (error) {
        this.fail(req, res, error);
        return;
      }
      if (outcome !== undefined) outcome.catch((error: unknown) => this.fail(req, res, error));
    });
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void =>
        reject(
          new LedgerlineError(
            'ListenFailed',
            `the broker cannot listen on ${host}:${port} (webServicePort): ${error.code ?? error.message}`,
            { cause: error },
          ),
        );
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        this.server.on('error', (error) => this.logger.error({ err: error }, 'HTTP server error'));
        resolve();
      });
    });
  }

  /** The port bound (differs from the one asked for only when that was 0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting, lets requests in flight finish for closeGraceMs, then cuts what is left. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      const timer = setTimeout(() => this.server.closeAllConnections(), this.closeGraceMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.server.closeIdleConnections();
    });
    return this.closing;
  }

  private fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    const status = error instanceof HttpError ? error.status : (this.options.errorStatus?.(error) ?? 500);
    if (status >= 500) this.logger.error({ err: error, method: req.method, url: req.url }, 'request failed');
    else this.logger.debug({ err: error, method: req.method, url: req.url, status }, 'request refused');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const reason = error instanceof Error ? error.message : String(error);
    if (status === 413) res.setHeader('Connection', 'close');
    sendReason(res, status, reason);
  }
}
