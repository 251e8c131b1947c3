/**
 * Goal: BookieCluster, the harness the ledger client tests stand on, does to real bookies what it says — and
 * a ledger client watching etcd sees it: start N, kill, restart, pause (SIGSTOP/SIGCONT), read-only and back,
 * add one, wipe (then the cookie check refuses the restart), close without leaving a process behind.
 *
 * Method: three `ledgerline bookie` processes from dist/ against a real etcd; registrations observed through a
 * RegistrationClient watch (as a ledger client would), bookies driven over TCP with the harness BookieClient.
 */
import { masterKey, StatusCode } from '../../protocol';
import type { RegisteredBookies, Watch } from '../../metadata';
import { BookieClient, BookieCluster, EntryPacker, eventually, requireBuiltBookie } from '../harness';

const PASSWORD = Buffer.from('cluster-harness');
const KEY = masterKey(PASSWORD);
const packer = new EntryPacker(PASSWORD);

function add(client: BookieClient, ledgerId: bigint, entryId: bigint) {
  const body = packer.pack(ledgerId, entryId, Buffer.from(`entry ${entryId}`));
  return client.addEntry({ ledgerId, entryId, masterKey: KEY, body });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('harness > bookie cluster', () => {
  let cluster: BookieCluster;
  let watch: Watch;
  let watchClosed = false;
  let seen: RegisteredBookies | undefined;

  /** Waits until the watching client's view has `bookieId` in `as` (and not in the other list). */
  async function clientSees(bookieId: string, as: 'writable' | 'readOnly' | 'absent'): Promise<void> {
    await eventually(`the client to see ${bookieId} ${as} (last: ${JSON.stringify(seen)})`, () => {
      if (seen === undefined) return undefined;
      const where = seen.writable.includes(bookieId)
        ? 'writable'
        : seen.readOnly.includes(bookieId)
          ? 'readOnly'
          : 'absent';
      return where === as ? true : undefined;
    });
  }

  beforeAll(async () => {
    requireBuiltBookie();
    cluster = await BookieCluster.start({ bookies: 3, metadata: 'etcd' });
    watch = await cluster.metadata.registrations.watchBookies((bookies) => (seen = bookies));
  });

  afterAll(async () => {
    // The last test closes both; this is for a run that failed before it.
    if (!watchClosed) await watch?.close();
    await cluster?.close();
  });

  test('starts three bookies on their own ports, each registered writable under its host:port', async () => {
    expect(cluster.bookieIds).toHaveLength(3);
    expect(new Set(cluster.bookieIds).size).toBe(3);
    for (let i = 0; i < 3; i++) {
      const bookie = cluster.bookie(i);
      expect(bookie.bookieId).toBe(`127.0.0.1:${bookie.port}`);
      expect(bookie.state).toBe('running');
      await clientSees(bookie.bookieId, 'writable');
    }
    expect(cluster.metadataServiceUri).toMatch(/^etcd:\/\/127\.0\.0\.1:\d+\/ledgers$/);
  });

  test('kill: the process is gone and stays registered until its lease ends; restart serves what it had', async () => {
    const { bookieId, port } = cluster.bookie(1);
    const client = await BookieClient.connect(port);
    for (let entryId = 0n; entryId < 20n; entryId++) {
      expect((await add(client, 1n, entryId)).status).toBe(StatusCode.EOK);
    }
    const pid = cluster.bookie(1).process!.pid;
    await cluster.kill(1);
    expect(alive(pid)).toBe(false);
    expect(cluster.bookie(1).state).toBe('dead');
    await client.closed;
    await expect(BookieClient.connect(port)).rejects.toThrow('ECONNREFUSED');
    // The lease (zkTimeout 4 s) still holds the registration a moment after the kill.
    expect(seen!.writable).toContain(bookieId);

    await cluster.restart(1);
    expect(cluster.bookie(1).state).toBe('running');
    expect(cluster.bookie(1).process!.pid).not.toBe(pid);
    await clientSees(bookieId, 'writable');
    const again = await BookieClient.connect(port);
    for (let entryId = 0n; entryId < 20n; entryId++) {
      const read = await again.readEntry(1n, entryId);
      expect(read.readResponse?.body).toEqual(packer.pack(1n, entryId, Buffer.from(`entry ${entryId}`)));
    }
    await again.close();
  });

  test('stop: the bookie answers nothing until cont, then answers what it was sent', async () => {
    const client = await BookieClient.connect(cluster.bookie(0).port);
    await cluster.stop(0);
    expect(cluster.bookie(0).state).toBe('stopped');
    let answered = false;
    const pending = add(client, 2n, 0n).then((response) => {
      answered = true;
      return response;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(answered).toBe(false);
    await cluster.cont(0);
    expect((await pending).status).toBe(StatusCode.EOK);
    expect(cluster.bookie(0).state).toBe('running');
    await client.close();
  });

  test('read-only and back: the registration moves, adds are refused then taken', async () => {
    const { bookieId, port } = cluster.bookie(2);
    const client = await BookieClient.connect(port);
    await cluster.setReadOnly(2, true);
    await clientSees(bookieId, 'readOnly');
    expect((await add(client, 3n, 0n)).status).toBe(StatusCode.EREADONLY);
    await cluster.setReadOnly(2, false);
    await clientSees(bookieId, 'writable');
    expect((await add(client, 3n, 0n)).status).toBe(StatusCode.EOK);
    await client.close();
  });

  test('addBookie: a fourth bookie, registered writable', async () => {
    const index = await cluster.addBookie();
    expect(index).toBe(3);
    expect(cluster.bookieIds).toHaveLength(4);
    await clientSees(cluster.bookie(3).bookieId, 'writable');
  });

  test('wipe: the bookie with empty dirs is refused a restart by the cookie check', async () => {
    await cluster.wipe(3);
    expect(cluster.bookie(3).state).toBe('dead');
    await expect(cluster.restart(3)).rejects.toThrow(/cookie check '[a-z-]+' failed/);
    expect(cluster.bookie(3).state).toBe('dead');
  });

  test('close kills every bookie, even a stopped one, and may be called twice', async () => {
    await cluster.stop(0);
    const pids = [0, 1, 2].map((i) => cluster.bookie(i).process!.pid);
    await watch.close();
    watchClosed = true;
    await cluster.close();
    await cluster.close();
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });
});
