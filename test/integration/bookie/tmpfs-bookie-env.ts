import { DigestManager, DigestType, StatusCode, masterKey } from '../../../protocol';
import { MetadataCluster, TempDirs, mountTmpfs, requireBuiltBookie } from '../../harness';
import type { BookieClient, BookieProcess } from '../../harness';

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

/** The entries the disk tests add, for one password: 4 KiB payloads that differ per entry, packed with CRC32C. */
export interface DiskTestEntries {
  readonly masterKey: Buffer;
  /** The packed entry (ledgerId, entryId): its payload starts with the entry id and is filled after it. */
  body(ledgerId: bigint, entryId: bigint): Buffer;
}

export const DISK_TEST_PAYLOAD_BYTES = 4096;

export function diskTestEntries(password: string): DiskTestEntries {
  const passwordBytes = Buffer.from(password);
  return {
    masterKey: masterKey(passwordBytes),
    body(ledgerId, entryId) {
      const payload = Buffer.alloc(DISK_TEST_PAYLOAD_BYTES, Number((ledgerId * 31n + entryId) % 256n));
      payload.writeBigInt64BE(entryId, 0);
      return DigestManager.create(ledgerId, passwordBytes, DigestType.CRC32C).packEntry(
        entryId,
        entryId - 1n,
        0n,
        payload,
      );
    },
  };
}

/**
 * Adds to `ledgerId` from entry 0, `inFlight` at a time, until the bookie answers anything but EOK or
 * ETOOMANYREQUESTS (which a client retries), or `timeoutMs` passes: what was acknowledged, and that answer.
 */
export async function addUntilRefused(
  client: BookieClient,
  entries: DiskTestEntries,
  options: { ledgerId: bigint; inFlight: number; timeoutMs: number },
): Promise<{ acked: bigint[]; refused: StatusCode | undefined }> {
  const { ledgerId, inFlight, timeoutMs } = options;
  const acked: bigint[] = [];
  let refused: StatusCode | undefined;
  let nextEntryId = 0n;
  const deadline = Date.now() + timeoutMs;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (refused === undefined && Date.now() < deadline) {
        const entryId = nextEntryId++;
        const { status } = await client.addEntry({
          ledgerId,
          entryId,
          masterKey: entries.masterKey,
          body: entries.body(ledgerId, entryId),
        });
        if (status === StatusCode.EOK) acked.push(entryId);
        else if (status !== StatusCode.ETOOMANYREQUESTS) refused ??= status;
      }
    }),
  );
  return { acked, refused };
}
