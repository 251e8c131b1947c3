import { Command, CommanderError } from 'commander';
import { LedgerlineError } from '../common';
import { registerBookieCommand } from './bookie-command';
import { registerBrokerCommand } from './broker-command';
import { registerShellCommands, rewriteBookKeeperFlags } from './shell';
import { registerStandaloneCommand } from './standalone';

/**
 * The `ledgerline` command: subcommands after BookKeeper's and Pulsar's (`standalone`, `bookie`, `broker`,
 * `shell <cmd>`, `perf ...`). Returns the process exit code; errors become one line on stderr, never a stack
 * trace (set LOG_LEVEL=debug to see the cause chain).
 */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('ledgerline')
    .description('Apache BookKeeper and a Pulsar-style messaging layer in TypeScript')
    .exitOverride()
    .showHelpAfterError();
  registerStandaloneCommand(program);
  registerBookieCommand(program);
  registerBrokerCommand(program);
  registerShellCommands(program);
  try {
    await program.parseAsync(rewriteBookKeeperFlags(argv));
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version output are "errors" to commander with exit code 0.
      return err.exitCode;
    }
    process.stderr.write(`ledgerline: ${describeError(err)}\n`);
    if (process.env.LOG_LEVEL === 'debug') process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    return 1;
  }
}

export function describeError(err: unknown): string {
  if (err instanceof LedgerlineError) return err.message;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
