import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Logger } from '../../../common';
import { KafkaConnection } from './kafka-connection';
import type { KafkaConnectionOptions, KafkaRequestHandler } from './kafka-connection';

export interface KafkaServerOptions extends KafkaConnectionOptions {
  /** Bind address (a `kafkaListeners` host); port 0 picks a free one. */
  host: string;
  port: number;
  handler: KafkaRequestHandler;
  logger: Logger;
}

/**
 * The Kafka listener: a TCP server whose every connection is a KafkaConnection over the one request handler.
 * `close()` stops accepting, closes the open connections (their unanswered requests are dropped; clients retry)
 * and resolves once the server is closed.
 */
export class KafkaServer {
  private readonly server: Server;
  private readonly connections = new Map<number, KafkaConnection>();
  private nextConnectionId = 1;
  private boundPort = 0;

  private constructor(private readonly options: KafkaServerOptions) {
    this.server = createServer((socket) => this.accept(socket));
  }

  static async start(options: KafkaServerOptions): Promise<KafkaServer> {
    const server = new KafkaServer(options);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.server.listen(options.port, options.host, () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    const address = server.server.address();
    server.boundPort = typeof address === 'object' && address !== null ? address.port : options.port;
    options.logger.info({ host: options.host, port: server.boundPort }, 'kafka listener started');
    return server;
  }

  /** The port listened on (the chosen one when started with port 0). */
  get port(): number {
    return this.boundPort;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.connections.values()) connection.close();
    await closed;
  }

  private accept(socket: Socket): void {
    const id = this.nextConnectionId++;
    const connection = new KafkaConnection(
      socket,
      id,
      this.options.handler,
      this.options.logger,
      this.options,
    );
    this.connections.set(id, connection);
    socket.once('close', () => this.connections.delete(id));
  }
}
