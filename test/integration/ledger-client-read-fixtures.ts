import { BookKeeper } from '../../ledger-client';
import { BookieCluster, requireBuiltBookie } from '../harness';
import type { BookieClusterOptions } from '../harness';

/** What the read and recovery integration tests share: their entries, and a cluster with two clients. */

/** The payload of entry `entryId` of ledger `ledgerId`: recognisable, and of varying size. */
export function payload(ledgerId: bigint, entryId: bigint): Buffer {
  return Buffer.from(`ledger ${ledgerId} entry ${entryId} `.repeat(1 + Number(entryId % 7n)));
}

/** The ledger's length once entries 0..lastEntryId of `payload` are in it. */
export function lengthUpTo(ledgerId: bigint, lastEntryId: bigint): bigint {
  let length = 0n;
  for (let entryId = 0n; entryId <= lastEntryId; entryId++)
    length += BigInt(payload(ledgerId, entryId).length);
  return length;
}

/** The error `promise` rejects with; fails the test if it resolves. */
export function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: Error) => error,
  );
}

export interface ClusterWithClients {
  readonly cluster: BookieCluster;
  /** The client that writes ledgers. */
  readonly writer: BookKeeper;
  /** Another client, as another process would be: it reads and recovers. */
  readonly reader: BookKeeper;
}

/** Starts the bookies and two clients before the file's tests and stops them after. */
export function clusterWithClients(options: BookieClusterOptions): ClusterWithClients {
  const started: Partial<{ cluster: BookieCluster; writer: BookKeeper; reader: BookKeeper }> = {};
  beforeAll(async () => {
    requireBuiltBookie();
    started.cluster = await BookieCluster.start(options);
    const metadataServiceUri = started.cluster.metadataServiceUri;
    started.writer = await BookKeeper.create({ metadataServiceUri });
    started.reader = await BookKeeper.create({ metadataServiceUri });
  });
  afterAll(async () => {
    await started.reader?.close();
    await started.writer?.close();
    await started.cluster?.close();
  });
  return {
    get cluster() {
      return started.cluster!;
    },
    get writer() {
      return started.writer!;
    },
    get reader() {
      return started.reader!;
    },
  };
}
