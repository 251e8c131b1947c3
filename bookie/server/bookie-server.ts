import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Logger } from '../../common';
import { localBookies } from '../../protocol';
import type { Bookie } from '../bookie';
import type { BookieConfig } from '../bookie-config';
import type { BookieMetrics } from '../bookie-metrics';
import { BookieConnection, DEFAULT_CONNECTION_LIMITS } from './bookie-connection';
import type { ConnectionLimits } from './bookie-connection';
import { RequestProcessor } from './request-processor';

/**
 * The bookie's v3 protocol endpoint: a TCP server on `bookiePort` / `listeningInterface` (0 picks a free port),
 * one BookieConnection per client. Only the v3 protobuf protocol is spoken; a v2 binary frame closes its
 * connection (see README.md).
 */

export interface BookieServerOptions {
  bookie: Bookie;
  config: Pick<BookieConfig, 'bookiePort' | 'listeningInterface' | 'nettyMaxFrameSizeBytes'>;
  metrics: BookieMetrics;
  logger: Logger;
  limits?: Partial<ConnectionLimits>;
  /** Registers the bookie under this id for clients in this process (enableLocalTransport), while it serves. */
  localBookieId?: string;
}

export class BookieServer {
  private readonly server: Server;
  private readonly processor: RequestProcessor;
  private readonly config: BookieServerOptions['config'];
  private readonly metrics: BookieMetrics;
  private readonly logger: Logger;
  private readonly limits: ConnectionLimits;
  private readonly connections = new Set<BookieConnection>();
  private listening = false;
  private readonly localBookieId: string | undefined;

  constructor(options: BookieServerOptions) {
    this.config = options.config;
    this.metrics = options.metrics;
    this.logger = options.logger.child({ component: 'bookie-server' });
    this.limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
    this.localBookieId = options.localBookieId;
    this.processor = new RequestProcessor({
      bookie: options.bookie,
      metrics: options.metrics,
      logger: this.logger,
    });
    this.server = createServer((socket) => this.accept(socket));
    this.server.on('error', (error) => this.logger.error({ err: error }, 'server error'));
  }

  /** Starts listening; resolves with the bound address. */
  start(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.server.once('error', onError);
      this.server.listen(this.config.bookiePort, this.config.listeningInterface, () => {
        this.server.off('error', onError);
        this.listening = true;
        const address = this.address();
        if (this.localBookieId !== undefined) localBookies.register(this.localBookieId, this.processor);
        this.logger.info(
          { host: address.address, port: address.port, localBookieId: this.localBookieId },
          'bookie server listening',
        );
        resolve(address);
      });
    });
  }

  address(): AddressInfo {
    const address = this.server.address();
    if (address === null || typeof address === 'string')
      throw new Error('the bookie server is not listening');
    return address;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting connections, lets each connection finish the requests it has in flight (up to `graceMs`),
   * then closes them. Close the Bookie after this.
   */
  async close(graceMs = 5000): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    // Clients in this process get no new requests through: theirs in flight are still answered.
    if (this.localBookieId !== undefined) localBookies.unregister(this.localBookieId, this.processor);
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.connections].map((connection) => connection.drainAndClose(graceMs)));
    await stopped;
    this.logger.info('bookie server closed');
  }

  private accept(socket: Socket): void {
    if (!this.listening) {
      socket.destroy();
      return;
    }
    const connection = new BookieConnection({
      socket,
      processor: this.processor,
      logger: this.logger,
      limits: this.limits,
      maxFrameSizeBytes: this.config.nettyMaxFrameSizeBytes,
    });
    this.connections.add(connection);
    this.metrics.connections.inc();
    connection.onClosed(() => {
      this.connections.delete(connection);
      this.metrics.connections.dec();
    });
    this.logger.debug({ remote: connection.remote }, 'connection accepted');
  }
}
