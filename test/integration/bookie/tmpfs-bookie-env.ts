import { MetadataCluster, TempDirs, mountTmpfs, requireBuiltBookie } from '../../harness';
import type { BookieProcess } from '../../harness';

/** What a whole-bookie disk test gets from tmpfsBookieEnv. */
export interface TmpfsBookieEnv {
  readonly dirs: TempDirs;
  /** Where the tmpfs is mounted. */
  readonly tmpfsPath: string;
  readonly cluster: MetadataCluster;
  /** Hands a started bookie to the environment, which SIGKILLs it after the tests; returns it. */
  track(bookie: BookieProcess): BookieProcess;
}

/**
 * For a describe block of whole-bookie disk tests: a real tmpfs of `sizeBytes` (root needed) and a MetadataCluster
 * (real etcd) set up before its tests; after them the tracked bookies are SIGKILLed, the cluster closed, the
 * tmpfs unmounted and the temporary dirs removed.
 */
export function tmpfsBookieEnv(prefix: string, sizeBytes: number): TmpfsBookieEnv {
  const dirs = new TempDirs();
  const bookies: BookieProcess[] = [];
  let tmpfs: { path: string; unmount: () => void } | undefined;
  let cluster: MetadataCluster | undefined;
  beforeAll(async () => {
    requireBuiltBookie();
    tmpfs = mountTmpfs(dirs.make(prefix), sizeBytes);
    cluster = await MetadataCluster.start();
  });
  afterAll(async () => {
    for (const bookie of bookies.splice(0)) await bookie.stop('SIGKILL');
    await cluster?.close();
    tmpfs?.unmount();
    dirs.removeAll();
  });
  return {
    dirs,
    get tmpfsPath(): string {
      return tmpfs!.path;
    },
    get cluster(): MetadataCluster {
      return cluster!;
    },
    track(bookie: BookieProcess): BookieProcess {
      bookies.push(bookie);
      return bookie;
    },
  };
}
