import { z } from 'zod';
import { setting } from '../common';

/**
 * A managed ledger's settings, with the broker.conf key names and defaults of Pulsar (ManagedLedgerConfig as the
 * broker fills it). Programs pass a partial object of typed values; the broker loads the same keys from
 * `key=value` files through `managedLedgerConfigSchema`.
 */
export const managedLedgerConfigSchema = z.object({
  managedLedgerDefaultEnsembleSize: setting.integer(2, { min: 1 }),
  managedLedgerDefaultWriteQuorum: setting.integer(2, { min: 1 }),
  managedLedgerDefaultAckQuorum: setting.integer(2, { min: 1 }),
  /** CRC32C (default), CRC32, MAC or DUMMY, as BookKeeper's DigestType. */
  managedLedgerDigestType: setting.string('CRC32C'),
  managedLedgerPassword: setting.string(''),
  /** Roll the current ledger once it holds this many entries... */
  managedLedgerMaxEntriesPerLedger: setting.integer(50000, { min: 1 }),
  /** ...or this many MiB of payload... */
  managedLedgerMaxSizePerLedgerMbytes: setting.integer(2048, { min: 1 }),
  /** ...but not before it is this old (0: as soon as it is full). */
  managedLedgerMinLedgerRolloverTimeMinutes: setting.number(10, { min: 0 }),
  /** Roll a non-empty ledger once it is this old, full or not. */
  managedLedgerMaxLedgerRolloverTimeMinutes: setting.number(240, { min: 0 }),
  /** Roll an idle current ledger after this many seconds without adds, so consumed data can be trimmed; 0 = off. */
  managedLedgerInactiveLedgerRolloverTimeSeconds: setting.integer(0, { min: 0 }),
  /** Keep consumed data this long (minutes, fractions allowed); -1 = forever, 0 = delete once consumed. */
  defaultRetentionTimeInMinutes: setting.number(0, { min: -1 }),
  /** Keep up to this much consumed data (MiB); -1 = unlimited, 0 = delete once consumed. */
  defaultRetentionSizeInMB: setting.integer(0, { min: -1 }),
  /** Bytes of recently added entries kept in memory for tailing readers (per managed ledger). */
  managedLedgerCacheSizeMB: setting.integer(64, { min: 0 }),
  /** Entries older than this are evicted from the cache even if a reader might still want them. */
  managedLedgerCacheEvictionTimeThresholdMillis: setting.integer(1000, { min: 0 }),
  /** A cursor this many entries behind the end stops pinning the cache. */
  managedLedgerCursorBackloggedThreshold: setting.integer(1000, { min: 0 }),
  /** Persisted mark-deletes per second per cursor; the rest update memory and are flushed later. 0 = no limit. */
  managedLedgerDefaultMarkDeleteRateLimit: setting.number(1.0, { min: 0 }),
  /** Seconds between flushes of cursors whose position moved past the persisted one. */
  managedLedgerCursorPositionFlushSeconds: setting.integer(60, { min: 1 }),
  /** Roll a cursor's ledger after this many PositionInfo entries... */
  managedLedgerCursorMaxEntriesPerLedger: setting.integer(50000, { min: 1 }),
  /** ...or after this many seconds. */
  managedLedgerCursorRolloverTimeInSeconds: setting.integer(14400, { min: 1 }),
  /** Out-of-order acknowledged ranges written into a cursor ledger entry. */
  managedLedgerMaxUnackedRangesToPersist: setting.integer(10000, { min: 0 }),
  /** Ranges written into the metadata store when the cursor ledger cannot be written. */
  managedLedgerMaxUnackedRangesToPersistInMetadataStore: setting.integer(1000, { min: 0 }),
  /** Milliseconds a read-or-wait re-checks for new entries (closes the add/wait race). */
  managedLedgerNewEntriesCheckDelayInMillis: setting.integer(10, { min: 0 }),
  /** Seconds a metadata operation may take before it fails. */
  managedLedgerMetadataOperationsTimeoutSeconds: setting.integer(60, { min: 1 }),
  /** Seconds an add may take before it fails (0 = only the client's own timeouts). */
  managedLedgerAddEntryTimeoutSeconds: setting.integer(0, { min: 0 }),
});

export type ManagedLedgerConfig = z.infer<typeof managedLedgerConfigSchema>;

/** Defaults for every key, overridden by `overrides` (typed values, as a program passes them). */
export function managedLedgerConfig(overrides: Partial<ManagedLedgerConfig> = {}): ManagedLedgerConfig {
  return { ...managedLedgerConfigSchema.parse({}), ...overrides };
}
