import { silentLogger } from '../../common';
import { BookKeeper, isBKError } from '../../ledger-client';
import type { ClientConfig } from '../../ledger-client';
import { ManagedLedgerFactory } from '../../managed-ledger';
import type { CursorHost, ManagedLedger, ManagedLedgerConfig } from '../../managed-ledger';
import { createMetadataStore } from '../../metadata';
import type { MetadataStore } from '../../metadata';
import { BookieCluster, requireBuiltBookie } from '../harness';

/** A factory with its own BookKeeper client and metadata store: one "broker" of the managed-ledger tests. */
export interface Owner {
  bk: BookKeeper;
  store: MetadataStore;
  factory: ManagedLedgerFactory;
  close(): Promise<void>;
}

export interface MlCluster {
  cluster: BookieCluster;
  /** The owner most tests use. */
  owner: Owner;
  /** Another owner on its own client and store (a second broker). */
  newOwner(config?: Partial<ManagedLedgerConfig>, client?: Partial<ClientConfig>): Promise<Owner>;
}

/** Small, quick settings: 2/2/2 on the test cluster, no time-based rollover unless a test asks. */
export const ML_TEST_CONFIG: Partial<ManagedLedgerConfig> = {
  managedLedgerDefaultEnsembleSize: 2,
  managedLedgerDefaultWriteQuorum: 2,
  managedLedgerDefaultAckQuorum: 2,
  managedLedgerMinLedgerRolloverTimeMinutes: 0,
  managedLedgerPassword: 'ml-test',
  managedLedgerMetadataOperationsTimeoutSeconds: 20,
  // Keep consumed data unless a test is about trimming (no cursor = everything consumed).
  defaultRetentionTimeInMinutes: -1,
  defaultRetentionSizeInMB: -1,
};

export async function startOwner(
  cluster: BookieCluster,
  config: Partial<ManagedLedgerConfig> = {},
  client: Partial<ClientConfig> = {},
): Promise<Owner> {
  const { store } = await createMetadataStore(cluster.metadataServiceUri, { logger: silentLogger() });
  const bk = await BookKeeper.create({ ...client, metadataServiceUri: cluster.metadataServiceUri, store });
  const factory = new ManagedLedgerFactory({
    bookKeeper: bk,
    store,
    logger: silentLogger(),
    config: { ...ML_TEST_CONFIG, ...config },
  });
  let closing: Promise<void> | undefined;
  return {
    bk,
    store,
    factory,
    close: () => {
      closing ??= (async () => {
        await factory.close();
        await bk.close();
        await store.close();
      })();
      return closing;
    },
  };
}

/**
 * For a describe block: a BookieCluster of `bookies` real bookie processes on a real etcd, and one owner
 * (factory + client) on it, handed to `ready`; every owner made through `newOwner` is closed after the block.
 */
export function mlCluster(bookies: number, ready: (started: MlCluster) => void): void {
  let cluster: BookieCluster | undefined;
  const owners: Owner[] = [];
  beforeAll(async () => {
    requireBuiltBookie();
    cluster = await BookieCluster.start({ bookies });
    const started = cluster;
    const newOwner = async (config?: Partial<ManagedLedgerConfig>, client?: Partial<ClientConfig>) => {
      const owner = await startOwner(started, config, client);
      owners.push(owner);
      return owner;
    };
    ready({ cluster, owner: await newOwner(), newOwner });
  });
  afterAll(async () => {
    for (const owner of owners) await owner.close().catch(() => undefined);
    await cluster?.close();
  });
}

let nameSeq = 0;
/** A managed-ledger name no other test of this process uses. */
export function uniqueName(what: string): string {
  return `tenant/ns/persistent/${what}-${++nameSeq}`;
}

/** Payload of entry i of a test: recognisable and of a given size. */
export function payload(i: number, size = 64): Buffer {
  return Buffer.from(`entry-${i}-`.padEnd(size, 'x'));
}

/** The payloads of entries first..first+count-1 as text (jest compares long strings fast, Buffers byte by byte). */
export function payloads(first: number, count: number, size = 64): string[] {
  return Array.from({ length: count }, (_, i) => payload(first + i, size).toString('latin1'));
}

/**
 * The LedgerChaining invariants of reliability.md, checked against the managed ledger's list and the ledger
 * metadata in etcd: AllNonEmptyLedgersInLedgerList (no empty ledger but possibly the current one), ids
 * increasing (EntryOrderMaintained: the log is the ledgers in order), OnlyOneLedgerOpenAtATime (every ledger
 * but the last is CLOSED, at its recorded entry count). Returns the list.
 */
export async function checkLedgerChaining(ml: ManagedLedger, bk: BookKeeper): Promise<void> {
  const ledgers = ml.getLedgersInfo();
  const open: bigint[] = [];
  for (let i = 0; i < ledgers.length; i++) {
    const info = ledgers[i]!;
    const last = i === ledgers.length - 1;
    if (i > 0) expect(info.ledgerId > ledgers[i - 1]!.ledgerId).toBe(true);
    if (!last) expect(info.entries).toBeGreaterThan(0);
    const md = await bk.getLedgerMetadata(info.ledgerId);
    if (md.state !== 'CLOSED') open.push(info.ledgerId);
    else expect(md.lastEntryId).toBe(BigInt(info.entries - 1));
    if (!last) expect(md.state).toBe('CLOSED');
  }
  expect(open.length).toBeLessThanOrEqual(1);
  expect(ml.getNumberOfEntries()).toBe(ledgers.reduce((n, l) => n + l.entries, 0));
}

/** True once BookKeeper no longer knows the ledger. */
export async function ledgerGone(bk: BookKeeper, ledgerId: bigint): Promise<boolean> {
  try {
    await bk.getLedgerMetadata(ledgerId);
    return false;
  } catch (error) {
    if (isBKError(error, 'NoSuchLedgerExistsOnMetadataServerException')) return true;
    throw error;
  }
}

/** Every entry's payload (as latin1 text), read through the CursorHost side from the first position. */
export async function readAll(ml: CursorHost): Promise<string[]> {
  const out: string[] = [];
  let from = ml.getFirstPosition().next();
  for (;;) {
    const entries = await ml.readEntries(from, 100);
    const last = entries[entries.length - 1];
    if (last === undefined) return out;
    for (const e of entries) out.push(e.data.toString('latin1'));
    from = last.position.next();
  }
}
