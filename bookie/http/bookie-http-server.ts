import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestBodyTooLargeError, readRequestBody } from '../../common';
import type { Logger } from '../../common';
import { ADMIN_ROUTES, AdminRequestError, type AdminResponse } from './admin-routes';
import type { AdminTarget } from './admin-target';

/** Admin request bodies are a few bytes of JSON; anything larger is refused before it is buffered. */
const DEFAULT_REQUEST_BODY_BYTES_MAX = 64 * 1024;

export interface BookieHttpServerOptions {
  target: AdminTarget;
  logger: Logger;
  requestBodyBytesMax?: number;
}

function textResponse(status: number, body: string): AdminResponse {
  return { status, body, contentType: 'text/plain; charset=utf-8' };
}

/** Reads the whole body as text, refusing (413) one longer than `bytesMax`. */
function readBody(request: IncomingMessage, bytesMax: number): Promise<string> {
  return readRequestBody(request, bytesMax).then(
    (body) => body.toString('utf8'),
    (error: unknown) => {
      throw error instanceof RequestBodyTooLargeError ? new AdminRequestError(413, error.message) : error;
    },
  );
}

/**
 * The bookie's admin HTTP server (httpServerPort, default 8000): BookKeeper's admin endpoints (see
 * ./admin-routes.ts) and /metrics. An unknown path is 404, a known path with another method 405 (with Allow),
 * bad input 400 with a message; a handler failure is a 500 that is logged. Nothing a client sends can crash
 * the process.
 */
export class BookieHttpServer {
  private readonly server: Server;
  private readonly logger: Logger;
  private readonly requestBodyBytesMax: number;

  constructor(private readonly options: BookieHttpServerOptions) {
    this.logger = options.logger.child({ component: 'bookie-http' });
    this.requestBodyBytesMax = options.requestBodyBytesMax ?? DEFAULT_REQUEST_BODY_BYTES_MAX;
    this.server = createServer((request, response) => void this.serve(request, response));
    // A malformed request line or header: answer 400 if the socket can still take it, then drop it.
    this.server.on('clientError', (error, socket) => {
      this.logger.debug({ err: error }, 'malformed http request');
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Listens on `host:port` (port 0 picks a free one); resolves once listening. */
  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.logger.info({ host, port: this.port }, 'admin http server listening');
        resolve();
      });
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.close((error) => (error === undefined ? resolve() : reject(error)));
      this.server.closeAllConnections();
    });
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    response.on('error', (error) => this.logger.debug({ err: error }, 'admin http response failed'));
    let answer: AdminResponse;
    const method = request.method ?? 'GET';
    try {
      answer = await this.route(request, method);
    } catch (error) {
      if (error instanceof AdminRequestError) {
        if (error instanceof MethodNotAllowedError) response.setHeader('Allow', error.allowed);
        answer = textResponse(error.status, error.message);
      } else {
        this.logger.error({ err: error, url: request.url, method }, 'admin request failed');
        answer = textResponse(
          500,
          `internal error: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    if (answer.status === 413) response.setHeader('Connection', 'close');
    response.writeHead(answer.status, {
      'Content-Type': answer.contentType,
      'Content-Length': Buffer.byteLength(answer.body),
    });
    response.end(answer.body);
  }

  private async route(request: IncomingMessage, method: string): Promise<AdminResponse> {
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://bookie');
    } catch {
      throw new AdminRequestError(400, `malformed request target ${request.url}`);
    }
    const route = ADMIN_ROUTES.get(url.pathname);
    if (route === undefined) throw new AdminRequestError(404, `no such endpoint: ${url.pathname}`);
    const handler = Object.hasOwn(route, method) ? route[method] : undefined;
    if (handler === undefined) {
      const allowed = Object.keys(route).join(', ');
      throw new MethodNotAllowedError(method, url.pathname, allowed);
    }
    const body = await readBody(request, this.requestBodyBytesMax);
    return handler({ query: url.searchParams, body }, this.options.target);
  }
}

class MethodNotAllowedError extends AdminRequestError {
  constructor(
    method: string,
    path: string,
    readonly allowed: string,
  ) {
    super(405, `${method} is not allowed on ${path}; use ${allowed}`);
  }
}
