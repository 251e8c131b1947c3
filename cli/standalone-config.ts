import type { z } from 'zod';
import { setting } from '../common';
import { brokerConfigSchema } from '../broker';

/**
 * `ledgerline standalone` settings (conf/standalone.conf): broker.conf's keys (Pulsar's standalone.conf is a
 * broker.conf too) plus where state lives and how many in-process bookies run. metadataServiceUri is not read:
 * standalone always uses the embedded store under `<dataDir>/metadata`.
 */
export const standaloneConfigSchema = brokerConfigSchema.extend({
  /** Where the embedded metadata store and the bookies' directories live. */
  dataDir: setting.string('data'),
  /** In-process bookies (Pulsar's --num-bookies). */
  numBookies: setting.integer(1, { min: 1, max: 16 }),
  /**
   * The Kafka listener's port on bindAddress when kafkaListeners is empty (standalone serves Kafka by default):
   * 9092; 0 a free port; -1 no Kafka listener.
   */
  kafkaPort: setting.integer(9092, { min: -1, max: 65535 }),
  /**
   * Run each bookie in its own worker thread (cli/bookie-thread.ts) instead of on the broker's event loop: the
   * bookie's journal writes and flushes no longer stall the broker (WebSocket end-to-end p50 72 -> 14 ms on two
   * cores), but a second isolate costs CPU (Kafka produce of 1 MB batches on two cores: ~30% more CPU per
   * message). Off by default.
   */
  bookieThreads: setting.boolean(false),
  /**
   * Bookies on the main thread serve the broker's ledger client in-process, with no TCP or protobuf between them
   * (BookKeeper's local transport, the bookies' enableLocalTransport); other clients still use TCP. Backlog
   * consume over WebSocket, alternating runs: 35-40k msgs/s against 20-31k over loopback TCP (and 43-51k against
   * 25-40k in a faster period).
   */
  bookieLocalTransport: setting.boolean(true),
  /** The first bookie's port; bookie i listens on bookiePort + i. 0: free ports chosen at start. */
  bookiePort: setting.port(3181),
  /**
   * Ensemble, write quorum and ack quorum of new ledgers. 0 = fit the number of bookies: 1/1/1 for one bookie
   * (as Pulsar's standalone), else ensemble = write quorum = min(N, 3) and ack quorum = min(N, 2).
   */
  managedLedgerDefaultEnsembleSize: setting.integer(0, { min: 0 }),
  managedLedgerDefaultWriteQuorum: setting.integer(0, { min: 0 }),
  managedLedgerDefaultAckQuorum: setting.integer(0, { min: 0 }),
});

export type StandaloneConfig = z.infer<typeof standaloneConfigSchema>;

/** The Kafka listener standalone runs: kafkaListeners when set, else kafkaPort on bindAddress ('' for none). */
export function standaloneKafkaListeners(
  config: Pick<StandaloneConfig, 'kafkaListeners' | 'kafkaPort' | 'bindAddress'>,
): string {
  if (config.kafkaListeners.trim() !== '') return config.kafkaListeners;
  if (config.kafkaPort < 0) return '';
  const host = config.bindAddress.includes(':') ? `[${config.bindAddress}]` : config.bindAddress;
  return `PLAINTEXT://${host}:${config.kafkaPort}`;
}

/** The quorum settings standalone uses with `bookies` bookies: the configured ones, else the fitted defaults. */
export function standaloneQuorums(
  config: Pick<
    StandaloneConfig,
    'managedLedgerDefaultEnsembleSize' | 'managedLedgerDefaultWriteQuorum' | 'managedLedgerDefaultAckQuorum'
  >,
  bookies: number,
): { ensembleSize: number; writeQuorum: number; ackQuorum: number } {
  const ensembleSize = config.managedLedgerDefaultEnsembleSize || Math.min(bookies, 3);
  const writeQuorum = config.managedLedgerDefaultWriteQuorum || Math.min(ensembleSize, bookies, 3);
  const ackQuorum = config.managedLedgerDefaultAckQuorum || Math.min(writeQuorum, 2);
  return { ensembleSize, writeQuorum, ackQuorum };
}
