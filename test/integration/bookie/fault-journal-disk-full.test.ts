/**
 * Goal: a whole bookie (`ledgerline bookie`) whose *journal* disk fills up acknowledges nothing it could not
 * make durable, turns read-only for good (a failed journal write is final: the fsyncgate lesson) while still
 * serving every entry it acknowledged, and after a restart with space freed serves them all and takes adds.
 *
 * Method: the journal directory is a real 16 MiB tmpfs mounted for this test (root needed); the ledger
 * directory stays on the ordinary disk. A filler file leaves ~2 MiB free; the journal preallocates in 1 MiB
 * steps, so pipelined adds run into ENOSPC in its zero-fill or in a record write, whichever comes first. The
 * test watches the registration in a real etcd and the admin API.
 */
import { mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { StatusCode } from '../../../protocol';
import {
  BookieClient,
  adminSaysReadOnly,
  fillUntilEnospc,
  registeredAs,
  startLedgerlineBookie,
} from '../../harness';
import { diskTestEntries, tmpfsBookieEnv } from './tmpfs-bookie-env';
import type { BookieProcess } from '../../harness';

const { masterKey: KEY, body } = diskTestEntries('journal-disk-full');
const TMPFS_BYTES = 16 * 1024 * 1024;
const LEFT_FREE_BYTES = 2 * 1024 * 1024;
const IN_FLIGHT = 32;

describe('bookie > faults > a full journal disk (tmpfs)', () => {
  const env = tmpfsBookieEnv('bookie-journal-tmpfs-', TMPFS_BYTES);

  test('no acknowledgement without the journal; read-only for good with reads served; restart serves all', async () => {
    const base = env.dirs.make('bookie-journal-disk-full-');
    const journalDir = join(env.tmpfsPath, 'journal');
    mkdirSync(journalDir);
    const conf = await env.cluster.writeBookieConf(base, {
      journalDirectories: journalDir,
      journalPreAllocSizeMB: 1,
      flushInterval: 300,
    });
    const { port, httpPort, bookieId } = conf;
    const registrations = env.cluster.registrations;
    const start = async (): Promise<BookieProcess> => {
      return env.track(await startLedgerlineBookie(conf.path, port));
    };

    let bookie = await start();
    await registeredAs(registrations, bookieId, 'writable');
    const filler = join(env.tmpfsPath, 'filler');
    fillUntilEnospc(filler, LEFT_FREE_BYTES);

    const client = await BookieClient.connect(port);
    const acked: bigint[] = [];
    let refused: StatusCode | undefined;
    /** Responses come back in journal order: once one add was refused, none after it may be acknowledged. */
    let ackedAfterRefusal = 0;
    let nextEntryId = 0n;
    const deadline = Date.now() + 30000;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (refused === undefined && Date.now() < deadline) {
          const entryId = nextEntryId++;
          const add = await client.addEntry({
            ledgerId: 1n,
            entryId,
            masterKey: KEY,
            body: body(1n, entryId),
          });
          if (add.status === StatusCode.EOK) {
            acked.push(entryId);
            if (refused !== undefined) ackedAfterRefusal++;
          } else {
            refused ??= add.status;
          }
        }
      }),
    );
    // The group that met ENOSPC is answered EIO (or, for adds that arrive once the bookie knows, EREADONLY).
    expect(['EIO', 'EREADONLY']).toContain(StatusCode[refused ?? StatusCode.EOK]);
    expect(acked.length).toBeGreaterThan(0);
    expect(ackedAfterRefusal).toBe(0);
    await registeredAs(registrations, bookieId, 'readOnly');
    expect(await adminSaysReadOnly(httpPort)).toBe(true);

    const expectServed = async (reader: BookieClient): Promise<void> => {
      const wrong: string[] = [];
      for (let i = 0; i < acked.length; i += 64) {
        await Promise.all(
          acked.slice(i, i + 64).map(async (entryId) => {
            const read = await reader.readEntry(1n, entryId);
            if (read.status !== StatusCode.EOK || !read.readResponse?.body?.equals(body(1n, entryId))) {
              wrong.push(`1/${entryId}: ${StatusCode[read.status]}`);
            }
          }),
        );
      }
      expect(wrong).toEqual([]);
    };
    await expectServed(client);

    // Freeing the disk does not bring the journal back: it stays read-only until restarted.
    unlinkSync(filler);
    const add = await client.addEntry({ ledgerId: 2n, entryId: 0n, masterKey: KEY, body: body(2n, 0n) });
    expect(StatusCode[add.status]).toBe('EREADONLY');
    expect(bookie.running()).toBe(true);
    await client.close();

    await bookie.stop('SIGKILL');
    bookie = await start();
    await registeredAs(registrations, bookieId, 'writable');
    const after = await BookieClient.connect(port);
    await expectServed(after);
    const later = await after.addEntry({ ledgerId: 2n, entryId: 0n, masterKey: KEY, body: body(2n, 0n) });
    expect(StatusCode[later.status]).toBe('EOK');
    await after.close();
  });
});
