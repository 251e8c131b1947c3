import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createRootLogger, loadConfig } from '../common';
import type { Logger } from '../common';
import { BookieService, bookieConfigSchema } from '../bookie';
import { Broker } from '../broker';
import { BookKeeper } from '../ledger-client';
import { createMetadataStore, initNewCluster } from '../metadata';
import type { MetadataStore } from '../metadata';
import { BookieThread } from './bookie-thread';
import { displayHost, untilSignal } from './broker-command';
import { CommandError } from './command-error';
import { standaloneConfigSchema, standaloneKafkaListeners, standaloneQuorums } from './standalone-config';
import type { StandaloneConfig } from './standalone-config';

/** A bookie of the standalone: on the main thread (BookieService) or in its own thread (bookieThreads). */
type StandaloneBookie = Pick<BookieService, 'bookieId' | 'stop'>;

interface StandaloneOptions {
  conf?: string;
  dataDir?: string;
  bookies?: string;
  bookiePort?: string;
  port?: string;
  kafkaPort?: string;
  bindAddress?: string;
}

/**
 * `ledgerline standalone` (what `npm start` runs), as Pulsar's PulsarStandalone: everything in one process with
 * state under dataDir —
 *
 *   embedded metadata store (<dataDir>/metadata, cluster initialized on first start)
 *   → N bookies (BookieService sharing the one store; with bookieThreads each in its own worker thread,
 *     BookieThread, reaching the store through a MessagePort; dirs <dataDir>/bookie-<i>, ports bookiePort + i)
 *   → a BookKeeper client → the Broker (tenant public, namespace public/default) on webServicePort, with its Kafka
 *     listener on bindAddress:kafkaPort (9092; 0 a free port, -1 none) unless kafkaListeners names one.
 *
 * SIGINT/SIGTERM shut down in reverse: the broker first (connections closed, cursor positions flushed, managed
 * ledgers closed), then the client, the bookies (checkpointed) and the store. A restart resumes from dataDir.
 */
export function registerStandaloneCommand(program: Command): void {
  program
    .command('standalone')
    .description('run everything in one process with state under --data-dir: metadata, bookies, broker')
    .option('--conf <file>', 'configuration file (conf/standalone.conf)')
    .option('--data-dir <dir>', 'state directory (default: data)')
    .option('--bookies <n>', 'number of in-process bookies (default 1)')
    .option('--bookie-port <port>', 'first bookie port (default 3181; 0 = free ports, kept across restarts)')
    .option(
      '--port <port>',
      'broker HTTP port: admin REST, WebSocket, /metrics (webServicePort, default 8080)',
    )
    .option(
      '--kafka-port <port>',
      'Kafka listener port on the bind address (default 9092; 0 = a free port, -1 = no Kafka listener)',
    )
    .option('--bind-address <addr>', 'address the broker listens on (bindAddress, default 0.0.0.0)')
    .action(async (opts: StandaloneOptions) => {
      const overrides: Record<string, string> = {};
      if (opts.dataDir !== undefined) overrides.dataDir = opts.dataDir;
      if (opts.bookies !== undefined) overrides.numBookies = opts.bookies;
      if (opts.bookiePort !== undefined) overrides.bookiePort = opts.bookiePort;
      if (opts.port !== undefined) overrides.webServicePort = opts.port;
      if (opts.bindAddress !== undefined) overrides.bindAddress = opts.bindAddress;
      if (opts.kafkaPort !== undefined) {
        // The option names the port to use: it wins over a kafkaListeners of the configuration file.
        overrides.kafkaPort = opts.kafkaPort;
        overrides.kafkaListeners = '';
      }
      const config = loadConfig(standaloneConfigSchema, {
        ...(opts.conf !== undefined && { confPath: opts.conf }),
        overrides,
      });
      const logger = createRootLogger({ name: 'ledgerline-standalone' });
      await runStandalone(config, logger);
    });
}

async function runStandalone(config: StandaloneConfig, logger: Logger): Promise<void> {
  const dataDir = resolve(config.dataDir);
  const metadataServiceUri = `embedded:${join(dataDir, 'metadata')}`;
  const { store, scope } = await createMetadataStore(metadataServiceUri, { logger });
  const bookies: StandaloneBookie[] = [];
  let bookKeeper: BookKeeper | undefined;
  let broker: Broker | undefined;
  let fatal: Error | undefined;
  let wakeOnFatal: () => void = () => undefined;
  const fatalStop = new Promise<void>((wake) => (wakeOnFatal = wake));
  try {
    const cluster = await initNewCluster(store, scope, { logger });
    const ports = await bookiePorts(dataDir, config, logger);
    const onFatal = (error: Error): void => {
      fatal = error;
      wakeOnFatal();
    };
    const started = await Promise.allSettled(
      ports.map((port, index): Promise<StandaloneBookie> => {
        const settings = bookieSettingsOf(dataDir, index, port, metadataServiceUri);
        if (config.bookieThreads) return BookieThread.start({ settings, store, scope, onFatal });
        // A bookie on the main thread serves the broker's ledger client in-process (bookieLocalTransport); one
        // in a worker thread is reached over TCP, as other processes reach them all.
        const enableLocalTransport = String(config.bookieLocalTransport);
        const bookieConfig = bookieConfigSchema.parse({ ...settings, enableLocalTransport });
        return BookieService.start({ config: bookieConfig, logger, metadata: { store, scope }, onFatal });
      }),
    );
    for (const outcome of started) if (outcome.status === 'fulfilled') bookies.push(outcome.value);
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;

    bookKeeper = await BookKeeper.create({ metadataServiceUri, store, logger });
    const quorums = standaloneQuorums(config, bookies.length);
    broker = await Broker.start({
      config: {
        ...config,
        metadataServiceUri,
        kafkaListeners: standaloneKafkaListeners(config),
        managedLedgerDefaultEnsembleSize: quorums.ensembleSize,
        managedLedgerDefaultWriteQuorum: quorums.writeQuorum,
        managedLedgerDefaultAckQuorum: quorums.ackQuorum,
      },
      logger,
      store,
      bookKeeper,
    });
    const url = `http://${displayHost(config.bindAddress)}:${broker.port}`;
    const wsUrl = url.replace(/^http/, 'ws');
    process.stdout.write(
      [
        `ledgerline standalone ready (cluster ${config.clusterName}, data in ${dataDir})`,
        `  broker: ${url}  (admin REST ${url}/admin/v2, WebSocket ${wsUrl}/ws/v2, metrics ${url}/metrics)`,
        ...(broker.kafkaAdvertised === undefined
          ? []
          : [
              `  kafka: ${broker.kafkaAdvertised.host}:${broker.kafkaAdvertised.port}  (bootstrap server; node id ${broker.kafkaAdvertised.nodeId})`,
            ]),
        `  bookies: ${bookies.map((b) => b.bookieId).join(', ')}  (ensemble ${quorums.ensembleSize}, write quorum ${quorums.writeQuorum}, ack quorum ${quorums.ackQuorum})`,
        `  metadata: ${metadataServiceUri} (instance id ${cluster.instanceId}${cluster.created ? ', new' : ''})`,
        `  stop with Ctrl-C (SIGINT) or SIGTERM`,
        '',
      ].join('\n'),
    );
    await Promise.race([untilSignal(logger), fatalStop]);
  } finally {
    await shutdown(logger, store, bookies, bookKeeper, broker);
  }
  if (fatal !== undefined) throw fatal;
}

async function shutdown(
  logger: Logger,
  store: MetadataStore,
  bookies: StandaloneBookie[],
  bookKeeper: BookKeeper | undefined,
  broker: Broker | undefined,
): Promise<void> {
  const steps: Array<[string, () => Promise<unknown>]> = [
    ['close the broker', async () => broker?.close()],
    ['close the BookKeeper client', async () => bookKeeper?.close()],
    ['stop the bookies', () => Promise.all(bookies.map((bookie) => bookie.stop()))],
    ['close the metadata store', () => store.close()],
  ];
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (err) {
      logger.error({ err }, `standalone shutdown: cannot ${what}`);
    }
  }
  logger.info('standalone stopped');
}

/** A standalone bookie's bookie.conf settings, parsed by bookieConfigSchema where the bookie runs. */
function bookieSettingsOf(
  dataDir: string,
  index: number,
  port: number,
  metadataServiceUri: string,
): Record<string, string> {
  const dir = join(dataDir, `bookie-${index}`);
  return {
    bookiePort: String(port),
    listeningInterface: '127.0.0.1',
    journalDirectories: join(dir, 'journal'),
    ledgerDirectories: join(dir, 'ledgers'),
    metadataServiceUri,
    // One process, one port for HTTP: the broker's. Bookie metrics and admin are not served in standalone.
    httpServerEnabled: 'false',
    journalPreAllocSizeMB: '4',
    // Entry logs through the page cache here (a bookie's default is O_DIRECT, bookie/storage/README.md): a
    // standalone's consumers read back what was just written, and a log written directly must be read from the
    // device into new page-cache pages, which on our VMs costs what the direct write saved. bench/ws-consume,
    // alternated: backlog 28.5k / 29.9k / 29.6k / 34.2k / 30.9k msgs/s against 25.3k / 26.0k / 26.6k / 26.3k /
    // 28.5k with direct writes (broker CPU 26-32 against 30-39 us per message); ws-produce did not move.
    entryLogDirectWrites: 'false',
  };
}

/**
 * The bookies' ports. A bookie's id is its address, and its cookie and every ledger ensemble name it, so a bookie
 * that has run before listens where it first did: its port is recorded in <dataDir>/bookie-<i>/port at the first
 * start and read back on every later one (bookiePort then applies to new bookies only). A new bookie gets
 * bookiePort + i, or with bookiePort 0 a free port.
 */
async function bookiePorts(dataDir: string, config: StandaloneConfig, logger: Logger): Promise<number[]> {
  const ports: number[] = [];
  for (let index = 0; index < config.numBookies; index++) {
    const dir = join(dataDir, `bookie-${index}`);
    const file = join(dir, 'port');
    let port = recordedPort(file);
    if (port === undefined) {
      port = config.bookiePort === 0 ? await freePort() : config.bookiePort + index;
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, `${port}\n`);
    } else if (config.bookiePort !== 0 && port !== config.bookiePort + index) {
      logger.warn({ bookie: index, port, file }, 'bookie keeps the port of its first start');
    }
    if (ports.includes(port))
      throw new CommandError(`bookie port ${port} in ${file} is used by another bookie`);
    ports.push(port);
  }
  return ports;
}

function recordedPort(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new CommandError(
      `${file} holds "${text}", not a port; remove it only if this bookie never held data`,
    );
  }
  return port;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}
