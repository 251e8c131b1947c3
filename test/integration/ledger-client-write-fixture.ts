import { BookKeeper } from '../../ledger-client';
import type { ClientConfig } from '../../ledger-client';
import { BookieCluster, requireBuiltBookie } from '../harness';

export interface ClusterWithClient {
  cluster: BookieCluster;
  bk: BookKeeper;
}

/**
 * For a describe block of ledger-client integration tests: a BookieCluster of `bookies` real bookie processes
 * started before its tests, and a BookKeeper client on it with `config`, handed to `ready`; both closed after.
 */
export function clusterWithClient(
  bookies: number,
  config: Partial<ClientConfig>,
  ready: (started: ClusterWithClient) => void,
): void {
  let cluster: BookieCluster | undefined;
  let bk: BookKeeper | undefined;
  beforeAll(async () => {
    requireBuiltBookie();
    cluster = await BookieCluster.start({ bookies });
    bk = await BookKeeper.create({ ...config, metadataServiceUri: cluster.metadataServiceUri });
    ready({ cluster, bk });
  });
  afterAll(async () => {
    await bk?.close();
    await cluster?.close();
  });
}
