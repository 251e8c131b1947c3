/*
 * bench/metadata: metadata-store throughput on each store.
 *
 *   node dist/bench/metadata.js [--seconds 3] [--runs 5] [--concurrency 64] [--store etcd|embedded|both]
 *
 * The etcd figures use a real etcd started for the run on loopback (etcd on PATH), with its own fsync'ed
 * WAL in a temp dir; the embedded store is RocksDB in a temp dir. Prints one JSON line per result:
 *   cas_update       compare-and-set puts/s: `concurrency` writers, each on its own key, each put
 *                    conditional on the version its previous put returned (also with one writer: latency-bound)
 *   ledger_create    BookKeeper ledger creates/s: ledger id from the 128-bucket generator, then
 *                    format-v3 metadata created at <scope>/ledgers/<uuid> with "must not exist"
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../common';
import {
  EmbeddedMetadataStore,
  EtcdMetadataStore,
  initNewCluster,
  LedgerIdGenerator,
  LedgerManager,
} from '../metadata';
import type { LedgerMetadata, MetadataStore } from '../metadata';
import { EtcdServer, openLedgerMetadata } from '../test/harness';
import { argValue, measureAsync, printResult, round } from './measure';

const seconds = Number(argValue('seconds', '3'));
const runs = Number(argValue('runs', '5'));
const concurrency = Number(argValue('concurrency', '64'));
const which = argValue('store', 'both');
const logger = silentLogger();
const SCOPE = '/ledgers';

/** A 3-bookie ledger with Qw 3, Qa 2 and a little custom metadata, as a client would create it. */
function sampleMetadata(): LedgerMetadata {
  const ensemble = ['127.0.0.1:3181', '127.0.0.1:3182', '127.0.0.1:3183'];
  return {
    ...openLedgerMetadata(ensemble, { application: 'bench' }),
    writeQuorumSize: 3,
    ctime: BigInt(Date.now()),
  };
}

/** `writers` concurrent CAS loops, each doing `perBatch` updates of its own key. */
async function casUpdates(store: MetadataStore, storeName: string, writers: number): Promise<void> {
  const value = Buffer.alloc(256, 1);
  const versions: bigint[] = [];
  for (let w = 0; w < writers; w++) {
    const stat = await store.put(`/bench/cas/${w}`, value, { expectedVersion: 'any' });
    versions.push(stat.version);
  }
  const perBatch = 20;
  const result = await measureAsync(
    async () => {
      await Promise.all(
        versions.map(async (_, w) => {
          for (let i = 0; i < perBatch; i++) {
            const stat = await store.put(`/bench/cas/${w}`, value, { expectedVersion: versions[w]! });
            versions[w] = stat.version;
          }
        }),
      );
    },
    writers * perBatch,
    { seconds, runs, warmupSeconds: 1 },
  );
  printResult({
    bench: 'metadata',
    name: 'cas_update',
    store: storeName,
    writers,
    valueBytes: value.length,
    unit: 'updates_per_s',
    median: round(result.median),
    runs: result.runs.map((r) => round(r)),
  });
}

async function ledgerCreates(store: MetadataStore, storeName: string, writers: number): Promise<void> {
  await initNewCluster(store, SCOPE, { logger });
  const generator = new LedgerIdGenerator(store, SCOPE, logger);
  const ledgers = new LedgerManager(store, SCOPE, logger);
  const metadata = sampleMetadata();
  const perBatch = 10;
  const result = await measureAsync(
    async () => {
      await Promise.all(
        Array.from({ length: writers }, async () => {
          for (let i = 0; i < perBatch; i++) {
            const ledgerId = await generator.generateLedgerId();
            await ledgers.createLedgerMetadata(ledgerId, metadata);
          }
        }),
      );
    },
    writers * perBatch,
    { seconds, runs, warmupSeconds: 1 },
  );
  printResult({
    bench: 'metadata',
    name: 'ledger_create',
    store: storeName,
    writers,
    unit: 'creates_per_s',
    median: round(result.median),
    runs: result.runs.map((r) => round(r)),
  });
}

async function benchStore(storeName: string, store: MetadataStore): Promise<void> {
  await casUpdates(store, storeName, 1);
  await casUpdates(store, storeName, concurrency);
  await ledgerCreates(store, storeName, concurrency);
}

async function main(): Promise<void> {
  if (which === 'embedded' || which === 'both') {
    const dir = mkdtempSync(join(tmpdir(), 'ledgerline-bench-embedded-'));
    const store = await EmbeddedMetadataStore.open({ dir, logger });
    try {
      await benchStore('embedded', store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (which === 'etcd' || which === 'both') {
    const etcd = await EtcdServer.start();
    const store = await EtcdMetadataStore.connect({ endpoints: [etcd.endpoint], logger });
    try {
      await benchStore('etcd', store);
    } finally {
      await store.close();
      await etcd.stop();
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/metadata failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
