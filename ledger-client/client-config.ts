import { z } from 'zod';
import { setting } from '../common';

/**
 * The ledger client's settings, with BookKeeper's key names and defaults (bk_client.conf / ClientConfiguration).
 * Programs pass a partial object of typed values to `BookKeeper.create`; the broker and the CLI load the same
 * keys from `key=value` files through `clientConfigSchema` (every value a string there, as with the bookie).
 */
export const clientConfigSchema = z.object({
  metadataServiceUri: setting.string('etcd://127.0.0.1:2379/ledgers'),
  /** Seconds an add waits for a bookie's answer before that bookie counts as failed. */
  addEntryTimeoutSec: setting.integer(5, { min: 1 }),
  /** Seconds a read waits for a bookie's answer (a long poll waits its own timeout on top). */
  readEntryTimeoutSec: setting.integer(5, { min: 1 }),
  /** Milliseconds of writer idleness after which the LAC is sent explicitly with WRITE_LAC; 0 = never. */
  explicitLacInterval: setting.integer(0, { min: 0 }),
  /** Milliseconds before a read is also sent to the next replica; 0 = no speculative reads. */
  speculativeReadTimeout: setting.integer(2000, { min: 0 }),
  /** The longest speculative wait: each further replica of a read waits twice the previous one, up to this. */
  maxSpeculativeReadTimeout: setting.integer(10000, { min: 0 }),
  /** Milliseconds before a long-poll LAC read is also sent to the next bookie. */
  firstSpeculativeReadLACTimeout: setting.integer(1500, { min: 0 }),
  /** Only change the ensemble when the ack quorum can no longer be met. */
  delayEnsembleChange: setting.boolean(false),
  reorderReadSequenceEnabled: setting.boolean(true),
  /** Entries read ahead per step of recovery. */
  recoveryReadBatchSize: setting.integer(1, { min: 1 }),
  /** `random` (DefaultEnsemblePlacementPolicy) or `rackaware` (RackawareEnsemblePlacementPolicy). */
  ensemblePlacementPolicy: setting.string('random'),
  /** Rack of each bookie for the rack-aware policy: `host:port=/rack,host:port=/rack`; others /default-rack. */
  bookieRacks: setting.string(''),
  minNumRacksPerWriteQuorum: setting.integer(2, { min: 1 }),
  enforceMinNumRacksPerWriteQuorum: setting.boolean(false),
  /** Requests in flight per bookie connection before new ones fail fast with TooManyRequests. */
  maxPendingRequestsPerBookie: setting.integer(100000, { min: 1 }),
  /** Connect attempts back off from this many ms, doubling, up to `reconnectBackoffMaxMs`. */
  reconnectBackoffMs: setting.integer(100, { min: 1 }),
  reconnectBackoffMaxMs: setting.integer(5000, { min: 1 }),
  nettyMaxFrameSizeBytes: setting.integer(5242880, { min: 1024 }),
});

export type ClientConfig = z.infer<typeof clientConfigSchema>;

/** Defaults for every key, overridden by `overrides` (typed values, as a program passes them). */
export function clientConfig(overrides: Partial<ClientConfig> = {}): ClientConfig {
  return { ...clientConfigSchema.parse({}), ...overrides };
}
