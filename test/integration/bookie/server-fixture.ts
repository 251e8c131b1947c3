/**
 * An in-process bookie for the server integration tests: the real Journal and DbLedgerStorage in a directory,
 * the Bookie core, and a BookieServer on a free loopback port.
 */
import { join } from 'node:path';
import { silentLogger } from '../../../common';
import { DigestManager, DigestType } from '../../../protocol';
import { BookieMetrics, BookieServer, bookieConfigSchema, openBookie } from '../../../bookie';
import type { Bookie, BookieConfig, ConnectionLimits } from '../../../bookie';

export interface RunningBookie {
  bookie: Bookie;
  server: BookieServer;
  port: number;
  config: BookieConfig;
  metrics: BookieMetrics;
  /** Closes the server, then the bookie (final checkpoint). */
  stop(): Promise<void>;
}

export function bookieConfig(dataDir: string, overrides: Record<string, string> = {}): BookieConfig {
  return bookieConfigSchema.parse({
    bookiePort: '0',
    listeningInterface: '127.0.0.1',
    journalDirectories: join(dataDir, 'journal'),
    ledgerDirectories: join(dataDir, 'ledgers'),
    journalPreAllocSizeMB: '1',
    dbStorage_writeCacheMaxSizeMb: '16',
    dbStorage_readAheadCacheMaxSizeMb: '16',
    ...overrides,
  });
}

export async function startBookieServer(
  dataDir: string,
  options: { config?: Record<string, string>; limits?: Partial<ConnectionLimits> } = {},
): Promise<RunningBookie> {
  const config = bookieConfig(dataDir, options.config);
  const logger = silentLogger();
  const metrics = new BookieMetrics();
  const bookie = await openBookie({ config, logger, metrics });
  await bookie.start();
  const server = new BookieServer({ bookie, config, metrics, logger, limits: options.limits });
  const { port } = await server.start();
  return {
    bookie,
    server,
    port,
    config,
    metrics,
    async stop() {
      await server.close();
      await bookie.close();
    },
  };
}

/** Entry `entryId` of a ledger written with password 'pw', packed as a client sends it: `payloadBytes` of filler. */
export function packedEntry(ledgerId: bigint, entryId: bigint, payloadBytes = 64): Buffer {
  return DigestManager.create(ledgerId, Buffer.from('pw'), DigestType.CRC32C).packEntry(
    entryId,
    entryId - 1n,
    0n,
    Buffer.alloc(payloadBytes, Number(entryId % 251n)),
  );
}
