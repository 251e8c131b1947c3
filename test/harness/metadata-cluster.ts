import { join } from 'node:path';
import { silentLogger } from '../../common';
import { createMetadataStore, initNewCluster, RegistrationClient } from '../../metadata';
import type { MetadataStore } from '../../metadata';
import { writeBookieConf } from './bookie-processes';
import { EtcdServer } from './etcd';
import { freePorts } from './ports';

/** A bookie.conf written by MetadataCluster.writeBookieConf, and where its bookie will listen. */
export interface BookieConfFile {
  path: string;
  port: number;
  httpPort: number;
  bookieId: string;
}

/**
 * A real etcd with an initialized cluster under `/ledgers`, for tests that run whole `ledgerline bookie`
 * processes: it writes their conf files and watches their registrations.
 */
export class MetadataCluster {
  private constructor(
    readonly etcd: EtcdServer,
    readonly store: MetadataStore,
    readonly registrations: RegistrationClient,
  ) {}

  static async start(): Promise<MetadataCluster> {
    const etcd = await EtcdServer.start();
    const { store, scope } = await createMetadataStore(etcd.uri('/ledgers'), { logger: silentLogger() });
    await initNewCluster(store, scope);
    return new MetadataCluster(etcd, store, new RegistrationClient(store, scope, silentLogger()));
  }

  /**
   * `<dir>/bookie.conf` for a bookie on free ports of 127.0.0.1 against this cluster, journal and ledgers under
   * `dir` unless `extra` says otherwise.
   */
  async writeBookieConf(
    dir: string,
    extra: Record<string, string | number | boolean> = {},
  ): Promise<BookieConfFile> {
    const [port, httpPort] = (await freePorts(2)) as [number, number];
    const path = join(dir, 'bookie.conf');
    writeBookieConf(path, {
      bookiePort: port,
      httpServerPort: httpPort,
      listeningInterface: '127.0.0.1',
      journalDirectories: join(dir, 'journal'),
      ledgerDirectories: join(dir, 'ledgers'),
      metadataServiceUri: this.etcd.uri('/ledgers'),
      zkTimeout: 4000,
      ...extra,
    });
    return { path, port, httpPort, bookieId: `127.0.0.1:${port}` };
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.etcd.stop();
  }
}
