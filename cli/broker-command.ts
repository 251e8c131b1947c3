import type { Command } from 'commander';
import { createRootLogger, loadConfig } from '../common';
import type { Logger } from '../common';
import { Broker, brokerConfigSchema } from '../broker';
import { BookKeeper } from '../ledger-client';
import { createMetadataStore, isClusterInitialized } from '../metadata';
import { CommandError } from './command-error';

/**
 * `ledgerline broker --conf conf/broker.conf`: the broker alone, against etcd and bookies started separately
 * (`ledgerline bookie`), as Pulsar's `bin/pulsar broker` runs. Every key can be overridden by an environment
 * variable of the same name. Runs until SIGTERM or SIGINT, then closes cleanly (cursor positions flushed).
 */
export function registerBrokerCommand(program: Command): void {
  program
    .command('broker')
    .description('run a broker (admin REST, WebSocket API, /metrics) against etcd and running bookies')
    .option('--conf <file>', 'configuration file (see conf/broker.conf)')
    .action(async (opts: { conf?: string }) => {
      const config = loadConfig(brokerConfigSchema, opts.conf === undefined ? {} : { confPath: opts.conf });
      const logger = createRootLogger({ name: 'broker' });
      const { store, scope } = await createMetadataStore(config.metadataServiceUri, { logger });
      let bookKeeper: BookKeeper | undefined;
      let broker: Broker | undefined;
      try {
        if (!(await isClusterInitialized(store, scope))) {
          throw new CommandError(
            `the cluster at ${config.metadataServiceUri} is not initialized: run \`ledgerline shell initnewcluster\` first`,
          );
        }
        bookKeeper = await BookKeeper.create({
          metadataServiceUri: config.metadataServiceUri,
          store,
          logger,
        });
        broker = await Broker.start({ config, logger, store, bookKeeper });
        process.stdout.write(`broker ready: http://${displayHost(config.bindAddress)}:${broker.port}\n`);
        await untilSignal(logger);
      } finally {
        await broker?.close();
        await bookKeeper?.close();
        await store.close();
      }
    });
}

/**
 * Resolves on the first SIGTERM or SIGINT. A second signal while the process shuts down exits at once (code
 * 130), for an operator who does not want to wait.
 */
export function untilSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'signal received, shutting down');
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      const again = (): void => {
        logger.warn('second signal: exiting without a clean shutdown');
        process.exit(130);
      };
      process.once('SIGTERM', again);
      process.once('SIGINT', again);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** The host to print for a bind address: a wildcard is reachable on localhost. */
export function displayHost(bindAddress: string): string {
  return bindAddress === '0.0.0.0' || bindAddress === '::' || bindAddress === '' ? '127.0.0.1' : bindAddress;
}
