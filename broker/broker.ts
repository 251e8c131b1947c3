import type { Logger } from '../common';
import { ManagedLedgerFactory, managedLedgerConfigSchema } from '../managed-ledger';
import type { ManagedLedgerConfig, ManagedLedgerFactoryOptions } from '../managed-ledger';
import { createMetadataStore } from '../metadata';
import type { MetadataStore } from '../metadata';
import { adminErrorStatus, registerAdminRoutes } from './admin';
import { BrokerHttpServer } from './http';
import { DurableOffsetStore, GroupCoordinator } from './kafka/group';
import {
  KafkaGroupApis,
  KafkaGroupsAdminView,
  KafkaRequestHandler,
  advertisedKafkaBroker,
  parseKafkaListener,
} from './kafka/handler';
import type { KafkaAdvertisedBroker } from './kafka/handler';
import { KafkaServer } from './kafka/server';
import { BrokerMetrics, BrokerService } from './service';
import type { BrokerConfig, KafkaGroupsView } from './service';
import { WebSocketService } from './websocket';

export interface BrokerStartOptions {
  config: BrokerConfig;
  logger: Logger;
  /** The metadata store to use; without it the broker opens metadataServiceUri's and closes it on close(). */
  store?: MetadataStore;
  /**
   * The BookKeeper client the managed ledgers write through. The caller creates it (the broker never names the
   * ledger client: ARCHITECTURE.md) and closes it after the broker.
   */
  bookKeeper: ManagedLedgerFactoryOptions['bookKeeper'];
}

/**
 * One broker (Pulsar's PulsarService, the part we have): a ManagedLedgerFactory over the given BookKeeper client,
 * the BrokerService (topics, subscriptions), the WebSocket API and one HTTP server on webServicePort for the
 * admin REST API, /metrics, /lookup and the WebSocket upgrades; with kafkaListeners set, the Kafka listener
 * (KafkaServer over a KafkaRequestHandler and the group coordinator).
 *
 * close() runs the start in reverse: close the Kafka listener and its group coordinator first, stop accepting
 * HTTP, close the WebSocket connections (their producers
 * and consumers detach), close every topic (cursor positions flushed, managed ledgers closed), the factory, and
 * the store if the broker opened it.
 */
export class Broker {
  private closing: Promise<void> | undefined;

  private constructor(
    readonly config: BrokerConfig,
    readonly service: BrokerService,
    readonly metrics: BrokerMetrics,
    private readonly factory: ManagedLedgerFactory,
    private readonly webSocket: WebSocketService,
    private readonly http: BrokerHttpServer,
    private readonly ownedStore: MetadataStore | undefined,
    private readonly logger: Logger,
    private readonly kafka: KafkaListener | undefined,
  ) {}

  static async start(options: BrokerStartOptions): Promise<Broker> {
    const { config } = options;
    // The parts name their own component in child loggers of the root; this one is for the broker's own lines.
    const root = options.logger;
    const logger = root.child({ component: 'broker' });
    const cleanup: Array<() => Promise<unknown>> = [];
    try {
      let store = options.store;
      let ownedStore: MetadataStore | undefined;
      if (store === undefined) {
        ({ store } = await createMetadataStore(config.metadataServiceUri, { logger: root }));
        ownedStore = store;
        const opened = store;
        cleanup.unshift(() => opened.close());
      }
      const factory = new ManagedLedgerFactory({
        bookKeeper: options.bookKeeper,
        store,
        logger: root,
        config: managedLedgerSettingsOf(config),
      });
      cleanup.unshift(() => factory.close());
      const metrics = new BrokerMetrics();
      const service = new BrokerService({ factory, store, config, logger: root, metrics });
      await service.start();
      cleanup.unshift(() => service.close());
      const webSocket = new WebSocketService({ broker: service, config, logger: root, metrics });
      cleanup.unshift(() => webSocket.close());

      const http = new BrokerHttpServer({
        logger: root,
        errorStatus: adminErrorStatus,
        onUpgrade: (req, socket, head) => webSocket.handleUpgrade(req, socket, head),
      });
      const host = advertisedHost(config);
      // Set once the Kafka listener runs (it starts after the HTTP server): the admin routes read it then.
      const kafkaGroups: { view?: KafkaGroupsView } = {};
      registerAdminRoutes(http, {
        broker: service,
        webServiceUrl: () => `http://${host}:${http.port}`,
        kafkaGroups: () => kafkaGroups.view,
      });
      http.route('GET', '/metrics', async ({ res }) => {
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
        res.end(text);
      });
      http.route('GET', '/status.html', ({ res }) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('OK');
      });
      await http.listen(config.webServicePort, config.bindAddress);
      cleanup.unshift(() => http.close());
      const kafka = await startKafkaListener(config, service, factory, root);
      if (kafka !== undefined) {
        cleanup.unshift(() => kafka.close());
        kafkaGroups.view = kafka.groupsView;
      }
      logger.info(
        { webServicePort: http.port, bindAddress: config.bindAddress, kafkaPort: kafka?.server.port },
        'broker started',
      );
      return new Broker(config, service, metrics, factory, webSocket, http, ownedStore, logger, kafka);
    } catch (error) {
      await runSteps(
        logger,
        'cleanup after a failed start',
        cleanup.map((step) => ['undo a start step', step]),
      );
      throw error;
    }
  }

  /** The HTTP port bound (admin, WebSocket, /metrics): webServicePort, or the free port given for 0. */
  get port(): number {
    return this.http.port;
  }

  /** The Kafka listener's bound port (kafkaListeners' port, or the free one for 0); undefined without one. */
  get kafkaPort(): number | undefined {
    return this.kafka?.server.port;
  }

  /** What Kafka clients are told to connect to (node id, host, port); undefined without a Kafka listener. */
  get kafkaAdvertised(): KafkaAdvertisedBroker | undefined {
    return this.kafka?.advertised;
  }

  /** Idempotent; every step runs even if one before it failed (each failure is logged). */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.logger.info('broker closing');
    // Stop accepting first; the server's close completes once the WebSocket connections are gone too.
    const httpClosed = this.http.close();
    await runSteps(this.logger, 'broker close failed a step', [
      ['close the Kafka listener', async () => this.kafka?.close()],
      ['close the WebSocket connections', () => this.webSocket.close()],
      ['close the HTTP server', () => httpClosed],
      ['close the topics', () => this.service.close()],
      ['close the managed-ledger factory', () => this.factory.close()],
      ['close the metadata store', async () => this.ownedStore?.close()],
    ]);
    this.logger.info('broker closed');
  }
}

/** The Kafka listener and what answers it. */
interface KafkaListener {
  server: KafkaServer;
  handler: KafkaRequestHandler;
  coordinator: GroupCoordinator;
  offsets: DurableOffsetStore;
  advertised: KafkaAdvertisedBroker;
  /** What the admin REST API shows of the groups. */
  groupsView: KafkaGroupsAdminView;
  close(): Promise<void>;
}

/** The managed ledger of committed group offsets (KoP's `__consumer_offsets`, one for the whole broker). */
function offsetsLedgerName(config: BrokerConfig): string {
  return `${config.kafkaTenant}/__kafka/persistent/__consumer_offsets`;
}

/**
 * Kafka keeps what it acknowledged for its retention period whether or not anyone consumed it; Pulsar's default
 * retention (0) lets a topic's data go once no subscription needs it, and Kafka consumers hold no subscription. So
 * the Kafka namespace gets Kafka's retention (kafkaRetentionTimeInMinutes / SizeInMB) unless it has its own.
 */
async function applyKafkaRetention(
  config: BrokerConfig,
  service: BrokerService,
  logger: Logger,
): Promise<void> {
  const namespace = `${config.kafkaTenant}/${config.kafkaNamespace}`;
  let own;
  try {
    own = await service.namespaces.getRetention(namespace);
  } catch (error) {
    logger.warn({ err: error, namespace }, 'kafka namespace not readable; its retention is left as it is');
    return;
  }
  if (own !== undefined) return;
  const retention = {
    retentionTimeInMinutes: config.kafkaRetentionTimeInMinutes,
    retentionSizeInMB: config.kafkaRetentionSizeInMB,
  };
  await service.namespaces.setRetention(namespace, retention);
  logger.info({ namespace, ...retention }, 'kafka namespace retention set to Kafka defaults');
}

/**
 * Starts the Kafka listener when kafkaListeners names one: the group offsets' store is opened (replayed) first,
 * then the server binds (its port may be 0), so what clients are told (the advertised address and the node id
 * derived from it) is known only then: the connections get a handler that forwards to the real one, set before any
 * request can arrive (the start's continuation runs before the next I/O event).
 */
async function startKafkaListener(
  config: BrokerConfig,
  service: BrokerService,
  factory: ManagedLedgerFactory,
  logger: Logger,
): Promise<KafkaListener | undefined> {
  const listener = parseKafkaListener(config.kafkaListeners, 'kafkaListeners');
  if (listener === undefined) return undefined;
  await applyKafkaRetention(config, service, logger);
  const offsets = await DurableOffsetStore.open(factory, offsetsLedgerName(config), logger);
  let handler: KafkaRequestHandler | undefined;
  let server: KafkaServer;
  try {
    server = await KafkaServer.start({
      host: listener.host,
      port: listener.port,
      logger: logger.child({ component: 'kafka-server' }),
      handler: {
        handle: (request, connection) => {
          if (handler === undefined) return Promise.reject(new Error('the Kafka listener is not ready'));
          return handler.handle(request, connection);
        },
      },
    });
  } catch (error) {
    await offsets.close();
    throw error;
  }
  try {
    const advertised = advertisedKafkaBroker({
      listener,
      boundPort: server.port,
      kafkaAdvertisedListeners: config.kafkaAdvertisedListeners,
      advertisedAddress: config.advertisedAddress,
    });
    const coordinator = new GroupCoordinator({
      offsetStore: offsets,
      logger: logger.child({ component: 'kafka-groups' }),
    });
    const groupApis = new KafkaGroupApis({ coordinator, advertised });
    const ready = new KafkaRequestHandler({ broker: service, advertised, groupApis, logger });
    handler = ready;
    logger.info({ ...advertised, listener: config.kafkaListeners }, 'kafka listener advertised');
    return {
      server,
      handler: ready,
      coordinator,
      offsets,
      advertised,
      groupsView: new KafkaGroupsAdminView({
        coordinator,
        handler: ready,
        namespace: `${config.kafkaTenant}/${config.kafkaNamespace}`,
      }),
      close: async () => {
        ready.close();
        coordinator.close();
        await server.close();
        await offsets.close();
      },
    };
  } catch (error) {
    await server.close();
    await offsets.close();
    throw error;
  }
}

/** Runs every step in order, each even if one before it failed; a failure is logged with what the step was. */
async function runSteps(
  logger: Logger,
  message: string,
  steps: Array<[string, () => Promise<unknown>]>,
): Promise<void> {
  for (const [step, run] of steps) {
    try {
      await run();
    } catch (err) {
      logger.error({ err, step }, message);
    }
  }
}

const MANAGED_LEDGER_KEYS = Object.keys(managedLedgerConfigSchema.shape) as Array<keyof ManagedLedgerConfig>;

/** The managed-ledger settings out of broker.conf (the factory's defaults for every topic). */
function managedLedgerSettingsOf(config: BrokerConfig): Partial<ManagedLedgerConfig> {
  const settings: Record<string, unknown> = {};
  for (const key of MANAGED_LEDGER_KEYS) {
    if (key in config) settings[key] = (config as unknown as Record<string, unknown>)[key];
  }
  return settings as Partial<ManagedLedgerConfig>;
}

/** The host clients are told to use: advertisedAddress, else the bind address unless it is a wildcard. */
function advertisedHost(config: BrokerConfig): string {
  if (config.advertisedAddress !== '') return config.advertisedAddress;
  if (config.bindAddress !== '0.0.0.0' && config.bindAddress !== '::') return config.bindAddress;
  return 'localhost';
}
