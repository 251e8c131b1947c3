import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NoSuchKeyError, readonlyBookieKey, writableBookieKey } from '../../metadata';
import { startLedgerlineBookie } from './bookie-processes';
import type { BookieProcess } from './bookie-processes';
import { registeredAs } from './bookie-registration';
import { FaultProxy } from './fault-proxy';
import { eventually } from './ledger-fixtures';
import { MetadataCluster } from './metadata-cluster';
import { freePorts } from './ports';
import { TempDirs } from './temp-dirs';

/**
 * N real `ledgerline bookie` processes (dist/, run `npm run build` first) against one real etcd, for ledger
 * client tests: BookKeeper's BookKeeperClusterTestCase — start, kill, pause, restart, make read-only, wipe.
 *
 * Metadata: always etcd (MetadataCluster: a real etcd on loopback with an initialized cluster at `/ledgers`).
 * The embedded store cannot serve several processes: its RocksDB LOCK keeps every process but one out.
 *
 * Registration: a bookie's registration lives on an etcd lease of zkTimeout/1000 s (4 s here). A killed or
 * stopped bookie stays registered until its lease expires, as in production; `restart()` removes the dead
 * process's leftover registration first (what the expiry would do) so that the new process need not wait the
 * lease out.
 *
 * Proxies (`proxied: true`): each bookie gets a FaultProxy in front of it and registers under the proxy's
 * address (`bookieId=127.0.0.1:<proxy port>` in its bookie.conf; it still listens on its own port), so a ledger
 * client, which connects to the ids in its ensembles, reaches every bookie through its proxy. The proxies live
 * as long as the cluster, across restarts.
 *
 * Every bookie is SIGKILLed when the test process exits, even if the test never reached `close()`.
 */

/** Settings that keep a test bookie quick to start and small; `conf` overrides them. */
export const TEST_BOOKIE_CONF: Readonly<Record<string, string | number | boolean>> = {
  // Lease TTL 4 s: a dead bookie leaves the registry within seconds.
  zkTimeout: 4000,
  // Checkpoint every second: little journal to replay on a restart.
  flushInterval: 1000,
  // 1 MiB journal preallocation instead of 16: less to fallocate per journal file.
  journalPreAllocSizeMB: 1,
  // No garbage collection or compaction during a test.
  gcWaitTime: 3_600_000,
  minorCompactionInterval: 0,
  majorCompactionInterval: 0,
  // Five bookies on a small machine: small caches.
  dbStorage_writeCacheMaxSizeMb: 16,
  dbStorage_readAheadCacheMaxSizeMb: 8,
};

export interface BookieClusterOptions {
  bookies: number;
  /** Only etcd: the embedded store serves one process (see above). */
  metadata?: 'etcd';
  /** A FaultProxy in front of each bookie, which registers under the proxy's address. */
  proxied?: boolean;
  /** bookie.conf settings for every bookie, over TEST_BOOKIE_CONF. */
  conf?: Record<string, string | number | boolean>;
}

export type ClusterBookieState = 'running' | 'stopped' | 'dead';

/** One bookie of the cluster. Its index never changes; its process does on a restart. */
export interface ClusterBookie {
  readonly index: number;
  /** The id it registers under and clients connect to: its own address, or its proxy's. */
  readonly bookieId: string;
  /** Where the bookie itself listens (v3 protocol), and its HTTP admin port. */
  readonly port: number;
  readonly httpPort: number;
  /** Holds bookie.conf, journal/ and ledgers/. */
  readonly dir: string;
  readonly confPath: string;
  readonly proxy: FaultProxy | undefined;
  readonly state: ClusterBookieState;
  /** The running (or stopped) process, undefined when dead. */
  readonly process: BookieProcess | undefined;
}

interface Member {
  index: number;
  bookieId: string;
  port: number;
  httpPort: number;
  dir: string;
  confPath: string;
  proxy: FaultProxy | undefined;
  state: ClusterBookieState;
  process: BookieProcess | undefined;
}

const SCOPE = '/ledgers';

/** How long a started bookie may take to appear in the registry (a loaded CI machine starts many at once). */
const REGISTERED_TIMEOUT_MS = 30_000;

/** Clusters not yet closed, killed on exit. */
const live = new Set<BookieCluster>();
let exitHookInstalled = false;

export class BookieCluster {
  private readonly members: Member[] = [];
  private readonly dirs = new TempDirs();
  private closing: Promise<void> | undefined;

  private constructor(
    readonly metadata: MetadataCluster,
    private readonly options: BookieClusterOptions,
  ) {}

  static async start(options: BookieClusterOptions): Promise<BookieCluster> {
    if ((options.metadata ?? 'etcd') !== 'etcd') {
      throw new Error(`BookieCluster runs bookie processes, which share only etcd, not ${options.metadata}`);
    }
    BookieCluster.installExitHook();
    const cluster = new BookieCluster(await MetadataCluster.start(), options);
    live.add(cluster);
    try {
      // Ports for all at once: separate picks could be handed the same free port.
      const ports = await freePorts(2 * options.bookies);
      const members: Member[] = [];
      for (let i = 0; i < options.bookies; i++) {
        members.push(await cluster.prepare(ports[2 * i]!, ports[2 * i + 1]!));
      }
      // Every launch settles before a failure is reported: one still starting would outlive the cleanup below.
      const launched = await Promise.allSettled(members.map((m) => cluster.launch(m)));
      const failed = launched.find((result) => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    } catch (error) {
      // The start's own failure is what the caller needs; one in the cleanup is added to it, never in its place.
      await cluster.close().catch((closeError: unknown) => {
        throw new Error(
          `${(error as Error).message} (cleaning up after it failed too: ${String(closeError)})`,
          {
            cause: error,
          },
        );
      });
      throw error;
    }
    return cluster;
  }

  /** `etcd://127.0.0.1:<port>/ledgers`: what a ledger client is given. */
  get metadataServiceUri(): string {
    return this.metadata.etcd.uri(SCOPE);
  }

  /** Every bookie's id, by index (whatever its state). */
  get bookieIds(): string[] {
    return this.members.map((m) => m.bookieId);
  }

  get size(): number {
    return this.members.length;
  }

  bookie(index: number): ClusterBookie {
    return { ...this.member(index) };
  }

  /** The FaultProxy in front of bookie `index` (a cluster started with `proxied: true`). */
  proxy(index: number): FaultProxy {
    const { proxy } = this.member(index);
    if (proxy === undefined) throw new Error('this cluster was started without proxies ({ proxied: true })');
    return proxy;
  }

  /** Starts one more bookie (new dirs, new ports) and returns its index once it is registered. */
  async addBookie(): Promise<number> {
    const [port, httpPort] = (await freePorts(2)) as [number, number];
    const member = await this.prepare(port, httpPort);
    await this.launch(member);
    return member.index;
  }

  /** SIGKILL, and waits until the process is gone. Its registration stays until the lease expires. */
  async kill(index: number): Promise<void> {
    const member = this.member(index);
    if (member.process !== undefined) await member.process.stop('SIGKILL');
    member.process = undefined;
    member.state = 'dead';
  }

  /**
   * SIGSTOP: the bookie stops answering (a hung process); waits until the kernel shows it stopped. Stopped
   * longer than its lease (zkTimeout), it drops out of the registry, and registers again after `cont()`.
   */
  async stop(index: number): Promise<void> {
    const member = this.running(index, 'stop');
    process.kill(member.process!.pid, 'SIGSTOP');
    await eventually(`bookie ${member.bookieId} to be stopped`, () =>
      processState(member.process!.pid) === 'T' ? true : undefined,
    );
    member.state = 'stopped';
  }

  /** SIGCONT after `stop()`. */
  async cont(index: number): Promise<void> {
    const member = this.member(index);
    if (member.state !== 'stopped')
      throw new Error(`bookie ${member.bookieId} is ${member.state}, not stopped`);
    process.kill(member.process!.pid, 'SIGCONT');
    await eventually(`bookie ${member.bookieId} to continue`, () =>
      processState(member.process!.pid) !== 'T' ? true : undefined,
    );
    member.state = 'running';
  }

  /**
   * Starts the bookie again on its dirs and ports (SIGKILLing it first if it still runs: a crash and restart);
   * resolves once it is registered. Rejects, with the bookie's stderr, if it refuses to start (e.g. after
   * `wipe()`: the cookie check).
   */
  async restart(index: number): Promise<void> {
    const member = this.member(index);
    await this.kill(index);
    await this.removeStaleRegistration(member.bookieId);
    await this.launch(member);
  }

  /**
   * Makes the bookie read-only (or writable again) through its admin API, PUT /api/v1/bookie/state/readonly,
   * and waits until its registration moved to bookies/readonly (or bookies/writable).
   */
  async setReadOnly(index: number, readOnly: boolean): Promise<void> {
    const member = this.running(index, 'setReadOnly');
    const response = await fetch(`http://127.0.0.1:${member.httpPort}/api/v1/bookie/state/readonly`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ readOnly }),
    });
    if (response.status !== 200) {
      throw new Error(
        `bookie ${member.bookieId} refused readOnly=${readOnly}: ${response.status} ${await response.text()}`,
      );
    }
    await registeredAs(this.metadata.registrations, member.bookieId, readOnly ? 'readOnly' : 'writable');
  }

  /** Kills the bookie and deletes its journal and ledger dirs (its identity stays in etcd: the cookie). */
  async wipe(index: number): Promise<void> {
    const member = this.member(index);
    await this.kill(index);
    rmSync(join(member.dir, 'journal'), { recursive: true, force: true });
    rmSync(join(member.dir, 'ledgers'), { recursive: true, force: true });
  }

  /** Kills every bookie, closes the proxies and etcd, removes the dirs. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await Promise.all(this.members.map((m) => this.kill(m.index)));
    await Promise.all(this.members.map((m) => m.proxy?.close()));
    await this.metadata.close();
    this.dirs.removeAll();
    live.delete(this);
  }

  /** A new member's dirs, proxy and bookie.conf; not started yet. */
  private async prepare(port: number, httpPort: number): Promise<Member> {
    const dir = this.dirs.make('bookie-cluster-');
    const proxy = this.options.proxied ? await FaultProxy.start({ targetPort: port }) : undefined;
    const bookieId = proxy?.address ?? `127.0.0.1:${port}`;
    const { path } = await this.metadata.writeBookieConf(dir, {
      ...TEST_BOOKIE_CONF,
      ...this.options.conf,
      bookiePort: port,
      httpServerPort: httpPort,
      bookieId,
    });
    const member: Member = {
      index: this.members.length,
      bookieId,
      port,
      httpPort,
      dir,
      confPath: path,
      proxy,
      state: 'dead',
      process: undefined,
    };
    this.members.push(member);
    return member;
  }

  private async launch(member: Member): Promise<void> {
    member.process = await startLedgerlineBookie(member.confPath, member.port);
    member.state = 'running';
    // The ready line comes after registration; read-only configurations register under readonly/.
    await eventually(
      `bookie ${member.bookieId} to be registered`,
      async () => {
        const registrations = this.metadata.registrations;
        const ids = [
          ...(await registrations.getWritableBookies()),
          ...(await registrations.getReadOnlyBookies()),
        ];
        return ids.includes(member.bookieId) ? true : undefined;
      },
      REGISTERED_TIMEOUT_MS,
    );
  }

  /** Deletes the registration a dead process left on its lease. */
  private async removeStaleRegistration(bookieId: string): Promise<void> {
    for (const key of [writableBookieKey(SCOPE, bookieId), readonlyBookieKey(SCOPE, bookieId)]) {
      try {
        await this.metadata.store.delete(key, 'any');
      } catch (error) {
        if (!(error instanceof NoSuchKeyError)) throw error;
      }
    }
  }

  private member(index: number): Member {
    const member = this.members[index];
    if (member === undefined) throw new Error(`no bookie ${index} (the cluster has ${this.members.length})`);
    return member;
  }

  private running(index: number, what: string): Member {
    const member = this.member(index);
    if (member.state !== 'running') {
      throw new Error(`${what}: bookie ${member.bookieId} is ${member.state}, not running`);
    }
    return member;
  }

  /** On exit, even without `close()`: SIGKILL every bookie of every cluster not closed (synchronously). */
  private static installExitHook(): void {
    if (exitHookInstalled) return;
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const cluster of live) {
        for (const member of cluster.members) {
          if (member.process === undefined) continue;
          try {
            process.kill(member.process.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    });
  }
}

/** The state letter of /proc/<pid>/stat ('R', 'S', 'T' stopped, 'Z', ...); undefined once it is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}
