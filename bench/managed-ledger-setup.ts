/*
 * The set-up the managed-ledger benchmarks share: `bookies` real `ledgerline bookie` processes on etcd
 * (client-cluster.ts), one metadata store connection and one BookKeeper client in this process, and a
 * ManagedLedgerFactory on them with `config` as every open's defaults.
 */
import { silentLogger } from '../common';
import { BookKeeper } from '../ledger-client';
import { ManagedLedgerFactory } from '../managed-ledger';
import type { ManagedLedgerConfig } from '../managed-ledger';
import { createMetadataStore } from '../metadata';
import type { MetadataStore } from '../metadata';
import type { BookieCluster } from '../test/harness';
import { startBenchCluster } from './client-cluster';

export interface ManagedLedgerBench {
  cluster: BookieCluster;
  store: MetadataStore;
  bookKeeper: BookKeeper;
  factory: ManagedLedgerFactory;
}

/** Starts the set-up, runs `body` on it, and tears it all down (also when `body` fails). */
export async function withManagedLedgerBench(
  bookies: number,
  config: Partial<ManagedLedgerConfig>,
  body: (bench: ManagedLedgerBench) => Promise<void>,
): Promise<void> {
  const cluster = await startBenchCluster(bookies);
  const logger = silentLogger();
  let store: MetadataStore | undefined;
  let bookKeeper: BookKeeper | undefined;
  let factory: ManagedLedgerFactory | undefined;
  try {
    store = (await createMetadataStore(cluster.metadataServiceUri, { logger })).store;
    bookKeeper = await BookKeeper.create({ store, logger });
    factory = new ManagedLedgerFactory({ bookKeeper, store, logger, config });
    await body({ cluster, store, bookKeeper, factory });
  } finally {
    await factory?.close();
    await bookKeeper?.close();
    await store?.close();
    await cluster.close();
  }
}

/** Runs a benchmark's main and exits: 0 when it resolves, 1 with the stack on stderr when it fails. */
export function runBench(name: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${name}: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}

/** E=Qw=`bookies`, Qa=2 (1/1/1 on one bookie), as client-tail.ts and the managed ledger's defaults. */
export function quorumsFor(bookies: number): Partial<ManagedLedgerConfig> {
  return {
    managedLedgerDefaultEnsembleSize: bookies,
    managedLedgerDefaultWriteQuorum: bookies,
    managedLedgerDefaultAckQuorum: bookies === 1 ? 1 : Math.min(2, bookies),
  };
}
