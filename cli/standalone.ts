import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createRootLogger, loadConfig } from '../common';
import { createMetadataStore, initNewCluster } from '../metadata';
import { standaloneConfigSchema } from './standalone-config';

/**
 * `ledgerline standalone` (what `npm start` runs). Today it prepares what exists: the embedded metadata store under
 * `<dataDir>/metadata` with an initialised BookKeeper cluster, and reports it. Bookies and the broker join it as
 * their issues land.
 */
export function registerStandaloneCommand(program: Command): void {
  program
    .command('standalone')
    .description('run everything in one process with state under --data-dir')
    .option('--conf <file>', 'configuration file (conf/standalone.conf)')
    .option('--data-dir <dir>', 'state directory (default: data)')
    .action(async (opts: { conf?: string; dataDir?: string }) => {
      const config = loadConfig(standaloneConfigSchema, {
        ...(opts.conf !== undefined && { confPath: opts.conf }),
        overrides: opts.dataDir === undefined ? {} : { dataDir: opts.dataDir },
      });
      const logger = createRootLogger({ name: 'ledgerline-standalone' });
      const metadataServiceUri = `embedded:${resolve(join(config.dataDir, 'metadata'))}`;
      const { store, scope } = await createMetadataStore(metadataServiceUri, { logger });
      try {
        const cluster = await initNewCluster(store, scope, { logger });
        const lines = [
          `ledgerline standalone`,
          `  metadata store: ${metadataServiceUri} (scope ${scope}, instance id ${cluster.instanceId}${cluster.created ? ', new' : ''})`,
          `  works today: metadata store, \`ledgerline shell\` metadata commands, \`ledgerline bookie --conf\``,
          `  not yet: bookies inside standalone, ledger client, managed ledgers, broker (WebSocket 8080, Kafka 9092)`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      } finally {
        await store.close();
      }
    });
}
