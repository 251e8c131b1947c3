import { ConfigError } from '../common';
import type { Logger } from '../common';
import { isClusterInitialized } from '../metadata';
import type { MetadataStore } from '../metadata';
import { CommandError } from './command-error';
import type { Output } from './output';

/** What every `ledgerline shell` command is given: the opened metadata store, a logger and where to print. */
export interface ShellContext {
  /** The URI the store was opened from (a ledger client built on `store` is given it too). */
  metadataServiceUri: string;
  store: MetadataStore;
  scope: string;
  logger: Logger;
  out: Output;
}

/**
 * Wraps a shell command's body: the metadata store opened and closed around it, and a deadline (the commands on
 * metadata alone get SHELL_DEADLINE_MS; ones that move entries give their own).
 */
export type ShellAction = <A extends unknown[]>(
  run: (ctx: ShellContext, ...args: A) => Promise<void>,
  deadlineMs?: number,
) => (...args: A) => Promise<void>;

export async function requireCluster(store: MetadataStore, scope: string): Promise<void> {
  if (!(await isClusterInitialized(store, scope))) {
    throw new CommandError(`no cluster at ${scope}: run \`ledgerline shell initnewcluster\` first`);
  }
}

const LEDGER_ID_MAX = (1n << 63n) - 1n;

export function parseLedgerId(text: string): bigint {
  if (!/^\d{1,19}$/.test(text.trim()) || BigInt(text.trim()) > LEDGER_ID_MAX) {
    throw new ConfigError(`bad ledger id "${text}": expected an integer from 0 to ${LEDGER_ID_MAX}`);
  }
  return BigInt(text.trim());
}
