import { closeSync, openSync, writeSync } from 'node:fs';
import { silentLogger } from '../../../../common';
import { BookieMetrics } from '../../../../bookie';
import { DbLedgerStorage } from '../../../../bookie/storage';
import type { DbLedgerStorageConfig, DbLedgerStorageOptions } from '../../../../bookie/storage';
import { DigestManager, DigestType } from '../../../../protocol';

/** Test helpers for bookie/storage: packed entries made the way a client makes them, and small storages. */

const managers = new Map<bigint, DigestManager>();

function digestManager(ledgerId: bigint): DigestManager {
  let manager = managers.get(ledgerId);
  if (manager === undefined) {
    manager = DigestManager.create(ledgerId, Buffer.from('password'), DigestType.CRC32C);
    managers.set(ledgerId, manager);
  }
  return manager;
}

/** The payload a test writes for an entry unless it says otherwise: deterministic, `size` bytes. */
export function payloadOf(ledgerId: bigint, entryId: bigint, size = 100, version = 0): Buffer {
  const payload = Buffer.alloc(size);
  const seed = `${ledgerId}/${entryId}/${version}:`;
  for (let i = 0; i < size; i++) payload[i] = seed.charCodeAt(i % seed.length) ^ (i & 0xff);
  return payload;
}

/** A CRC32C packed entry, as a client sends it in an AddRequest body. */
export function packedEntry(
  ledgerId: bigint,
  entryId: bigint,
  payload = payloadOf(ledgerId, entryId),
): Buffer {
  return digestManager(ledgerId).packEntry(
    entryId,
    entryId - 1n,
    (entryId + 1n) * BigInt(payload.length),
    payload,
  );
}

/** What a client reading the entry would see: the verified payload. Throws on a digest mismatch. */
export function verifiedPayload(ledgerId: bigint, entryId: bigint, body: Buffer): Buffer {
  return digestManager(ledgerId).verifyEntry(entryId, body).payload;
}

export function testConfig(overrides: Partial<DbLedgerStorageConfig> = {}): DbLedgerStorageConfig {
  return {
    entryLogSizeLimit: 1024 * 1024,
    entryLogDirectWrites: true,
    dbStorage_writeCacheMaxSizeMb: 4,
    dbStorage_readAheadCacheMaxSizeMb: 4,
    dbStorage_readAheadCacheBatchSize: 100,
    dbStorage_rocksDB_writeBufferSizeMB: 64,
    minorCompactionThreshold: 0.2,
    minorCompactionInterval: 3600,
    majorCompactionThreshold: 0.8,
    majorCompactionInterval: 86400,
    ...overrides,
  };
}

export interface OpenedStorage {
  storage: DbLedgerStorage;
  metrics: BookieMetrics;
}

export async function openStorage(
  ledgerDirs: string[],
  options: Partial<Omit<DbLedgerStorageOptions, 'ledgerDirs' | 'config'>> & {
    config?: Partial<DbLedgerStorageConfig>;
  } = {},
): Promise<OpenedStorage> {
  const metrics = options.metrics ?? new BookieMetrics();
  const storage = await DbLedgerStorage.open({
    ...options,
    ledgerDirs,
    config: testConfig(options.config),
    logger: options.logger ?? silentLogger(),
    metrics,
  });
  return { storage, metrics };
}

/** The value of a counter or gauge (no labels) in the registry. */
export async function metricValue(metrics: BookieMetrics, name: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
}

export function int32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value);
  return bytes;
}

/** Overwrites bytes of a file in place: how tests damage an entry log. */
export function writeAt(path: string, position: number, bytes: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, position);
  } finally {
    closeSync(fd);
  }
}
