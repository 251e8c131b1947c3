import type { Command } from 'commander';
import { createRootLogger, loadConfig } from '../common';
import { BookieService, bookieConfigSchema } from '../bookie';

/**
 * `ledgerline bookie --conf conf/bookie.conf`: one bookie, as BookKeeper's `bin/bookkeeper bookie` runs it.
 * Every key of the conf file can be overridden by an environment variable of the same name. Runs until SIGTERM
 * or SIGINT (clean stop: unregister, finish in-flight requests, checkpoint), exit code 0; a fatal condition
 * (for example read-only needed while readOnlyModeEnabled=false) stops it with exit code 1.
 */
export function registerBookieCommand(program: Command): void {
  program
    .command('bookie')
    .description('run a bookie: the BookKeeper v3 storage server')
    .option('--conf <file>', 'configuration file (see conf/bookie.conf)')
    .action(async (opts: { conf?: string }) => {
      const config = loadConfig(bookieConfigSchema, opts.conf === undefined ? {} : { confPath: opts.conf });
      const logger = createRootLogger({ name: 'bookie' });
      let fatal: Error | undefined;
      let wake: () => void = () => undefined;
      const stopped = new Promise<void>((resolve) => (wake = resolve));
      const service = await BookieService.start({
        config,
        logger,
        onFatal: (error) => {
          fatal = error;
          wake();
        },
      });
      const onSignal = (signal: NodeJS.Signals): void => {
        logger.info({ signal }, 'signal received');
        wake();
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      process.stdout.write(
        `bookie ${service.bookieId} ready: v3 protocol on ${config.listeningInterface}:${service.port}` +
          `${service.httpPort === undefined ? '' : `, HTTP on ${config.listeningInterface}:${service.httpPort}`}` +
          `${service.state.isReadOnly() ? ' (read-only)' : ''}\n`,
      );
      await stopped;
      await service.stop();
      if (fatal !== undefined) throw fatal;
    });
}
